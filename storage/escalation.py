"""The chasing ladder's storage (#19): the items the reminder job looks at, with the rungs
already sent in their current round, and the rungs sent (each with its ``reminders`` row
that makes it once, its history row, its notices through the outbox and the edits of the
item's cards in the same transaction: the job's rungs several to a transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.core.records import Outgoing
from bot.core.workflow import CHASED_STATUSES, Status
from storage.base import RepositoryBase
from storage.copies import Renderer, refresh_in
from storage.effects import Replayed, claim_update
from storage.loop import LoopQueries
from storage.outbox import enqueue
from storage.rows import iso, parse_dt

CHASED = CHASED_STATUSES
_CHASED_SQL = "(" + ", ".join(f"'{s.value}'" for s in sorted(CHASED)) + ")"
_CHASED_QUERY = (
    "SELECT s.id, s.status, s.unit_id, s.deadline, s.sign_due, s.reopen_count,"  # noqa: S608
    " COALESCE(s.dispatched_at, '') AS round,"
    " (SELECT group_concat(r.rung, ' ') FROM reminders r WHERE r.submission_id = s.id"
    "  AND r.round = COALESCE(s.dispatched_at, '')) AS sent"
    f" FROM submissions s WHERE s.status IN {_CHASED_SQL}"
    " AND (s.deadline <= ? OR (s.status = 'dispatched' AND s.sign_due < ?)"
    " OR s.reopen_count >= ?)"
)


@dataclass(frozen=True)
class Chased:
    """An item the ladder looks at: what decides its rungs, and the rungs already sent in
    its current round (``round`` is its dispatch time)."""

    id: int
    status: Status
    unit_id: str | None
    deadline: datetime | None
    sign_due: datetime | None
    reopen_count: int
    round: str
    sent: frozenset[str]


@dataclass(frozen=True)
class RungRecord:
    """A rung to record and send: the item and its round (its dispatch time), the rung's
    key in that round, the history row's step, actor and note, the notices to queue and
    the renderer of the item's card copies' edits."""

    submission_id: int
    round: str
    rung: str
    step: str
    actor: str
    note: str
    notices: Sequence[Outgoing]
    refresh: Renderer | None = None


class EscalationQueries(RepositoryBase):
    """Queries of the chasing ladder (mixed into :class:`storage.repository.Repository`)."""

    async def chased(self, *, now: datetime, horizon: datetime, reopened: int) -> list[Chased]:
        """The unit's open items that may have a rung reached: a deadline up to ``horizon``,
        the sign-for limit passed, or reopened ``reopened`` times or more."""
        rows = await self._fetchall(
            _CHASED_QUERY,
            (iso(horizon), iso(now), reopened),
        )
        return [
            Chased(
                id=r["id"],
                status=Status(r["status"]),
                unit_id=r["unit_id"],
                deadline=parse_dt(r["deadline"]) if r["deadline"] else None,
                sign_due=parse_dt(r["sign_due"]) if r["sign_due"] else None,
                reopen_count=r["reopen_count"],
                round=r["round"],
                sent=frozenset((r["sent"] or "").split()),
            )
            for r in rows
        ]

    async def record_rung(
        self,
        rung: RungRecord,
        *,
        not_since: timedelta | None = None,
        update_id: int | None = None,
    ) -> datetime | None:
        """Send one rung once: in one transaction, if the item is still held by a unit in
        the same round and the rung was not sent yet (and, with ``not_since``, no ``step``
        was recorded that recently), record it, add the history row and queue the notices.
        None when sent (or the update was applied before); else when it was sent before
        (``now`` if the item moved on)."""
        now = self.clock()
        try:
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                return await _record_in(db, rung, now, not_since)
        except Replayed:
            pass  # the update's effect was stored before
        return None

    async def record_rungs(self, rungs: Sequence[RungRecord]) -> int:
        """The reminder job's rungs, several in one transaction (a commit costs far more
        than a rung's rows): each as :meth:`record_rung` records it, once, its history row
        and its notices with it; how many were sent."""
        now = self.clock()
        async with self.transaction() as db:
            return sum([await _record_in(db, rung, now, None) is None for rung in rungs])


async def _record_in(
    db: aiosqlite.Connection, rung: RungRecord, now: datetime, not_since: timedelta | None
) -> datetime | None:
    """One rung inside a transaction (see :meth:`EscalationQueries.record_rung`)."""
    submission_id = rung.submission_id
    async with db.execute(
        "SELECT status, COALESCE(dispatched_at, '') AS round FROM submissions WHERE id = ?",
        (submission_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None or row["status"] not in CHASED or row["round"] != rung.round:
        return now
    if not_since is not None:
        async with db.execute(
            "SELECT MAX(at) FROM history WHERE submission_id = ? AND step = ?",
            (submission_id, rung.step),
        ) as cur:
            found = await cur.fetchone()
        last = found[0] if found is not None else None
        if last is not None and parse_dt(last) > now - not_since:
            return parse_dt(last)
    cur = await db.execute(
        "INSERT OR IGNORE INTO reminders (submission_id, round, rung, sent_at) VALUES (?, ?, ?, ?)",
        (submission_id, rung.round, rung.rung, iso(now)),
    )
    if cur.rowcount == 0:
        return now
    await LoopQueries.step_in(
        db, submission_id, rung.step, actor=rung.actor, note=rung.note, now=now
    )
    await enqueue(db, rung.notices, submission_id=submission_id, now=now)
    await refresh_in(db, submission_id, rung.refresh, now)
    return None
