"""Fault injection for the crash tests: hit a crash window deterministically, not by luck.

``JINDIANZI_FAULT_INJECTION="outbox.sent@3=kill"`` (read by ``jindianzi run`` at start-up)
makes the process kill itself with SIGKILL, exactly like ``kill -9``, the 3rd time the code
passes the point named ``outbox.sent``; ``=hang`` blocks the event loop's thread forever
instead (a step that never returns). Several, comma-separated. Unset, as in every real
deployment, a point costs one test of an empty dict.

The points (each named where it is passed):

``outbox.sent``
    A send returned (whatever its outcome); the outcome is not yet recorded.
``update.handled``
    An update's handlers finished and their effects are committed; its handled mark is not
    yet written.
``stop.<step>``
    A step of a clean stop begins (``bot.lifecycle``): polling, handlers, flush, shutdown,
    close.
``train.start``
    The topic model's training process (``bot.train_model``, which inherits the variable)
    begins.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from collections import Counter
from collections.abc import Mapping

ENV = "JINDIANZI_FAULT_INJECTION"
_SPEC = re.compile(r"^(?P<point>[a-z_.]+)@(?P<nth>\d+)=(?P<action>kill|hang)$")

log = logging.getLogger(__name__)

_armed: dict[str, tuple[int, str]] = {}
_passed: Counter[str] = Counter()


def arm(spec: str) -> None:
    """Arm the faults of ``spec`` (the variable's syntax); ValueError if it is malformed."""
    faults: dict[str, tuple[int, str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        match = _SPEC.match(part)
        if match is None:
            raise ValueError(f"{ENV}: expected POINT@N=kill|hang, not {part!r}")
        faults[match["point"]] = (int(match["nth"]), match["action"])
    _armed.clear()
    _armed.update(faults)
    _passed.clear()


def arm_from_environment(environ: Mapping[str, str] = os.environ) -> None:
    spec = environ.get(ENV, "")
    if spec:
        arm(spec)
        log.warning("fault injection armed (tests only): %s", spec)


def point(name: str) -> None:
    """Pass the point ``name``: kill or hang here if a fault is armed for this passage."""
    if not _armed or name not in _armed:
        return
    _passed[name] += 1
    nth, action = _armed[name]
    if _passed[name] != nth:
        return
    log.warning("fault injection: %s at passage %d of %s", action, nth, name)
    for handler in logging.getLogger().handlers:
        handler.flush()
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Event().wait()  # hang (and what follows a SIGKILL never runs)
