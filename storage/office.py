"""The office's queries: status changes, the review queue, counts, search, item events and
the prompts the bot asked admins to answer.

Every action takes the ``update_id`` that caused it (None from elsewhere): claimed in its
transaction (:mod:`storage.effects`), it makes a replay of the same update change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime

import aiosqlite

from bot.core.records import (
    DONE_STATUSES,
    Attachment,
    Event,
    Outgoing,
    QueueView,
    Submission,
    SubmissionSummary,
)
from bot.core.workflow import Status
from storage.base import (
    MAX_SQLITE_INT,
    NotFound,
    RepositoryBase,
    add_attachments,
    like_pattern,
    read_events,
    read_similar,
)
from storage.copies import Renderer, refresh_in
from storage.effects import Replayed, claim_update
from storage.labels import SOURCE_WEIGHTS, LabelledExample, add_label
from storage.outbox import enqueue
from storage.questions import close_question, open_question
from storage.rows import SUMMARY_COLUMNS, iso, summary_record
from storage.transitions import complete_publishing, revert_publishing, transition

_DONE = "(" + ", ".join(f"'{s.value}'" for s in sorted(DONE_STATUSES)) + ")"
# /queue's views (#18), each one fixed clause (the time is a bound parameter).
_FLAGS: dict[QueueView, str] = {
    QueueView.UNSIGNED: "status = 'dispatched' AND sign_due IS NOT NULL AND sign_due < ?",
    QueueView.OVERDUE: f"deadline IS NOT NULL AND deadline < ? AND status NOT IN {_DONE}",
    QueueView.REOPENED: "reopen_count > 0",
}


def text_clauses(terms: Sequence[str]) -> tuple[list[str], list[object]]:
    """WHERE clauses (on ``submissions``) for texts that contain every term: terms of three
    or more characters use the FTS5 trigram index; shorter ones (common in Chinese) LIKE."""
    clauses: list[str] = []
    params: list[object] = []
    for term in terms:
        if len(term) >= 3:
            clauses.append("id IN (SELECT rowid FROM submissions_fts WHERE text MATCH ?)")
            params.append('"' + term.replace('"', '""') + '"')
        else:
            clauses.append("text LIKE ? ESCAPE '\\'")
            params.append(like_pattern(term))
    return clauses, params


def _item_filter(
    status: Status | None, topic_id: str | None, place_ids: Sequence[str]
) -> tuple[list[str], list[object]]:
    """WHERE clauses (fixed SQL; values as parameters) of /queue's filters."""
    clauses: list[str] = []
    params: list[object] = []
    if status is not None:
        clauses.append("status = ?")
        params.append(status.value)
    if topic_id is not None:
        clauses.append("topic_id = ?")
        params.append(topic_id)
    if place_ids:
        clauses.append(place_clause(len(place_ids)))
        params += place_ids
    return clauses, params


def place_clause(count: int) -> str:
    """Items of any of ``count`` places (bound as parameters)."""
    return f"place_id IN ({', '.join('?' * count)})"


