"""The web desk in a real browser: headless Chromium from Debian's packages (``chromium``,
``chromium-driver``, installed by ./scripts/test), driven by Selenium, against the desk that
the bot built with build_application serves while it runs against the Bot API stand-in.

A clerk opens the desk as Telegram opens a Mini App (login data and theme in the URL
fragment; Telegram's own script cannot load: every host but 127.0.0.1 fails to resolve, so
nothing leaves the machine), filters, searches, opens an item; at phone size (390x844) no
page scrolls sideways. Screenshots of both pages at phone and desktop size are saved under
test-artifacts/web/ (gitignored; the path is printed)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.webdesk import (
    ALICE,
    BOB,
    PNG,
    card_edit,
    desk_of,
    login_data,
    mini_app_fragment,
    office_card,
    sql,
    started,
    submit,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)
DESKTOP = (1280, 900)
WAIT = 15


@contextmanager
def chromium() -> Iterator[WebDriver]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromium-driver are not installed: run ./scripts/test")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    profile = tempfile.mkdtemp(prefix="desk-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        # No name resolves except the desk's address: nothing leaves the machine.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--lang=zh-CN",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    # A Chinese clerk's browser: pages shown before sign-in follow its languages.
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def size(driver: WebDriver, width: int, height: int, *, mobile: bool) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1,
         "mobile": mobile},
    )  # fmt: skip


def open_on_a_phone(driver: WebDriver, url: str, element_id: str) -> WebDriverWait[WebDriver]:
    """Open ``url`` at phone size until the element ``element_id`` is there; the wait."""
    wait = WebDriverWait(driver, WAIT)
    size(driver, *PHONE, mobile=True)
    driver.get(url)
    wait.until(ec.presence_of_element_located((By.ID, element_id)))
    return wait


def scroll_width(driver: WebDriver) -> int:
    return int(driver.execute_script("return document.documentElement.scrollWidth"))


def shoot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), name
    return path


def shown_ids(driver: WebDriver) -> list[int]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#queue tr.row")
    return [int(row.get_attribute("data-id") or 0) for row in rows]


@pytest.fixture
async def desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub, web={"enabled": True, "port": 0}, limits={"max_submissions_per_hour": 0}
    )
    async with started(settings) as runner:
        yield runner


def mini_app_entry(runner: BotRunner) -> tuple[str, str]:
    """The desk's address, and the URL Telegram opens the Mini App with for the admin
    (fresh login data and the theme in the fragment)."""
    token = runner.settings.telegram.token.get_secret_value()
    base = desk_of(runner).base_url
    return base, f"{base}/{mini_app_fragment(login_data(ADMIN, token, datetime.now(UTC)))}"


def more_items(settings: Settings, count: int) -> None:
    """Older items straight into the database (so the queue has a second page)."""
    start = datetime.now(UTC) - timedelta(days=40)
    rows = [
        (
            "suggestion" if i % 2 else "problem",
            f"建议第{i}条：增加社区活动室的开放时间",
            "other",
            (start + timedelta(hours=i)).isoformat(),
        )
        for i in range(count)
    ]
    with sqlite3.connect(settings.storage.path) as db:
        db.executemany(
            "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, sender_user_id, sender_chat_id, sender_name, language, status,"
            " created_at, updated_at) VALUES (?1, ?2, ?3, ?3, '[]', 0, 42, 42, '居民',"
            " 'zh-Hans', 'accepted', ?4, ?4)",
            rows,
        )


async def test_a_clerk_opens_filters_searches_and_reads_an_item_in_chromium(
    stub: FakeBotApi, desk: BotRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.files["PHOTO-5"] = PNG
    stub.files["DOC-5"] = b"%PDF-1.4 plan"

    extras = [
        lambda: stub.send_photo(ALICE, file_id="PHOTO-5"),
        lambda: stub.send_document(ALICE, file_id="DOC-5", file_name="整改方案.pdf"),
        lambda: stub.send_location(ALICE, 30.2741, 120.1551),
    ]

    photo_item = await submit(
        stub, ALICE, "幸福路和建设路口的井盖丢了，晚上很危险，请尽快补上", anonymous=False,
        extras=extras,
    )  # fmt: skip
    anonymous_item = await submit(
        stub, BOB, "建议公交车早上六点就开始运营，方便上早班的居民" + "很长的一段话" * 30,
        anonymous=True,
    )  # fmt: skip
    more_items(desk.settings, 60)
    base, entry = mini_app_entry(desk)
    link_message = await Chat(stub, ADMIN).send("/web", expect="#login=")
    link = link_message.plain.split()[-1]
    assert link.startswith(f"{base}/#login=")
    screenshots: list[Path] = []

    def clerk() -> None:
        with chromium() as driver:
            wait = open_on_a_phone(driver, entry, "queue")
            assert driver.current_url == f"{base}/queue"
            # Telegram's theme from the fragment (telegram-web-app.js could not load).
            background = driver.execute_script(
                "return getComputedStyle(document.body).backgroundColor"
            )
            assert background == "rgb(23, 33, 43)"
            ids = shown_ids(driver)
            assert ids[:2] == [anonymous_item, photo_item] and len(ids) == 50
            assert driver.find_element(By.CSS_SELECTOR, "a[rel=next]")
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "queue-phone"))

            # Filter: items awaiting review.
            driver.find_element(By.CSS_SELECTOR, ".filters summary").click()
            Select(driver.find_element(By.NAME, "status")).select_by_value("new")
            driver.find_element(By.CSS_SELECTOR, ".filters details button[type=submit]").click()
            wait.until(lambda d: "status=new" in d.current_url)
            assert sorted(shown_ids(driver)) == sorted([photo_item, anonymous_item])
            assert scroll_width(driver) <= PHONE[0]

            # Search (two characters: LIKE) within the filter.
            search = driver.find_element(By.ID, "q")
            search.send_keys("井盖")
            search.submit()
            wait.until(lambda d: "q=" in d.current_url)
            assert shown_ids(driver) == [photo_item]

            # Open it.
            driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{photo_item}'] td.ref a").click()
            wait.until(ec.presence_of_element_located((By.ID, "item")))
            text = driver.find_element(By.CSS_SELECTOR, ".fulltext").text
            assert "井盖丢了" in text
            photo = driver.find_element(By.CSS_SELECTOR, ".files img")
            wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", photo) > 0)
            assert "整改方案.pdf" in driver.find_element(By.CSS_SELECTOR, ".files").text
            assert "30.27410, 120.15510" in driver.find_element(By.CSS_SELECTOR, ".places").text
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "item-phone"))
            # Back to the filtered queue, as it was.
            driver.find_element(By.CSS_SELECTOR, "[data-back]").click()
            wait.until(lambda d: "q=" in d.current_url and "status=new" in d.current_url)

            # The long anonymous item on a phone, then both pages at desktop size.
            driver.get(f"{base}/items/{anonymous_item}")
            wait.until(ec.presence_of_element_located((By.ID, "item")))
            assert t("zh-Hans", "summary.anonymous") in driver.page_source
            assert scroll_width(driver) <= PHONE[0]
            size(driver, *DESKTOP, mobile=False)
            driver.get(f"{base}/queue")
            wait.until(ec.presence_of_element_located((By.ID, "queue")))
            assert scroll_width(driver) <= DESKTOP[0]
            screenshots.append(shoot(driver, "queue-desktop"))
            driver.get(f"{base}/items/{photo_item}")
            wait.until(ec.presence_of_element_located((By.ID, "item")))
            screenshots.append(shoot(driver, "item-desktop"))
            # Nothing in the page came from anywhere but the desk.
            sources = driver.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name)"
            )
            assert all(s.startswith(base) or "telegram.org" in s for s in sources), sources

            # A desktop browser with the one-time link from /web: signed in, the token gone
            # from the address; the same link a second time: refused, with the reason.
            driver.delete_all_cookies()
            driver.get(link)
            wait.until(ec.presence_of_element_located((By.ID, "queue")))
            assert "login=" not in driver.current_url
            driver.delete_all_cookies()
            driver.get(link)
            status = wait.until(
                ec.presence_of_element_located((By.CSS_SELECTOR, "#entry-status.notice"))
            )
            assert status.text == t("zh-Hans", "web.error.link_invalid")

    await asyncio.wait_for(asyncio.to_thread(clerk), timeout=120)
    with capsys.disabled():  # shown in every run, not only with -s
        print("\nweb desk screenshots:", *screenshots, sep="\n  ")
    assert all(path.stat().st_size > 1000 for path in screenshots)


OFFICE = -1001234567


@pytest.fixture
async def office_desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        web={"enabled": True, "port": 0},
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
    )
    async with started(settings) as runner:
        yield runner


def status_of(settings: Settings, number: int) -> str:
    with sqlite3.connect(settings.storage.path) as db:
        row = db.execute("SELECT status FROM submissions WHERE id = ?", (number,)).fetchone()
    return str(row[0])


async def test_a_clerk_accepts_three_items_at_once_and_the_chat_sees_it_in_chromium(
    stub: FakeBotApi, office_desk: BotRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bulk actions (#23): on a phone, a clerk ticks three rows, accepts them, confirms and
    reads the outcome; the office chat's cards of the three are edited to 已受理 through the
    outbox, as after a chat button. Then the reports page at phone width."""
    desk = office_desk
    numbers = [
        await submit(stub, ALICE, "幸福路的路灯坏了，晚上很黑", anonymous=False),
        await submit(stub, BOB, "菜市场门口的井盖松动了，很危险", anonymous=True),
        await submit(stub, ALICE, "建议在公交站加装遮雨棚", anonymous=False),
    ]
    left_alone = await submit(stub, BOB, "建议社区图书室周末开放", anonymous=True)
    cards = [await office_card(stub, OFFICE, n) for n in numbers]
    base, entry = mini_app_entry(desk)
    mark = stub.mark()
    screenshots: list[Path] = []

    def clerk() -> None:
        with chromium() as driver:
            wait = open_on_a_phone(driver, entry, "bulk")
            boxes = driver.find_elements(By.CSS_SELECTOR, "input[name=item][form=bulk]")
            assert len(boxes) == 4
            # "Select all on this page", and back.
            select_all = driver.find_element(By.ID, "select-all")
            select_all.click()
            assert all(box.is_selected() for box in boxes)
            select_all.click()
            assert not any(box.is_selected() for box in boxes)
            for number in numbers:
                driver.find_element(
                    By.CSS_SELECTOR, f"tr[data-id='{number}'] input[name=item]"
                ).click()
            count = driver.find_element(By.ID, "bulk-count").text
            assert count == t("zh-Hans", "web.bulk.selected", n=3)
            Select(driver.find_element(By.ID, "bulk-action")).select_by_value("accept")
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "bulk-queue-phone"))
            driver.find_element(By.ID, "bulk-next").click()
            preview = wait.until(ec.presence_of_element_located((By.ID, "bulk-preview")))
            listed = preview.find_elements(By.CSS_SELECTOR, "li")
            assert sorted(int(li.get_attribute("data-id") or 0) for li in listed) == numbers
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "bulk-confirm-phone"))
            driver.find_element(By.CSS_SELECTOR, "#bulk-confirm button[type=submit]").click()
            done = wait.until(ec.presence_of_element_located((By.ID, "bulk-outcome")))
            assert len(done.find_elements(By.CSS_SELECTOR, "li.ok")) == 3
            assert not done.find_elements(By.CSS_SELECTOR, "li.refused")
            summary = driver.find_element(By.ID, "bulk-summary").text
            assert summary == t("zh-Hans", "web.bulk.summary", done=3, refused=0)
            assert t("zh-Hans", "status.accepted") in done.text
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "bulk-outcome-phone"))
            # Back to the queue: the three are 已受理 there too.
            driver.find_element(By.CSS_SELECTOR, "[data-back]").click()
            wait.until(ec.presence_of_element_located((By.ID, "queue")))
            for number in numbers:
                row = driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{number}'] td.status")
                assert row.text == t("zh-Hans", "status.accepted")

            # The reports page (the /stats figures and the chart) on the phone.
            driver.get(f"{base}/reports")
            wait.until(ec.presence_of_element_located((By.ID, "stats")))
            chart = driver.find_element(By.CSS_SELECTOR, ".chart img")
            wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", chart) > 0)
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "reports-phone"))
            size(driver, *DESKTOP, mobile=False)
            driver.get(f"{base}/reports")
            wait.until(ec.presence_of_element_located((By.ID, "stats")))
            assert scroll_width(driver) <= DESKTOP[0]
            screenshots.append(shoot(driver, "reports-desktop"))

    await asyncio.wait_for(asyncio.to_thread(clerk), timeout=120)
    # The chat side: each card of the three in the office chat edited to 已受理 (the same
    # card the chat's buttons act on), each sender told; the fourth item untouched.
    for card in cards:
        edited = await card_edit(stub, card, after=mark)
        assert t("zh-Hans", "status.accepted") in edited.plain
    await stub.wait_for_text(BOB.id, f"#{numbers[1]}", after=mark)
    assert [status_of(desk.settings, n) for n in numbers] == ["accepted"] * 3
    assert status_of(desk.settings, left_alone) == "new"
    with capsys.disabled():
        print("\nweb desk bulk screenshots:", *screenshots, sep="\n  ")
    assert all(path.stat().st_size > 1000 for path in screenshots)


