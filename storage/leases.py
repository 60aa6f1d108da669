"""Queries of the named leases (mixed into :class:`storage.repository.Repository`):
``leases(name, holder, expires_at)``, see :mod:`bot.leadership`.

A lease is taken or renewed by one conditional upsert: it is inserted if nobody holds it,
and updated only when it has expired or is already the caller's (or, with ``steal``, when
it is still held by that dead holder). Both databases serialise the upsert on the row, so
of two workers racing for an expired lease exactly one gets it (its rowcount is 1).
Times are seconds since the epoch, read from the workers' clocks (kept by NTP).

Beside the leases, PostgreSQL's session advisory locks (:meth:`LeaseQueries.try_lock`) for
what must be one worker's at a time but is held only while the worker lives: the server
drops them with its connection, so a dead worker's lock needs no expiry.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.base import RepositoryBase

WORKER_PREFIX = "worker:"
# PostgreSQL's session advisory locks of the workers (the two-key form: this class, then the
# lock's own number; "jdl" in ASCII, beside the one writer's lock of storage.dialect).
LOCK_CLASS = 0x6A646C
LOCKS = {
    "export": 1,  # one ledger export at a time (bot.services.SharedLock)
    "disk-full": 2,  # the worker that tells the office about a full disk (bot.diskfull)
}


class LeaseQueries(RepositoryBase):
    async def take_lease(
        self, name: str, holder: str, *, now: float, seconds: float, steal: str | None = None
    ) -> bool:
        """Take or renew ``name`` for ``holder`` until ``now + seconds``; False if another
        holder's lease has not expired (and is not ``steal``, a holder known to be dead)."""
        changed = await self._write(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at"
            " WHERE leases.expires_at < ? OR leases.holder = ? OR leases.holder = ?",
            (name, holder, now + seconds, now, holder, steal or holder),
            counted=True,
        )
        return changed == 1

    async def lease_holder(self, name: str) -> tuple[str, float] | None:
        """Who holds ``name`` and until when (expired or not), if anyone ever did."""
        row = await self._fetchone("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        return None if row is None else (str(row[0]), float(row[1]))

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give ``name`` up (a clean stop): the next worker need not wait for it to expire."""
        changed = await self._write(
            "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder), counted=True
        )
        return changed == 1

    async def live_workers(self, *, now: float) -> int:
        """How many workers' heartbeats (``worker:<id>`` leases) have not expired."""
        row = await self._fetchone(
            "SELECT COUNT(*) FROM leases WHERE name LIKE ? AND expires_at >= ?",
            (WORKER_PREFIX + "%", now),
        )
        return int(row[0]) if row is not None else 0

    async def forget_dead_workers(self, *, before: float) -> int:
        """Delete heartbeats that expired before ``before`` (workers long gone)."""
        return await self._write(
            "DELETE FROM leases WHERE name LIKE ? AND expires_at < ?",
            (WORKER_PREFIX + "%", before),
            counted=True,
        )

    async def notify_leader(self, payload: str = "") -> None:
        """PostgreSQL: wake the leader (``LISTEN jindianzi_outbox``) after a worker that
        does not lead queued messages (or, ``"learn"``, stored labels). Nothing on SQLite
        (the leader's next periodic run sends them)."""
        if self.postgresql:
            await self._write("SELECT pg_notify('jindianzi_outbox', ?)", (payload,))

    async def try_lock(self, name: str) -> bool:
        """PostgreSQL: take the advisory lock ``name`` (:data:`LOCKS`) for this worker's
        session if no other worker holds it; True if this worker holds it now (taking it
        again counts once more: :meth:`unlock` as often). The server releases it when the
        worker's connection ends, a dead worker's included: nothing to wait out, and no
        write (it works on a full disk). SQLite: one process per database, always True."""
        if not self.postgresql:
            return True
        row = await self._fetchone("SELECT pg_try_advisory_lock(?, ?)", (LOCK_CLASS, LOCKS[name]))
        return row is not None and bool(row[0])

    async def unlock(self, name: str) -> None:
        """Release the advisory lock ``name`` taken by :meth:`try_lock` (PostgreSQL)."""
        if self.postgresql:
            await self._fetchone("SELECT pg_advisory_unlock(?, ?)", (LOCK_CLASS, LOCKS[name]))

    async def claims_held(self, worker: str, update_ids: Iterable[int]) -> set[int]:
        """Of ``update_ids``, the inbox's unhandled updates that ``worker`` still holds
        (after a full disk its leases may have run out and another worker claimed them)."""
        rows = await self._fetchall(
            "SELECT update_id FROM inbox WHERE claimed_by = ? AND body IS NOT NULL", (worker,)
        )
        return {int(row[0]) for row in rows} & set(update_ids)
