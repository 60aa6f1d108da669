"""The chasing ladder in the core (#19), with a real repository and a frozen clock: every
rung once, in working hours of working days only, the highest rung only after downtime,
督办 to the leading group with the history (after K days overdue or at the second 重办),
an approved extension starting the rungs afresh, and the office's 催办 by hand (office
only, once an hour per item, recorded); the weekly summary's indices and 通报 over items
walked through the loop."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest

import storage.escalation
from bot import charts
from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import escalation, indices, loop, reporting, reviewing, submitting
from bot.core.access import Actor, Place, identify
from bot.core.env import Env
from bot.core.records import Draft
from bot.core.results import Refusal
from bot.core.workflow import Kind
from bot.i18n import t
from storage.escalation import RungRecord
from storage.outbox import enqueue
from storage.repository import Repository
from tests.conftest import FrozenClock

ADMIN_ID = 1000001
RESIDENT_ID = 4242
CLERK = 4001
OFFICE = -1001234567
GROUP = -1005555
CJB_GROUP = -1009000
# Monday 2 November 2026, 09:00 in Shanghai; the week's days are all working days.
MONDAY_9 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def env(make_settings: Callable[..., Settings]) -> AsyncIterator[Env]:
    settings = make_settings(
        roles={
            "admin_ids": [ADMIN_ID],
            "office_chat_id": OFFICE,
            "leading_group_chat_id": GROUP,
        },
        limits={"max_submissions_per_hour": 0},
        office={"notice_window": 0},
        units=[{"id": "cjb", "names": {"zh-Hans": "城建办"}, "chat_id": CJB_GROUP}],
    )
    secrets = Secrets.generate()
    repository = Repository(settings.storage.path, clock=FrozenClock(MONDAY_9), secrets=secrets)
    await repository.connect()
    try:
        yield Env(repository, settings, secrets)
    finally:
        await repository.close()


def clock(env: Env) -> FrozenClock:
    found = env.repository.clock
    assert isinstance(found, FrozenClock)
    return found


def at(env: Env, day: int, hour: int, minute: int = 0) -> None:
    """Set the clock to November ``day``, ``hour``:``minute`` Shanghai time."""
    local = datetime(2026, 11, day, hour, minute, tzinfo=env.settings.campaign.tz)
    clock(env).now = local.astimezone(UTC)


def admin(env: Env) -> Actor:
    return identify(env.settings, ADMIN_ID, Place.OFFICE, language="zh-Hans", chat_id=OFFICE)


def clerk(env: Env) -> Actor:
    return identify(env.settings, CLERK, Place.UNIT, language="zh-Hans", chat_id=CJB_GROUP)


def rows(env: Env, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(env.settings.storage.path) as db:
        return list(db.execute(sql, params))


class Inbox:
    """What each chat was sent since the last look (texts, in order)."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.seen = 0

    def new(self) -> dict[int, list[str]]:
        found = rows(
            self.env,
            "SELECT id, chat_enc, body FROM outbox WHERE copy_id IS NULL AND id > ? ORDER BY id",
            self.seen,
        )
        out: dict[int, list[str]] = {}
        for row_id, chat_enc, body in found:
            self.seen = max(self.seen, int(str(row_id)))
            chat = self.env.secrets.decrypt_int(str(chat_enc))
            assert chat is not None
            out.setdefault(chat, []).append(json.loads(str(body))["text"])
        return out


async def dispatched(env: Env, deadline: str = "3") -> int:
    draft = Draft(kind=Kind.PROBLEM, parts=["河道里有人倾倒垃圾"], anonymous=True)
    await env.repository.save_draft(RESIDENT_ID, draft)
    who = identify(env.settings, RESIDENT_ID, Place.PRIVATE, language="zh-Hans")
    result = await submitting.submit(env, who, draft, chat_id=RESIDENT_ID, key=None)
    assert result.item is not None
    number = result.item.id
    await reviewing.accept(env, admin(env), number, key=None)
    done = await loop.dispatch(env, admin(env), number, "cjb", deadline=deadline, key=None)
    assert done.ok
    return number


