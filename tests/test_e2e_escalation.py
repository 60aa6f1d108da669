"""End to end (#19): with a frozen clock, an item dispatched to a unit walks every rung of
the chasing ladder through the real Application against the stand-in, the bot restarted
between rungs (the job runs every 0.2 s): the exact messages the unit's group, the office
and the leading group received at each rung, nothing twice, nothing outside working hours;
and the office's 催办 button, once an hour per item."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.databases import both_backends
from tests.test_e2e_loop import (
    ALICE,
    CJB_CLERK,
    CJB_GROUP,
    OFFICE,
    accept,
    current,
    dispatch,
    press_when_shown,
    zh,
)
from tests.test_e2e_office import submit

make_settings = both_backends()


GROUP = -1005555  # the leading group
CHATS = (CJB_GROUP, OFFICE, GROUP)
RUNS = 0.8  # four runs of the job: time for a rung sent twice to show


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """November ``day`` 2026, ``hour``:``minute`` in Shanghai (2 November is a Monday)."""
    return datetime(2026, 11, day, hour - 8, minute, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(shanghai(2, 9))


@pytest.fixture
def leading_group() -> int:
    return GROUP


@pytest.fixture
async def bot(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    clock: FrozenClock,
    leading_group: int,
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE, "leading_group_chat_id": leading_group},
        limits={"max_submissions_per_hour": 0},
        office={"notice_window": 0},
        escalation={"check_seconds": 0.2},
        units=[
            {
                "id": "cjb",
                "names": {"zh-Hans": "城建办"},
                "chat_id": CJB_GROUP,
                "member_ids": [CJB_CLERK.id],
            }
        ],
    )
    runner = BotRunner(settings, clock=clock)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def sent_since(stub: FakeBotApi, mark: int) -> dict[int, list[str]]:
    """The new messages (not edits) each of the three chats received after ``mark``."""
    found: dict[int, list[str]] = {}
    for m in stub.sent:
        if m.seq > mark and m.chat_id in CHATS and m.method.startswith("send"):
            found.setdefault(m.chat_id, []).append(m.plain)
    return found


async def rung(
    stub: FakeBotApi, bot: BotRunner, clock: FrozenClock, when: datetime, chat: int, text: str
) -> dict[int, list[str]]:
    """Stop the bot, move the clock to ``when``, start it again; wait for ``text`` in
    ``chat`` and a few more runs of the job; what each chat received meanwhile."""
    await bot.stop()
    clock.now = when
    mark = stub.mark()
    await bot.start()
    await stub.wait_for_text(chat, text, after=mark)
    await asyncio.sleep(RUNS)
    await stub.wait_idle()
    return sent_since(stub, mark)


async def quiet(stub: FakeBotApi, bot: BotRunner, clock: FrozenClock, when: datetime) -> None:
    """Restarted at ``when``, the job sends nothing."""
    await bot.stop()
    clock.now = when
    mark = stub.mark()
    await bot.start()
    await asyncio.sleep(RUNS)
    await stub.wait_idle()
    assert sent_since(stub, mark) == {}


async def dispatched(stub: FakeBotApi) -> tuple[int, SentMessage, int]:
    """A resident's item accepted and dispatched to 城建办 on Monday, due Thursday 5th: its
    number, the office's card and the mark before the dispatch."""
    number = await submit(Chat(stub, ALICE), "村口路灯坏了一个多星期，晚上很黑", anonymous=True)
    card = await accept(stub, number, ALICE)
    return number, card, await dispatch(stub, card, "城建办", number, "3 请核实")


