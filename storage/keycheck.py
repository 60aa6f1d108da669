"""What the anonymity keys must be able to read: the key check row (a fixed text written
with the keys) and a sample of the newest encrypted values of every table that holds some.

Read with a plain read-only ``sqlite3`` connection before the bot starts (``run`` and
``check-config``), on a database of any schema version (tables a newer migration adds may
be missing). A table that gains an encrypted column belongs in :data:`ENCRYPTED`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from storage.base import RepositoryBase
from storage.rows import iso

# (table, encrypted column, newest first by): every column holding a Fernet token.
ENCRYPTED: tuple[tuple[str, str, str], ...] = (
    ("submissions", "reply_route", "id"),
    ("outbox", "chat_enc", "id"),
    ("followers", "chat_enc", "duplicate_id"),
    ("supporters", "chat_enc", "submission_id"),  # 附议 (0022): no rowid, the newest items
    ("conversations", "key_enc", "rowid"),
    ("drafts", "body", "rowid"),
    ("inbox", "body", "update_id"),
    ("dead_letters", "body", "id"),
)
SAMPLE = 3  # newest values read per column


@dataclass(frozen=True)
class KeyEvidence:
    """What a database holds that only the right keys can read."""

    check: tuple[str, str] | None = None  # (token, digest) of the key check row
    samples: list[str] = field(default_factory=list)  # newest encrypted values
    anonymous_items: int = 0

    @property
    def holds_protected_data(self) -> bool:
        return self.check is not None or bool(self.samples) or self.anonymous_items > 0

    def describe(self) -> str:
        parts = []
        if self.anonymous_items:
            parts.append(f"{self.anonymous_items} anonymous submissions")
        if self.samples:
            parts.append("encrypted notices, conversations or updates")
        if self.check is not None:
            parts.append("the check value of its keys")
        return ", ".join(parts) or "nothing written with keys"


def read_key_evidence(path: Path | str) -> KeyEvidence:
    """The evidence in the database at ``path`` (nothing if there is no database yet), or
    in PostgreSQL's at a URL."""
    if isinstance(path, str):
        return _postgresql_evidence(path)
    if str(path) == ":memory:" or not path.exists():
        return KeyEvidence()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _evidence(db)
    finally:
        db.close()


def _postgresql_evidence(url: str) -> KeyEvidence:
    import psycopg

    from storage.pg import conninfo

    with psycopg.connect(**conninfo(url), autocommit=True, connect_timeout=10) as db:
        tables = {
            str(r[0])
            for r in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        # (no rowid: the newest rows by physical position, good enough for a sample)
        return _evidence(db, tables, newest="ctid", missing=psycopg.errors.UndefinedColumn)  # type: ignore[arg-type]


def _sqlite_tables(db: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _evidence(
    db: sqlite3.Connection,
    tables: set[str] | None = None,
    *,
    newest: str = "rowid",
    missing: type[Exception] = sqlite3.OperationalError,
) -> KeyEvidence:
    tables = _sqlite_tables(db) if tables is None else tables
    check = None
    if "key_check" in tables:
        row = db.execute("SELECT token, digest FROM key_check WHERE id = 1").fetchone()
        check = (str(row[0]), str(row[1])) if row else None
    samples: list[str] = []
    for table, column, order in ENCRYPTED:
        if table not in tables:
            continue
        with contextlib.suppress(missing):  # a column of a later migration
            order = newest if order == "rowid" else order
            rows = db.execute(
                f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
                f" ORDER BY {order} DESC LIMIT {SAMPLE}"
            ).fetchall()
            samples += [str(r[0]) for r in rows]
    anonymous = 0
    if "submissions" in tables:
        anonymous = int(
            db.execute("SELECT COUNT(*) FROM submissions WHERE anonymous = 1").fetchone()[0]
        )
    return KeyEvidence(check=check, samples=samples, anonymous_items=anonymous)


class KeyCheckQueries(RepositoryBase):
    """(Mixed into :class:`storage.repository.Repository`.)"""

    async def record_key_check(self, token: str, digest: str, *, replace: bool = False) -> bool:
        """Write the key check row, unless there is one (``replace``: write it anyway, for
        keys that start over). Returns whether it was written."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        written = await self._write(
            f"{verb} INTO key_check (id, token, digest, created_at) VALUES (1, ?, ?, ?)",
            (token, digest, iso(self.clock())),
            counted=True,
        )
        return written == 1