async def test_every_rung_once_in_working_hours(env: Env) -> None:
    number = await dispatched(env)  # Monday: due Thursday 5th, sign for by Tuesday 09:00
    ref = f"#{number}"
    inbox = Inbox(env)
    inbox.new()
    values = {"ref": ref, "unit": "城建办", "date": "2026-11-05"}

    at(env, 2, 10)  # three working days left, nothing to sign yet
    assert await escalation.chase(env) == 0

    at(env, 3, 10)  # past the sign-for limit; two working days left
    assert await escalation.chase(env) == 2
    assert inbox.new() == {
        CJB_GROUP: [
            zh("escalation.unit.before", **values, days="2"),
            zh("escalation.unit.unsigned_unit", **values, time="2026-11-03 09:00"),
        ]
    }
    assert await escalation.chase(env) == 0  # once
    assert (await loop.sign(env, clerk(env), number, key=None)).ok

    at(env, 4, 10)
    assert await escalation.chase(env) == 0
    at(env, 5, 7, 59)  # the deadline's day, before working hours
    assert await escalation.chase(env) == 0
    at(env, 5, 8, 30)
    assert await escalation.chase(env) == 1  # one rung, two messages
    assert inbox.new() == {
        CJB_GROUP: [zh("escalation.unit.due", **values)],
        OFFICE: [zh("escalation.office.due", **values)],
    }
    at(env, 6, 10)
    assert await escalation.chase(env) == 1
    assert inbox.new() == {OFFICE: [zh("escalation.office.overdue", **values, days="1")]}
    at(env, 7, 10)  # Saturday
    assert await escalation.chase(env) == 0
    at(env, 9, 10)  # three days overdue: the next reminder is at four
    assert await escalation.chase(env) == 0
    at(env, 10, 18, 0)  # after working hours
    assert await escalation.chase(env) == 0
    at(env, 10, 10)
    assert await escalation.chase(env) == 1
    assert inbox.new() == {OFFICE: [zh("escalation.office.overdue", **values, days="4")]}

    at(env, 11, 10)  # five days overdue: 督办
    assert await escalation.chase(env) == 1
    reason = zh("escalation.reason.overdue", days="5")
    sent = inbox.new()
    assert sent[CJB_GROUP] == [zh("escalation.unit.supervised", **values, reason=reason)]
    assert sent[OFFICE] == [zh("escalation.office.supervised", **values, reason=reason)]
    heading, card, history = sent[GROUP]
    assert heading == zh("escalation.group.supervised", **values, reason=reason)
    assert "河道里有人倾倒垃圾" in card
    assert history.startswith(zh("escalation.group.history", ref=ref))
    assert zh("step.sign") in history and zh("step.remind") in history
    assert await escalation.chase(env) == 0

    steps = rows(env, "SELECT step FROM history WHERE submission_id = ? ORDER BY id", number)
    chased = [s for (s,) in steps if s in ("remind", "supervise")]
    assert chased == ["remind"] * 5 + ["supervise"]


async def test_after_downtime_only_the_highest_rung_is_sent(env: Env) -> None:
    number = await dispatched(env)
    assert (await loop.sign(env, clerk(env), number, key=None)).ok
    inbox = Inbox(env)
    inbox.new()
    at(env, 10, 9)  # down from Monday to four days past the deadline
    assert await escalation.chase(env) == 1
    values = {"ref": f"#{number}", "unit": "城建办", "date": "2026-11-05"}
    assert inbox.new() == {OFFICE: [zh("escalation.office.overdue", **values, days="4")]}
    assert rows(env, "SELECT rung FROM reminders WHERE submission_id = ?", number) == [
        ("overdue1@2026-11-05",)
    ]


