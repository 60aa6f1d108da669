"""The repository: the one class through which the bot reads and writes SQLite.

Residents' queries (drafts, submissions, their lists, conversation states) are here; the
office's (review queue, search, events) are in :mod:`storage.office`, the outbox's in
:mod:`storage.outbox` and the topic model's (labels, the model) in :mod:`storage.labels`,
mixed into the same class. One transaction per user-visible action; callers acknowledge to
the user only after the method returned, i.e. after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from bot.records import (
    Draft,
    NewSubmission,
    Outgoing,
    Submission,
    SubmissionSummary,
)
from bot.workflow import Status
from storage.base import MAX_SQLITE_INT, Clock, NotFound, RepositoryBase
from storage.desk import DeskQueries
from storage.effects import EffectQueries
from storage.inbox import InboxQueries
from storage.keycheck import KeyCheckQueries
from storage.labels import SOURCE_WEIGHTS, LabelledExample, LabelQueries, add_label
from storage.office import OfficeQueries
from storage.outbox import OutboxQueries, enqueue
from storage.reports import ReportQueries
from storage.rows import evidence_json, iso, summary_record, utc_now
from storage.web import WebQueries

__all__ = ["Clock", "NotFound", "Repository", "utc_now"]


class Repository(
    OfficeQueries,
    ReportQueries,
    OutboxQueries,
    InboxQueries,
    EffectQueries,
    LabelQueries,
    DeskQueries,
    WebQueries,
    KeyCheckQueries,
    RepositoryBase,
):
    """All persistence of the bot. Create, ``await connect()``, use, ``await close()``.

    The bot is the only writer of the ``users`` and ``drafts`` tables while it runs, so two
    small facts about them are kept in memory from :meth:`connect` on, to spare a read on
    every resident's update: each stored language choice (few residents make one), and the
    owners that may have a draft (a superset: an owner is added before a draft is written
    and removed only after its deletion committed). A resident who has no draft, the usual
    case for a new message, costs no read at all."""

    def __init__(self, path: Path | str, *, clock: Clock = utc_now) -> None:
        super().__init__(path, clock=clock)
        self._languages: dict[str, str] | None = None
        self._draft_owners: set[str] | None = None

    async def connect(self) -> None:
        await super().connect()
        if self._draft_owners is None:
            languages = await self._fetchall("SELECT owner_hash, language FROM users")
            owners = await self._fetchall("SELECT owner_hash FROM drafts")
            self._languages = {r["owner_hash"]: r["language"] for r in languages}
            self._draft_owners = {r["owner_hash"] for r in owners}

    async def close(self) -> None:
        await super().close()
        self._languages = self._draft_owners = None  # a reconnect reads them afresh

    # ------------------------------------------------------------------ users
    async def get_language(self, owner_hash: str) -> str | None:
        if self._languages is not None:
            return self._languages.get(owner_hash)
        row = await self._fetchone("SELECT language FROM users WHERE owner_hash = ?", (owner_hash,))
        return None if row is None else row["language"]

    async def set_language(self, owner_hash: str, language: str) -> None:
        now = iso(self.clock())
        await self._write(
            "INSERT INTO users (owner_hash, language, created_at, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (owner_hash)"
            " DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at",
            (owner_hash, language, now, now),
        )
        if self._languages is not None:
            self._languages[owner_hash] = language

    # ------------------------------------------------------------------ drafts
    async def get_draft(self, owner_hash: str) -> Draft | None:
        if self._draft_owners is not None and owner_hash not in self._draft_owners:
            return None
        row = await self._fetchone("SELECT body FROM drafts WHERE owner_hash = ?", (owner_hash,))
        return None if row is None else Draft.model_validate_json(row["body"])

    async def save_draft(self, owner_hash: str, draft: Draft) -> None:
        if self._draft_owners is not None:
            self._draft_owners.add(owner_hash)
        now = iso(self.clock())
        await self._write(
            "INSERT INTO drafts (owner_hash, body, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (owner_hash) DO UPDATE SET body = excluded.body,"
            " updated_at = excluded.updated_at",
            (owner_hash, draft.model_dump_json(), now, now),
        )

    async def delete_draft(self, owner_hash: str) -> bool:
        removed = await self._write(
            "DELETE FROM drafts WHERE owner_hash = ?", (owner_hash,), counted=True
        )
        self._forget_draft(owner_hash)
        return removed > 0

    def _forget_draft(self, owner_hash: str) -> None:
        """The owner's draft is gone (its deletion committed)."""
        if self._draft_owners is not None:
            self._draft_owners.discard(owner_hash)

    # ------------------------------------------------------------------ submissions
    async def create_submission(
        self,
        new: NewSubmission,
        *,
        draft_owner: str,
        announce: Callable[[Submission], Sequence[Outgoing]] | None = None,
    ) -> Submission:
        """Store a submission with its attachments and first history entry, and delete the
        draft it came from, in one transaction. Raises NotFound if the draft is already gone
        (a second press of "confirm"), so nothing is stored twice."""
        now = self.clock()
        now_s = iso(now)
        sender = new.sender
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM drafts WHERE owner_hash = ?", (draft_owner,))
            if cur.rowcount == 0:
                raise NotFound("draft")
            cur = await db.execute(
                "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, owner_hash, reply_route, sender_user_id, sender_chat_id, sender_name,"
                " sender_username, language, status, created_at, updated_at, source_update_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.kind.value,
                    new.text,
                    new.topic_id,
                    new.suggested_topic_id,
                    evidence_json(new.evidence),
                    int(sender is None),
                    new.owner_hash if sender is None else None,
                    new.reply_route if sender is None else None,
                    sender.user_id if sender else None,
                    sender.chat_id if sender else None,
                    sender.name if sender else None,
                    sender.username if sender else None,
                    new.language,
                    Status.NEW.value,
                    now_s,
                    now_s,
                    new.source_update_id,
                ),
            )
            submission_id = cur.lastrowid
            assert submission_id is not None
            await db.executemany(
                "INSERT INTO attachments (submission_id, position, type, file_id, file_unique_id,"
                " file_name, mime_type, latitude, longitude, file_size)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        submission_id,
                        pos,
                        a.type,
                        a.file_id,
                        a.file_unique_id,
                        a.file_name,
                        a.mime_type,
                        a.latitude,
                        a.longitude,
                        a.file_size,
                    )
                    for pos, a in enumerate(new.attachments)
                ],
            )
            await db.execute(
                "INSERT INTO history (submission_id, at, actor, from_status, to_status, note)"
                " VALUES (?, ?, 'sender', NULL, ?, NULL)",
                (submission_id, now_s, Status.NEW.value),
            )
            if new.topic_id != new.suggested_topic_id and new.text.strip():
                # The sender chose another topic than proposed: a light label (only the
                # text and the topic; nothing about the sender).
                label = LabelledExample(
                    new.text, new.topic_id, "resident", SOURCE_WEIGHTS["resident"]
                )
                await add_label(db, label, now=now_s, submission_id=submission_id)
            submission = Submission(
                id=submission_id,
                kind=new.kind,
                text=new.text,
                topic_id=new.topic_id,
                suggested_topic_id=new.suggested_topic_id,
                evidence=new.evidence,
                anonymous=sender is None,
                sender=sender,
                language=new.language,
                status=Status.NEW,
                created_at=now,
                updated_at=now,
                attachments=new.attachments,
                reply_route=new.reply_route if sender is None else None,
            )
            if announce is not None:
                await enqueue(db, announce(submission), submission_id=submission_id, now=now)
        self._forget_draft(draft_owner)
        return submission

    async def count_recent(self, *, user_id: int, owner_hash: str, since: datetime) -> int:
        """Submissions of one person (named by id, anonymous by keyed hash) since then."""
        row = await self._fetchone(
            "SELECT (SELECT COUNT(*) FROM submissions WHERE sender_user_id = ?"
            " AND created_at >= ?) + (SELECT COUNT(*) FROM submissions WHERE owner_hash = ?"
            " AND created_at >= ?) AS n",
            (user_id, iso(since), owner_hash, iso(since)),
        )
        return int(row["n"]) if row else 0

    async def is_owner(self, submission_id: int, *, user_id: int, owner_hash: str) -> bool:
        """Whether this Telegram user sent the submission (named or anonymous)."""
        if not 0 < submission_id <= MAX_SQLITE_INT:
            return False
        row = await self._fetchone(
            "SELECT 1 FROM submissions WHERE id = ? AND (sender_user_id = ? OR owner_hash = ?)",
            (submission_id, user_id, owner_hash),
        )
        return row is not None

    async def list_own(
        self, *, user_id: int, owner_hash: str, offset: int = 0, limit: int = 10
    ) -> tuple[list[SubmissionSummary], int]:
        """A user's submissions, newest first, and their total count."""
        params = (user_id, owner_hash)
        total_row = await self._fetchone(
            "SELECT COUNT(*) AS n FROM submissions WHERE sender_user_id = ? OR owner_hash = ?",
            params,
        )
        rows = await self._fetchall(
            "SELECT id, kind, topic_id, status, created_at, deadline FROM submissions"
            " WHERE sender_user_id = ? OR owner_hash = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [summary_record(r) for r in rows], (total_row["n"] if total_row else 0)

    # ------------------------------------------------------------------ conversations
    async def load_conversations(self, name: str) -> list[tuple[str, str]]:
        """(encrypted key, JSON state) of every stored conversation of that handler."""
        rows = await self._fetchall(
            "SELECT key_enc, state FROM conversations WHERE name = ?", (name,)
        )
        return [(r["key_enc"], r["state"]) for r in rows]

    async def save_conversation(
        self, name: str, key_hash: str, key_enc: str, state_json: str | None
    ) -> None:
        if state_json is None:
            await self._write(
                "DELETE FROM conversations WHERE name = ? AND key_hash = ?", (name, key_hash)
            )
        else:
            await self._write(
                "INSERT INTO conversations (name, key_hash, key_enc, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name, key_hash) DO UPDATE SET"
                " state = excluded.state, updated_at = excluded.updated_at",
                (name, key_hash, key_enc, state_json, iso(self.clock())),
            )

    # ------------------------------------------------------------------ maintenance
    async def integrity_check(self) -> list[str]:
        rows = await self._fetchall("PRAGMA integrity_check")
        return [str(r[0]) for r in rows]

    async def checkpoint(self) -> None:
        async with self.reading() as db:
            await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
