"""Pacing of what repeats while something fails (bot/transport/pacing.py) and the fault injection's
specification (bot/faults.py)."""

from __future__ import annotations

import logging
import time

import pytest

from bot import faults
from bot.transport.pacing import LogThrottle, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_line_a_minute_per_kind_with_a_count_of_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    throttle = LogThrottle(60, clock=clock)
    log = logging.getLogger("test.pacing")
    caplog.set_level(logging.INFO, "test.pacing")
    for second in range(180):  # a failure every second for three minutes
        clock.now = 1000.0 + second
        throttle.log(log, logging.WARNING, "poll", "failed: %s", "disk full")
        throttle.log(log, logging.WARNING, "other", "other trouble")
    lines = [r.getMessage() for r in caplog.records]
    assert lines.count("other trouble") == 1  # then held back...
    assert [m for m in lines if m.startswith("failed")] == [
        "failed: disk full",
        "failed: disk full (59 more like it in the last 60 s)",
        "failed: disk full (59 more like it in the last 60 s)",
    ]
    assert throttle.clear("poll") == 59  # the trouble is over: forgotten
    throttle.log(log, logging.WARNING, "poll", "failed: %s", "again")
    assert caplog.records[-1].getMessage() == "failed: again"


async def test_the_pacer_spaces_tries_only_while_they_fail() -> None:
    pacer = Pacer(0.2)
    began = time.monotonic()
    for _ in range(5):
        await pacer.turn()  # succeeding: no wait
    assert time.monotonic() - began < 0.1
    for _ in range(4):
        await pacer.turn()
        pacer.failed()
    assert time.monotonic() - began >= 0.6  # three waits of 0.2 s between four failures
    assert pacer.succeeded() == 4 and pacer.failures == 0


def test_fault_specification() -> None:
    try:
        faults.arm("outbox.sent@3=kill, stop.flush@1=hang")
        faults.point("elsewhere")  # not armed: nothing happens
        faults.point("outbox.sent")
        faults.point("outbox.sent")  # the 3rd passage would kill this process
        for spec in ("outbox.sent", "outbox.sent@x=kill", "outbox.sent@1=explode"):
            with pytest.raises(ValueError):
                faults.arm(spec)
    finally:
        faults.arm("")
    for _ in range(5):
        faults.point("outbox.sent")  # disarmed
