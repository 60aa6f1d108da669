"""认领 (#17, point 9): who is working on an item, until when, kept on the item's row
(:mod:`bot.core.claiming` decides; the item's card copies show it)."""

from __future__ import annotations

from datetime import datetime

from storage.base import NotFound, RepositoryBase
from storage.copies import Renderer, refresh_in
from storage.rows import iso


class ClaimQueries(RepositoryBase):
    """Queries of claims (mixed into :class:`storage.repository.Repository`)."""

    async def set_claim(
        self,
        submission_id: int,
        claim: tuple[int, str, datetime] | None,
        *,
        refresh: Renderer | None = None,
    ) -> None:
        """Claim the item for (clerk id, name, until), or release it (None); the item's
        card copies are refreshed in the same transaction."""
        user_id, name, until = claim if claim is not None else (None, None, None)
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE submissions SET claimed_by = ?, claimed_name = ?, claimed_until = ?"
                " WHERE id = ?",
                (user_id, name, None if until is None else iso(until), submission_id),
            )
            if cur.rowcount == 0:
                raise NotFound(submission_id)
            await refresh_in(db, submission_id, refresh, self.clock())

    async def renew_claim(self, submission_id: int, user_id: int, until: datetime) -> bool:
        """Move the clerk's own claim on to ``until`` (their action on it); False if the
        item is not claimed by them."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE submissions SET claimed_until = ? WHERE id = ? AND claimed_by = ?",
                (iso(until), submission_id, user_id),
            )
            return cur.rowcount > 0
