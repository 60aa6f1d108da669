"""Card copies: every card the bot sent, with its chat and message, so that an item's change
edits each of them (:mod:`bot.core.copies` decides what they show).

A copy is added when its message is known: on delivery for a card sent through the outbox
(:meth:`storage.outbox.OutboxQueries.mark_sent`), at once for one sent directly (/show,
/review). :meth:`CopyQueries.refresh_copies` queues the edits of all copies of an item in
one transaction that reads the item as that transaction sees it, so two changes in quick
succession never leave the older rendering last; an edit not yet sent is replaced by the
newer one. A copy whose edit Telegram refuses for good is forgotten. At most
:data:`MAX_COPIES_PER_PLACE` copies of one item are kept per chat (the newest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import aiosqlite

from bot.core.records import (
    CardCopy,
    CardSpec,
    CopyPlacement,
    Event,
    HistoryEntry,
    Outgoing,
    Submission,
    SubmissionSummary,
)
from storage.base import (
    RepositoryBase,
    on,
    read_events,
    read_history,
    read_similar,
    read_submission,
)
from storage.rows import iso

MAX_COPIES_PER_PLACE = 3

# What a refresh renders: the item as the transaction sees it, its record, its similar
# items, and its copies; the edits to queue (each an Outgoing with the copy's id).
Renderer = Callable[
    [
        Submission,
        Sequence[HistoryEntry],
        Sequence[Event],
        Sequence[SubmissionSummary],
        Sequence[CardCopy],
    ],
    list[Outgoing],
]


async def add_copy(
    db: aiosqlite.Connection, submission_id: int, card: CardSpec, where: CopyPlacement
) -> int:
    """Inside a transaction: record a copy (and forget the oldest beyond the bound)."""
    cur = await db.execute(
        "INSERT INTO card_copies (submission_id, kind, language, place, chat_enc, message_id,"
        " message_enc) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            submission_id,
            card.kind,
            card.language,
            where.place,
            where.chat_enc,
            where.message_id,
            where.message_enc,
        ),
    )
    await db.execute(
        "DELETE FROM card_copies WHERE submission_id = ? AND place = ? AND id NOT IN"
        " (SELECT id FROM card_copies WHERE submission_id = ? AND place = ?"
        " ORDER BY id DESC LIMIT ?)",
        (submission_id, where.place, submission_id, where.place, MAX_COPIES_PER_PLACE),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _copy(row: aiosqlite.Row) -> CardCopy:
    return CardCopy(
        id=row["id"],
        submission_id=row["submission_id"],
        kind=row["kind"],
        language=row["language"],
        place=row["place"],
        chat_enc=row["chat_enc"],
        message_id=row["message_id"],
        message_enc=row["message_enc"],
    )


class CopyQueries(RepositoryBase):
    """(Mixed into :class:`storage.repository.Repository`.)"""

    async def add_card_copy(self, submission_id: int, card: CardSpec, where: CopyPlacement) -> int:
        """Record a card sent directly (not through the outbox)."""
        async with self.transaction() as db:
            return await add_copy(db, submission_id, card, where)

    async def card_copies(self, submission_id: int, *, place: str | None = None) -> list[CardCopy]:
        """The recorded copies of an item's card (in one place), oldest first."""
        sql = "SELECT * FROM card_copies WHERE submission_id = ?"
        params: tuple[object, ...] = (submission_id,)
        if place is not None:
            sql += " AND place = ?"
            params += (place,)
        return [_copy(r) for r in await self._fetchall(sql + " ORDER BY id", params)]

    async def card_copy(self, copy_id: int) -> CardCopy | None:
        row = await self._fetchone("SELECT * FROM card_copies WHERE id = ?", (copy_id,))
        return None if row is None else _copy(row)

    async def refresh_copies(self, submission_id: int, render: Renderer) -> int:
        """Queue the edits ``render`` makes of every copy of the item (in a transaction of
        their own); returns how many were queued."""
        async with self.transaction() as db:
            return await refresh_in(db, submission_id, render, self.clock())


async def refresh_in(
    db: aiosqlite.Connection,
    submission_id: int,
    render: Renderer | None,
    now: datetime,
    *,
    hold: float = 0.0,
) -> int:
    """Inside the transaction of a change: queue the edits ``render`` makes of every copy of
    the item as this transaction sees it, replacing edits of the same copies not yet under
    way (so a replay, whose transaction is rolled back, queues none); returns how many.

    ``hold`` (seconds): the edits wait that long, and one that replaces a waiting edit
    keeps its time, so a burst of changes (a run of 附议) is one edit per copy at most
    every ``hold`` seconds, showing the last of them."""
    if render is None:
        return 0
    copies = [
        _copy(r)
        for r in await db.execute_fetchall(
            "SELECT * FROM card_copies WHERE submission_id = ? ORDER BY id", (submission_id,)
        )
    ]
    fetch = on(db)
    item = await read_submission(fetch, submission_id) if copies else None
    if item is None:
        return 0
    edits = render(
        item,
        await read_history(fetch, submission_id),
        await read_events(fetch, submission_id),
        await read_similar(fetch, item),
        copies,
    )
    due: dict[int | None, str] = {}
    if hold > 0:
        for e in edits:
            rows = await db.execute_fetchall(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE copy_id = ?"
                " AND status = 'pending' AND attempt_started_at IS NULL",
                (e.copy_id,),
            )
            waiting = next(iter(rows))[0]
            due[e.copy_id] = waiting or iso(now + timedelta(seconds=hold))
    await db.executemany(
        "DELETE FROM outbox WHERE copy_id = ? AND status = 'pending'"
        " AND attempt_started_at IS NULL",
        [(e.copy_id,) for e in edits],
    )
    from storage.outbox import enqueue  # (storage.outbox imports this module)

    await enqueue(db, edits, submission_id=submission_id, now=now)
    if due:
        await db.executemany(
            "UPDATE outbox SET next_attempt_at = ? WHERE copy_id = ? AND status = 'pending'"
            " AND attempt_started_at IS NULL",
            [(when, copy_id) for copy_id, when in due.items()],
        )
    return len(edits)