UNIT_CLERK = FakeUser(id=4201, first_name="城建", last_name="小张", language_code="zh-hans")


@pytest.fixture
async def units_desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        web={"enabled": True, "port": 0},
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        units=[{"id": "cjb", "names": {"zh-Hans": "城建办"}, "member_ids": [UNIT_CLERK.id]}],
    )
    async with started(settings) as runner:
        yield runner


def entry_for(runner: BotRunner, user: FakeUser, query_id: str) -> str:
    """The URL Telegram opens the Mini App with for ``user`` (fresh login data; a query id
    of each opening's own, so two sign-ins in one second are two login data)."""
    token = runner.settings.telegram.token.get_secret_value()
    data = login_data(user, token, datetime.now(UTC), query_id=query_id)
    return f"{desk_of(runner).base_url}/{mini_app_fragment(data)}"


def press(driver: WebDriver, number: int, action: str, **fields: str) -> None:
    """Fill in an action's form on the item page and send it; wait for the page after."""
    form = driver.find_element(By.CSS_SELECTOR, f"form[action$='/items/{number}/actions/{action}']")
    for name, value in fields.items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.send_keys(value)
    button = form.find_element(By.CSS_SELECTOR, "button[type=submit]")
    button.click()
    WebDriverWait(driver, WAIT).until(ec.staleness_of(button))
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "item")))
    notice = driver.find_element(By.CSS_SELECTOR, "p.notice").text
    assert notice == t("zh-Hans", "web.action.done"), (action, notice)


