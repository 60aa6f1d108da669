"""Stored times in the future (storage/clamps.py, issue 15.11): what lies further ahead
than its normal span is set to now plus that span, and nothing else is touched."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.anonymity import Secrets
from bot.core.records import Draft, NewSubmission, Outgoing, Recipient, Sender
from bot.core.workflow import Kind
from bot.transport.outcomes import MAX_BACKOFF
from storage.clamps import TOLERANCE, retry_span, web_clamps
from storage.repository import Repository
from storage.rows import iso
from tests.conftest import FrozenClock

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    repository = Repository(
        tmp_path / "db.sqlite3", clock=FrozenClock(NOW), secrets=Secrets.generate()
    )
    repository.clamps = (*repository.clamps, *web_clamps(timedelta(hours=8), timedelta(minutes=10)))
    await repository.connect()
    try:
        yield repository
    finally:
        await repository.close()


def clock_of(repo: Repository) -> FrozenClock:
    assert isinstance(repo.clock, FrozenClock)
    return repo.clock


async def new_item(repo: Repository, user_id: int = 7) -> int:
    await repo.save_draft(user_id, Draft(kind=Kind.PROBLEM, parts=["路灯坏了"]))
    item = NewSubmission(
        kind=Kind.PROBLEM,
        text="路灯坏了",
        topic_id="construction",
        suggested_topic_id="construction",
        evidence=(),
        language="zh-Hans",
        sender=Sender(user_id=user_id, chat_id=user_id, name="王五"),
    )
    return (await repo.create_submission(item, owner_id=user_id)).id


def column(repo: Repository, sql: str) -> list[str]:
    with sqlite3.connect(repo.path) as db:
        return [row[0] for row in db.execute(sql)]


def test_the_span_of_a_retry_is_its_backoff() -> None:
    assert retry_span(1) == timedelta(seconds=2)
    assert retry_span(3) == timedelta(seconds=8)
    assert retry_span(40) == MAX_BACKOFF


async def test_times_written_a_day_ahead_are_brought_back(repo: Repository) -> None:
    clock = clock_of(repo)
    clock.now = NOW + DAY  # the clock runs ahead while these are written
    ahead = await new_item(repo)
    await repo.queue_messages([Outgoing(chat_enc="c", text="到期", recipient=Recipient.SENDER)])
    await repo.queue_messages([Outgoing(chat_enc="c", text="重试", recipient=Recipient.SENDER)])
    [_, retried] = await repo.due_messages()
    await repo.mark_retry(retried.id, "502", clock.now + timedelta(seconds=2))
    async with repo.transaction() as db:
        await db.execute(
            "INSERT INTO web_sessions (token_hash, user_id, language, csrf, via, created_at,"
            " expires_at) VALUES ('s', 1, 'zh-Hans', 'c', 'link', ?, ?)",
            (iso(clock.now), iso(clock.now + timedelta(hours=8))),
        )
    clock.now = NOW  # and comes back
    normal = await new_item(repo, 8)  # written now: untouched
    with sqlite3.connect(repo.path) as db:
        days_before = db.execute("SELECT day, n FROM daily_counts ORDER BY day").fetchall()
    assert days_before == [(NOW.date().isoformat(), 1), ((NOW + DAY).date().isoformat(), 1)]

    changed = await repo.clamp_future_times()
    assert changed == {
        "messages due": 1,
        "retries": 1,
        "items' creation times": 1,
        "desk sessions": 1,
    }
    item = await repo.get_submission(ahead)
    assert item is not None and item.created_at == NOW
    assert (await repo.get_submission(normal)).created_at == NOW  # type: ignore[union-attr]
    assert {e.text for e in await repo.due_messages()} == {"到期"}
    clock.advance(seconds=2)
    assert {e.text for e in await repo.due_messages()} == {"到期", "重试"}  # its 2 s, not a day
    assert column(repo, "SELECT expires_at FROM web_sessions") == [iso(NOW + timedelta(hours=8))]
    # The item's count moved with its day.
    with sqlite3.connect(repo.path) as db:
        days = db.execute("SELECT day, n FROM daily_counts WHERE n > 0").fetchall()
    assert days == [(NOW.date().isoformat(), 2)]
    assert await repo.clamp_future_times() == {}  # nothing left to do


async def test_a_normal_long_wait_is_left_alone(repo: Repository) -> None:
    """The eleventh retry waits up to 30 minutes: that is its span, not a jump."""
    await repo.queue_messages([Outgoing(chat_enc="c", text="长等待")])
    [entry] = await repo.due_messages()
    async with repo.transaction() as db:
        await db.execute("UPDATE outbox SET attempts = 10")
    await repo.mark_retry(entry.id, "502", NOW + timedelta(minutes=29))
    assert await repo.clamp_future_times() == {}
    assert column(repo, "SELECT next_attempt_at FROM outbox") == [iso(NOW + timedelta(minutes=29))]


async def test_small_corrections_of_the_clock_rewrite_nothing(repo: Repository) -> None:
    clock = clock_of(repo)
    clock.now = NOW + TOLERANCE - timedelta(seconds=1)
    await new_item(repo)
    clock.now = NOW
    assert await repo.clamp_future_times() == {}
    assert await repo.count_recent(user_id=7, since=NOW - timedelta(hours=1)) == 1
