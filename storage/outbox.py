"""The outbox's queries: messages owed, their delivery, retries and failures.

A message is queued by :func:`enqueue` inside the transaction of the change that caused
it, so a crash can never leave a change without its notification (nor the reverse).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from bot.records import OutboxEntry, Outgoing
from storage.base import RepositoryBase
from storage.rows import iso


async def enqueue(
    db: aiosqlite.Connection,
    notices: Sequence[Outgoing],
    *,
    submission_id: int | None,
    now: datetime,
) -> None:
    """Queue messages inside the caller's open transaction."""
    stamp = iso(now)
    await db.executemany(
        "INSERT INTO outbox (created_at, submission_id, chat_enc, body, next_attempt_at, purpose)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                stamp,
                submission_id,
                n.chat_enc,
                json.dumps(_body(n), ensure_ascii=False),
                stamp,
                n.purpose,
            )
            for n in notices
        ],
    )


def _body(notice: Outgoing) -> dict[str, object]:
    body: dict[str, object] = {"text": notice.text, "buttons": notice.buttons}
    if notice.photo is not None:
        body["photo"] = base64.b64encode(notice.photo).decode("ascii")
    return body


def _entry(row: aiosqlite.Row) -> OutboxEntry:
    body = json.loads(row["body"])
    photo = body.get("photo")
    return OutboxEntry(
        id=row["id"],
        submission_id=row["submission_id"],
        chat_enc=row["chat_enc"],
        text=body["text"],
        buttons=tuple(tuple(tuple(b) for b in r) for r in body.get("buttons", ())),
        attempts=row["attempts"],
        status=row["status"],
        last_error=row["last_error"],
        purpose=row["purpose"],
        message_id=row["message_id"],
        photo=base64.b64decode(photo) if photo else None,
    )


class OutboxQueries(RepositoryBase):
    """Queries of the outbox (mixed into :class:`storage.repository.Repository`)."""

    async def queue_messages(
        self, notices: Sequence[Outgoing], *, submission_id: int | None = None
    ) -> None:
        async with self.transaction() as db:
            await enqueue(db, notices, submission_id=submission_id, now=self.clock())

    async def due_messages(self, *, limit: int = 50) -> list[OutboxEntry]:
        """Pending messages whose time has come, oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY id LIMIT ?",
            (iso(self.clock()), limit),
        )
        return [_entry(r) for r in rows]

    async def mark_sent(
        self, entry: OutboxEntry, message_id: int | None, message_key: str | None = None
    ) -> None:
        """Record the delivery: the message's plain id (groups, channels) or keyed hash
        (private chats; see :func:`bot.anonymity.message_reference`). A channel post's
        message id is also kept on its item."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?,"
                " message_key = ?, attempts = attempts + 1 WHERE id = ?",
                (iso(self.clock()), message_id, message_key, entry.id),
            )
            if entry.purpose == "channel_post" and entry.submission_id is not None:
                await db.execute(
                    "UPDATE submissions SET channel_message_id = ? WHERE id = ?",
                    (message_id, entry.submission_id),
                )

    async def sent_with_purpose(
        self, purpose: str, *, message_id: int | None = None, message_key: str | None = None
    ) -> list[OutboxEntry]:
        """Delivered messages with that purpose and keyed hash (private chats) or plain
        Telegram message id (groups; ids are per chat: the caller checks the decrypted
        chat)."""
        column, value = ("message_key", message_key) if message_key else ("message_id", message_id)
        if value is None:
            return []
        rows = await self._fetchall(
            f"SELECT * FROM outbox WHERE {column} = ? AND purpose = ?"  # noqa: S608
            " AND status = 'sent'",
            (value, purpose),
        )
        return [_entry(r) for r in rows]

    async def mark_retry(self, entry_id: int, error: str, next_attempt: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
                " WHERE id = ?",
                (error[:500], iso(next_attempt), entry_id),
            )

    async def mark_failed(self, entry_id: int, error: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?"
                " WHERE id = ?",
                (error[:500], entry_id),
            )

    async def failed_messages(self, *, limit: int = 20) -> list[OutboxEntry]:
        rows = await self._fetchall(
            "SELECT * FROM outbox WHERE status = 'failed' ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_entry(r) for r in rows]

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: r["n"] for r in rows}
