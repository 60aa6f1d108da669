"""End to end: configured texts that HTML would misread (a topic named ``交通 & 出行`` or
``Roads & transport``, a campaign name or an owner with ``<`` and ``&``) reach every
message as written, through the whole resident flow and the office's views (issue 15.4)."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.processes import EXAMPLE_CONFIG

OFFICE = -1001234567
CAMPAIGN = "解放思想 <第二期> & 大讨论"
ZH_TOPIC = "交通 & 出行"
HANT_TOPIC = "交通 & <出行>"
EN_TOPIC = "Roads & transport"
OWNER = "交通办 & <城建办>"
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
CAROL = FakeUser(id=555000222, first_name="陳", language_code="zh-hant")
WEDNESDAY_10H = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def topics_with_odd_names() -> list[dict[str, Any]]:
    with EXAMPLE_CONFIG.open("rb") as fh:
        topics: list[dict[str, Any]] = tomllib.load(fh)["topics"]
    for topic in topics:
        if topic["id"] == "transport":
            topic["names"] = {"zh-Hans": ZH_TOPIC, "zh-Hant": HANT_TOPIC, "en": EN_TOPIC}
    return topics


@pytest.fixture
async def office(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        campaign={"name": CAMPAIGN},
        office={"owners": [OWNER, "城建办"]},
        limits={"max_submissions_per_hour": 0},
        topics=topics_with_odd_names(),
    )
    runner = BotRunner(settings, FrozenClock(WEDNESDAY_10H))
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def submit_through_the_flow(chat: Chat, lang: str, text: str, topic: str) -> int:
    """Every step of the resident flow, checking that the topic's name reads as configured."""
    greeting = await chat.send("/start")
    assert CAMPAIGN in greeting.plain
    received = await chat.send("/report " + text)
    proposal = await chat.tap(received, t(lang, "button.next").split()[0])
    assert topic in proposal.plain
    who = await chat.tap(proposal, t(lang, "topic.accept").split(" ", 1)[-1])
    # The named/anonymous step: this one answered with an apology (the name went unescaped).
    assert who.plain.startswith(t(lang, "identity.ask", topic=topic).split("\n")[0])
    assert t(lang, "error.apology") not in who.plain
    summary = await chat.tap(who, t(lang, "identity.named").split(" ", 1)[-1])
    assert topic in summary.plain
    ack = await chat.tap(summary, t(lang, "button.confirm").split(" ", 1)[-1], expect="#")
    number = int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))
    mine = await chat.send("/my", expect=f"#{number}")
    assert topic in mine.plain
    detail = await chat.send(f"/status {number}", expect=f"#{number}")
    assert topic in detail.plain
    return number


async def test_the_resident_flow_shows_configured_names_as_written(
    stub: FakeBotApi, office: BotRunner
) -> None:
    for user, lang, text, topic in (
        (ALICE, "zh-Hans", "村里到镇上的公交班次太少", ZH_TOPIC),
        (BOB, "en", "The bus to the town centre runs only twice a day", EN_TOPIC),
        (CAROL, "zh-Hant", "村裡到鎮上的公車班次太少", HANT_TOPIC),
    ):
        await submit_through_the_flow(Chat(stub, user), lang, text, topic)
    apology = {t(lang, "error.apology") for lang in ("zh-Hans", "zh-Hant", "en")}
    assert [m for m in stub.sent if m.plain in apology] == []


async def test_the_office_sees_configured_names_as_written(
    stub: FakeBotApi, office: BotRunner
) -> None:
    number = await submit_through_the_flow(
        Chat(stub, ALICE), "zh-Hans", "村里到镇上的公交班次太少", ZH_TOPIC
    )
    announced = await stub.wait_for(
        OFFICE, predicate=lambda m: f"#{number}" in m.plain and bool(m.buttons)
    )
    assert ZH_TOPIC in announced.plain
    admin = Chat(stub, ADMIN)
    card = await admin.send("/review", expect=f"#{number}")
    assert ZH_TOPIC in card.plain
    listing = await admin.send("/queue new transport", expect=f"#{number}")
    assert ZH_TOPIC in listing.plain
    found = await admin.send("/search 公交班次", expect=f"#{number}")
    assert ZH_TOPIC in found.plain

    # Assigning offers the configured owners; the owner is shown as typed.
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    refreshed = await stub.wait_for(
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == card.message_id,
    )
    assert ZH_TOPIC in refreshed.plain
    prompt = await admin.tap(refreshed, "指定承办", expect=f"#{number}")
    assert OWNER in prompt.plain
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, OWNER + " 1")
    assigned = await stub.wait_for_text(ADMIN.id, OWNER, after=mark)
    assert t("zh-Hans", "error.apology") not in assigned.plain
    shown = await admin.send(f"/show {number}", expect=OWNER)
    assert ZH_TOPIC in shown.plain

    # Topic buttons and the confirmation after a change.
    mark = stub.mark()
    stub.press_button(ADMIN, shown, "改类别")
    topics = await stub.wait_for(
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method.startswith("edit") and "adm:tps" in str(m.reply_markup),
    )
    assert any(ZH_TOPIC in label for label, _ in topics.buttons)
    target = next(d for label, d in topics.buttons if "教育" in label)
    moved = await admin.tap_data(topics, target, expect="教育")
    assert moved is not None
    back = next(d for label, d in topics.buttons if ZH_TOPIC in label)
    again = await admin.tap_data(topics, back, expect=ZH_TOPIC)
    assert t("zh-Hans", "admin.topic.set", ref=f"#{number}", topic=ZH_TOPIC) == again.plain

    assert isinstance(office.clock, FrozenClock)
    office.clock.advance(minutes=5)
    digest = await admin.send("/digest", expect="每日简报")
    assert CAMPAIGN in digest.plain and ZH_TOPIC in digest.plain
    stats = await admin.send("/stats", expect="统计")
    assert ZH_TOPIC in stats.plain
    history = await admin.send(f"/show {number}", expect="→")
    assert f"{ZH_TOPIC} → 教育" in history.plain
    apology = t("zh-Hans", "error.apology")
    assert [m for m in stub.sent if m.plain == apology] == []
