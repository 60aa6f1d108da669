"""The connection under the repository: opening, migrations, transactions, item reads.

One aiosqlite connection; one write transaction at a time (``BEGIN IMMEDIATE`` under an
asyncio lock). WAL mode, ``synchronous=FULL`` and ``secure_delete`` on every connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.records import HistoryEntry, Submission
from bot.workflow import Status
from storage.migrations import apply_migrations
from storage.rows import attachment_record, parse_dt, submission_record, utc_now

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_SQLITE_INT = 2**63 - 1


class NotFound(LookupError):
    """No row with that key."""


class RepositoryBase:
    """The connection and its transactions; the queries live in the classes built on it."""

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

    async def get_submission(self, submission_id: int) -> Submission | None:
        if not 0 < submission_id <= MAX_SQLITE_INT:
            return None
        row = await self._fetchone("SELECT * FROM submissions WHERE id = ?", (submission_id,))
        if row is None:
            return None
        attachments = await self._fetchall(
            "SELECT * FROM attachments WHERE submission_id = ? ORDER BY position", (submission_id,)
        )
        return submission_record(row, [attachment_record(a) for a in attachments])

    async def history(self, submission_id: int) -> list[HistoryEntry]:
        rows = await self._fetchall(
            "SELECT at, actor, from_status, to_status, note FROM history"
            " WHERE submission_id = ? ORDER BY id",
            (submission_id,),
        )
        return [
            HistoryEntry(
                at=parse_dt(r["at"]),
                actor=r["actor"],
                from_status=Status(r["from_status"]) if r["from_status"] else None,
                to_status=Status(r["to_status"]),
                note=r["note"],
            )
            for r in rows
        ]
