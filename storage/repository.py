"""The repository: every SQL statement the bot runs, over one aiosqlite connection.

One transaction per user-visible action (``BEGIN IMMEDIATE`` ... ``COMMIT``), serialised by
an asyncio lock; callers acknowledge to the user only after the method returned, i.e. after
the commit. WAL mode, ``synchronous=FULL`` and ``secure_delete`` are set on every connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.records import (
    Attachment,
    Draft,
    HistoryEntry,
    NewSubmission,
    Sender,
    Submission,
    SubmissionSummary,
    TopicEvidence,
)
from bot.workflow import Kind, Status, check_transition
from storage.migrations import apply_migrations

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_SQLITE_INT = 2**63 - 1


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


class NotFound(LookupError):
    """No row with that key."""


class Repository:
    """All persistence of the bot. Create, ``await connect()``, use, ``await close()``."""

    def __init__(self, path: Path | str, *, clock: Clock = utc_now) -> None:
        self.path = Path(path)
        self.clock = clock
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle
    async def connect(self) -> None:
        """Open the database (creating it and its schema if needed). Idempotent."""
        async with self._connect_lock:
            if self._db is not None:
                return
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(self.path, isolation_level=None)
            db.row_factory = aiosqlite.Row
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=FULL",
                "PRAGMA secure_delete=ON",
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=10000",
            ):
                await db.execute(pragma)
            applied = await apply_migrations(db)
            if applied:
                log.info("database %s: applied migrations %s", self.path, applied)
            self._db = db

    async def close(self) -> None:
        async with self._connect_lock:
            if self._db is not None:
                async with self._lock:
                    await self._db.close()
                self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("repository is not connected")
        return self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; committed on normal exit, rolled back on error."""
        db = self.db
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialised read access (never sees another coroutine's open transaction)."""
        async with self._lock:
            yield self.db

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.reading() as db, db.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.reading() as db, db.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    # ------------------------------------------------------------------ users
    async def get_language(self, owner_hash: str) -> str | None:
        row = await self._fetchone("SELECT language FROM users WHERE owner_hash = ?", (owner_hash,))
        return None if row is None else row["language"]

    async def set_language(self, owner_hash: str, language: str) -> None:
        now = _iso(self.clock())
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO users (owner_hash, language, created_at, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (owner_hash)"
                " DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at",
                (owner_hash, language, now, now),
            )

    # ------------------------------------------------------------------ drafts
    async def get_draft(self, owner_hash: str) -> Draft | None:
        row = await self._fetchone("SELECT body FROM drafts WHERE owner_hash = ?", (owner_hash,))
        return None if row is None else Draft.model_validate_json(row["body"])

    async def save_draft(self, owner_hash: str, draft: Draft) -> None:
        now = _iso(self.clock())
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO drafts (owner_hash, body, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (owner_hash) DO UPDATE SET body = excluded.body,"
                " updated_at = excluded.updated_at",
                (owner_hash, draft.model_dump_json(), now, now),
            )

    async def delete_draft(self, owner_hash: str) -> bool:
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM drafts WHERE owner_hash = ?", (owner_hash,))
            return cur.rowcount > 0

    # ------------------------------------------------------------------ submissions
    async def create_submission(self, new: NewSubmission, *, draft_owner: str) -> Submission:
        """Store a submission with its attachments and first history entry, and delete the
        draft it came from, in one transaction. Raises NotFound if the draft is already gone
        (a second press of "confirm"), so nothing is stored twice."""
        now = self.clock()
        now_s = _iso(now)
        sender = new.sender
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM drafts WHERE owner_hash = ?", (draft_owner,))
            if cur.rowcount == 0:
                raise NotFound("draft")
            cur = await db.execute(
                "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, owner_hash, reply_route, sender_user_id, sender_chat_id, sender_name,"
                " sender_username, language, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.kind.value,
                    new.text,
                    new.topic_id,
                    new.suggested_topic_id,
                    _evidence_json(new.evidence),
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
                ),
            )
            submission_id = cur.lastrowid
            assert submission_id is not None
            await db.executemany(
                "INSERT INTO attachments (submission_id, position, type, file_id, file_unique_id,"
                " file_name, mime_type, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    )
                    for pos, a in enumerate(new.attachments)
                ],
            )
            await db.execute(
                "INSERT INTO history (submission_id, at, actor, from_status, to_status, note)"
                " VALUES (?, ?, 'sender', NULL, ?, NULL)",
                (submission_id, now_s, Status.NEW.value),
            )
        return Submission(
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
        )

    async def get_submission(self, submission_id: int) -> Submission | None:
        if not 0 < submission_id <= MAX_SQLITE_INT:
            return None
        row = await self._fetchone("SELECT * FROM submissions WHERE id = ?", (submission_id,))
        if row is None:
            return None
        attachments = await self._fetchall(
            "SELECT * FROM attachments WHERE submission_id = ? ORDER BY position", (submission_id,)
        )
        return _submission(row, [_attachment(a) for a in attachments])

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
            "SELECT id, kind, topic_id, status, created_at FROM submissions"
            " WHERE sender_user_id = ? OR owner_hash = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        summaries = [
            SubmissionSummary(
                id=r["id"],
                kind=Kind(r["kind"]),
                topic_id=r["topic_id"],
                status=Status(r["status"]),
                created_at=_dt(r["created_at"]),
            )
            for r in rows
        ]
        return summaries, (total_row["n"] if total_row else 0)

    async def history(self, submission_id: int) -> list[HistoryEntry]:
        rows = await self._fetchall(
            "SELECT at, actor, from_status, to_status, note FROM history"
            " WHERE submission_id = ? ORDER BY id",
            (submission_id,),
        )
        return [
            HistoryEntry(
                at=_dt(r["at"]),
                actor=r["actor"],
                from_status=Status(r["from_status"]) if r["from_status"] else None,
                to_status=Status(r["to_status"]),
                note=r["note"],
            )
            for r in rows
        ]

    async def change_status(
        self, submission_id: int, target: Status, *, actor: str, note: str | None = None
    ) -> Submission:
        """Move a submission along the state machine and record it in the history."""
        now_s = _iso(self.clock())
        async with self.transaction() as db:
            async with db.execute(
                "SELECT status FROM submissions WHERE id = ?", (submission_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise NotFound(submission_id)
            current = Status(row["status"])
            check_transition(current, target)
            await db.execute(
                "UPDATE submissions SET status = ?, updated_at = ? WHERE id = ?",
                (target.value, now_s, submission_id),
            )
            await db.execute(
                "INSERT INTO history (submission_id, at, actor, from_status, to_status, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (submission_id, now_s, actor, current.value, target.value, note),
            )
        result = await self.get_submission(submission_id)
        assert result is not None
        return result

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
        async with self.transaction() as db:
            if state_json is None:
                await db.execute(
                    "DELETE FROM conversations WHERE name = ? AND key_hash = ?", (name, key_hash)
                )
            else:
                await db.execute(
                    "INSERT INTO conversations (name, key_hash, key_enc, state, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name, key_hash) DO UPDATE SET"
                    " state = excluded.state, updated_at = excluded.updated_at",
                    (name, key_hash, key_enc, state_json, _iso(self.clock())),
                )

    # ------------------------------------------------------------------ maintenance
    async def integrity_check(self) -> list[str]:
        rows = await self._fetchall("PRAGMA integrity_check")
        return [str(r[0]) for r in rows]

    async def checkpoint(self) -> None:
        async with self.reading() as db:
            await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _evidence_json(evidence: Iterable[TopicEvidence]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in evidence], ensure_ascii=False)


def _attachment(row: aiosqlite.Row) -> Attachment:
    return Attachment(
        type=row["type"],
        file_id=row["file_id"],
        file_unique_id=row["file_unique_id"],
        file_name=row["file_name"],
        mime_type=row["mime_type"],
        latitude=row["latitude"],
        longitude=row["longitude"],
    )


def _submission(row: aiosqlite.Row, attachments: list[Attachment]) -> Submission:
    sender = None
    if not row["anonymous"]:
        sender = Sender(
            user_id=row["sender_user_id"],
            chat_id=row["sender_chat_id"],
            name=row["sender_name"] or "",
            username=row["sender_username"],
        )
    return Submission(
        id=row["id"],
        kind=Kind(row["kind"]),
        text=row["text"],
        topic_id=row["topic_id"],
        suggested_topic_id=row["suggested_topic_id"],
        evidence=tuple(TopicEvidence.model_validate(e) for e in json.loads(row["evidence"])),
        anonymous=bool(row["anonymous"]),
        sender=sender,
        language=row["language"],
        status=Status(row["status"]),
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        attachments=tuple(attachments),
    )
