"""Clock jumps (issue 15.11, the in-process part): the JobQueue's jobs keep their pace when
the wall clock runs a day ahead and comes back. The bot runs against the stand-in with the
wall clock that python-telegram-bot's JobQueue and APScheduler read (every module of it
that asks for the time) shifted by hand; the database's clock is left alone (stored times
are another matter)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import apscheduler.executors.base
import apscheduler.schedulers.base
import apscheduler.triggers.date
import apscheduler.triggers.interval
import pytest
from telegram.ext import JobQueue

from bot import clockjumps
from bot.clockjumps import ClockJumpGuard
from bot.config import Settings
from bot.core.records import Outgoing
from tests.botapi_stub import FakeBotApi
from tests.conftest import BotRunner

OFFICE = -1001234567
DAY = 86_400.0


class Shift:
    """How far the shifted wall clock is from the real one, in seconds."""

    seconds = 0.0


@pytest.fixture
def shifted_wall_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Shift]]:
    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Any:
            return datetime.now(tz) + timedelta(seconds=Shift.seconds)

    def tz_now(self: JobQueue[Any]) -> datetime:
        return datetime.now(self.scheduler.timezone) + timedelta(seconds=Shift.seconds)

    for module in (
        apscheduler.schedulers.base,
        apscheduler.executors.base,
        apscheduler.triggers.date,
        apscheduler.triggers.interval,
    ):
        monkeypatch.setattr(module, "datetime", ShiftedDatetime)
    monkeypatch.setattr(JobQueue, "_tz_now", tz_now)
    monkeypatch.setattr(clockjumps, "wall_clock", lambda: time.time() + Shift.seconds)
    Shift.seconds = 0.0
    yield Shift
    Shift.seconds = 0.0


async def test_the_outbox_job_keeps_running_after_the_clock_comes_back(
    stub: FakeBotApi, make_settings: Callable[..., Settings], shifted_wall_clock: type[Shift]
) -> None:
    runner = BotRunner(make_settings(stub, roles={"office_chat_id": OFFICE}))
    app = await runner.start()
    svc = app.bot_data.services

    async def delivered_by_the_repeating_job(text: str) -> None:
        """Queued without asking for a delivery: only the outbox's repeating job sends it
        (after a pause, so that the run which sent the last one has ended)."""
        await asyncio.sleep(1.0)
        await svc.repository.queue_messages(
            [Outgoing(chat_enc=svc.secrets.encrypt_int(OFFICE), text=text)]
        )
        await stub.wait_for_text(OFFICE, text, timeout=6)

    try:
        await delivered_by_the_repeating_job("时钟正常")
        shifted_wall_clock.seconds = DAY  # the clock runs a day ahead ...
        await delivered_by_the_repeating_job("时钟快了一天")
        shifted_wall_clock.seconds = 0.0  # ... and is set right again
        await delivered_by_the_repeating_job("时钟拨回")  # was next due "tomorrow": a day away
        shifted_wall_clock.seconds = -DAY  # or set back past the right time
        await delivered_by_the_repeating_job("时钟慢了一天")
    finally:
        await runner.stop()


class FakeJob:
    def __init__(self, when: datetime | None) -> None:
        self.next_run_time = when

    def modify(self, *, next_run_time: datetime) -> None:
        self.next_run_time = next_run_time


class FakeScheduler:
    def __init__(self, jobs: list[FakeJob]) -> None:
        self.jobs = jobs
        self.woken = 0

    def get_jobs(self) -> list[FakeJob]:
        return self.jobs

    def wakeup(self) -> None:
        self.woken += 1


def test_the_guard_moves_jobs_back_with_the_clock_and_ignores_drift() -> None:
    wall, mono = [1_800_000_000.0], [50.0]
    now = datetime.fromtimestamp(wall[0], UTC)
    planned = now + timedelta(seconds=5)  # the outbox job's next run
    jobs = [FakeJob(planned), FakeJob(None)]  # a paused job has no next run
    scheduler = FakeScheduler(jobs)
    backs: list[bool] = []
    guard = ClockJumpGuard(
        scheduler,
        wall=lambda: wall[0],
        monotonic=lambda: mono[0],
        on_back=lambda: backs.append(True),  # stored times are clamped then (storage.clamps)
    )
    wall[0] += 1.5
    mono[0] += 1.0  # half a second of drift: no jump
    assert guard.check() == 0.0 and jobs[0].next_run_time == planned and scheduler.woken == 0
    wall[0] += DAY  # ahead a day: the scheduler will find the job due, nothing to do
    assert guard.check() == pytest.approx(DAY) and jobs[0].next_run_time == planned
    wall[0] -= DAY  # and back
    jobs[0].next_run_time = planned + timedelta(days=1)  # it ran and was rescheduled ahead
    fresh = FakeJob(datetime.fromtimestamp(wall[0], UTC))  # asked for after the jump back
    jobs.append(fresh)
    assert guard.check() == pytest.approx(-DAY)
    assert jobs[0].next_run_time == planned  # on time again
    assert fresh.next_run_time == datetime.fromtimestamp(wall[0], UTC)  # left alone
    assert jobs[1].next_run_time is None and scheduler.woken == 1
    assert backs == [True]  # told of the jump back (not of the jump ahead)
    assert guard.check() == 0.0  # once
