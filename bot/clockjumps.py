"""Jobs keep their pace when the wall clock is set back (issue 15.11).

python-telegram-bot's JobQueue (APScheduler) keeps each job's next run as a wall-clock time
and sleeps for the difference to the wall clock's now. When the clock is set back a day
(an NTP correction after it ran ahead, a wrong manual setting undone), the outbox job that
runs every few seconds would sleep a day: retries, deliveries left for a later run and
reports stop. :class:`ClockJumpGuard` watches the distance between the wall clock and the
monotonic clock; when the wall clock went back, every job still scheduled on the old
reckoning moves back by the jump, so it comes when it would have come on the monotonic
clock. (A jump forward needs nothing: the scheduler finds its jobs due and runs them, and
reckons their next runs from the new time.) Stored times (an outbox retry, an item's
creation time in the hourly quota) are :mod:`storage.clamps`'s: the guard tells it
(``on_back``) when the clock went back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds between looks at the two clocks
TOLERANCE = 2.0  # a change smaller than this is drift and scheduling noise, not a jump


def wall_clock() -> float:
    """The wall clock, as the scheduler reads it."""
    return time.time()


class ClockJumpGuard:
    """Moves the jobs of an APScheduler ``scheduler`` by any jump of the wall clock."""

    def __init__(
        self,
        scheduler: Any,
        *,
        wall: Callable[[], float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_back: Callable[[], object] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self._on_back = on_back  # called after a jump back (stored times are clamped then)
        self._wall = wall or (lambda: wall_clock())
        self._monotonic = monotonic
        self._offset = self._wall() - monotonic()

    def check(self) -> float:
        """Look at the clocks; after a jump back, move the jobs. Returns the jump (0: none;
        negative: the wall clock went back)."""
        offset = self._wall() - self._monotonic()
        jump, self._offset = offset - self._offset, offset  # slow drift is followed, too
        if abs(jump) < TOLERANCE:
            return 0.0
        if jump < 0:
            # Jobs scheduled before the jump lie at least the jump ahead of now; one added
            # since (a delivery asked for just now) is on the new reckoning already.
            now = datetime.fromtimestamp(self._wall(), UTC)
            old_reckoning = now + timedelta(seconds=-jump - CHECK_EVERY - TOLERANCE)
            moved = 0
            for job in self.scheduler.get_jobs():
                if job.next_run_time is not None and job.next_run_time >= old_reckoning:
                    job.modify(next_run_time=job.next_run_time + timedelta(seconds=jump))
                    moved += 1
            self.scheduler.wakeup()
            log.warning("the wall clock went back %.0f s: %d scheduled jobs moved", -jump, moved)
            if self._on_back is not None:
                self._on_back()
        else:
            log.warning("the wall clock jumped ahead %.0f s", jump)
        return jump

    async def run(self) -> None:
        """Check every CHECK_EVERY seconds (monotonic sleeps) until cancelled."""
        while True:
            await asyncio.sleep(CHECK_EVERY)
            self.check()