async def edit_showing(stub: FakeBotApi, card: SentMessage, text: str, *, after: int) -> None:
    """An edit of ``card``'s message after seq ``after`` that shows ``text`` (an edit queued
    by an earlier step may still arrive after the mark)."""
    await stub.wait_for(
        card.chat_id,
        after=after,
        predicate=lambda m: (
            m.method == "editMessageText" and m.message_id == card.message_id and text in m.plain
        ),
    )


def shows_status(driver: WebDriver, status: str, shot: str) -> Path:
    """The item page shows the item in ``status`` and fits the phone; its screenshot."""
    shown = driver.find_element(By.CSS_SELECTOR, "dd.status").text
    assert shown == t("zh-Hans", f"status.{status}")
    assert scroll_width(driver) <= PHONE[0]
    return shoot(driver, shot)


def offered(driver: WebDriver, number: int) -> list[str]:
    forms = driver.find_elements(By.CSS_SELECTOR, f"form[action*='/items/{number}/actions/']")
    return [(f.get_attribute("action") or "").rsplit("/", 1)[-1] for f in forms]


async def test_the_office_dispatches_and_a_unit_signs_and_finishes_on_the_desk_in_chromium(
    stub: FakeBotApi, units_desk: BotRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    """The units' loop on the desk (#23 with #18), each side on a phone: the office accepts
    and dispatches an item to 城建办; the unit's member opens the desk from their chat, signs
    for it and reports it done with the answer; the office approves. The office chat's card
    and the unit's task card are edited through the outbox at each step, as after their
    buttons; the sender gets the answer. No page scrolls sideways at 390 px."""
    desk = units_desk
    number = await submit(stub, ALICE, "幸福路的路灯坏了三盏，晚上很黑", anonymous=False)
    card = await office_card(stub, OFFICE, number)
    base = desk_of(desk).base_url
    item = f"/items/{number}"
    answer = "三盏路灯已全部修复，欢迎监督"
    screenshots: list[Path] = []
    marks: dict[str, int] = {}

    def office_dispatches() -> None:
        with chromium() as driver:
            open_on_a_phone(driver, entry_for(desk, ADMIN, "AAQoffice1"), "queue")
            driver.get(base + item)
            WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "item")))
            press(driver, number, "accept")
            assert "dispatch" in offered(driver, number)
            marks["dispatch"] = stub.mark()
            press(driver, number, "dispatch", unit="cjb", deadline="5", instruction="请本周内修复")
            screenshots.append(shows_status(driver, "dispatched", "loop-dispatched-phone"))

    def unit_works() -> None:
        with chromium() as driver:
            open_on_a_phone(driver, entry_for(desk, UNIT_CLERK, "AAQunit1"), "queue")
            assert shown_ids(driver) == [number]
            row = driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{number}'] td.unit")
            assert row.text.startswith("城建办")
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "loop-unit-queue-phone"))
            driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{number}'] td.ref a").click()
            WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "item")))
            assert offered(driver, number) == ["sign", "bounce"]
            marks["sign"] = stub.mark()
            press(driver, number, "sign")
            assert offered(driver, number) == ["note", "request_extension", "finish", "bounce"]
            marks["finish"] = stub.mark()
            press(driver, number, "finish", answer=answer)
            assert offered(driver, number) == []
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "loop-unit-item-phone"))

    def office_approves() -> None:
        with chromium() as driver:
            open_on_a_phone(driver, entry_for(desk, ADMIN, "AAQoffice2"), "queue")
            driver.get(base + item)
            WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "item")))
            assert answer in driver.find_element(By.ID, "item").text
            marks["approve"] = stub.mark()
            press(driver, number, "approve_done")
            screenshots.append(shows_status(driver, "answered", "loop-approved-phone"))

    await asyncio.wait_for(asyncio.to_thread(office_dispatches), timeout=120)
    task = await stub.wait_for(
        UNIT_CLERK.id, after=marks["dispatch"], predicate=lambda m: f"#{number}" in m.plain
    )
    assert "请本周内修复" in task.plain and task.buttons
    await edit_showing(stub, card, t("zh-Hans", "status.dispatched"), after=marks["dispatch"])
    await asyncio.wait_for(asyncio.to_thread(unit_works), timeout=120)
    await edit_showing(stub, task, t("zh-Hans", "status.signed"), after=marks["sign"])
    check = await stub.wait_for_text(OFFICE, answer, after=marks["finish"])
    assert check.buttons  # the office's 审核 in the chat as well
    await asyncio.wait_for(asyncio.to_thread(office_approves), timeout=120)
    answered = t("zh-Hans", "status.answered")
    await edit_showing(stub, card, answered, after=marks["approve"])  # the office's card
    await edit_showing(stub, task, answered, after=marks["approve"])  # the unit's task card
    await stub.wait_for_text(ALICE.id, answer, after=marks["approve"])
    assert status_of(desk.settings, number) == "answered"
    with capsys.disabled():
        print("\nweb desk loop screenshots:", *screenshots, sep="\n  ")
    assert all(path.stat().st_size > 1000 for path in screenshots)


