"""PostgreSQL under the repository: a psycopg 3 connection that answers as aiosqlite's does.

The repository's code talks to one connection object: ``execute`` (awaitable, or an async
context manager giving the cursor), ``executemany``, ``execute_fetchall``,
``in_transaction`` and ``close``; rows are read by index and by column name. :class:`PgConnection`
gives the same on psycopg's ``AsyncConnection`` in autocommit mode, so the repository's own
``BEGIN``/``SAVEPOINT``/``COMMIT`` (the group commit of ``storage/base.py``) run as written.
Each statement passes through :func:`storage.dialect.to_postgresql` first.

Parameters are bound on the client (psycopg's ``ClientCursor``): a value is typed by where
it stands in the statement, as SQLite does, so ``? IS NULL`` and a string compared with a
text column need no casts. Python booleans are bound as 0/1 (SQLite's integers), and
``numeric`` results (``SUM``, ``AVG`` of integers) come back as int or float, never Decimal.

A connection lost (the server restarted, a network cut) is opened again by the next
statement, with a backoff between attempts (:data:`RECONNECT_FIRST`, doubling up to
:data:`RECONNECT_MAX` seconds). The statement that met the loss, and those tried while
the server is still away, fail with psycopg's ``OperationalError``, an ordinary storage
error: the transaction is rolled back by the server, the update that caused it stays in the
inbox and is handled again, and nothing already acknowledged was in it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import AsyncClientCursor
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from psycopg.rows import RowMaker

from storage.dialect import to_postgresql

PASSWORD_VARIABLES = ("JINDIANZI_DB_PASSWORD", "PGPASSWORD")
RECONNECT_FIRST = 0.2
RECONNECT_MAX = 5.0

log = logging.getLogger(__name__)


def is_transient(exc: BaseException | None) -> bool:
    """Whether a storage error says the database was away for a moment, not that the
    statement was wrong: the connection lost (a restart: no SQLSTATE, class 08, or 57P
    "operator intervention"), or the transaction aborted by the server to be run again
    (class 40: a deadlock, a serialization failure). The same work may succeed when tried
    again once the connection is back. Looks through the chain of causes."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, psycopg.OperationalError):
            state = seen.sqlstate
            if state is None or state.startswith(("08", "57P", "40")):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_postgresql(target: object) -> bool:
    """Whether a storage target (a path, or a URL) names a PostgreSQL database."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without a password (for logs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def conninfo(url: str) -> dict[str, Any]:
    """psycopg's connection arguments for ``url``; the password comes from the environment
    (``JINDIANZI_DB_PASSWORD``, or libpq's own ``PGPASSWORD``), never from the file."""
    parts = urlsplit(url)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    args: dict[str, Any] = {"dbname": unquote(parts.path.lstrip("/")) or None}
    if parts.username:
        args["user"] = unquote(parts.username)
    if parts.hostname:
        args["host"] = unquote(parts.hostname)
    if "host" in query:  # ?host=/run/postgresql: a unix socket directory
        args["host"] = unquote(query.pop("host"))
    if parts.port:
        args["port"] = parts.port
    args.update({k: unquote(v) for k, v in query.items()})
    password = os.environ.get("JINDIANZI_DB_PASSWORD")
    if password:
        args["password"] = password
    return {k: v for k, v in args.items() if v is not None}


class Row(Sequence[Any]):
    """One result row: ``row[0]`` and ``row["name"]``, ``keys()``, as ``aiosqlite.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: tuple[Any, ...]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._names.index(key)]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):  # (as sqlite3's plain rows, which are tuples)
            return self._values == other
        if not isinstance(other, Row):
            return NotImplemented
        return self._names == other._names and self._values == other._values

    def __hash__(self) -> int:
        return hash((self._names, self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


def row_factory(cursor: Any) -> RowMaker[Row]:
    names = tuple(c.name for c in cursor.description or ())

    def make(values: Sequence[Any]) -> Row:
        return Row(names, tuple(values))

    return make


class _NumericLoader(Loader):
    """``numeric`` as SQLite gives it: an integer when whole, else a float."""

    def load(self, data: Any) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


# What a constraint or a trigger refuses, on either backend (SQLite's, PostgreSQL's).
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
_INT64 = range(-(2**63), 2**63)


def bound(params: Iterable[Any]) -> tuple[Any, ...]:
    """SQLite's binding: booleans as 0/1, and an int beyond 64 bits refused by Python
    (``OverflowError``, before the statement reaches the database)."""
    values = tuple(int(p) if isinstance(p, bool) else p for p in params)
    for value in values:
        if isinstance(value, int) and value not in _INT64:
            raise OverflowError("Python int too large to convert to a 64-bit integer")
    return values


class PgCursor:
    """The result of one statement, as aiosqlite's cursor: rows, rowcount, lastrowid."""

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> Row | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Row]:
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> PgCursor:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class _Pending:
    """``await db.execute(...)`` and ``async with db.execute(...) as cur`` alike."""

    def __init__(self, connection: PgConnection, sql: str, params: tuple[Any, ...]) -> None:
        self._connection = connection
        self._sql = sql
        self._params = params
        self._cursor: PgCursor | None = None

    def __await__(self) -> Any:
        return self._connection._run(self._sql, self._params).__await__()

    async def __aenter__(self) -> PgCursor:
        self._cursor = await self._connection._run(self._sql, self._params)
        return self._cursor

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class PgConnection:
    """One PostgreSQL connection in autocommit mode, driven like an aiosqlite one."""

    def __init__(
        self, connection: psycopg.AsyncConnection[Row], url: str = "", read_only: bool = False
    ) -> None:
        self._connection = connection
        self._url = url
        self._read_only = read_only
        self._backoff = RECONNECT_FIRST
        self._next_try = 0.0
        self.row_factory: Any = None  # (set by callers for SQLite; rows here are always Row)

    @classmethod
    async def connect(cls, url: str, *, read_only: bool = False) -> PgConnection:
        return cls(await cls._open(url, read_only), url, read_only)

    @staticmethod
    async def _open(url: str, read_only: bool) -> psycopg.AsyncConnection[Row]:
        connection = await psycopg.AsyncConnection.connect(
            **conninfo(url),
            autocommit=True,
            row_factory=row_factory,
            cursor_factory=AsyncClientCursor,
        )
        connection.adapters.register_loader("numeric", _NumericLoader)
        if read_only:
            await connection.execute("SET default_transaction_read_only = on")
        return connection

    @property
    def lost(self) -> bool:
        """The connection is closed or broken (it is opened again by the next statement)."""
        return bool(self._connection.closed or self._connection.broken)

    async def _connected(self) -> psycopg.AsyncConnection[Row]:
        """The connection, opened again if it was lost (at most once per backoff)."""
        if not self.lost or not self._url:
            return self._connection
        now = time.monotonic()
        if now < self._next_try:
            raise psycopg.OperationalError("the database connection is lost; reconnecting")
        try:
            self._connection = await self._open(self._url, self._read_only)
        except psycopg.OperationalError:
            self._next_try = now + self._backoff
            self._backoff = min(self._backoff * 2, RECONNECT_MAX)
            raise
        log.warning("the database connection was lost and is open again")
        self._backoff = RECONNECT_FIRST
        self._next_try = 0.0
        return self._connection

    @property
    def raw(self) -> psycopg.AsyncConnection[Row]:
        return self._connection

    @property
    def in_transaction(self) -> bool:
        return self._connection.info.transaction_status in (
            TransactionStatus.INTRANS,
            TransactionStatus.INERROR,
        )

    @property
    def aborted(self) -> bool:
        """A statement of the open transaction failed: PostgreSQL refuses every other one
        until a ROLLBACK (to a savepoint, or of the whole), where SQLite undoes the failed
        statement alone and goes on."""
        return self._connection.info.transaction_status is TransactionStatus.INERROR

    async def _run(self, sql: str, params: tuple[Any, ...]) -> PgCursor:
        connection = await self._connected()
        async with connection.cursor() as cursor:
            await cursor.execute(to_postgresql(sql), bound(params) or None)
            if cursor.statusmessage == "ROLLBACK" and sql.strip().upper() == "COMMIT":
                # PostgreSQL answers the COMMIT of an aborted transaction with a rollback,
                # not an error: never let it pass for a commit.
                raise psycopg.errors.InFailedSqlTransaction(
                    "COMMIT rolled back: a statement of the transaction had failed"
                )
            rows = await cursor.fetchall() if cursor.description is not None else []
            lastrowid = None
            description = cursor.description
            if rows and description and description[0].name == "id" and _is_insert(sql):
                lastrowid = int(rows[0][0])
            return PgCursor(rows, cursor.rowcount, lastrowid)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Pending:
        return _Pending(self, sql, tuple(params))

    async def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> PgCursor:
        statement = to_postgresql(sql)
        count = 0
        connection = await self._connected()
        async with connection.cursor() as cursor:
            for params in seq:
                await cursor.execute(statement, bound(params) or None)
                count += max(cursor.rowcount, 0)
        return PgCursor([], count, None)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        cursor = await self._run(sql, tuple(params))
        return await cursor.fetchall()

    async def executescript(self, sql: str) -> None:
        """Run a migration's SQL as written (PostgreSQL's own, not translated)."""
        connection = await self._connected()
        await connection.execute(sql.encode())  # (bytes: no placeholders read)

    async def close(self) -> None:
        await self._connection.close()


def _is_insert(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "INSERT"
