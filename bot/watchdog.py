"""The last resort of a stop: a thread that ends the process if it outlives the bound.

Armed by the first SIGTERM/SIGINT (:func:`bot.lifecycle.serve`) and when the console command
returns, :class:`Watchdog` ends the process with ``os._exit(EXIT_FORCED)`` if it is still
alive :data:`STOP_WITHIN` seconds later: a database thread stuck on a dead disk, a thread the
interpreter would wait for at exit, an event loop blocked by a bug. It is a daemon thread,
so it never keeps the process alive itself, and it needs neither the event loop nor the
logging module. Light on purpose: imported by the console command before anything else.
"""

from __future__ import annotations

import contextlib
import os
import threading

STOP_WITHIN = 15.0  # seconds from SIGTERM/SIGINT to the end of the process, at the most
EXIT_FORCED = 3  # exit status when the watchdog or a second signal ended the process


def say(text: str) -> None:
    """Write to stderr without the logging module (safe in a signal handler, or in a thread
    racing the interpreter's exit)."""
    with contextlib.suppress(OSError):
        os.write(2, text.encode())


class Watchdog:
    """Once armed, ends the process ``seconds`` later unless it ended before."""

    def __init__(self, seconds: float = STOP_WITHIN) -> None:
        self.seconds = seconds
        self._armed = threading.Event()

    @property
    def armed(self) -> bool:
        return self._armed.is_set()

    def arm(self) -> bool:
        """Start counting; False if it already was."""
        if self._armed.is_set():
            return False
        self._armed.set()
        threading.Thread(target=self._run, name="stop-watchdog", daemon=True).start()
        return True

    def _run(self) -> None:
        threading.Event().wait(self.seconds)
        say(f"jindianzi: not stopped within {self.seconds:.0f} s; exiting now\n")
        os._exit(EXIT_FORCED)
