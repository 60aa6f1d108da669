"""Stored times in the future, brought back (issue 15.11, the stored half; the JobQueue's
half is :mod:`bot.clockjumps`).

A time written while the wall clock ran ahead (a day, say, until NTP or an operator set it
back) lies in the future once the clock is right again, and whatever it gates waits for
it: a retry of the outbox stayed scheduled a day out, and items created "tomorrow" counted
in a resident's hourly quota for a whole day. No correct value of such a time lies more
than its normal span ahead of now (a retry: the backoff of its number; an item's creation:
none), so one that does is set to now plus that span: at start-up, when the wall clock is seen
going back (:class:`bot.clockjumps.ClockJumpGuard`), and when a read that such a time gates
finds one (the outbox's due messages, the hourly quota). A minute of tolerance keeps small
corrections of the clock from rewriting anything.

Only times that gate behaviour are clamped. Recorded moments (the history, events, when a
message was sent) keep what the clock said; the history is append-only anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.transport.outcomes import BACKOFF_BASE, MAX_BACKOFF
from storage.base import RepositoryBase
from storage.rows import iso, parse_dt

log = logging.getLogger(__name__)

TOLERANCE = timedelta(minutes=1)
# The longest a notice to the office waits to be coalesced (office.notice_window's bound).
MAX_NOTICE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Clamp:
    """A stored time that gates behaviour: no correct value lies more than ``span`` ahead
    of the moment it was written, in the rows ``where`` selects."""

    what: str  # for the log line
    table: str
    column: str
    span: timedelta
    where: str = "1 = 1"
    # The span depends on the row's ``attempts`` (:func:`retry_span`; ``span`` is the
    # longest): an outbox retry.
    by_attempts: bool = False
    # What a time beyond the span is set to, if not to now plus the span.
    reset_to: timedelta | None = None

    @property
    def value_span(self) -> timedelta:
        return self.span if self.reset_to is None else self.reset_to


def retry_span(attempts: int) -> timedelta:
    """The longest wait before the retry that follows ``attempts`` sends
    (bot.transport.outcomes)."""
    full: timedelta = BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 20)
    return min(full, MAX_BACKOFF)


OUTBOX_CLAMPS = (
    # A message never tried is due when queued, or (an office notice being coalesced)
    # within its window.
    Clamp(
        "messages due", "outbox", "next_attempt_at", timedelta(0),
        "status = 'pending' AND attempts = 0 AND merge_key IS NULL",
    ),
    Clamp(
        "notices being coalesced", "outbox", "next_attempt_at", MAX_NOTICE_WINDOW,
        "status = 'pending' AND attempts = 0 AND merge_key IS NOT NULL", reset_to=timedelta(0),
    ),
    # A retry waits the backoff of its number at most (retry_span).
    Clamp(
        "retries", "outbox", "next_attempt_at", MAX_BACKOFF,
        "status = 'pending' AND attempts > 0", by_attempts=True,
    ),
)  # fmt: skip
# Items' creation times: the hourly quota counts the items of the last hour.
SUBMISSION_CLAMPS = (Clamp("items' creation times", "submissions", "created_at", timedelta(0)),)


def web_clamps(session_max_age: timedelta, login_link_max_age: timedelta) -> tuple[Clamp, ...]:
    """The web desk's: a session or a login link lasts its configured age at most."""
    return (
        Clamp("desk sessions", "web_sessions", "expires_at", session_max_age),
        Clamp("desk login links", "web_login_links", "expires_at", login_link_max_age),
    )


async def _clamp_by_attempts(db: aiosqlite.Connection, clamp: Clamp, now: datetime) -> int:
    async with db.execute(
        f"SELECT rowid AS row_id, attempts, {clamp.column} AS at FROM {clamp.table}"  # noqa: S608
        f" WHERE {clamp.column} > ? AND {clamp.where}",
        (iso(now + TOLERANCE),),
    ) as cur:
        rows = await cur.fetchall()
    late = [
        (iso(now + retry_span(r["attempts"])), r["row_id"])
        for r in rows
        if parse_dt(r["at"]) > now + retry_span(r["attempts"]) + TOLERANCE
    ]
    await db.executemany(
        f"UPDATE {clamp.table} SET {clamp.column} = ? WHERE rowid = ?",  # noqa: S608
        late,
    )
    return len(late)


class ClampQueries(RepositoryBase):
    """(Mixed into :class:`storage.repository.Repository`.)"""

    clamps: Sequence[Clamp] = (*OUTBOX_CLAMPS, *SUBMISSION_CLAMPS)

    async def clamp_future_times(self, clamps: Sequence[Clamp] | None = None) -> dict[str, int]:
        """Set every stored time of ``clamps`` (default: all of :attr:`clamps`) that lies
        more than its span (and a minute) ahead of now to now plus its span, in one
        transaction; returns how many of each were set, and logs it (one line)."""
        now = self.clock()
        changed: dict[str, int] = {}
        async with self.transaction() as db:
            for clamp in self.clamps if clamps is None else clamps:
                if clamp.by_attempts:
                    count = await _clamp_by_attempts(db, clamp, now)
                else:
                    cur = await db.execute(
                        f"UPDATE {clamp.table} SET {clamp.column} = ?"  # noqa: S608 (fixed names)
                        f" WHERE {clamp.column} > ? AND {clamp.where}",
                        (iso(now + clamp.value_span), iso(now + clamp.span + TOLERANCE)),
                    )
                    count = cur.rowcount
                if count > 0:
                    changed[clamp.what] = count
        if changed:
            log.warning(
                "stored times in the future (the clock ran ahead?) set back to now: %s",
                ", ".join(f"{n} {what}" for what, n in changed.items()),
            )
        return changed

    async def _future_outbox_times(self) -> bool:
        """Whether a pending message is due further ahead than any correct one can be."""
        row = await self._fetchone(
            "SELECT 1 FROM outbox WHERE status = 'pending' AND next_attempt_at > ? LIMIT 1",
            (iso(self.clock() + MAX_NOTICE_WINDOW + TOLERANCE),),
        )
        return row is not None

    async def _future_creation_times(self) -> bool:
        row = await self._fetchone(
            "SELECT 1 FROM submissions WHERE created_at > ? LIMIT 1",
            (iso(self.clock() + TOLERANCE),),
        )
        return row is not None

    async def clamp_outbox_if_needed(self) -> None:
        """Before the outbox is read: clamp it if a message lies too far ahead."""
        if await self._future_outbox_times():
            await self.clamp_future_times(OUTBOX_CLAMPS)

    async def clamp_creation_if_needed(self) -> None:
        """Before the hourly quota is counted: clamp items created in the future."""
        if await self._future_creation_times():
            await self.clamp_future_times(SUBMISSION_CLAMPS)
