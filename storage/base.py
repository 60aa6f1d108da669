"""The connection under the repository: opening, migrations, transactions, item reads.

SQLite by default; a ``postgresql://`` URL opens PostgreSQL instead (``storage/pg.py``,
whose connection answers as aiosqlite's, and ``storage/dialect.py``): the same group
commit, ``BEGIN IMMEDIATE`` being ``BEGIN`` with an advisory lock that lets one write
transaction run at a time across all the workers sharing the database (a deadlock between
two workers' batches otherwise, see ``storage/dialect.py``). SQLite's file maintenance
(``secure_delete``, the WAL scrub, the backup API) has no PostgreSQL counterpart here: see
the README's "Storage backends" for what an operator does instead.

One aiosqlite connection; one write transaction at a time (``BEGIN IMMEDIATE`` under an
asyncio lock). WAL mode, ``synchronous=FULL`` and ``secure_delete`` on every connection:
what is deleted is overwritten in the database file, and :meth:`RepositoryBase.scrub_wal`
(a job, after each such deletion) checkpoints and truncates the write-ahead log, which
would otherwise keep the old pages.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any, cast

import aiosqlite

from bot.anonymity import Secrets
from bot.core.records import Attachment, Event, HistoryEntry, Submission, SubmissionSummary
from bot.core.workflow import Status
from bot.diskfull import DiskFull
from storage.conversion import conversion_steps
from storage.migrations import apply_migrations, apply_postgresql_migrations
from storage.pg import PgConnection, is_postgresql, redacted
from storage.rows import (
    SUMMARY_COLUMNS,
    attachment_record,
    iso,
    parse_dt,
    submission_record,
    summary_record,
    utc_now,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_SQLITE_INT = 2**63 - 1


def _aborted(db: aiosqlite.Connection) -> bool:
    """PostgreSQL's open transaction refuses every statement after one failed (SQLite's
    connection never is in that state: it undoes the failed statement alone)."""
    return bool(getattr(db, "aborted", False))


class NotFound(LookupError):
    """No row with that key."""


@dataclass
class _Statement:
    """One statement of :meth:`RepositoryBase._write`, waiting for its turn; ``done``
    gets its rowcount and the batch whose COMMIT makes it durable."""

    sql: str
    params: tuple[Any, ...]
    counted: bool
    done: asyncio.Future[tuple[int, asyncio.Future[None]]]

    def succeed(self, count: int, batch: asyncio.Future[None]) -> None:
        if not self.done.done():
            self.done.set_result((count, batch))

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class RepositoryBase:
    """The connection and its transactions; the queries live in the classes built on it."""

    def __init__(
        self, path: Path | str, *, clock: Clock = utc_now, secrets: Secrets | None = None
    ) -> None:
        # A postgresql:// URL, or None for SQLite's file at ``path``.
        self.url: str | None = str(path) if is_postgresql(path) else None
        self.path = Path(":memory:") if self.url is not None else Path(path)
        self.clock = clock
        # Whether the storage is full (#15.8): every refused write is told to it first.
        self.disk = DiskFull(str(self.path))
        # The anonymity keys: pseudonyms and encryption of what residents leave (drafts,
        # ownership), and the conversion of databases written before migration 0012. A
        # repository without them can read and write items but refuses residents' data.
        self._secrets = secrets
        # Something sensitive was deleted since the write-ahead log was last truncated.
        self._scrub_due = False
        self._db: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        # Group commit: the open SQLite transaction's outcome, and whether a COMMIT is due.
        self._batch: asyncio.Future[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        # Ids of updates whose handlers finished, written just before the next COMMIT: so
        # when a later update's effects are durable, so is the mark of every update that
        # finished before it (after a crash only unfinished updates are replayed).
        self._handled_updates: set[int] = set()
        # Single statements waiting to join the open transaction (see _write).
        self._statements: list[_Statement] = []
        self._statements_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def connect(self) -> None:
        """Open the database (creating it and its schema if needed). Idempotent."""
        async with self._connect_lock:
            if self._db is not None:
                return
            if self.url is not None:
                await self._connect_postgresql(self.url)
                return
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(self.path, isolation_level=None)
            try:
                db.row_factory = aiosqlite.Row
                for pragma in (
                    "PRAGMA journal_mode=WAL",
                    "PRAGMA synchronous=FULL",
                    "PRAGMA secure_delete=ON",
                    "PRAGMA foreign_keys=ON",
                    "PRAGMA busy_timeout=10000",
                ):
                    await db.execute(pragma)
                applied = await apply_migrations(db, conversion_steps(self._secrets))
            except BaseException:
                # Its thread is not a daemon: left open, it would keep the process alive
                # after the failure (a damaged database hung the bot at start-up).
                await db.close()
                raise
            if applied:
                log.info("database %s: applied migrations %s", self.path, applied)
                # A conversion deleted old forms of residents' data: keep no copy in the log.
                await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db = db
            if str(self.path) != ":memory:":
                # Reads go to a second connection (its own thread): under WAL they see the
                # last commit and neither wait for the writer's lock nor hold it up.
                reader = await aiosqlite.connect(self.path, isolation_level=None)
                try:
                    reader.row_factory = aiosqlite.Row
                    for pragma in ("PRAGMA query_only=ON", "PRAGMA busy_timeout=10000"):
                        await reader.execute(pragma)
                except BaseException:
                    await reader.close()
                    raise
                self._reader = reader

    async def _connect_postgresql(self, url: str) -> None:
        db = await PgConnection.connect(url)
        try:
            applied = await apply_postgresql_migrations(db)
            reader = await PgConnection.connect(url, read_only=True)
        except BaseException:
            await db.close()
            raise
        if applied:
            log.info("database %s: applied migrations %s", redacted(url), applied)
        # (typed as aiosqlite's: PgConnection answers the same calls)
        self._db = cast(aiosqlite.Connection, db)
        self._reader = cast(aiosqlite.Connection, reader)

    @property
    def postgresql(self) -> bool:
        return self.url is not None

    async def close(self) -> None:
        if self._statements_task is not None:
            await asyncio.gather(self._statements_task, return_exceptions=True)
        if self._db is not None and self._handled_updates:
            try:
                async with self.transaction():
                    pass  # writes the last handled marks
            except Exception as exc:  # (a full disk): replayed after the restart instead
                if not self.disk.noticed(exc):
                    log.error("the last handled marks were not written: %s", exc)
        async with self._connect_lock:
            if self._reader is not None:
                await self._reader.close()
                self._reader = None
            if self._db is not None:
                async with self._lock:
                    await self._commit_batch()
                    await self._db.close()
                self._db = None

    async def backup(self, target: Path) -> list[str]:
        """A consistent copy of the database at ``target``, made while the bot runs: a
        separate read connection sees one snapshot (WAL) and SQLite's backup API copies it
        in one step, without blocking writers. Returns ``PRAGMA integrity_check`` of the
        copy."""
        return await asyncio.to_thread(_backup, self.path, target)

    @property
    def secrets(self) -> Secrets:
        if self._secrets is None:
            raise RuntimeError("this repository was opened without the anonymity keys")
        return self._secrets

    def note_sensitive_deletion(self) -> None:
        """Something that could identify a resident (or link their items) was deleted or
        overwritten: :meth:`scrub_wal` will truncate the write-ahead log."""
        self._scrub_due = True

    async def scrub_wal(self) -> bool:
        """If something sensitive was deleted since the last time, checkpoint the
        write-ahead log into the database (where ``secure_delete`` already overwrote the
        deleted rows) and truncate it, so no earlier page stays in it. Returns whether the
        log was truncated; it is not when a reader still uses old pages (tried again at the
        next call) or when there was nothing to do."""
        if not self._scrub_due or self._db is None:
            return False
        if self.url is not None:  # no file log to truncate: README, "Storage backends"
            self._scrub_due = False
            return False
        async with self._lock:
            await self._commit_batch()  # a checkpoint cannot run inside a transaction
            self._scrub_due = False
            # Do not wait for readers while holding the write lock: try again later.
            await self.db.execute("PRAGMA busy_timeout=0")
            try:
                rows = await self.db.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            except BaseException:
                self._scrub_due = True
                raise
            finally:
                await self.db.execute("PRAGMA busy_timeout=10000")
            busy = any(bool(row[0]) for row in rows)
            if busy:
                self._scrub_due = True
            return not busy

    @property
    def connected(self) -> bool:
        return self._db is not None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("repository is not connected")
        return self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One logical write transaction: its changes are durable when this returns, and
        rolled back (alone) if the block raises.

        Group commit: transactions that arrive while one is running join the same SQLite
        transaction, each inside its own SAVEPOINT, and one COMMIT (one fsync) makes them
        all durable; every caller resumes only after that COMMIT, so an acknowledgement
        sent afterwards always follows a committed write. A lone caller pays one COMMIT,
        exactly as without grouping."""
        db = self.db
        async with self._lock:
            batch = await self._begin(db)
            try:
                await db.execute("SAVEPOINT tx")
                try:
                    yield db
                except BaseException as exc:
                    if not db.in_transaction:  # SQLite undid the whole batch
                        self._lose_batch(exc)
                        raise
                    await db.execute("ROLLBACK TO tx")
                    await db.execute("RELEASE tx")
                    raise
                if not db.in_transaction:  # (an error the block caught undid the batch)
                    lost = sqlite3.OperationalError("the transaction was rolled back")
                    self._lose_batch(lost)
                    raise lost
                if _aborted(db):  # (PostgreSQL: an error the block caught broke it)
                    await db.execute("ROLLBACK TO tx")
                    await db.execute("RELEASE tx")
                    raise sqlite3.OperationalError("a statement of the transaction failed")
                await db.execute("RELEASE tx")
            finally:
                self._schedule_flush()
        await asyncio.shield(batch)

    def _lose_batch(self, exc: BaseException) -> None:
        """SQLite rolled back the open transaction by itself, which it may do after an
        error such as ``SQLITE_FULL``: every write of the batch is undone, so each caller
        waiting for its COMMIT gets ``exc``, and the next write begins a new batch."""
        batch, self._batch = self._batch, None
        if batch is not None and not batch.done():
            batch.set_exception(exc)
            batch.exception()  # (retrieved: the caller at fault raises it itself)

    async def _begin(self, db: aiosqlite.Connection) -> asyncio.Future[None]:
        """The open batch, beginning one if there is none (the lock is held)."""
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
            try:
                await db.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # The BEGIN was queued to the database thread before the cancellation
                # arrived, so it runs anyway: the batch stays, and the next COMMIT ends it.
                self._schedule_flush()
                raise
            except BaseException:
                self._batch = None
                raise
        return self._batch

    async def _write(self, sql: str, params: Iterable[Any] = (), *, counted: bool = False) -> int:
        """A transaction of one statement: the same group commit as :meth:`transaction`,
        durable when this returns. Returns the statement's rowcount when ``counted``
        (else -1).

        Statements queue up and one task runs all that are waiting in a single pass under
        the write lock; a run of waiting statements with the same SQL (many residents
        saving their drafts at once) goes to the database thread as one ``executemany``,
        so a burst costs a few trips to that thread instead of one per statement. Each
        statement still succeeds or fails alone (see :meth:`_run_same_sql`)."""
        statement = _Statement(
            sql, tuple(params), counted, asyncio.get_running_loop().create_future()
        )
        self._statements.append(statement)
        if self._statements_task is None or self._statements_task.done():
            self._statements_task = asyncio.get_running_loop().create_task(self._run_statements())
        count, batch = await asyncio.shield(statement.done)
        await asyncio.shield(batch)
        return count

    async def _run_statements(self) -> None:
        while self._statements:
            async with self._lock:
                statements, self._statements = self._statements, []
                try:
                    db = self.db
                    batch = await self._begin(db)
                except Exception as exc:  # locked, or closed: these fail, later statements
                    for statement in statements:  # try again
                        statement.fail(exc)
                    continue
                except BaseException as exc:
                    for statement in statements:
                        statement.fail(exc)
                    raise
                try:
                    for _, same_sql in groupby(statements, key=attrgetter("sql")):
                        await self._run_same_sql(db, list(same_sql), batch)
                except BaseException as exc:  # no caller may wait forever
                    for statement in statements:
                        statement.fail(exc)  # (those already done keep their outcome)
                    if not isinstance(exc, Exception):
                        raise
                    if not self.disk.noticed(exc):
                        log.error("statements failed: %s", exc)
                finally:
                    self._schedule_flush()

    async def _run_same_sql(
        self, db: aiosqlite.Connection, statements: list[_Statement], batch: asyncio.Future[None]
    ) -> None:
        """Statements with the same SQL: one ``executemany`` inside a SAVEPOINT when none
        needs its own rowcount; if that fails, the SAVEPOINT undoes it and each runs alone,
        so only the statement at fault fails."""
        if len(statements) > 1 and not any(s.counted for s in statements):
            await db.execute("SAVEPOINT many")
            try:
                cursor = await db.executemany(statements[0].sql, [s.params for s in statements])
                await cursor.close()
            except Exception as exc:  # sqlite3.Error, or e.g. an int too large to bind
                if not db.in_transaction:  # SQLite undid the whole batch: all fail
                    self._lose_batch(exc)
                    raise
                await db.execute("ROLLBACK TO many")
                await db.execute("RELEASE many")
            else:
                await db.execute("RELEASE many")
                for statement in statements:
                    statement.succeed(-1, batch)
                return
        for statement in statements:
            try:
                cursor = await db.execute(statement.sql, statement.params)
                count = cursor.rowcount
                await cursor.close()
            except Exception as exc:  # undone by SQLite (or never bound); the rest goes on
                statement.fail(exc)
                if not db.in_transaction:  # unless SQLite undid the whole batch: all fail
                    self._lose_batch(exc)
                    raise
                if _aborted(db):  # or PostgreSQL refuses the rest of it: all fail too
                    await db.execute("ROLLBACK")
                    self._lose_batch(exc)
                    raise
            else:
                statement.succeed(count if statement.counted else -1, batch)

    def note_handled(self, update_id: int) -> None:
        """Mark an update handled with the next transaction (see ``_handled_updates``)."""
        self._handled_updates.add(update_id)

    @property
    def handled_pending(self) -> bool:
        return bool(self._handled_updates)

    async def _write_handled(self, db: aiosqlite.Connection) -> None:
        ids, self._handled_updates = self._handled_updates, set()
        self._scrub_due = True  # the bodies (encrypted updates) of these are overwritten
        now = iso(self.clock())
        await db.executemany(
            "UPDATE inbox SET body = NULL, handled_at = ? WHERE update_id = ?",
            [(now, i) for i in sorted(ids)],
        )

    def _schedule_flush(self) -> None:
        # Queued behind the transactions already waiting for the lock, so they join first.
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        async with self._lock:
            await self._commit_batch()

    async def _commit_batch(self) -> None:
        """COMMIT the open batch (the lock is held) and wake its transactions."""
        batch, self._batch = self._batch, None
        if batch is None:
            return
        marks = set(self._handled_updates)
        try:
            if self._handled_updates:  # every update finished so far: see _handled_updates
                await self._write_handled(self.db)
            await self.db.execute("COMMIT")
        except BaseException as exc:
            self._handled_updates |= marks  # not written: they ride on the next commit
            if not self.disk.noticed(exc):
                log.error("commit failed: %s", exc)
            if self.db.in_transaction:
                await self.db.execute("ROLLBACK")
            if not batch.done():
                batch.set_exception(exc)
            return
        if not batch.done():
            batch.set_result(None)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialised read access (never sees another coroutine's open transaction)."""
        async with self._lock:
            yield self.db

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        # One trip to a database thread (execute, fetch and close together). Every write
        # returns only after its COMMIT, so the reader sees what the caller wrote.
        if self._reader is not None:
            return list(await self._reader.execute_fetchall(sql, tuple(params)))
        async with self.reading() as db:
            return list(await db.execute_fetchall(sql, tuple(params)))

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def get_submission(self, submission_id: int) -> Submission | None:
        return await read_submission(self._fetchall, submission_id)

    async def history(self, submission_id: int) -> list[HistoryEntry]:
        return await read_history(self._fetchall, submission_id)


# A way to run one query: the repository's reader, or a connection inside a transaction.
Fetch = Callable[[str, Iterable[Any]], Awaitable[Iterable[aiosqlite.Row]]]


def on(db: aiosqlite.Connection) -> Fetch:
    """Queries on ``db`` (inside a transaction, to read what it sees)."""

    async def fetch(sql: str, params: Iterable[Any] = ()) -> Iterable[aiosqlite.Row]:
        return await db.execute_fetchall(sql, tuple(params))

    return fetch


async def read_submission(fetch: Fetch, submission_id: int) -> Submission | None:
    if not 0 < submission_id <= MAX_SQLITE_INT:
        return None
    rows = list(await fetch("SELECT * FROM submissions WHERE id = ?", (submission_id,)))
    if not rows:
        return None
    attachments = await fetch(
        "SELECT * FROM attachments WHERE submission_id = ? ORDER BY position", (submission_id,)
    )
    return submission_record(rows[0], [attachment_record(a) for a in attachments])


async def read_history(fetch: Fetch, submission_id: int) -> list[HistoryEntry]:
    rows = await fetch(
        "SELECT at, actor, from_status, to_status, note, step FROM history"
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
            step=r["step"],
        )
        for r in rows
    ]


