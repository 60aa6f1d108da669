"""Queries of the named leases (mixed into :class:`storage.repository.Repository`):
``leases(name, holder, expires_at)``, see :mod:`bot.leadership`.

A lease is taken or renewed by one conditional upsert: it is inserted if nobody holds it,
and updated only when it has expired or is already the caller's (or, with ``steal``, when
it is still held by that dead holder). Both databases serialise the upsert on the row, so
of two workers racing for an expired lease exactly one gets it (its rowcount is 1).
Times are seconds since the epoch, read from the workers' clocks (kept by NTP).
"""

from __future__ import annotations

from storage.base import RepositoryBase

WORKER_PREFIX = "worker:"


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
