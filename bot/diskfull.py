"""A full disk, detected as such (issue 15.8): one state for the whole process.

SQLite reports a full disk as ``SQLITE_FULL`` ("database or disk is full"; also when the
database reaches ``PRAGMA max_page_count``), the operating system as ``ENOSPC`` (or
``EDQUOT``, a quota), PostgreSQL's server with SQLSTATE 53100 ``disk_full`` (psycopg's
``DiskFull``: "could not extend file ...: No space left on device") or the class's generic
53000 ``insufficient_resources``. The rest of class 53 is not storage: out of memory
(53200), too many connections (53300), a configured limit (53400) would be told to the
office as a full disk that no cleaning of the disk ends.

Every part of the bot that meets a refused write asks :meth:`DiskFull.noticed` first: if
the error is a full disk, the part says nothing itself (no traceback, no line a minute),
and the state says it once, in one line, when it begins.
It ends only when there is room again (:meth:`DiskFull.recovered`, called by the probe in
:mod:`bot.transport.diskspace`, which also tells the office both times), not at the first write
that happens to fit: SQLite reuses space inside its files, so some writes succeed on a
full disk, and the state would flap with them. Meanwhile new updates are not stored at all
(:class:`bot.transport.inbox.DurableBot`), so none overtakes one that waits.

Nothing is lost: a batch of updates the inbox cannot store stays unconfirmed at Telegram
and comes again (polling asks once a second); the sender of each is told once
(:meth:`DiskFull.first_answer`) that it will be handled when there is room. An update whose
handlers failed for want of space is kept (:meth:`DiskFull.hold`), not marked handled, and
handled again after the recovery (and after a restart, like any update left unhandled).

Several workers on PostgreSQL (#24) share the server's disk, and each worker has this state
of its own (found by its own refused writes, ended by its own probe): what is shared is
decided in :mod:`bot.transport.diskspace` (the office told once each way; a held update,
still unhandled in the inbox, handled again here only while this worker still holds its
claim, else by the worker that claimed it, also after this one died).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable

import psycopg

log = logging.getLogger(__name__)

SQLITE_FULL = 13  # the primary result code (extended codes keep it in the low byte)
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# PostgreSQL's SQLSTATEs of a full disk: disk_full, and insufficient_resources (the class's own).
FULL_SQLSTATES = frozenset({"53100", "53000"})
REMEMBER_ANSWERED = 10_000  # update ids whose senders were told (per episode, in memory)


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.Error):
            code = getattr(exc, "sqlite_errorcode", None)
            if (isinstance(code, int) and code & 0xFF == SQLITE_FULL) or (
                "database or disk is full" in str(exc)
            ):
                return True
        if isinstance(exc, psycopg.Error) and exc.sqlstate in FULL_SQLSTATES:
            return True
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class DiskFull:
    """Whether the storage is full, since when, and what waits for space."""

    def __init__(self, where: str = "", *, clock: Callable[[], float] = time.monotonic) -> None:
        self.where = where  # the database's path, for the log line
        self._clock = clock
        self.since: float | None = None
        self.refused = 0  # writes refused since it began
        # Called once when the disk is found full (the office is told, the probe starts).
        self.on_full: Callable[[], object] | None = None
        # Updates whose handlers failed for want of space: handled again once there is room.
        self.held: dict[int, object] = {}
        # Updates not stored (still at Telegram) whose senders were told to wait.
        self._answered: OrderedDict[int, None] = OrderedDict()

    @property
    def full(self) -> bool:
        return self.since is not None

    def noticed(self, exc: BaseException | None) -> bool:
        """Whether ``exc`` is a full disk; if so the state notes it (and says it once, when
        it begins). The caller then logs nothing of its own."""
        if not is_disk_full(exc):
            return False
        self.refused += 1
        if self.since is None:
            self.since = self._clock()
            log.error(
                "storage full (%s) at %s: new messages stay at Telegram and their senders are"
                " told to wait, nothing is lost; checking for space every few seconds, the bot"
                " goes on by itself once there is room",
                _reason(exc),
                self.where or "the database",
            )
            if self.on_full is not None:
                self.on_full()
        return True

    def hold(self, update_id: int, update: object) -> None:
        """An update whose handlers failed for want of space: handle it again later."""
        self.held[update_id] = update

    def is_held(self, update_id: int) -> bool:
        return update_id in self.held

    def first_answer(self, update_id: int) -> bool:
        """Whether the sender of this (unstored) update is to be told now: once per update."""
        if update_id in self._answered:
            return False
        self._answered[update_id] = None
        while len(self._answered) > REMEMBER_ANSWERED:
            self._answered.popitem(last=False)
        return True

    def recovered(self) -> tuple[float, int, dict[int, object]] | None:
        """There is room again: end the state. Returns (seconds it lasted, writes refused,
        the held updates to handle again), or None if it was not full. Says so in one line."""
        if self.since is None:
            return None
        lasted, refused, held = self._clock() - self.since, self.refused, self.held
        self.since, self.refused, self.held = None, 0, {}
        self._answered.clear()
        log.warning(
            "storage has room again after %.0f s (%d writes refused meanwhile); going on,"
            " %d updates to handle again",
            lasted,
            refused,
            len(held),
        )
        return lasted, refused, held


def _reason(exc: BaseException | None) -> str:
    while exc is not None:
        if isinstance(exc, sqlite3.Error | psycopg.Error | OSError):
            text = " ".join(str(exc).split())  # PostgreSQL's message has lines of its own
            return f"{type(exc).__name__}: {text}"[:200]
        exc = exc.__cause__ or exc.__context__
    return "disk full"