async def read_events(fetch: Fetch, submission_id: int) -> list[Event]:
    rows = await fetch(
        "SELECT at, actor, kind, body FROM events WHERE submission_id = ? ORDER BY id",
        (submission_id,),
    )
    return [
        Event(at=parse_dt(r["at"]), actor=r["actor"], kind=r["kind"], body=r["body"]) for r in rows
    ]


def _backup(source: Path, target: Path) -> list[str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)  # pages=-1: the whole snapshot in one step
        dst.execute("PRAGMA journal_mode=DELETE")
        check = [str(row[0]) for row in dst.execute("PRAGMA integrity_check")]
    partial.replace(target)
    return check


async def add_attachments(
    db: aiosqlite.Connection, submission_id: int, attachments: Iterable[Attachment]
) -> None:
    """Inside a transaction: add files or locations to an item, after those it has."""
    async with db.execute(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM attachments WHERE submission_id = ?",
        (submission_id,),
    ) as cur:
        row = await cur.fetchone()
    first = int(row[0]) if row else 0
    await db.executemany(
        "INSERT INTO attachments (submission_id, position, type, file_id, file_unique_id,"
        " file_name, mime_type, latitude, longitude, file_size)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                submission_id,
                first + pos,
                a.type,
                a.file_id,
                a.file_unique_id,
                a.file_name,
                a.mime_type,
                a.latitude,
                a.longitude,
                a.file_size,
            )
            for pos, a in enumerate(attachments)
        ],
    )


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def read_similar(
    fetch: Fetch, item: Submission, *, limit: int = 3
) -> list[SubmissionSummary]:
    """Earlier items of the same topic that share a keyword that tagged this one (the
    card's "similar items" lines, :mod:`storage.copies` renders them again)."""
    keywords = [k for e in item.evidence[:1] for k in e.keywords][:5]
    if not keywords:
        return []
    likes = " OR ".join("text LIKE ? ESCAPE '\\'" for _ in keywords)
    rows = await fetch(
        f"SELECT {SUMMARY_COLUMNS} FROM submissions WHERE id < ? AND topic_id = ?"  # noqa: S608
        f" AND ({likes}) ORDER BY id DESC LIMIT ?",
        (item.id, item.topic_id, *(like_pattern(k) for k in keywords), limit),
    )
    return [summary_record(r) for r in rows]
