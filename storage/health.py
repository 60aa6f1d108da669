"""Whether the database file can be used, checked before the bot starts and by
``check-config``: a file that is not an SQLite database, one cut short, a schema that cannot
be read, a database written by a newer version, a read-only file or file system.

The bot used to find out in the middle of its start-up, log a traceback and hang there
(neither serving nor exiting); a supervisor never restarted it and an operator saw nothing
but an idle bot. :func:`inspect_database` says what is wrong in one line, so ``run`` exits
at once (status 1) and ``check-config`` names it.

The checks at start-up cost a few page reads and one small write; ``thorough`` adds
SQLite's ``PRAGMA quick_check`` (it reads every page: seconds on a large database), which
``check-config`` runs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.migrations import available_migrations

HEADER = b"SQLite format 3\x00"
HEADER_SIZE = 100


class DatabaseUnusable(Exception):
    """The database cannot be used; the message is one line that says why and where."""


@dataclass(frozen=True)
class DatabaseReport:
    path: Path | str  # SQLite's file, or a PostgreSQL URL without its password
    exists: bool  # False: it will be created (its folder can be written)
    size: int  # bytes of the main file
    schema_version: int  # the newest migration applied (0: a new database)
    items: int  # submissions stored

    def describe(self) -> str:
        if not self.exists:
            return f"{self.path} (new: created with its schema at the first start)"
        return f"{self.path} ({_size(self.size)}, schema {self.schema_version}, {self.items} items)"


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"  # pragma: no cover


def inspect_target(
    target: Path | str, *, write: bool = True, thorough: bool = False
) -> DatabaseReport:
    """:func:`inspect_database` for SQLite's file, :func:`inspect_postgresql` for a URL."""
    if isinstance(target, str):
        return inspect_postgresql(target, write=write)
    return inspect_database(target, write=write, thorough=thorough)


def inspect_postgresql(url: str, *, write: bool = True) -> DatabaseReport:
    """PostgreSQL's counterpart of :func:`inspect_database`: the server answers, the
    database exists and can be written (a transaction that is rolled back), and its schema
    version and items. Page checks are the server's own (``initdb --data-checksums``)."""
    import psycopg

    from storage.pg import conninfo, redacted

    shown = redacted(url)
    try:
        with psycopg.connect(**conninfo(url), autocommit=True, connect_timeout=10) as db:

            def one(sql: str) -> Any:
                row = db.execute(sql).fetchone()
                return row[0] if row else None

            size = int(one("SELECT pg_database_size(current_database())"))
            ctype = str(one("SHOW lc_ctype"))
            if "utf" not in ctype.lower().replace("-", ""):
                raise DatabaseUnusable(
                    f"database {shown}: its LC_CTYPE is {ctype}: Chinese search needs a UTF-8"
                    " locale (README, Storage backends: CREATE DATABASE ... LC_CTYPE 'C.UTF-8')"
                )
            if one("SELECT to_regclass('schema_migrations')") is None:
                return DatabaseReport(shown, exists=False, size=size, schema_version=0, items=0)
            version = int(one("SELECT MAX(version) FROM schema_migrations") or 0)
            items = int(one("SELECT COUNT(*) FROM submissions"))
            if write:  # a write, rolled back: the database is not read-only for this user
                with db.transaction(force_rollback=True):
                    db.execute(
                        "INSERT INTO storage_probe (id, at) VALUES (1, 'probe')"
                        " ON CONFLICT (id) DO UPDATE SET at = excluded.at"
                    )
    except psycopg.Error as exc:
        raise DatabaseUnusable(f"database {shown}: cannot be used: {exc}".strip()) from None
    return DatabaseReport(shown, exists=True, size=size, schema_version=version, items=items)


def inspect_database(path: Path, *, write: bool = True, thorough: bool = False) -> DatabaseReport:
    """Check the database at ``path`` (see the module's docstring); raises
    :class:`DatabaseUnusable`. With ``write``, one small transaction proves the file can be
    written (``check-config`` leaves the file as it is: it only asks the file system).
    A path that does not exist is fine if its folder can be created and written."""
    if str(path) == ":memory:":
        return DatabaseReport(path, exists=False, size=0, schema_version=0, items=0)
    if path.is_dir():
        raise DatabaseUnusable(f"database {path}: is a directory, not a file (storage.path)")
    if not path.exists():
        _check_creatable(path)
        return DatabaseReport(path, exists=False, size=0, schema_version=0, items=0)
    size = path.stat().st_size
    _check_writable(path)
    if size:
        _check_header(path, size)
    try:
        with _connection(path, read_only=not write) as db:
            version, items = _read_schema(db, path)
            if thorough:
                _quick_check(db, path)
            if write:
                _write_probe(db, path)
    except sqlite3.DatabaseError as exc:  # OperationalError, "file is not a database", ...
        raise DatabaseUnusable(f"database {path}: cannot be used: {exc}") from None
    return DatabaseReport(path, exists=True, size=size, schema_version=version, items=items)


