"""What the office keeps on an item's row while working on it (#17): the claim (认领, point
9: who, until when; :mod:`bot.core.claiming` decides, the card copies show it) and what its
channel post will show (point 10: :mod:`bot.core.publishing`); and a clerk's selection
of items for a bulk action from a chat list (point 5: :mod:`handlers.bulk`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta

from storage.base import NotFound, RepositoryBase
from storage.copies import Renderer, refresh_in
from storage.effects import Replayed, claim_update
from storage.rows import iso

SELECTION_DAYS = 2  # how long a bulk selection's buttons work


class WorkingQueries(RepositoryBase):
    """Queries of claims and of the public text (mixed into the Repository)."""

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

    async def set_public(
        self,
        submission_id: int,
        *,
        actor: str,
        text: str | None = None,
        unmasked: bool | None = None,
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> None:
        """What the channel post will show (#17, point 10): the clerk's public summary
        (kept as an event of the ledger too; the item's text is never changed), or whether
        personal data in it is published unmasked."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                if text is not None:
                    await db.execute(
                        "UPDATE submissions SET public_text = ? WHERE id = ?",
                        (text, submission_id),
                    )
                    await db.execute(
                        "INSERT INTO events (submission_id, at, actor, kind, body)"
                        " VALUES (?, ?, ?, 'public_text', ?)",
                        (submission_id, iso(now), actor, text),
                    )
                if unmasked is not None:
                    await db.execute(
                        "UPDATE submissions SET public_unmasked = ? WHERE id = ?",
                        (int(unmasked), submission_id),
                    )
                await refresh_in(db, submission_id, refresh, now)

    # ------------------------------------------------------------- bulk selections (#17)
    async def new_selection(self, chat_id: int, user_id: int, items: Sequence[int]) -> int:
        """A clerk's selection from a list's items (none ticked yet); its id. Selections
        older than :data:`SELECTION_DAYS` are dropped on the way."""
        now = self.clock()
        async with self.transaction() as db:
            await db.execute(
                "DELETE FROM bulk_selections WHERE created_at < ?",
                (iso(now - timedelta(days=SELECTION_DAYS)),),
            )
            cur = await db.execute(
                "INSERT INTO bulk_selections (chat_id, user_id, items, chosen, created_at)"
                " VALUES (?, ?, ?, '[]', ?)",
                (chat_id, user_id, json.dumps(list(items)), iso(now)),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    async def selection(
        self, selection_id: int, *, chat_id: int, user_id: int
    ) -> tuple[list[int], list[int]] | None:
        """(the items listed, those ticked) of the clerk's own selection in this chat."""
        rows = await self._fetchall(
            "SELECT items, chosen FROM bulk_selections WHERE id = ? AND chat_id = ?"
            " AND user_id = ?",
            (selection_id, chat_id, user_id),
        )
        if not rows:
            return None
        return list(json.loads(rows[0]["items"])), list(json.loads(rows[0]["chosen"]))

    async def set_chosen(self, selection_id: int, chosen: Sequence[int]) -> None:
        await self._write(
            "UPDATE bulk_selections SET chosen = ? WHERE id = ?",
            (json.dumps(list(chosen)), selection_id),
        )
