"""End to end: the web desk's reports (#23) through aiohttp's test client against the desk
the bot built with build_application serves: the /stats figures for a period, the chart,
and the ledger (整改台账) downloaded as XLSX or CSV for a period and the queue's filters,
with anonymous senders as 匿名 and nothing that identifies them."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from bot.config import Settings
from bot.core.reports import ledger_header
from bot.core.workflow import Status
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, Upload
from tests.conftest import ADMIN, BotRunner, FrozenClock
from tests.webdesk import (
    ALICE,
    BOB,
    csrf_of,
    desk_of,
    desk_settings,
    sign_in,
    started,
    submit,
)

START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
BOB_IDENTITY = (str(BOB.id), "王", "小明", "wang_xm")


def zh(key: str, **values: Any) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    # The campaign's clock starts last year (for one old item), see ``three``.
    clock = FrozenClock(START - timedelta(days=400))
    async with started(desk_settings(stub, make_settings), clock) as runner:
        yield runner


@pytest.fixture
async def three(stub: FakeBotApi, desk: BotRunner) -> tuple[int, int, int]:
    """Alice's named problem (accepted), Bob's anonymous one, and an item of last year."""
    old = await submit(stub, ALICE, "去年的建议：增加停车位", anonymous=False)
    assert isinstance(desk.clock, FrozenClock)
    desk.clock.advance(days=400)
    named = await submit(stub, ALICE, "幸福路的路灯坏了，晚上很黑", anonymous=False)
    anonymous = await submit(stub, BOB, '=HYPERLINK("x") 井盖 <b>松动</b>', anonymous=True)
    repo = desk_of(desk).desk.repository
    await repo.change_status(named, Status.ACCEPTED, actor=f"admin:{ADMIN.id}")
    return named, anonymous, old


async def get(client: TestClient[Any, Any], path: str, status: int = 200) -> Any:
    response = await client.get(path)
    if response.status != status:
        raise AssertionError(f"{path}: {response.status} {(await response.text())[:500]}")
    return response


async def test_the_reports_page_shows_the_stats_figures_of_a_period(
    client: TestClient[Any, Any], desk: BotRunner, three: tuple[int, int, int]
) -> None:
    assert (await client.get("/desk/reports")).status == 401
    await sign_in(client, desk)
    html = await (await get(client, "/desk/reports")).text()
    today = START.astimezone(desk.settings.campaign.tz).date()
    first = today - timedelta(days=29)
    # The last 30 days by default, as /stats: the two recent items, not last year's.
    title = tn("zh-Hans", "stats.title", 2, start=first, end=today, total=2)
    assert title in html
    assert f'<input type="date" name="from" value="{first}">' in html
    for label in (zh("status.new"), zh("status.accepted"), zh("web.named")):
        assert label in html
    named_row = html.split(f'<th scope="row">{zh("summary.anonymous")}</th>', 1)[1]
    assert named_row.startswith('<td class="n">1</td><td class="share">50%</td>')
    # The figures /stats gives for the same period.
    tz = desk.settings.campaign.tz
    stats = await desk_of(desk).desk.repository.stats(
        start=datetime.combine(first, datetime.min.time(), tzinfo=tz),
        end=datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=tz),
    )
    assert stats.total == 2 and stats.anonymous == 1
    median = stats.median_first_response_hours
    assert zh("stats.first_response", hours="—" if median is None else f"{median:.1f}") in html
    assert 'progress max="2" value="1"' in html
    assert f'src="/desk/reports/chart.png?from={first}&amp;to={today}"' in html
    for identity in BOB_IDENTITY:
        assert identity not in html
    # A period with last year's item; dates that cannot be used: the default, and why.
    year = await (await get(client, f"/desk/reports?from={today.year - 1}-01-01")).text()
    assert tn("zh-Hans", "stats.title", 3, start=f"{today.year - 1}-01-01", end=today,
              total=3) in year  # fmt: skip
    bad = await (await get(client, "/desk/reports?from=2026-12-31&to=2026-01-01")).text()
    assert zh("web.reports.bad_period") in bad and title in bad
    huge = await (await get(client, "/desk/reports?from=0001-01-01&to=9999-12-31")).text()
    assert zh("web.reports.bad_period") in huge
    only_to = await (await get(client, f"/desk/reports?to={today}")).text()
    assert title in only_to
    for edge in ("to=0001-01-01", "to=1970-01-05", "from=9999-12-31", "to=2999-12-31&from=x"):
        edged = await (await get(client, f"/desk/reports?{edge}")).text()
        assert zh("web.reports.bad_period") in edged, edge
    ledger = await get(client, "/desk/reports/ledger?format=csv&to=0001-01-01")
    # An unusable period: the whole ledger, from the first item's day (as /export's, #17).
    first = (START - timedelta(days=400)).astimezone(desk.settings.campaign.tz).date()
    assert ledger.headers["Content-Disposition"].endswith(f"ledger-{first}-{today}.csv")


async def test_the_chart_is_drawn_for_the_period(
    client: TestClient[Any, Any], desk: BotRunner, three: tuple[int, int, int]
) -> None:
    await sign_in(client, desk)
    response = await get(client, "/desk/reports/chart.png")
    assert response.headers["Content-Type"] == "image/png"
    assert (await response.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_the_ledger_downloads_as_csv_and_xlsx_with_anonymous_senders_as_such(
    client: TestClient[Any, Any], desk: BotRunner, three: tuple[int, int, int]
) -> None:
    named, anonymous, old = three
    assert (await client.get("/desk/reports/ledger")).status == 401
    await sign_in(client, desk)
    today = START.astimezone(desk.settings.campaign.tz).date()
    # Everything, from the first item's day (the item of last year: the clock moved 400 days).
    first = (START - timedelta(days=400)).astimezone(desk.settings.campaign.tz).date()

    response = await get(client, "/desk/reports/ledger?format=csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=ledger-{first}-{today}.csv"
    )
    assert "Content-Security-Policy" in response.headers
    body = await response.read()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ledger_header("zh-Hans", desk.settings)
    by_ref = {row[0]: row for row in rows[1:]}
    assert set(by_ref) == {f"#{old}", f"#{named}", f"#{anonymous}"}  # everything, as /export
    sender = rows[0].index(zh("ledger.sender"))
    assert by_ref[f"#{anonymous}"][sender] == zh("ledger.anonymous")
    assert by_ref[f"#{named}"][sender].startswith("李")
    summary = by_ref[f"#{anonymous}"][rows[0].index(zh("ledger.summary"))]
    assert summary.startswith("'=HYPERLINK")  # a formula stays text
    text = body.decode("utf-8-sig")
    for identity in BOB_IDENTITY:
        assert identity not in text

    # The queue's filters and a period.
    anonymous_only = await get(client, "/desk/reports/ledger?format=csv&who=anonymous")
    lines = list(csv.reader(io.StringIO((await anonymous_only.read()).decode("utf-8-sig"))))
    assert [row[0] for row in lines[1:]] == [f"#{anonymous}"]
    period = await get(client, f"/desk/reports/ledger?format=csv&from={today}&to={today}"
                       "&status=accepted")  # fmt: skip
    assert period.headers["Content-Disposition"].endswith(f"ledger-{today}-{today}.csv")
    lines = list(csv.reader(io.StringIO((await period.read()).decode("utf-8-sig"))))
    assert [row[0] for row in lines[1:]] == [f"#{named}"]
    searched = await get(client, "/desk/reports/ledger?format=csv&q=路灯")
    lines = list(csv.reader(io.StringIO((await searched.read()).decode("utf-8-sig"))))
    assert [row[0] for row in lines[1:]] == [f"#{named}"]

    # XLSX (the default), in the viewer's language.
    response = await get(client, f"/desk/reports/ledger?from={today}")
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"].endswith(f"ledger-{today}-{today}.xlsx")
    book = load_workbook(io.BytesIO(await response.read()), read_only=True)
    sheet = book.worksheets[0]
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert list(cells[0]) == ledger_header("zh-Hans", desk.settings)
    assert {row[0] for row in cells[1:]} == {f"#{named}", f"#{anonymous}"}
    flat = " ".join(str(c) for row in cells for c in row if c is not None)
    assert zh("ledger.anonymous") in flat
    for identity in BOB_IDENTITY:
        assert identity not in flat


async def test_the_queue_links_the_ledger_of_its_filter(
    client: TestClient[Any, Any], desk: BotRunner, three: tuple[int, int, int]
) -> None:
    await sign_in(client, desk)
    html = await (await get(client, "/desk/queue?who=anonymous&sort=old")).text()
    assert 'href="/desk/reports/ledger?who=anonymous&amp;sort=old&amp;format=xlsx"' in html
    assert 'href="/desk/reports/ledger?who=anonymous&amp;sort=old&amp;format=csv"' in html
    assert f'href="/desk/reports">{zh("web.reports.title")}</a>' in html


async def test_the_reports_form_downloads_or_sends_the_ledger_to_the_viewers_chat(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner, three: tuple[int, int, int]
) -> None:
    """On a phone a Mini App cannot always save a download: the form also sends the file
    to the viewer's own chat with the bot, as /export does. Both POSTs need the token."""
    named, anonymous, _ = three
    await sign_in(client, desk)
    html = await (await get(client, "/desk/reports")).text()
    csrf = csrf_of(html)
    assert 'formaction="/desk/reports/ledger/send"' in html
    today = START.astimezone(desk.settings.campaign.tz).date()
    form = {"csrf": csrf, "from": str(today), "to": str(today), "format": "csv"}
    forged = await client.post("/desk/reports/ledger/send", data={**form, "csrf": "x"})
    assert forged.status == 403
    assert (await client.post("/desk/reports/ledger", data={**form, "csrf": "x"})).status == 403
    posted = await client.post("/desk/reports/ledger", data={**form, "who": "anonymous"})
    assert posted.status == 200
    lines = list(csv.reader(io.StringIO((await posted.read()).decode("utf-8-sig"))))
    assert [row[0] for row in lines[1:]] == [f"#{anonymous}"]

    mark = stub.mark()
    sent = await client.post("/desk/reports/ledger/send", data=form, allow_redirects=False)
    assert sent.status == 303
    assert sent.headers["Location"] == f"/desk/reports?from={today}&to={today}&sent=1"
    message = await stub.wait_for(
        ADMIN.id, after=mark, predicate=lambda m: m.method == "sendDocument"
    )
    upload = message.params["document"]
    assert isinstance(upload, Upload)
    assert upload.filename == f"ledger-{today}-{today}.csv"
    assert message.plain == tn("zh-Hans", "export.caption", 2, start=today, end=today, n=2)
    rows = list(csv.reader(io.StringIO(upload.content.decode("utf-8-sig"))))
    assert {row[0] for row in rows[1:]} == {f"#{named}", f"#{anonymous}"}
    for identity in BOB_IDENTITY:
        assert identity not in upload.content.decode("utf-8-sig")
    notice = await (await get(client, sent.headers["Location"])).text()
    assert zh("web.file.sent") in notice
    # Telegram refuses (the clerk never opened a chat with the bot): said so.
    stub.fail_next(
        "sendDocument", status=403, description="Forbidden: bot can't initiate conversation"
    )
    refused = await client.post("/desk/reports/ledger/send", data=form, allow_redirects=False)
    assert refused.headers["Location"].endswith("&unsent=1")