class OfficeQueries(RepositoryBase):
    """Queries of the campaign office (mixed into :class:`storage.repository.Repository`)."""

    async def _reload(self, submission_id: int) -> Submission:
        result = await self.get_submission(submission_id)
        assert result is not None
        return result

    async def change_status(
        self,
        submission_id: int,
        target: Status,
        *,
        actor: str,
        note: str | None = None,
        notices: Sequence[Outgoing] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        """Move an item along the state machine, record it in the history and queue the
        notifications, all in one transaction. Raises IllegalTransition or NotFound."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                await transition(db, submission_id, target, actor=actor, note=note, now=now)
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        return await self._reload(submission_id)

    async def mark_duplicate(
        self,
        submission_id: int,
        original_id: int,
        *,
        actor: str,
        follower: tuple[str, str] | None,
        notices: Sequence[Outgoing] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        """Close an item as a duplicate of another; its sender (encrypted chat, language)
        follows the original from now on."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                await transition(
                    db,
                    submission_id,
                    Status.DUPLICATE,
                    actor=actor,
                    note=f"#{original_id}",
                    now=now,
                )
                await db.execute(
                    "UPDATE submissions SET duplicate_of = ? WHERE id = ?",
                    (original_id, submission_id),
                )
                if follower is not None:
                    await db.execute(
                        "INSERT OR IGNORE INTO followers (submission_id, duplicate_id, chat_enc,"
                        " language) VALUES (?, ?, ?, ?)",
                        (original_id, submission_id, *follower),
                    )
                await self._event(db, original_id, actor, "duplicate", f"#{submission_id}", now)
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        return await self._reload(submission_id)

    async def duplicates_of(self, submission_id: int) -> list[int]:
        """The items merged into this one as its duplicates."""
        rows = await self._fetchall(
            "SELECT id FROM submissions WHERE duplicate_of = ? ORDER BY id", (submission_id,)
        )
        return [r["id"] for r in rows]

    async def followers(self, submission_id: int) -> list[tuple[str, str]]:
        """(encrypted chat, language) of the senders of this item's duplicates, then of
        the people who supported it (附议)."""
        rows = await self._fetchall(
            "SELECT chat_enc, language FROM followers WHERE submission_id = ?"
            " ORDER BY duplicate_id",
            (submission_id,),
        )
        supporters = await self._fetchall(
            "SELECT chat_enc, language FROM supporters WHERE submission_id = ?"
            " AND chat_enc IS NOT NULL",
            (submission_id,),
        )
        return [(r["chat_enc"], r["language"]) for r in [*rows, *supporters]]

    async def add_support(
        self,
        submission_id: int,
        tag: str,
        *,
        chat_enc: str,
        language: str,
        refresh: Renderer | None = None,
        hold: float = 0.0,
    ) -> bool:
        """附议: count ``tag`` (one person's, for this item) once and let them follow the
        item; False if they had already (nothing changes). The item's card copies (its
        channel post's count among them) are refreshed in the same transaction, each edit
        held ``hold`` seconds so that a burst of 附议 is one edit (storage.copies)."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO supporters (submission_id, tag, chat_enc, language)"
                " VALUES (?, ?, ?, ?)",
                (submission_id, tag, chat_enc, language),
            )
            if cur.rowcount > 0:
                await refresh_in(db, submission_id, refresh, self.clock(), hold=hold)
            return cur.rowcount > 0

    async def assign(
        self,
        submission_id: int,
        *,
        owner: str,
        deadline: datetime,
        judged_deadline: datetime | None,
        actor: str,
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        now = self.clock()
        judged = iso(judged_deadline) if judged_deadline is not None else None
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                cur = await db.execute(
                    "UPDATE submissions SET owner = ?, deadline = ?, judged_deadline = ?,"
                    " updated_at = ? WHERE id = ?",
                    (owner, iso(deadline), judged, iso(now), submission_id),
                )
                if cur.rowcount == 0:
                    raise NotFound(submission_id)
                await self._event(
                    db, submission_id, actor, "assign", f"{owner}|{iso(deadline)}", now
                )
                await refresh_in(db, submission_id, refresh, now)
        return await self._reload(submission_id)

    async def respond(
        self,
        submission_id: int,
        response: str,
        *,
        actor: str,
        notices: Sequence[Outgoing] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        """Record the official response (status answered) and queue it to the senders. It
        starts a new rating round (its rating buttons carry ``rating_round + 1``)."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                await transition(
                    db, submission_id, Status.ANSWERED, actor=actor, note=None, now=now
                )
                await db.execute(
                    "UPDATE submissions SET response = ?, responded_at = ?,"
                    " rating_round = rating_round + 1 WHERE id = ?",
                    (response, iso(now), submission_id),
                )
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        return await self._reload(submission_id)

    async def publish(
        self,
        submission_id: int,
        *,
        actor: str,
        notices: Sequence[Outgoing],
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        """Start publishing: the item goes to ``publishing`` and the channel post (with the
        notices held for it) is queued, in one transaction. The outbox completes it when
        the post is delivered (``published``, with its date), or reverts it when the post
        fails for good (storage.transitions)."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                await transition(
                    db, submission_id, Status.PUBLISHING, actor=actor, note=None, now=now
                )
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        return await self._reload(submission_id)

    async def complete_publishing(
        self, submission_id: int, *, refresh: Renderer | None = None
    ) -> bool:
        """The channel post went out: a publishing item is published now, its card copies
        refreshed, in one transaction. False (nothing changed) if it was not publishing."""
        now = self.clock()
        async with self.transaction() as db:
            done = await complete_publishing(db, submission_id, now)
            if done:
                await refresh_in(db, submission_id, refresh, now)
        return done

    async def revert_publishing(
        self, submission_id: int, reason: str, *, refresh: Renderer | None = None
    ) -> Status | None:
        """The channel post failed for good: a publishing item goes back to the status
        before (``reason`` in its history), its card copies refreshed, in one transaction.
        Returns that status (None, nothing changed, if it was not publishing)."""
        now = self.clock()
        async with self.transaction() as db:
            before = await revert_publishing(db, submission_id, reason, now)
            if before is not None:
                await refresh_in(db, submission_id, refresh, now)
        return before

    async def unsettled_publications(self) -> list[tuple[int, str, str | None]]:
        """Items still publishing whose channel post's outcome is recorded (the bot stopped,
        or the disk filled, between the outcome and its settling): (item, the post's
        outbox status, its last error)."""
        rows = await self._fetchall(
            "SELECT s.id, o.status, o.last_error FROM submissions s JOIN outbox o"
            " ON o.id = (SELECT MAX(id) FROM outbox WHERE submission_id = s.id"
            " AND purpose = 'channel_post')"
            " WHERE s.status = 'publishing' AND o.status IN ('sent', 'failed') ORDER BY s.id"
        )
        return [(r["id"], r["status"], r["last_error"]) for r in rows]

    async def add_event(
        self,
        submission_id: int,
        *,
        actor: str,
        kind: str,
        body: str,
        notices: Sequence[Outgoing] = (),
        attachments: Sequence[Attachment] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> bool:
        """Add an event (with files or locations that came with it, added to the item's)
        and queue its notices; False if ``update_id`` already did (a replay: nothing
        added). A question to the sender opens the item's question, an answer closes it
        (:mod:`storage.questions`)."""
        now = self.clock()
        try:
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                await self._event(db, submission_id, actor, kind, body, now)
                if attachments:
                    await add_attachments(db, submission_id, attachments)
                if kind == "question":
                    await open_question(db, submission_id, now)
                elif kind == "answer":
                    await close_question(db, submission_id)
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        except Replayed:
            return False
        return True

    @staticmethod
    async def _event(
        db: aiosqlite.Connection,
        submission_id: int,
        actor: str,
        kind: str,
        body: str,
        now: datetime,
    ) -> None:
        await db.execute(
            "INSERT INTO events (submission_id, at, actor, kind, body) VALUES (?, ?, ?, ?, ?)",
            (submission_id, iso(now), actor, kind, body),
        )

    async def set_topic(
        self,
        submission_id: int,
        topic_id: str,
        *,
        actor: str,
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        """Correct an item's topic; the correction is kept as an event (old → new) and as a
        labelled example for the topic model, in the same transaction."""
        now = iso(self.clock())
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, self.clock())
                async with db.execute(
                    "SELECT topic_id, text FROM submissions WHERE id = ?", (submission_id,)
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    raise NotFound(submission_id)
                if str(row["text"]).strip():  # the correction is a label for the topic model
                    label = LabelledExample(row["text"], topic_id, "admin", SOURCE_WEIGHTS["admin"])
                    await add_label(db, label, now=now, submission_id=submission_id)
                await db.execute(
                    "UPDATE submissions SET topic_id = ?, updated_at = ? WHERE id = ?",
                    (topic_id, now, submission_id),
                )
                await db.execute(
                    "INSERT INTO events (submission_id, at, actor, kind, body)"
                    " VALUES (?, ?, ?, 'topic', ?)",
                    (submission_id, now, actor, f"{row['topic_id']}→{topic_id}"),
                )
                await refresh_in(db, submission_id, refresh, self.clock())
        result = await self.get_submission(submission_id)
        assert result is not None
        return result

    async def events(self, submission_id: int) -> list[Event]:
        return await read_events(self._fetchall, submission_id)

    async def next_for_review(self, *, after: int = 0) -> Submission | None:
        """The oldest item awaiting review with a number above ``after`` (wrapping round)."""
        for bound in (after, 0):
            row = await self._fetchone(
                "SELECT id FROM submissions WHERE status = 'new' AND id > ? ORDER BY id LIMIT 1",
                (bound,),
            )
            if row is not None:
                return await self.get_submission(row["id"])
        return None

    async def status_counts(
        self, *, topic_id: str | None = None, place_ids: Sequence[str] = ()
    ) -> dict[Status, int]:
        """Items by status, of one topic and/or of these places."""
        clauses, params = _item_filter(None, topic_id, place_ids)
        rows = await self._fetchall(
            "SELECT status, COUNT(*) AS n FROM submissions"  # noqa: S608
            f" WHERE {' AND '.join(clauses) or '1 = 1'} GROUP BY status",
            params,
        )
        return {Status(r["status"]): r["n"] for r in rows}

    async def list_items(
        self,
        *,
        status: Status | None = None,
        topic_id: str | None = None,
        place_ids: Sequence[str] = (),
        unit_id: str | None = None,
        flag: QueueView | None = None,
        now: datetime | None = None,
        by_support: bool = False,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[list[SubmissionSummary], int]:
        """Items by status, topic, place (any of ``place_ids``), unit and/or flag (#18:
        unsigned, overdue or reopened; with a unit or a flag but no status, the open items),
        oldest first (the order they are worked in), or the most supported (附议) first."""
        clauses, params = _item_filter(status, topic_id, place_ids)
        if status is None and (unit_id is not None or flag is not None):
            clauses.append(f"status NOT IN {_DONE}")
        if unit_id is not None:
            clauses.append("unit_id = ?")
            params.append(unit_id)
        if flag is not None:
            stamp = iso(now or self.clock())
            clauses.append(_FLAGS[flag])
            params += [stamp] if flag != QueueView.REOPENED else []
        # Only fixed clauses are joined; values are always bound parameters.
        where = " AND ".join(clauses) or "1 = 1"
        total = await self._fetchone(
            f"SELECT COUNT(*) AS n FROM submissions WHERE {where}",  # noqa: S608
            params,
        )
        rows = await self._fetchall(
            f"SELECT {SUMMARY_COLUMNS} FROM submissions WHERE {where}"  # noqa: S608
            f" ORDER BY {'support DESC, id' if by_support else 'id'} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [summary_record(r) for r in rows], int(total["n"]) if total else 0

    async def search(self, terms: Sequence[str], *, limit: int = 20) -> list[SubmissionSummary]:
        """Items whose text contains every term, newest first. Terms of three or more
        characters use the FTS5 trigram index; shorter ones (common in Chinese) use LIKE."""
        clauses, params = text_clauses(terms)
        if not clauses:
            return []
        rows = await self._fetchall(
            f"SELECT {SUMMARY_COLUMNS} FROM submissions WHERE {' AND '.join(clauses)}"  # noqa: S608
            " ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [summary_record(r) for r in rows]

    async def similar(self, item: Submission, *, limit: int = 3) -> list[SubmissionSummary]:
        """Earlier items of the same topic that share a keyword that tagged this one."""
        return await read_similar(self._fetchall, item, limit=limit)

    # ------------------------------------------------------------------ prompts
    async def save_prompt(
        self,
        *,
        chat_id: int,
        message_id: int,
        action: str,
        submission_id: int,
        asked_by: int,
        update_id: int | None = None,
    ) -> None:
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, self.clock())
                await db.execute(
                    "INSERT OR REPLACE INTO prompts (chat_id, message_id, action, submission_id,"
                    " asked_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (chat_id, message_id, action, submission_id, asked_by, iso(self.clock())),
                )

    async def find_prompt(self, *, chat_id: int, message_id: int) -> tuple[str, int] | None:
        """(action, submission id) of the question the bot asked with that message."""
        if not -MAX_SQLITE_INT <= message_id <= MAX_SQLITE_INT:
            return None
        row = await self._fetchone(
            "SELECT action, submission_id FROM prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return None if row is None else (row["action"], row["submission_id"])

    async def latest_prompt(
        self, *, chat_id: int, asked_by: int, since: datetime | None = None
    ) -> tuple[int, str, int] | None:
        """(message id, action, submission id) of the newest question the bot asked this
        admin in this chat (asked since ``since``, if given)."""
        row = await self._fetchone(
            "SELECT message_id, action, submission_id FROM prompts WHERE chat_id = ?"
            " AND asked_by = ? AND created_at >= ? ORDER BY created_at DESC, message_id DESC"
            " LIMIT 1",
            (chat_id, asked_by, iso(since) if since is not None else ""),
        )
        return None if row is None else (row["message_id"], row["action"], row["submission_id"])

    async def prompt_asked_by(self, *, chat_id: int, message_id: int) -> int | None:
        row = await self._fetchone(
            "SELECT asked_by FROM prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return None if row is None else int(row["asked_by"])

    async def hold_prompt_answer(self, *, chat_id: int, message_id: int, text: str | None) -> None:
        """An answer typed without the reply gesture waits for the admin's confirmation
        (None: held back, nothing waits)."""
        await self._write(
            "UPDATE prompts SET pending = ? WHERE chat_id = ? AND message_id = ?",
            (text, chat_id, message_id),
        )

    async def pending_prompt_answer(self, *, chat_id: int, message_id: int) -> str | None:
        row = await self._fetchone(
            "SELECT pending FROM prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return None if row is None or row["pending"] is None else str(row["pending"])

    async def drop_prompt(self, *, chat_id: int, message_id: int) -> None:
        async with self.transaction() as db:
            await db.execute(
                "DELETE FROM prompts WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
            )