async def test_an_item_walks_every_rung_with_restarts_between(
    stub: FakeBotApi, bot: BotRunner, clock: FrozenClock
) -> None:
    number, card, mark = await dispatched(stub)
    ref = f"#{number}"
    task = await stub.wait_for(
        CJB_GROUP, after=mark, predicate=lambda m: ref in m.plain and bool(m.buttons)
    )
    values = {"ref": ref, "unit": "城建办", "date": "2026-11-05"}

    # Monday 09:00: three working days left, nothing signed yet but within the limit.
    await asyncio.sleep(RUNS)
    await stub.wait_idle()
    assert sent_since(stub, stub.mark()) == {}
    # The office chases by hand; again within the hour is refused.
    mark = await press_when_shown(stub, ADMIN, card, zh("admin.action.urge"))
    await stub.wait_for_text(CJB_GROUP, zh("escalation.unit.urge", **values), after=mark)
    await stub.wait_idle()
    assert sent_since(stub, mark) == {
        CJB_GROUP: [zh("escalation.unit.urge", **values)],
        OFFICE: [zh("escalation.urge.sent", ref=ref)],
    }
    mark = stub.mark()
    stub.press_button(ADMIN, current(stub, card), zh("admin.action.urge"))
    refusal = await stub.wait_for_text(OFFICE, ref, after=mark)
    assert refusal.plain == zh("escalation.urge.recent", ref=ref, time="2026-11-02 09:00")

    # Tuesday: past the sign-for limit (09:00), two working days left. Not before 08:30.
    await quiet(stub, bot, clock, shanghai(3, 8, 29))
    sent = await rung(
        stub,
        bot,
        clock,
        shanghai(3, 10),
        CJB_GROUP,
        zh("escalation.unit.before", **values, days="2"),
    )
    assert sent == {
        CJB_GROUP: [
            zh("escalation.unit.before", **values, days="2"),
            zh("escalation.unit.unsigned_unit", **values, time="2026-11-03 09:00"),
        ]
    }
    mark = stub.mark()
    stub.press_button(CJB_CLERK, current(stub, task), zh("unit.action.sign"))
    await stub.wait_for_text(CJB_GROUP, zh("loop.signed", ref=ref), after=mark)

    # Wednesday: nothing new. Thursday, the deadline's day: the unit and the office.
    await quiet(stub, bot, clock, shanghai(4, 10))
    sent = await rung(
        stub, bot, clock, shanghai(5, 8, 30), OFFICE, zh("escalation.office.due", **values)
    )
    assert sent == {
        CJB_GROUP: [zh("escalation.unit.due", **values)],
        OFFICE: [zh("escalation.office.due", **values)],
    }
    # Friday: overdue, the office at once; the weekend and Monday (3 days) nothing.
    overdue = zh("escalation.office.overdue", **values, days="1")
    assert await rung(stub, bot, clock, shanghai(6, 10), OFFICE, overdue) == {OFFICE: [overdue]}
    await quiet(stub, bot, clock, shanghai(7, 10))
    await quiet(stub, bot, clock, shanghai(9, 10))
    # Tuesday 10th, four days overdue: the office again (every three days).
    overdue = zh("escalation.office.overdue", **values, days="4")
    assert await rung(stub, bot, clock, shanghai(10, 10), OFFICE, overdue) == {OFFICE: [overdue]}
    # Wednesday 11th, five days overdue: 督办.
    reason = zh("escalation.reason.overdue", days="5")
    heading = zh("escalation.group.supervised", **values, reason=reason)
    sent = await rung(stub, bot, clock, shanghai(11, 10), GROUP, heading)
    assert sent[CJB_GROUP] == [zh("escalation.unit.supervised", **values, reason=reason)]
    assert sent[OFFICE] == [zh("escalation.office.supervised", **values, reason=reason)]
    group_heading, group_card, history = sent[GROUP]
    assert group_heading == heading
    assert "村口路灯坏了" in group_card and zh("group.card.heading") in group_card
    history_lines = history.splitlines()
    assert history_lines[0] == zh("escalation.group.history", ref=ref)
    assert [line.split(" ", 2)[2].split(" — ")[0] for line in history_lines[1:]] == [
        zh("status.new"),
        zh("status.accepted"),
        zh("step.dispatch"),
        zh("step.urge"),
        zh("step.remind"),
        zh("step.remind"),
        zh("step.sign"),
        zh("step.remind"),
        zh("step.remind"),
        zh("step.remind"),
    ]
    # Nothing more that day, nor the day after (the next overdue line is at seven days).
    await quiet(stub, bot, clock, shanghai(12, 10))


async def test_stats_unit_shows_one_units_rates_and_open_items(
    stub: FakeBotApi, bot: BotRunner, clock: FrozenClock
) -> None:
    number = await submit(Chat(stub, ALICE), "村口路灯坏了一个多星期，晚上很黑", anonymous=True)
    card = await accept(stub, number, ALICE)
    mark = await dispatch(stub, card, "城建办", number, "3 请核实")
    await stub.wait_for(CJB_GROUP, after=mark, predicate=lambda m: f"#{number}" in m.plain)
    clock.now = shanghai(6, 10)  # a day past the deadline, never signed
    admin = Chat(stub, ADMIN)
    shown = await admin.send("/stats unit 城建办", expect="城建办")
    assert shown.plain.splitlines()[:2] == [
        zh("indices.unit.title", unit="城建办", start="2026-10-08", end="2026-11-06")
        .replace("<b>", "")
        .replace("</b>", ""),
        zh(
            "indices.line",
            unit="城建办",
            items="1",
            sign="0.0%",
            on_time="0.0%",
            solved="—",
            satisfied="—",
            redo="—",
            days="—",
            overdue="1",
        )
        .replace("<b>", "")
        .replace("</b>", ""),
    ]
    assert zh("indices.unit.open") in shown.plain and f"#{number}" in shown.plain
    shown = await admin.send("/stats unit 2026-11-01", expect="2026-11-01")
    assert shown.plain.startswith(zh("indices.unit.unknown", value="2026-11-01", units="")[:8])
    shown = await admin.send("/stats unit cjb 2026-11-01 2026-11-30", expect="城建办")
    assert "2026-11-01" in shown.plain and "城建办：1 件" in shown.plain


@pytest.mark.parametrize("leading_group", [0])
async def test_without_a_leading_group_the_office_supervises_and_everyone_is_told_so(
    stub: FakeBotApi, bot: BotRunner, clock: FrozenClock
) -> None:
    number, _, mark = await dispatched(stub)
    ref = f"#{number}"
    await stub.wait_for(CJB_GROUP, after=mark, predicate=lambda m: ref in m.plain)
    values = {"ref": ref, "unit": "城建办", "date": "2026-11-05"}
    reason = zh("escalation.reason.overdue", days="5")
    # Back after a long stop on Wednesday 11th, five days overdue: 督办 by the office.
    by_office = zh("escalation.office.supervised_by_office", **values, reason=reason)
    sent = await rung(stub, bot, clock, shanghai(11, 10), OFFICE, by_office)
    assert zh("escalation.unit.supervised_by_office", **values, reason=reason) in sent[CJB_GROUP]
    assert by_office in sent[OFFICE]
    assert GROUP not in sent
    everything = [text for texts in sent.values() for text in texts]
    assert zh("escalation.office.supervised", **values, reason=reason) not in everything
    assert not [text for text in everything if "领导小组" in text.replace(by_office, "")]