async def test_a_clerk_filters_to_overdue_items_and_dispatches_one_in_chromium(
    stub: FakeBotApi, units_desk: BotRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    """#23's browser test as it is worded: a clerk opens the desk with valid login data (the
    Mini App's fragment), filters the queue to overdue items, opens one, dispatches it to
    城建办, and the unit's chat on the Bot API stand-in receives the task card."""
    desk = units_desk
    late = await submit(stub, ALICE, "学校门口的红绿灯坏了一个多星期", anonymous=False)
    on_time = await submit(stub, BOB, "菜市场的排水沟堵了", anonymous=True)
    now = datetime.now(UTC).replace(microsecond=0)
    for number, due in ((late, now - timedelta(days=3)), (on_time, now + timedelta(days=5))):
        await sql(
            desk.settings,
            "UPDATE submissions SET status = 'accepted', deadline = ? WHERE id = ?",
            (due.isoformat(), number),
        )
    screenshots: list[Path] = []
    marks: dict[str, int] = {}

    def clerk() -> None:
        with chromium() as driver:
            wait = open_on_a_phone(driver, entry_for(desk, ADMIN, "AAQoverdue1"), "queue")
            assert sorted(shown_ids(driver)) == sorted([late, on_time])
            driver.find_element(By.CSS_SELECTOR, ".filters summary").click()
            driver.find_element(By.CSS_SELECTOR, "input[name=overdue]").click()
            driver.find_element(By.CSS_SELECTOR, ".filters details button[type=submit]").click()
            wait.until(lambda d: "overdue=1" in d.current_url)
            assert shown_ids(driver) == [late]
            row = driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{late}']")
            assert "overdue" in (row.get_attribute("class") or "")
            assert scroll_width(driver) <= PHONE[0]
            screenshots.append(shoot(driver, "overdue-queue-phone"))
            row.find_element(By.CSS_SELECTOR, "td.ref a").click()
            wait.until(ec.presence_of_element_located((By.ID, "item")))
            assert "dispatch" in offered(driver, late)
            marks["dispatch"] = stub.mark()
            press(
                driver, late, "dispatch", unit="cjb", deadline="5", instruction="逾期件，请优先办理"
            )
            screenshots.append(shows_status(driver, "dispatched", "overdue-dispatched-phone"))

    await asyncio.wait_for(asyncio.to_thread(clerk), timeout=120)
    task = await stub.wait_for(
        UNIT_CLERK.id, after=marks["dispatch"], predicate=lambda m: f"#{late}" in m.plain
    )
    assert "逾期件，请优先办理" in task.plain and task.buttons  # the task card, its buttons
    assert status_of(desk.settings, late) == "dispatched"
    assert status_of(desk.settings, on_time) == "accepted"
    with capsys.disabled():
        print("\nweb desk overdue screenshots:", *screenshots, sep="\n  ")
    assert all(path.stat().st_size > 1000 for path in screenshots)
