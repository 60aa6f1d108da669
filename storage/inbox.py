"""Queries of the durable inbox (mixed into :class:`storage.repository.Repository`).

Rows hold the encrypted update until it has been handled, then only the update id (so a
second delivery of the same update is recognised) until :meth:`InboxQueries.purge_inbox`.
Updates that cannot be read are kept apart, encrypted, in ``dead_letters``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.records import Outgoing
from storage.base import RepositoryBase
from storage.outbox import enqueue
from storage.rows import iso


@dataclass(frozen=True)
class DeadLetter:
    """An update that could not be read: its id if it had one, the raw JSON encrypted, the
    type of the error, and what to tell its sender (an apology), if anyone."""

    update_id: int | None
    body_enc: str
    error: str
    notices: Sequence[Outgoing] = ()


@dataclass(frozen=True)
class StoredDeadLetter:
    id: int
    update_id: int | None
    received_at: str
    body_enc: str
    error: str


class InboxQueries(RepositoryBase):
    async def admit_updates(
        self, updates: Sequence[tuple[int, str]], dead: Sequence[DeadLetter] = ()
    ) -> set[int]:
        """Store ``(update_id, encrypted body)`` pairs and the batch's unreadable updates
        (with the apologies to their senders) in one transaction; returns the ids seen for
        the first time (the others were delivered before and are not stored again)."""
        if not updates and not dead:
            return set()
        ids = [update_id for update_id, _ in updates]
        now = self.clock()
        fresh: list[tuple[int, str, str]] = []
        async with self.transaction() as db:
            if ids:
                rows = await db.execute_fetchall(
                    "SELECT update_id FROM inbox WHERE update_id BETWEEN ? AND ?",
                    (min(ids), max(ids)),
                )
                known = {row[0] for row in rows}
                fresh = [(i, body, iso(now)) for i, body in dict(updates).items() if i not in known]
                await db.executemany(
                    "INSERT INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)", fresh
                )
            for letter in dead:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO dead_letters (update_id, received_at, body, error)"
                    " VALUES (?, ?, ?, ?)",
                    (letter.update_id, iso(now), letter.body_enc, letter.error),
                )
                if cur.rowcount == 1:  # not a repeat: apologise once
                    await enqueue(db, letter.notices, submission_id=None, now=now)
        return {i for i, _, _ in fresh}

    async def bury_update(self, update_id: int, letter: DeadLetter) -> None:
        """An update in the inbox that cannot be read any more (at a replay): moved to
        the dead letters and marked handled, in one transaction."""
        now = self.clock()
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO dead_letters (update_id, received_at, body, error)"
                " VALUES (?, ?, ?, ?)",
                (letter.update_id, iso(now), letter.body_enc, letter.error),
            )
            await db.execute(
                "UPDATE inbox SET body = NULL, handled_at = ? WHERE update_id = ?",
                (iso(now), update_id),
            )
        self.note_sensitive_deletion()  # the body's old page: out of the WAL too (#13)

    async def dead_letters(self, *, limit: int = 100) -> list[StoredDeadLetter]:
        """The unreadable updates kept for the operator, newest first."""
        rows = await self._fetchall("SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,))
        return [
            StoredDeadLetter(r["id"], r["update_id"], r["received_at"], r["body"], r["error"])
            for r in rows
        ]

    async def pending_updates(self) -> list[tuple[int, str]]:
        """Updates received but not yet handled, in the order Telegram numbered them."""
        rows = await self._fetchall(
            "SELECT update_id, body FROM inbox WHERE body IS NOT NULL ORDER BY update_id"
        )
        return [(row["update_id"], row["body"]) for row in rows]

    async def write_handled(self) -> None:
        """Write the handled marks noted so far (each transaction also does)."""
        if self.handled_pending:
            async with self.transaction():
                pass

    async def purge_inbox(self, before: datetime) -> int:
        """Forget handled updates older than ``before`` (Telegram keeps an update for 24
        hours at most, so older ids can never be delivered again)."""
        async with self.transaction() as db:
            cur = await db.execute(
                "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?",
                (iso(before),),
            )
            return cur.rowcount

    async def purge_dead_letters(self, before: datetime) -> int:
        """Forget unreadable updates received before ``before``."""
        removed = await self._write(
            "DELETE FROM dead_letters WHERE received_at < ?", (iso(before),), counted=True
        )
        if removed:
            self.note_sensitive_deletion()  # their bodies: out of the WAL too (#13)
        return removed

    async def submission_from_update(self, update_id: int) -> int | None:
        """The reference of the submission that ``update_id`` stored, if any."""
        row = await self._fetchone(
            "SELECT id FROM submissions WHERE source_update_id = ?", (update_id,)
        )
        return None if row is None else int(row["id"])
