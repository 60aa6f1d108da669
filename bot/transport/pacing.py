"""Pacing of what repeats while something fails: log lines (one a minute per kind of
trouble, with a count of what was held back) and retries (at most one a second).

A failure that repeats at the rate of the loop around it must neither flood the log (a full
disk once wrote 1.6 MB of tracebacks in 10 s) nor spin the loop (5,385 getUpdates in 8 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

LOG_EVERY = 60.0  # seconds between two lines about the same trouble
RETRY_EVERY = 1.0  # seconds between two tries while failing


class LogThrottle:
    """At most one line per ``period`` for each key; the next line says how many were
    held back in between."""

    def __init__(
        self, period: float = LOG_EVERY, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.period = period
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(
        self,
        logger: logging.Logger,
        level: int,
        key: str,
        message: str,
        *args: object,
        exc_info: BaseException | None = None,
    ) -> bool:
        """Log ``message % args`` unless a line with this key was logged within the period
        (then count it); returns whether it was logged. A traceback is attached only to
        the first line of a kind."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.period:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        held = self._held.pop(key, 0)
        if held:
            message += f" ({held} more like it in the last {self.period:.0f} s)"
        self._last[key] = now
        logger.log(level, message, *args, exc_info=exc_info if last is None else None)
        return True

    def clear(self, key: str) -> int:
        """The trouble is over: forget it (the next one is logged at once, with its
        traceback); returns how many lines were held back since the last one."""
        self._last.pop(key, None)
        return self._held.pop(key, 0)


class Pacer:
    """Spaces out tries of something that is failing: after a failure, the next try starts
    no sooner than ``interval`` seconds after the previous one began."""

    def __init__(
        self, interval: float = RETRY_EVERY, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._began: float | None = None
        self.failures = 0  # consecutive

    async def turn(self) -> None:
        """Wait, if the last try failed, until this one may begin; note that it begins."""
        if self.failures and self._began is not None:
            wait = self._began + self.interval - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
        self._began = self._clock()

    def failed(self) -> None:
        self.failures += 1

    def succeeded(self) -> int:
        """Returns how many tries had failed in a row before this one."""
        failures, self.failures = self.failures, 0
        return failures
