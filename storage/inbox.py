"""Queries of the durable inbox (mixed into :class:`storage.repository.Repository`).

Rows hold the encrypted update until it has been handled, then only the update id (so a
second delivery of the same update is recognised) until :meth:`InboxQueries.purge_inbox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.base import RepositoryBase
from storage.rows import iso


class InboxQueries(RepositoryBase):
    async def admit_updates(self, updates: Sequence[tuple[int, str]]) -> set[int]:
        """Store ``(update_id, encrypted body)`` pairs in one transaction; returns the ids
        seen for the first time (the others were delivered before and are not stored
        again)."""
        if not updates:
            return set()
        ids = [update_id for update_id, _ in updates]
        now = iso(self.clock())
        async with self.transaction() as db:
            rows = await db.execute_fetchall(
                "SELECT update_id FROM inbox WHERE update_id BETWEEN ? AND ?", (min(ids), max(ids))
            )
            known = {row[0] for row in rows}
            fresh = [(i, body, now) for i, body in dict(updates).items() if i not in known]
            await db.executemany(
                "INSERT INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)", fresh
            )
        return {i for i, _, _ in fresh}

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

    async def submission_from_update(self, update_id: int) -> int | None:
        """The reference of the submission that ``update_id`` stored, if any."""
        row = await self._fetchone(
            "SELECT id FROM submissions WHERE source_update_id = ?", (update_id,)
        )
        return None if row is None else int(row["id"])
