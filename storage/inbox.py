"""Queries of the durable inbox (mixed into :class:`storage.repository.Repository`).

Rows hold the encrypted update until it has been handled, then only the update id (so a
second delivery of the same update is recognised) until :meth:`InboxQueries.purge_inbox`.
Updates that cannot be read are kept apart, encrypted, in ``dead_letters``.

Several workers on one database (#24): each row also holds a keyed digest of its sender
(``sender_key``) and, while a worker handles it, that worker's lease (``claimed_by``,
``lease_until`` in milliseconds since the epoch). :meth:`InboxQueries.claim_updates` takes
the oldest unhandled updates whose sender has no earlier unhandled update and none held by
a worker, so each sender's updates are handled one at a time and in their order; on
PostgreSQL with ``FOR UPDATE SKIP LOCKED`` (workers claiming at once skip each other's rows
instead of waiting), on SQLite under the single writer's lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.records import Outgoing
from storage.base import RepositoryBase
from storage.outbox import enqueue
from storage.rows import iso


@dataclass(frozen=True)
class DeadLetter:
    """An update that could not be read: its id if it had one, the raw JSON encrypted, the
    type of the error, and what to tell its sender (an apology), if anyone."""

    update_id: int | None
    body_enc: str
    error: str
    notices: Sequence[Outgoing] = ()


@dataclass(frozen=True)
class StoredDeadLetter:
    id: int
    update_id: int | None
    received_at: str
    body_enc: str
    error: str


# The claimable updates: see claim_updates.
CLAIM = (
    "SELECT i.update_id, i.body, i.claimed_by FROM inbox AS i"
    " WHERE i.body IS NOT NULL AND (i.claimed_by IS NULL OR i.lease_until < ?)"
    " AND NOT EXISTS (SELECT 1 FROM inbox AS e"
    " WHERE e.body IS NOT NULL AND e.sender_key = i.sender_key"
    " AND e.update_id <> i.update_id"
    " AND (e.update_id < i.update_id OR e.lease_until >= ?))"
    " ORDER BY i.update_id LIMIT ?"
)
# PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
CLAIM_LOCKED = CLAIM + " FOR UPDATE OF i SKIP LOCKED"


@dataclass(frozen=True)
class Claim:
    """Who holds what is admitted: the worker's name and the end of its lease (milliseconds
    since the epoch); ``None`` as a worker leaves the updates for :meth:`claim_updates`."""

    worker: str | None
    lease_until: int


# (OR IGNORE: another worker may store the same delivery at the same time)
ADMIT = (
    "INSERT OR IGNORE INTO inbox"
    " (update_id, body, received_at, sender_key, claimed_by, lease_until)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


class InboxQueries(RepositoryBase):
    async def admit_updates(
        self,
        updates: Sequence[tuple[int, str]],
        dead: Sequence[DeadLetter] = (),
        *,
        senders: Mapping[int, str | None] | None = None,
        claim: Claim | None = None,
    ) -> set[int]:
        """Store ``(update_id, encrypted body)`` pairs and the batch's unreadable updates
        (with the apologies to their senders) in one transaction; returns the ids seen for
        the first time (the others were delivered before and are not stored again).
        ``senders``: each update's sender key; ``claim``: the lease the new rows start
        with (a single worker holds what it admits)."""
        if not updates and not dead:
            return set()
        ids = [update_id for update_id, _ in updates]
        now = self.clock()
        fresh: list[tuple[int, str, str, str | None, str | None, int | None]] = []
        worker, lease = (claim.worker, claim.lease_until) if claim else (None, None)
        if worker is None:
            lease = None
        keys = senders or {}
        async with self.transaction() as db:
            if len(set(ids)) == 1:  # a webhook's POST: whether it is new is the insert's count
                update_id, body = updates[0]
                row = (update_id, body, iso(now), keys.get(update_id), worker, lease)
                cur = await db.execute(ADMIT, row)
                fresh = [row] if cur.rowcount == 1 else []
            elif ids:
                rows = await db.execute_fetchall(
                    "SELECT update_id FROM inbox WHERE update_id BETWEEN ? AND ?",
                    (min(ids), max(ids)),
                )
                known = {row[0] for row in rows}
                fresh = [
                    (i, body, iso(now), keys.get(i), worker, lease)
                    for i, body in dict(updates).items()
                    if i not in known
                ]
                await db.executemany(ADMIT, fresh)
            for letter in dead:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO dead_letters (update_id, received_at, body, error)"
                    " VALUES (?, ?, ?, ?)",
                    (letter.update_id, iso(now), letter.body_enc, letter.error),
                )
                if cur.rowcount == 1:  # not a repeat: apologise once
                    await enqueue(db, letter.notices, submission_id=None, now=now)
        return {row[0] for row in fresh}

    async def claim_updates(
        self, worker: str, *, now_ms: int, lease_until: int, limit: int = 64
    ) -> list[tuple[int, str, str | None]]:
        """Claim for ``worker`` up to ``limit`` unhandled updates nobody holds (or whose
        holder's lease ended before ``now_ms``) whose sender has no earlier unhandled update
        and no other held one; returns them as ``(update_id, encrypted body, the worker
        whose lease ran out or None)`` in update order. Updates without a sender key are
        not ordered."""
        # An idle worker looks without a transaction first: no write (and no commit) a
        # look while there is nothing to claim.
        if not await self._fetchall(CLAIM, (now_ms, now_ms, 1)):
            return []
        async with self.transaction() as db:
            rows = await db.execute_fetchall(
                CLAIM_LOCKED if self.postgresql else CLAIM, (now_ms, now_ms, limit)
            )
            claimed = [(int(row[0]), str(row[1]), row[2]) for row in rows]
            await db.executemany(
                "UPDATE inbox SET claimed_by = ?, lease_until = ? WHERE update_id = ?",
                [(worker, lease_until, update_id) for update_id, _, _ in claimed],
            )
        return claimed

    async def take_over_updates(self, worker: str, *, lease_until: int) -> int:
        """Claim every unhandled update for ``worker`` whoever held it (the only worker: at
        its start, what an earlier run left is its own)."""
        return await self._write(
            "UPDATE inbox SET claimed_by = ?, lease_until = ? WHERE body IS NOT NULL",
            (worker, lease_until),
            counted=True,
        )

    async def renew_claims(self, worker: str, *, lease_until: int) -> int:
        """Extend the lease of every update ``worker`` holds and has not finished."""
        return await self._write(
            "UPDATE inbox SET lease_until = ? WHERE claimed_by = ? AND body IS NOT NULL",
            (lease_until, worker),
            counted=True,
        )

    async def release_claims(self, worker: str) -> int:
        """At a clean stop: what ``worker`` holds and did not finish is claimable at once."""
        return await self._write(
            "UPDATE inbox SET claimed_by = NULL, lease_until = NULL"
            " WHERE claimed_by = ? AND body IS NOT NULL",
            (worker,),
            counted=True,
        )

    async def register_webhook(self, url: str, secret_digest: str, worker: str) -> bool:
        """Record that ``worker`` sets the webhook to ``url`` with the secret whose digest is
        ``secret_digest``; False if that registration is recorded already (another worker
        made it, or is making it: the conditional write lets one of them through)."""
        return bool(
            await self._write(
                "INSERT INTO webhook_registration"
                " (id, url, secret_digest, registered_by, registered_at)"
                " VALUES (1, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET url = excluded.url,"
                " secret_digest = excluded.secret_digest,"
                " registered_by = excluded.registered_by,"
                " registered_at = excluded.registered_at"
                " WHERE webhook_registration.url <> excluded.url"
                " OR webhook_registration.secret_digest <> excluded.secret_digest",
                (url, secret_digest, worker, iso(self.clock())),
                counted=True,
            )
        )

    async def forget_webhook(self, worker: str | None = None) -> None:
        """Forget the recorded registration (its setWebhook failed: only the one ``worker``
        made; or long polling deleted the webhook: any)."""
        if worker is None:
            await self._write("DELETE FROM webhook_registration", ())
        else:
            await self._write("DELETE FROM webhook_registration WHERE registered_by = ?", (worker,))

    async def bury_update(self, update_id: int, letter: DeadLetter) -> None:
        """An update in the inbox that cannot be read any more (at a replay): moved to
        the dead letters and marked handled, in one transaction."""
        now = self.clock()
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO dead_letters (update_id, received_at, body, error)"
                " VALUES (?, ?, ?, ?)",
                (letter.update_id, iso(now), letter.body_enc, letter.error),
            )
            await db.execute(
                "UPDATE inbox SET body = NULL, handled_at = ? WHERE update_id = ?",
                (iso(now), update_id),
            )
        self.note_sensitive_deletion()  # the body's old page: out of the WAL too (#13)

    async def dead_letters(self, *, limit: int = 100) -> list[StoredDeadLetter]:
        """The unreadable updates kept for the operator, newest first."""
        rows = await self._fetchall("SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,))
        return [
            StoredDeadLetter(r["id"], r["update_id"], r["received_at"], r["body"], r["error"])
            for r in rows
        ]

    async def pending_updates(self) -> list[tuple[int, str]]:
        """Updates received but not yet handled, in the order Telegram numbered them."""
        rows = await self._fetchall(
            "SELECT update_id, body FROM inbox WHERE body IS NOT NULL ORDER BY update_id"
        )
        return [(row["update_id"], row["body"]) for row in rows]

    async def write_handled(self) -> None:
        """Write the handled marks noted so far (each transaction also does)."""
        if self.handled_pending:
            async with self.transaction():
                pass

    async def purge_inbox(self, before: datetime) -> int:
        """Forget handled updates older than ``before`` (Telegram keeps an update for 24
        hours at most, so older ids can never be delivered again)."""
        async with self.transaction() as db:
            cur = await db.execute(
                "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?",
                (iso(before),),
            )
            return cur.rowcount

    async def purge_dead_letters(self, before: datetime) -> int:
        """Forget unreadable updates received before ``before``."""
        removed = await self._write(
            "DELETE FROM dead_letters WHERE received_at < ?", (iso(before),), counted=True
        )
        if removed:
            self.note_sensitive_deletion()  # their bodies: out of the WAL too (#13)
        return removed

    async def submission_from_update(self, update_id: int) -> int | None:
        """The reference of the submission that ``update_id`` stored, if any."""
        row = await self._fetchone(
            "SELECT id FROM submissions WHERE source_update_id = ?", (update_id,)
        )
        return None if row is None else int(row["id"])
