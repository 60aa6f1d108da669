"""Reading (and, for fault tests, changing) a running bot's database from a test, on either
backend: SQLite's file through ``sqlite3``, PostgreSQL through psycopg with the statement
rewritten by :mod:`storage.dialect`, rows by index and by name on both."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.config import Settings
from storage.dialect import to_postgresql
from storage.pg import Row, bound, conninfo, row_factory


class _NoRows(list[Any]):
    """What a statement without a result gives: nothing to read, its rowcount."""

    def __init__(self, rowcount: int) -> None:
        super().__init__()
        self.rowcount = rowcount

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []


class _PostgreSQL:
    """The few calls tests make of a ``sqlite3.Connection``, on PostgreSQL (autocommit)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self._connection.execute(to_postgresql(sql), bound(params) or None)
        return cursor if cursor.description is not None else _NoRows(cursor.rowcount)

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        for params in seq:
            self.execute(sql, params)

    def commit(self) -> None:
        return None


@contextmanager
def database(settings: Settings) -> Iterator[Any]:
    """A connection to the bot's database: rows as tuples on SQLite (unless the caller sets
    ``row_factory``); on PostgreSQL rows that read by index and by name and equal tuples."""
    url = settings.storage.url
    if url is None:
        # A test's write waits for the bot's transaction (up to 30 s on a loaded machine),
        # from a thread (tests/webdesk.py's sql: in the bot's own event loop the wait could
        # never end), and takes the write lock as its transaction begins (IMMEDIATE): a
        # deferred one that read first and found the bot's commit before asking for the
        # write lock is told 'database is locked' at once, without waiting.
        with sqlite3.connect(settings.storage.path, timeout=30, isolation_level="IMMEDIATE") as db:
            yield db
        return
    with psycopg.connect(
        **conninfo(url),
        autocommit=True,
        row_factory=row_factory,
        cursor_factory=psycopg.ClientCursor,
    ) as connection:
        yield _PostgreSQL(connection)


def _sqlite_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    return Row(tuple(column[0] for column in cursor.description), values)


def rows(settings: Settings, sql: str, params: Sequence[object] = ()) -> list[Any]:
    """The rows of ``sql``, the same on both backends: read by index and by name, equal to
    tuples of their values."""
    with database(settings) as db:
        db.row_factory = _sqlite_row
        return list(db.execute(sql, params))


def on_backend(make_settings: Callable[..., Settings], url: str | None) -> Callable[..., Settings]:
    """``make_settings`` with ``storage.url`` set to ``url`` (None: SQLite's file), unless
    the test names another."""
    if url is None:
        return make_settings

    def make(*args: Any, **overrides: Any) -> Settings:
        storage = {"url": url, **overrides.pop("storage", {})}
        return make_settings(*args, storage=storage, **overrides)

    return make


def both_backends() -> Any:
    """The ``make_settings`` fixture of a module whose tests run on SQLite and on PostgreSQL
    (#24): ``make_settings = both_backends()`` at the module's top level. Each test runs once
    per ``backend`` (``conftest.backend``), with ``storage.url`` set to the worker's
    PostgreSQL database on the second, unless the test names another; a test marked
    ``sqlite_only`` runs on SQLite alone."""

    @pytest.fixture(name="make_settings")
    def on_both(
        make_settings: Callable[..., Settings], storage_url: str | None
    ) -> Callable[..., Settings]:
        return on_backend(make_settings, storage_url)

    return on_both


# A test of a module run on both backends that walks no statement another test there does
# not: on SQLite only, to keep the suite's time (the backend fixture, parametrised once).
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def some_on_postgresql(
    argname: str,
    values: Sequence[object],
    postgresql: Sequence[object],
    ids: Sequence[str] | None = None,
) -> pytest.MarkDecorator:
    """Parametrise ``argname`` over ``values`` (named by ``ids``) on SQLite, and over those of
    them in ``postgresql`` on PostgreSQL too: the variants that walk a statement or a
    behaviour of their own there (the rest repeat another variant's SQL: SQLite only, for the
    suite's time)."""
    names = list(ids) if ids is not None else [str(value) for value in values]
    cases = [
        pytest.param(value, backend, id=f"{name}-{backend}")
        for backend in ("sqlite", "postgresql")
        for value, name in zip(values, names, strict=True)
        if backend == "sqlite" or value in postgresql
    ]
    return pytest.mark.parametrize((argname, "backend"), cases)


def stored_bytes(settings: Settings) -> dict[str, bytes]:
    """Every byte the database keeps, by where it is kept, to search for what must not be
    there. SQLite: the file and its -wal and -shm beside it. PostgreSQL: ``pg_dump`` of the
    database (every table's rows, as text) and, after a CHECKPOINT, every file of the
    database's own directory (tables, indexes, TOAST, free space maps), dead row versions
    included."""
    url = settings.storage.url
    if url is None:
        path = settings.storage.path
        return {
            p.name: p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)
        }
    from tests.pg_cluster import server_bin

    args = conninfo(url)
    found: dict[str, bytes] = {}
    binaries = server_bin()
    assert binaries is not None
    dump = subprocess.run(
        [str(binaries / "pg_dump"), "-h", args["host"], "-U", args["user"], args["dbname"]],
        check=True,
        capture_output=True,
    )
    found["pg_dump"] = dump.stdout
    with database(settings) as db:
        db.execute("CHECKPOINT")
        data = Path(str(db.execute("SHOW data_directory").fetchone()[0]))
        oid = db.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        folder = data / "base" / str(oid.fetchone()[0])
    for file in sorted(folder.iterdir()):
        if file.is_file():
            found[f"base/{folder.name}/{file.name}"] = file.read_bytes()
    return found


def tables(settings: Settings) -> list[str]:
    """The names of the bot's tables (SQLite's FTS shadow tables included), sorted."""
    if settings.storage.url is None:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        sql = (
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " ORDER BY table_name"
        )
    return [str(r[0]) for r in rows(settings, sql)]


def columns(settings: Settings, table: str) -> list[str]:
    """The columns of ``table``, in order."""
    if settings.storage.url is None:
        return [str(r[1]) for r in rows(settings, f'PRAGMA table_info("{table}")')]
    sql = (
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
    )
    return [str(r[0]) for r in rows(settings, sql, (table,))]
