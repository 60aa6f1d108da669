"""Status changes inside an open transaction: the one place that applies the state machine
(:mod:`bot.core.workflow`) to a stored item and writes its history row.

The office's actions (:mod:`storage.office`) and the outbox's completion of a publication
(:mod:`storage.outbox`) both go through :func:`transition`; the outbox's two moves are the
machine's system transitions (``publishing`` → ``published`` when the channel post was
delivered, back to the status before when it failed for good).
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.core.workflow import Status, check_transition
from storage.base import NotFound
from storage.rows import iso

SYSTEM = "system"


async def current_status(db: aiosqlite.Connection, submission_id: int) -> Status:
    async with db.execute("SELECT status FROM submissions WHERE id = ?", (submission_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise NotFound(submission_id)
    return Status(row["status"])


async def transition(
    db: aiosqlite.Connection,
    submission_id: int,
    target: Status,
    *,
    actor: str,
    note: str | None,
    now: datetime,
    system: bool = False,
) -> Status:
    """Check and apply a status change, with its history row; returns the status before.
    Raises IllegalTransition or NotFound."""
    current = await current_status(db, submission_id)
    check_transition(current, target, system=system)
    await db.execute(
        "UPDATE submissions SET status = ?, updated_at = ?,"
        " first_response_at = COALESCE(first_response_at, CASE WHEN ? LIKE 'admin:%'"
        " THEN ? END) WHERE id = ?",
        (target.value, iso(now), actor, iso(now), submission_id),
    )
    await db.execute(
        "INSERT INTO history (submission_id, at, actor, from_status, to_status, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (submission_id, iso(now), actor, current.value, target.value, note),
    )
    return current


async def complete_publishing(db: aiosqlite.Connection, submission_id: int, now: datetime) -> bool:
    """The channel post was delivered: a publishing item is published now. False (and
    nothing changed) for an item in another status (a post queued before 0016)."""
    if await current_status(db, submission_id) is not Status.PUBLISHING:
        return False
    await transition(
        db, submission_id, Status.PUBLISHED, actor=SYSTEM, note=None, now=now, system=True
    )
    await db.execute(
        "UPDATE submissions SET published_at = ? WHERE id = ?", (iso(now), submission_id)
    )
    return True


async def revert_publishing(
    db: aiosqlite.Connection, submission_id: int, reason: str, now: datetime
) -> Status | None:
    """The channel post failed for good (or its outcome stayed unknown): a publishing item
    goes back to the status it had before, the reason in the history. Returns that status
    (None, and nothing changed, for an item not in publishing)."""
    if await current_status(db, submission_id) is not Status.PUBLISHING:
        return None
    async with db.execute(
        "SELECT from_status FROM history WHERE submission_id = ? AND to_status = ?"
        " ORDER BY id DESC LIMIT 1",
        (submission_id, Status.PUBLISHING.value),
    ) as cur:
        row = await cur.fetchone()
    before = Status(row["from_status"]) if row and row["from_status"] else Status.ANSWERED
    await transition(
        db, submission_id, before, actor=SYSTEM, note=reason[:500], now=now, system=True
    )
    return before