async def test_the_jobs_rungs_go_several_to_a_transaction_each_with_its_rows(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [await dispatched(env) for _ in range(7)]
    inbox = Inbox(env)
    inbox.new()
    monkeypatch.setattr(escalation, "RUNGS_PER_TRANSACTION", 3)
    batches: list[list[int]] = []
    record_rungs = env.repository.record_rungs

    async def counted(rungs: Sequence[RungRecord]) -> int:
        batches.append([r.submission_id for r in rungs])
        return await record_rungs(rungs)

    monkeypatch.setattr(env.repository, "record_rungs", counted)
    calls = 0

    async def failing(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 10:  # the third transaction's second rung
            raise sqlite3.OperationalError("disk I/O error")
        await enqueue(*args, **kwargs)

    monkeypatch.setattr(storage.escalation, "enqueue", failing)

    def recorded() -> tuple[int, int, int]:
        reminders = rows(env, "SELECT COUNT(*) FROM reminders")[0][0]
        history = rows(env, "SELECT COUNT(*) FROM history WHERE step = 'remind'")[0][0]
        return int(str(reminders)), int(str(history)), sum(map(len, inbox.new().values()))

    at(env, 3, 10)  # each item: past its sign-for limit, two working days left
    with pytest.raises(sqlite3.OperationalError):
        await escalation.chase(env)
    # Two transactions of two items each went through whole; the third left nothing.
    assert [len(b) for b in batches] == [4, 4, 4]
    sent_first = {n for b in batches[:2] for n in b}
    assert recorded() == (8, 8, 8)
    assert {int(str(r[0])) for r in rows(env, "SELECT submission_id FROM reminders")} == sent_first
    monkeypatch.setattr(storage.escalation, "enqueue", enqueue)
    batches.clear()
    assert await escalation.chase(env) == 6
    assert [len(b) for b in batches] == [4, 2]  # an item's rungs in one transaction
    assert {n for b in batches for n in b} == set(numbers) - sent_first
    assert recorded() == (14, 14, 6)
    assert await escalation.chase(env) == 0  # each rung once


async def test_an_unsigned_item_reminds_the_unit_then_the_office(env: Env) -> None:
    number = await dispatched(env, "10")
    inbox = Inbox(env)
    inbox.new()
    at(env, 3, 9, 30)
    assert await escalation.chase(env) == 1
    assert list(inbox.new()) == [CJB_GROUP]
    at(env, 4, 9, 30)  # a working day after the limit
    assert await escalation.chase(env) == 1
    values = {"ref": f"#{number}", "unit": "城建办", "time": "2026-11-03 09:00"}
    assert inbox.new() == {OFFICE: [zh("escalation.office.unsigned_office", **values)]}


async def test_the_second_reopening_is_supervised_at_once(env: Env) -> None:
    number = await dispatched(env, "10")
    assert (await loop.sign(env, clerk(env), number, key=None)).ok
    rows_changed = sqlite3.connect(env.settings.storage.path)
    with rows_changed:
        rows_changed.execute("UPDATE submissions SET reopen_count = 2 WHERE id = ?", (number,))
    rows_changed.close()
    inbox = Inbox(env)
    inbox.new()
    at(env, 2, 11)
    assert await escalation.chase(env) == 1
    reason = zh("escalation.reason.reopened", count="2")
    sent = inbox.new()
    assert sent[OFFICE] == [
        zh("escalation.office.supervised", ref=f"#{number}", unit="城建办", reason=reason)
    ]
    assert len(sent[GROUP]) == 3


async def test_an_approved_extension_starts_the_rungs_afresh(env: Env) -> None:
    number = await dispatched(env)
    assert (await loop.sign(env, clerk(env), number, key=None)).ok
    inbox = Inbox(env)
    at(env, 5, 9)
    assert await escalation.chase(env) == 1  # due today
    asked = await loop.request_extension(env, clerk(env), number, "2026-11-20 等材料", key=None)
    assert asked.ok
    assert (await loop.decide_extension(env, admin(env), number, True, key=None)).ok
    inbox.new()
    at(env, 6, 9)
    assert await escalation.chase(env) == 0  # not overdue any more
    at(env, 18, 9)  # two working days before the 20th
    assert await escalation.chase(env) == 1
    values = {"ref": f"#{number}", "unit": "城建办", "date": "2026-11-20", "days": "2"}
    assert inbox.new() == {CJB_GROUP: [zh("escalation.unit.before", **values)]}


async def test_the_office_chases_by_hand_once_an_hour(env: Env) -> None:
    number = await dispatched(env, "10")
    inbox = Inbox(env)
    inbox.new()
    denied = await escalation.urge(env, clerk(env), number, key=None)
    assert not denied.ok and denied.refusal is Refusal.FORBIDDEN
    first = await escalation.urge(env, admin(env), number, key=None)
    assert first.ok and first.message == zh("escalation.urge.sent", ref=f"#{number}")
    values = {"ref": f"#{number}", "unit": "城建办", "date": "2026-11-16"}
    assert inbox.new() == {CJB_GROUP: [zh("escalation.unit.urge", **values)]}
    clock(env).advance(minutes=59)
    again = await escalation.urge(env, admin(env), number, key=None)
    assert not again.ok and again.message == zh(
        "escalation.urge.recent", ref=f"#{number}", time="2026-11-02 09:00"
    )
    assert inbox.new() == {}
    clock(env).advance(minutes=2)
    assert (await escalation.urge(env, admin(env), number, key=None)).ok
    history = rows(
        env, "SELECT actor, step FROM history WHERE submission_id = ? AND step = 'urge'", number
    )
    assert history == [(f"admin:{ADMIN_ID}", "urge")] * 2
    # An item whose 办结 waits for the office's check is not the unit's to be chased.
    clock(env).advance(hours=2)
    assert (await loop.sign(env, clerk(env), number, key=None)).ok
    assert (await loop.finish(env, clerk(env), number, "已清理", key=None)).ok
    inbox.new()
    held = await escalation.urge(env, admin(env), number, key=None)
    assert not held.ok and held.refusal is Refusal.ILLEGAL
    assert inbox.new() == {}


def test_working_hours(env: Env) -> None:
    settings = env.settings
    assert escalation.working_hours(settings, datetime(2026, 11, 2, 0, 30, tzinfo=UTC))
    assert not escalation.working_hours(settings, datetime(2026, 11, 2, 0, 29, tzinfo=UTC))
    assert not escalation.working_hours(settings, datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    assert not escalation.working_hours(settings, datetime(2026, 11, 7, 2, 0, tzinfo=UTC))


async def test_the_weekly_summary_ranks_the_units_and_names_those_below_the_line(
    env: Env,
) -> None:
    numbers = [await dispatched(env) for _ in range(6)]  # Monday, due Thursday
    at(env, 2, 11)
    for number in numbers:
        assert (await loop.sign(env, clerk(env), number, key=None)).ok
    at(env, 4, 11)
    for number in numbers[:3]:
        assert (await loop.finish(env, clerk(env), number, "已办结", key=None)).ok
        assert (await loop.approve_done(env, admin(env), number, key=None)).ok
    at(env, 9, 9)  # the next Monday: three done on time, three overdue
    chunks = "\n".join(await reporting.compose(env, reporting.WEEKLY, "zh-Hans"))
    line = zh(
        "indices.line",
        unit="城建办",
        items="6",
        sign="100.0%",
        on_time="50.0%",
        solved="100.0%",
        satisfied="—",
        redo="0.0%",
        days="2.1",
        overdue="3",
    )
    assert line in chunks
    line_cells = ["6", "100.0%", "50.0%", "100.0%", "—", "0.0%", "2.1", "3"]
    # (0.4 × 50% + 0.2 × 100% + 0.1 × 100%) / 0.7: no rating yet, its weight left out
    assert zh("indices.league.line", rank="1", unit="城建办", score="71.4%") + " ⚠️" in chunks
    assert zh("indices.league.below", line="85.0%", units="城建办") in chunks
    now = env.now()
    week = await indices.by_unit(env, now - timedelta(days=7), now)
    data = indices.league_chart("zh-Hans", env.settings, week, now - timedelta(days=7), now)
    assert data is not None and data.units == ["城建办"]
    assert data.rates[zh("indices.col.on_time")] == [50.0]
    png = charts.render_rates(data)
    if charts.cjk_font() is None:
        assert png is None
    else:
        assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    # One unit's view: its rates and its open items.
    [text] = indices.compose_unit(
        "zh-Hans",
        env.settings,
        "cjb",
        week["cjb"],
        await env.repository.unit_tasks("cjb"),
        now - timedelta(days=7),
        now,
        now,
    )
    assert line in text and all(f"#{n}" in text for n in numbers[3:])
    assert not any(f"#{n} " in text for n in numbers[:3])
    # The export: the ledger, then a sheet of the units' indices per month of the period.
    content = io.BytesIO()
    start = datetime(2026, 10, 1, tzinfo=env.settings.campaign.tz)
    count = await reporting.ledger_file(
        env.repository, env.settings, "zh-Hans", start, now, content, as_csv=False
    )
    assert count == 6
    book = openpyxl.load_workbook(io.BytesIO(content.getvalue()), read_only=True)
    assert book.sheetnames[1:] == [zh("indices.sheet", month=m) for m in ("2026-10", "2026-11")]
    october, november = (list(book[name].iter_rows()) for name in book.sheetnames[1:])
    assert [c.value for c in november[0]] == indices.header("zh-Hans")
    # Numbers in the worksheet (rates in a percent format, days to one decimal), the same
    # figures the chat's line reads; an empty cell where a rate has nothing to count.
    for row, name in ((november[1], "城建办"), (november[2], zh("indices.all"))):
        assert [c.value for c in row[:2]] == [name, 6]
        assert [c.value for c in row[2:7]] == [1.0, 0.5, 1.0, None, 0.0]
        assert [c.number_format for c in row[2:7] if c.value is not None] == ["0.0%"] * 4
        assert isinstance(row[7].value, float) and row[7].number_format == "0.0"
        assert row[8].value == 3
        shown = [indices.percent(c.value) for c in row[2:7]] + [indices.days(row[7].value)]
        assert shown == line_cells[1:7]
    assert [c.value for c in october[1]] == ["城建办", 0, *[None] * 6, 3]
