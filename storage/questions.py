"""Open questions of the office to senders, and the messages a sender sent while one was
open, held until the sender says where they go (#17).

- **Open questions**: one row per item (``open_questions``), written with the question's
  event and deleted with the answer's (:meth:`storage.office.OfficeQueries.add_event`).
  A question is open while the item keeps the status it had when asked, and for
  :data:`OPEN_FOR` at most. Nothing per person: the items with an open question for a
  resident are found with the items' own ownership (:meth:`ResidentQueries.owned_among`),
  as ``/status`` finds them.
- **Held messages**: a row with a random id (new for every message) and one sealed value
  (the sender's Telegram id, the text, the attachment, when it arrived), like a draft. The
  id goes in the offer's buttons; the row is deleted when the sender chose, or a day later.

Which items have an open question is read from the table at each resident's message
(several workers share it, #24: a question asked through another worker is seen at once).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from bot.core.records import HeldMessage
from storage.effects import Replayed, claim_update
from storage.residents import ResidentQueries
from storage.rows import iso, new_row_id

OPEN_FOR = timedelta(days=7)
HELD_FOR = timedelta(days=1)


async def open_question(db: aiosqlite.Connection, submission_id: int, now: datetime) -> None:
    """Inside the question's transaction: the item's question is open from now."""
    await db.execute(
        "INSERT OR REPLACE INTO open_questions (submission_id, status, asked_at, expires_at)"
        " SELECT id, status, ?, ? FROM submissions WHERE id = ?",
        (iso(now), iso(now + OPEN_FOR), submission_id),
    )


async def close_question(db: aiosqlite.Connection, submission_id: int) -> None:
    """Inside the answer's transaction: the item's question is answered."""
    await db.execute("DELETE FROM open_questions WHERE submission_id = ?", (submission_id,))


class QuestionQueries(ResidentQueries):
    """Open questions and held messages (mixed into the repository)."""

    async def open_questions_of(self, user_id: int) -> list[int]:
        """The items with an open question whose sender is this Telegram user, oldest
        first (named by id, anonymous by the item's tag: nothing per person is read)."""
        now = self.clock()
        rows = await self._fetchall(
            "SELECT q.submission_id FROM open_questions q JOIN submissions s"
            " ON s.id = q.submission_id WHERE q.status = s.status AND q.expires_at > ?",
            (iso(now),),
        )
        open_ids = [r["submission_id"] for r in rows]
        return sorted(await self.owned_among(user_id, open_ids))

    async def question_open(self, submission_id: int) -> bool:
        row = await self._fetchone(
            "SELECT 1 FROM open_questions q JOIN submissions s ON s.id = q.submission_id"
            " WHERE q.submission_id = ? AND q.status = s.status AND q.expires_at > ?",
            (submission_id, iso(self.clock())),
        )
        return row is not None

    # ------------------------------------------------------------------ held messages
    async def hold_message(self, held: HeldMessage, *, update_id: int | None) -> str | None:
        """Keep a message until its sender chooses; its row id, or None when this update
        was held before (a replay)."""
        row_id = new_row_id()
        try:
            async with self.transaction() as db:
                await claim_update(db, update_id, self.clock())
                await db.execute(
                    "INSERT INTO held_messages (id, body) VALUES (?, ?)",
                    (row_id, self.secrets.seal(held.model_dump_json())),
                )
        except Replayed:
            return None
        return row_id

    async def held_message(self, row_id: str) -> HeldMessage | None:
        row = await self._fetchone("SELECT body FROM held_messages WHERE id = ?", (row_id,))
        plain = None if row is None else self.secrets.unseal(row["body"])
        return None if plain is None else HeldMessage.model_validate_json(plain)

    async def drop_held(self, row_id: str) -> None:
        removed = await self._write(
            "DELETE FROM held_messages WHERE id = ?", (row_id,), counted=True
        )
        if removed:
            self.note_sensitive_deletion()

    async def purge_held(self) -> int:
        """Delete the messages held for more than :data:`HELD_FOR` (nobody chose)."""
        before = self.clock() - HELD_FOR
        rows = await self._fetchall("SELECT id, body FROM held_messages")
        stale = []
        for row in rows:
            plain = self.secrets.unseal(row["body"])
            if plain is None or HeldMessage.model_validate_json(plain).at < before:
                stale.append(row["id"])
        for row_id in stale:
            await self.drop_held(row_id)
        return len(stale)
