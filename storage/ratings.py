"""The sender's ratings (回访/评价, #18): one per round (a round is each answer the sender
receives), each kept in ``ratings``. 不满意 sends the item back (重办) in the same
transaction as the rating; an answer nobody rated in time closes as 未评价."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime

from bot.core.records import Outgoing, RatingRound, Submission
from bot.core.workflow import Move, Status
from storage.base import NotFound, RepositoryBase
from storage.copies import Renderer, refresh_in
from storage.effects import Replayed, claim_update
from storage.loop import LoopQueries
from storage.outbox import enqueue
from storage.rows import iso, parse_dt

RATED_STATUSES = (Status.ANSWERED.value, Status.PUBLISHED.value, Status.CLOSED.value)


class AlreadyRated(Exception):
    """The round was rated (or closed unrated) before, or its answer is no longer current."""


class RatingQueries(RepositoryBase):
    """Queries of the sender's ratings (mixed into :class:`storage.repository.Repository`)."""

    async def rate_round(
        self,
        submission_id: int,
        round_: int,
        rating: str,
        *,
        reason: str | None = None,
        redo: Move | None = None,
        columns: Mapping[str, object] | None = None,
        actor: str = "sender",
        note: str | None = None,
        notices: Sequence[Outgoing] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        """Rate the answer of ``round_`` (raising :class:`AlreadyRated` if that round is
        rated or is not the current answer's); with ``redo``, the item goes back (重办) and
        the next answer is the next round. ``notices`` are queued with it."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                async with db.execute(
                    "SELECT status, rating_round, response,"
                    " EXISTS (SELECT 1 FROM ratings r WHERE r.submission_id = s.id"
                    " AND r.round = s.rating_round) AS rated"
                    " FROM submissions s WHERE id = ?",
                    (submission_id,),
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    raise NotFound(submission_id)
                current = (
                    row["response"] is not None
                    and row["status"] in RATED_STATUSES
                    and row["rating_round"] == round_
                )
                if not current or row["rated"]:
                    raise AlreadyRated(submission_id)
                await db.execute(
                    "INSERT INTO ratings (submission_id, round, rating, reason, at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (submission_id, round_, rating, reason, iso(now)),
                )
                await db.execute(
                    "UPDATE submissions SET rating = ?, rated_at = ? WHERE id = ?",
                    (rating, iso(now), submission_id),
                )
                await db.execute(
                    "INSERT INTO events (submission_id, at, actor, kind, body)"
                    " VALUES (?, ?, ?, 'rating', ?)",
                    (submission_id, iso(now), "sender", rating),
                )
                if redo is not None:
                    await LoopQueries.step_in(
                        db,
                        submission_id,
                        redo,
                        actor=actor,
                        note=note,
                        columns=columns,
                        reopened=True,
                        now=now,
                    )
                    await db.execute(
                        "UPDATE submissions SET rating_round = rating_round + 1 WHERE id = ?",
                        (submission_id,),
                    )
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        result = await self.get_submission(submission_id)
        assert result is not None
        return result

    async def add_rating_text(
        self,
        submission_id: int,
        text: str,
        *,
        notices: Sequence[Outgoing] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> bool:
        """The sender's own words on their latest 不满意 (kept with that round, added to
        what they wrote before); False if there is none."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                cur = await db.execute(
                    "UPDATE ratings SET text = COALESCE(text || char(10), '') || ?"
                    " WHERE submission_id = ? AND round = (SELECT MAX(round) FROM ratings"
                    " WHERE submission_id = ? AND rating = 'unsatisfied')",
                    (text, submission_id, submission_id),
                )
                if cur.rowcount == 0:
                    return False
                await db.execute(
                    "INSERT INTO events (submission_id, at, actor, kind, body)"
                    " VALUES (?, ?, 'sender', 'rating_text', ?)",
                    (submission_id, iso(now), text),
                )
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        return True

    async def rating_rounds(self, submission_id: int) -> list[RatingRound]:
        rows = await self._fetchall(
            "SELECT round, rating, reason, text, at FROM ratings WHERE submission_id = ?"
            " ORDER BY round",
            (submission_id,),
        )
        return [
            RatingRound(
                round=r["round"],
                rating=r["rating"],
                reason=r["reason"],
                text=r["text"],
                at=parse_dt(r["at"]),
            )
            for r in rows
        ]

    async def unrated_answers(self, answered_before: datetime, *, limit: int = 200) -> list[int]:
        """Items whose current answer was sent before ``answered_before`` and is unrated."""
        rows = await self._fetchall(
            "SELECT id FROM submissions s WHERE status IN (?, ?) AND response IS NOT NULL"
            " AND responded_at < ? AND NOT EXISTS (SELECT 1 FROM ratings r"
            " WHERE r.submission_id = s.id AND r.round = s.rating_round)"
            " ORDER BY responded_at LIMIT ?",
            (Status.ANSWERED.value, Status.PUBLISHED.value, iso(answered_before), limit),
        )
        return [r["id"] for r in rows]

    async def close_unrated(
        self,
        submission_id: int,
        answered_before: datetime,
        *,
        notices: Sequence[Outgoing] = (),
        refresh: Renderer | None = None,
    ) -> bool:
        """Close the item as 未评价 if its current answer is (still) unrated and older than
        ``answered_before``; False if it was rated or moved meanwhile."""
        now = self.clock()
        async with self.transaction() as db:
            async with db.execute(
                "SELECT rating_round FROM submissions s WHERE id = ? AND status IN (?, ?)"
                " AND response IS NOT NULL AND responded_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM ratings r WHERE r.submission_id = s.id"
                " AND r.round = s.rating_round)",
                (
                    submission_id,
                    Status.ANSWERED.value,
                    Status.PUBLISHED.value,
                    iso(answered_before),
                ),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return False
            await db.execute(
                "INSERT INTO ratings (submission_id, round, rating, at)"
                " VALUES (?, ?, 'unrated', ?)",
                (submission_id, row["rating_round"], iso(now)),
            )
            await LoopQueries.step_in(
                db, submission_id, Move.EXPIRE, actor="system", note=None, now=now
            )
            await enqueue(db, notices, submission_id=submission_id, now=now)
            await refresh_in(db, submission_id, refresh, now)
        return True