def _check_creatable(path: Path) -> None:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise DatabaseUnusable(f"database {path}: {folder} is not a directory")
    if _read_only_mount(folder):
        raise DatabaseUnusable(
            f"database {path}: cannot be created: {folder} is on a read-only file system"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnusable(f"database {path}: cannot be created: {folder} is not writable")


def _check_writable(path: Path) -> None:
    """SQLite writes beside the database (its -wal and -shm files), so both the file and
    its folder must be writable."""
    if _read_only_mount(path.parent):
        raise DatabaseUnusable(f"database {path}: is on a read-only file system")
    for what, target in (("the file", path), ("its folder", path.parent)):
        if not os.access(target, os.W_OK):
            raise DatabaseUnusable(f"database {path}: {what} is not writable by this user")
    if not os.access(path, os.R_OK):
        raise DatabaseUnusable(f"database {path}: the file is not readable by this user")


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _check_header(path: Path, size: int) -> None:
    """The file starts as an SQLite database does, and is as long as its header says
    (unless a write-ahead log still holds pages not yet copied into it)."""
    with path.open("rb") as fh:
        header = fh.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE or not header.startswith(HEADER):
        raise DatabaseUnusable(
            f"database {path}: not an SQLite database (its first bytes are not SQLite's "
            "header): restore it from a backup, or point storage.path at the right file"
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    change_counter = header[24:28]
    pages = int.from_bytes(header[28:32], "big")
    valid_for = header[92:96]
    wal = path.with_name(path.name + "-wal")
    pending_log = wal.exists() and wal.stat().st_size > 0
    if pages and change_counter == valid_for and not pending_log and size < pages * page_size:
        raise DatabaseUnusable(
            f"database {path}: cut short: the file has {size} bytes, its header says "
            f"{pages * page_size}; restore it from a backup"
        )


@contextlib.contextmanager
def _connection(path: Path, *, read_only: bool) -> Iterator[sqlite3.Connection]:
    mode = "ro" if read_only else "rw"
    db = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, isolation_level=None, timeout=10)
    try:
        yield db
    finally:
        db.close()


def _read_schema(db: sqlite3.Connection, path: Path) -> tuple[int, int]:
    """The schema version, the number of items, and one read of each table's first page
    (a table whose pages are missing fails here rather than in a resident's request)."""
    tables = [
        str(row[0])
        for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(row[0]).startswith("sqlite_")
    ]
    for table in tables:
        db.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchall()  # noqa: S608 (from sqlite_master)
    if "schema_migrations" not in tables:
        if tables:
            raise DatabaseUnusable(
                f"database {path}: not a Jindianzi database (no schema_migrations table; "
                f"it holds {', '.join(sorted(tables)[:5])})"
            )
        return 0, 0
    version = int(
        db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    )
    known = max((m.version for m in available_migrations()), default=0)
    if version > known:
        raise DatabaseUnusable(
            f"database {path}: written by a newer version of Jindianzi (schema {version}; "
            f"this one knows up to {known}): upgrade the bot, or restore a backup"
        )
    items = 0
    if "submissions" in tables:
        items = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM submissions").fetchone()[0])
    return version, items


def _quick_check(db: sqlite3.Connection, path: Path) -> None:
    try:
        problems = [str(row[0]) for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:  # a page it cannot even parse
        problems = [str(exc)]
    if problems != ["ok"]:
        raise DatabaseUnusable(
            f"database {path}: damaged ({'; '.join(problems)[:300]}); restore it from a backup"
        )


def _write_probe(db: sqlite3.Connection, path: Path) -> None:
    """One transaction that really writes (the header's user_version, set to what it is):
    a read-only file, or one whose -wal/-shm cannot be written, fails here."""
    (user_version,) = db.execute("PRAGMA user_version").fetchone()
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(f"PRAGMA user_version = {int(user_version)}")
        db.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise DatabaseUnusable(f"database {path}: cannot be written: {exc}") from None
