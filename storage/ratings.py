"""The sender's ratings (回访/评价, #15.6, #18): one per round (a round is each answer the
sender receives: ``submissions.rating_round`` counts them), each kept in ``ratings``.
不满意 sends the item back (重办) in the same transaction as the rating; an answer nobody
rated in time closes as 未评价."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime

from bot.core.records import Outgoing, Rated, Rating, RatingRound
from bot.core.workflow import Move, Status
from storage.base import NotFound, RepositoryBase
from storage.copies import Renderer, refresh_in
from storage.effects import Replayed, claim_update
from storage.loop import LoopQueries
from storage.outbox import enqueue
from storage.rows import iso, parse_dt


class _NotRated(Exception):
    """The round was rated, or a new one began, between the read and the write."""


class RatingQueries(RepositoryBase):
    """Queries of the sender's ratings (mixed into :class:`storage.repository.Repository`)."""

    async def rate(
        self,
        submission_id: int,
        rating: Rating,
        *,
        round_: int,
        reason: str | None = None,
        redo: Move | None = None,
        columns: Mapping[str, object] | None = None,
        actor: str = "sender",
        note: str | None = None,
        notices: Sequence[Outgoing] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Rated:
        """The sender's satisfaction with the answer of round ``round_``: stored once per
        round (every round's is kept, with a 不满意's ``reason``; ``submissions.rating`` is
        the latest), with an event and ``notices``, and the item's card copies refreshed
        (``refresh``). With ``redo`` (不满意), the item goes back (重办, its step with
        ``columns``, ``actor`` and ``note``; its count of reopenings up) in the same
        transaction; its next answer starts the next round. A second rating of the same
        round, or one of an earlier round (buttons of an older answer), changes nothing and
        writes nothing. Raises NotFound if the item has no answer of that round."""
        row = await self._fetchone(
            "SELECT s.rating_round, s.response IS NOT NULL AS answered, r.rating FROM"
            " submissions s LEFT JOIN ratings r ON r.submission_id = s.id AND r.round = ?"
            " WHERE s.id = ?",
            (round_, submission_id),
        )
        if row is None or not row["answered"] or not 1 <= round_ <= row["rating_round"]:
            raise NotFound(submission_id)
        if row["rating"] is not None:
            if update_id is not None and await self._fetchone(
                "SELECT 1 FROM update_effects WHERE update_id = ?", (update_id,)
            ):
                return Rated(outcome="rated", rating=row["rating"])  # this very press, replayed
            return Rated(outcome="already", rating=row["rating"])
        if round_ != row["rating_round"]:
            return Rated(outcome="stale")
        now = self.clock()
        try:
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                cur = await db.execute(
                    "INSERT INTO ratings (submission_id, round, rating, reason, rated_at)"
                    " SELECT id, ?, ?, ?, ? FROM submissions WHERE id = ? AND rating_round = ?"
                    " ON CONFLICT DO NOTHING",
                    (round_, rating, reason, iso(now), submission_id, round_),
                )
                if cur.rowcount != 1:  # rated (or answered again) since the read
                    raise _NotRated
                await db.execute(
                    "UPDATE submissions SET rating = ?, rated_at = ? WHERE id = ?",
                    (rating, iso(now), submission_id),
                )
                await db.execute(
                    "INSERT INTO events (submission_id, at, actor, kind, body)"
                    " VALUES (?, ?, ?, 'rating', ?)",  # the sender, or the clerk after a 回访
                    (submission_id, iso(now), actor, rating),
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
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        except Replayed:  # the rating of this very update is stored: acknowledge again
            return Rated(outcome="rated", rating=rating)
        except _NotRated:
            return await self.rate(submission_id, rating, round_=round_, refresh=refresh)
        return Rated(outcome="rated", rating=rating)

    async def ratings(self, submission_id: int) -> list[tuple[int, str]]:
        """Every round's rating of an item, (round, rating), in order."""
        return [(r.round, r.rating) for r in await self.rating_rounds(submission_id)]

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
            "SELECT round, rating, reason, text, rated_at FROM ratings WHERE submission_id = ?"
            " ORDER BY round",
            (submission_id,),
        )
        return [
            RatingRound(
                round=r["round"],
                rating=r["rating"],
                reason=r["reason"],
                text=r["text"],
                at=parse_dt(r["rated_at"]),
            )
            for r in rows
        ]

    async def unrated_answers(self, answered_before: datetime, *, limit: int = 200) -> list[int]:
        """Items whose current answer was sent before ``answered_before`` and is unrated."""
        rows = await self._fetchall(
            # (The statuses written out: the partial index of 0025 serves this query.)
            "SELECT id FROM submissions s WHERE status IN ('answered', 'published')"
            " AND response IS NOT NULL AND responded_at < ? AND NOT EXISTS (SELECT 1 FROM"
            " ratings r WHERE r.submission_id = s.id AND r.round = s.rating_round)"
            " ORDER BY responded_at LIMIT ?",
            (iso(answered_before), limit),
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
                "INSERT INTO ratings (submission_id, round, rating, rated_at)"
                " VALUES (?, ?, 'unrated', ?)",
                (submission_id, row["rating_round"], iso(now)),
            )
            await LoopQueries.step_in(
                db, submission_id, Move.EXPIRE, actor="system", note=None, now=now
            )
            await enqueue(db, notices, submission_id=submission_id, now=now)
            await refresh_in(db, submission_id, refresh, now)
        return True
