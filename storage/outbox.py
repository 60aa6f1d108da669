"""The outbox's queries: messages owed, their delivery, retries and failures.

A message is queued by :func:`enqueue` inside the transaction of the change that caused
it, so a crash can never leave a change without its notification (nor the reverse). Each
send is recorded before it is made (:meth:`OutboxQueries.start_attempt`) and its outcome
after (:meth:`OutboxQueries.record_outcome`), following :mod:`bot.transport.outcomes`; a row still
marked as being sent at start-up is an outcome nobody knows
(:meth:`OutboxQueries.interrupted_sends`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import aiosqlite

from bot.core.records import Attachment, CardSpec, CopyPlacement, OutboxEntry, Outgoing
from bot.text import TELEGRAM_MESSAGE_LIMIT, utf16_length
from bot.transport.outcomes import Decision, Delivered, FailedForGood, RetryLater
from storage.clamps import ClampQueries
from storage.copies import add_copy
from storage.effects import Replayed, claim_update
from storage.rows import iso, parse_dt

_INSERT = (
    "INSERT INTO outbox (created_at, submission_id, chat_enc, body, next_attempt_at, purpose,"
    " recipient, after_id, merge_key, copy_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def enqueue(
    db: aiosqlite.Connection,
    notices: Sequence[Outgoing],
    *,
    submission_id: int | None,
    now: datetime,
) -> None:
    """Queue messages inside the caller's open transaction. A notice with ``after`` is
    held until the one at that index is delivered; one with a ``merge`` key about an item
    is coalesced (:func:`_coalesce`)."""
    stamp = iso(now)

    def row(n: Outgoing, after_id: int | None, due: str, merge: str | None) -> tuple[object, ...]:
        body = json.dumps(_body(n), ensure_ascii=False)
        recipient = None if n.recipient is None else n.recipient.value
        return (
            *(stamp, submission_id, n.chat_enc, body, due, n.purpose),
            *(recipient, after_id, merge, n.copy_id),
        )

    if all(n.after is None and n.merge is None for n in notices):
        await db.executemany(_INSERT, [row(n, None, stamp, None) for n in notices])
        return
    ids: list[int] = []
    for n in notices:
        if n.after is not None and not 0 <= n.after < len(ids):
            raise ValueError(f"a notice can only wait for one queued before it ({n.after})")
        due, merge = stamp, None
        if n.merge is not None and submission_id is not None and n.merge_seconds > 0:
            merged, due = await _coalesce(db, n, submission_id, now)
            if merged is not None:
                ids.append(merged)
                continue
            merge = n.merge
        after_id = None if n.after is None else ids[n.after]
        cur = await db.execute(_INSERT, row(n, after_id, due, merge))
        assert cur.lastrowid is not None
        ids.append(cur.lastrowid)


async def _coalesce(
    db: aiosqlite.Connection, notice: Outgoing, submission_id: int, now: datetime
) -> tuple[int | None, str]:
    """Notices about one item with the same merge key (the office's: a rating, answers, an
    instruction) within ``merge_seconds`` of each other become one message. The notice is
    appended to the last such message if that one is still waiting (never tried, not being
    sent) and there is room: returns its id. Otherwise the notice is a new message, due at
    once, or, if the last such message went out (or is due) less than the window ago, when
    the window has passed, so that what follows within it joins it: returns its due time.
    So a burst gives at most one message at once and one per window after it."""
    window = timedelta(seconds=notice.merge_seconds)
    async with db.execute(
        "SELECT id, body, status, attempts, attempt_started_at,"
        " COALESCE(sent_at, next_attempt_at) AS last FROM outbox"
        " WHERE submission_id = ? AND merge_key = ? ORDER BY id DESC LIMIT 1",
        (submission_id, notice.merge),
    ) as cur:
        last = await cur.fetchone()
    if last is None:
        return None, iso(now)
    body = json.loads(last["body"])
    waiting = (
        last["status"] == "pending"
        and last["attempts"] == 0
        and last["attempt_started_at"] is None
        and not (body.get("buttons") or notice.buttons)
        and not {"photo", "attachment", "album"} & body.keys()
        and notice.photo is None
        and notice.attachment is None
        and not notice.album
    )
    if waiting:
        text = f"{body['text']}\n{notice.text}"
        if utf16_length(text) <= TELEGRAM_MESSAGE_LIMIT:
            body["text"] = text
            await db.execute(
                "UPDATE outbox SET body = ? WHERE id = ?",
                (json.dumps(body, ensure_ascii=False), last["id"]),
            )
            return int(last["id"]), iso(now)
    # Never further ahead than one window (a time written while the clock ran ahead).
    due = min(max(now, parse_dt(last["last"]) + window), now + window)
    return None, iso(due)


def _body(notice: Outgoing) -> dict[str, object]:
    body: dict[str, object] = {"text": notice.text, "buttons": notice.buttons}
    if notice.photo is not None:
        body["photo"] = base64.b64encode(notice.photo).decode("ascii")
    if notice.card is not None:
        body["card"] = [notice.card.kind, notice.card.language]
    if notice.attachment is not None:
        body["attachment"] = notice.attachment.model_dump(mode="json", exclude_none=True)
    if notice.album:
        body["album"] = [a.model_dump(mode="json", exclude_none=True) for a in notice.album]
    return body


def _entry(row: aiosqlite.Row) -> OutboxEntry:
    body = json.loads(row["body"])
    photo = body.get("photo")
    card = body.get("card")
    return OutboxEntry(
        id=row["id"],
        submission_id=row["submission_id"],
        chat_enc=row["chat_enc"],
        text=body["text"],
        buttons=tuple(tuple(tuple(b) for b in r) for r in body.get("buttons", ())),
        attempts=row["attempts"],
        status=row["status"],
        uncertain=row["uncertain"],
        last_error=row["last_error"],
        purpose=row["purpose"],
        message_id=row["message_id"],
        photo=base64.b64decode(photo) if photo else None,
        recipient=row["recipient"],
        after_id=row["after_id"],
        card=CardSpec(kind=card[0], language=card[1]) if card else None,
        copy_id=row["copy_id"],
        attachment=Attachment.model_validate(body["attachment"]) if "attachment" in body else None,
        album=tuple(Attachment.model_validate(a) for a in body.get("album", ())),
    )


class OutboxQueries(ClampQueries):
    """Queries of the outbox (mixed into :class:`storage.repository.Repository`)."""

    async def queue_messages(
        self,
        notices: Sequence[Outgoing],
        *,
        submission_id: int | None = None,
        key: int | None = None,
    ) -> bool:
        """Queue messages in one transaction. ``key``: the request key of a form (a web
        form sent twice queues once): False when it was queued before."""
        try:
            async with self.transaction() as db:
                await claim_update(db, key, self.clock())
                await enqueue(db, notices, submission_id=submission_id, now=self.clock())
        except Replayed:
            return False
        return True

    async def due_messages(self, *, limit: int = 50) -> list[OutboxEntry]:
        """Pending messages whose time has come and that are not being sent, oldest first
        (one held for another only once that one was delivered). A message due further
        ahead than any correct one is brought back first (storage.clamps)."""
        await self.clamp_outbox_if_needed()
        rows = await self._fetchall(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " AND attempt_started_at IS NULL AND (after_id IS NULL OR EXISTS"
            " (SELECT 1 FROM outbox p WHERE p.id = outbox.after_id AND p.status = 'sent'))"
            " ORDER BY id LIMIT ?",
            (iso(self.clock()), limit),
        )
        return [_entry(r) for r in rows]

    async def interrupted_sends(self) -> list[OutboxEntry]:
        """Messages that were being sent when the bot stopped (their outcome is unknown)."""
        rows = await self._fetchall(
            "SELECT * FROM outbox WHERE status = 'pending' AND attempt_started_at IS NOT NULL"
            " ORDER BY id"
        )
        return [_entry(r) for r in rows]

    async def start_attempt(
        self, entry_id: int, *, text: str | None = None, chat_enc: str | None = None
    ) -> bool:
        """Record, durably, that a send of this message is about to be made; False if it is
        no longer pending or already being sent (nothing to send then), or if it is no
        longer the row that was read:

        - ``text``: a notice was coalesced into it since it was read (the next run sends it
          whole);
        - ``chat_enc`` (the entry's, a fresh token for every row): a pending edit of a card
          copy is replaced by a newer one (:func:`storage.copies.refresh_in` deletes it and
          inserts the new one), and SQLite gives the new row the deleted one's id when it
          was the last. Without the check the stale text read before was sent in its place
          and the newer edit marked sent (#17: the office group's announcement kept showing
          an older state)."""
        sql = (
            "UPDATE outbox SET attempt_started_at = ? WHERE id = ? AND status = 'pending'"
            " AND attempt_started_at IS NULL AND (? IS NULL OR json_extract(body, '$.text') = ?)"
        )
        params: tuple[object, ...] = (iso(self.clock()), entry_id, text, text)
        if chat_enc is not None:
            sql += " AND chat_enc = ?"
            params += (chat_enc,)
        changed = await self._write(sql, params, counted=True)
        return changed == 1

    async def record_outcome(
        self, entry: OutboxEntry, decision: Decision, *, if_failed: Sequence[Outgoing] = ()
    ) -> bool:
        """Apply a decision of :func:`bot.transport.outcomes.decide` to the message (and end its
        attempt). ``if_failed`` (the office's warning) is queued in the same transaction
        when, and only when, this marks the message failed; returns whether it did."""
        if isinstance(decision, Delivered):
            await self.mark_sent(
                entry, decision.message_id, decision.message_key, copy=decision.copy
            )
            return False
        if isinstance(decision, RetryLater):
            await self.mark_retry(
                entry.id, decision.error, decision.at, uncertain=decision.uncertain
            )
            return False
        if entry.copy_id is not None:
            # An edit Telegram refuses for good (the message was deleted, or can no longer
            # be edited): the copy is forgotten, nobody is warned (it is no notice).
            await self.forget_copy(entry, decision.error)
            return False
        return await self.mark_failed(entry.id, decision, notices=if_failed)

    async def mark_sent(
        self,
        entry: OutboxEntry,
        message_id: int | None,
        message_key: str | None = None,
        *,
        copy: CopyPlacement | None = None,
    ) -> None:
        """Record the delivery: the message's plain id (groups, channels) or keyed hash
        (private chats; see :func:`bot.anonymity.message_reference`). A channel post's
        message id is also kept on its item (its publication is settled by the caller:
        :func:`bot.core.handling.post_delivered`); a card is recorded as a copy of its
        item's card (``copy``: where it is, :func:`bot.anonymity.copy_placement`)."""
        now = self.clock()
        async with self.transaction() as db:
            if copy is not None and entry.card is not None and entry.submission_id is not None:
                await add_copy(db, entry.submission_id, entry.card, copy)
            await db.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, message_key = ?,"
                " attempts = attempts + 1, attempt_started_at = NULL WHERE id = ?",
                (iso(now), message_id, message_key, entry.id),
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

    async def mark_retry(
        self, entry_id: int, error: str, next_attempt: datetime, *, uncertain: bool = False
    ) -> None:
        await self._write(
            "UPDATE outbox SET attempts = attempts + 1, uncertain = uncertain + ?,"
            " last_error = ?, next_attempt_at = ?, attempt_started_at = NULL WHERE id = ?",
            (int(uncertain), error[:500], iso(next_attempt), entry_id),
        )

    async def mark_failed(
        self,
        entry_id: int,
        failure: FailedForGood,
        *,
        notices: Sequence[Outgoing] = (),
    ) -> bool:
        """Mark a pending message failed for good and queue ``notices`` with it (about no
        item: a failure of those is never reported in turn); False, and nothing queued, if
        it was no longer pending, so the office is told once. The messages held for it are
        deleted unsent (a failed channel post's item is taken back out of publishing by
        the caller: :func:`bot.core.handling.post_failed`)."""
        now = self.clock()
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1,"
                " uncertain = uncertain + ?, last_error = ?, attempt_started_at = NULL"
                " WHERE id = ? AND status = 'pending'",
                (int(failure.uncertain), failure.error[:500], entry_id),
            )
            if cur.rowcount != 1:
                return False
            await db.execute(
                "DELETE FROM outbox WHERE after_id = ? AND status = 'pending'", (entry_id,)
            )
            await enqueue(db, notices, submission_id=None, now=now)
        return True

    async def forget_copy(self, entry: OutboxEntry, error: str) -> None:
        """An edit of a copy that Telegram refuses for good: the outbox row is done (with
        the reason) and the copy forgotten."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = ?, attempt_started_at = NULL WHERE id = ?",
                (iso(self.clock()), f"copy forgotten: {error}"[:500], entry.id),
            )
            await db.execute("DELETE FROM card_copies WHERE id = ?", (entry.copy_id,))

    async def failed_messages(self, *, limit: int = 20) -> list[OutboxEntry]:
        rows = await self._fetchall(
            "SELECT * FROM outbox WHERE status = 'failed' ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_entry(r) for r in rows]

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: r["n"] for r in rows}
