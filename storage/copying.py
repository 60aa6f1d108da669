"""``jindianzi migrate --to postgresql://...``: a SQLite campaign copied into an empty
PostgreSQL database, every table, and verified.

The source is read in one read transaction (one snapshot, even if something still writes
it); the target gets PostgreSQL's schema at the same version and must hold no row in any
table, else nothing is copied. Everything is copied in one PostgreSQL transaction with
``COPY``, the tables' own triggers off meanwhile (the daily counters and the 附议 count are
copied as they are, not counted again), self-references (a duplicate's original, a
message sent after another) set once every row is in, and the identity sequences moved
past the copied ids. Then each table is read back from PostgreSQL and compared with the
source: the row count and a SHA-256 over its rows (each row's values in a canonical form,
the rows sorted), so a value changed on the way (a type, an encoding, a float) fails the
migration instead of passing unseen.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.dialect import IDENTITY_TABLES
from storage.migrations import apply_postgresql_migrations
from storage.pg import PgConnection, redacted

# Identity columns not called ``id`` (the order drafts were added in, #24).
IDENTITY_COLUMNS: dict[str, str] = {"drafts": "seq"}
# Columns that refer to a row of the same table: copied as NULL, then set.
SELF_REFERENCES: dict[str, str] = {"submissions": "duplicate_of", "outbox": "after_id"}
# Tables of SQLite's bookkeeping that PostgreSQL has no use for (FTS5's index is rebuilt by
# PostgreSQL's trigram index from submissions.text).
SQLITE_ONLY = ("sqlite_", "submissions_fts")


class MigrationRefused(Exception):
    """The copy was not made (the target is not empty, the schemas differ...): one line."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    checksum: str  # of the source's rows; the target's was found equal

    def describe(self) -> str:
        return f"{self.table}: {self.rows} rows, sha256 {self.checksum[:16]} (equal)"


def checksum(rows: Iterable[Sequence[Any]]) -> tuple[int, str]:
    """(count, SHA-256) of rows, whatever order they come in."""
    lines = sorted(json.dumps([_canonical(v) for v in row], ensure_ascii=False) for row in rows)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8") + b"\n")
    return len(lines), digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, float):
        return {"float": value.hex()}
    return value


def _source_tables(db: sqlite3.Connection) -> dict[str, list[str]]:
    names = [
        str(r[0])
        for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    return {
        name: [str(c[1]) for c in db.execute(f'PRAGMA table_info("{name}")')]
        for name in names
        if not name.startswith(SQLITE_ONLY)
    }


async def _target_tables(db: PgConnection) -> dict[str, list[str]]:
    rows = await db.execute_fetchall(  # (tables only: a view such as unit_day_rows holds none)
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema"
        " AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'"
        " WHERE c.table_schema = current_schema() ORDER BY c.table_name, c.ordinal_position"
    )
    tables: dict[str, list[str]] = {}
    for row in rows:
        tables.setdefault(str(row[0]), []).append(str(row[1]))
    return tables


def _read_source(path: Path) -> tuple[dict[str, list[str]], dict[str, list[tuple[Any, ...]]]]:
    """Every table's columns and rows, in one read transaction (one snapshot)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)) as db:
        db.execute("BEGIN")
        tables = _source_tables(db)
        data = {
            name: [tuple(r) for r in db.execute(f'SELECT "{name}".* FROM "{name}"')]  # noqa: S608
            for name in tables
        }
        db.execute("COMMIT")
    return tables, data


async def copy_to_postgresql(source: Path, url: str) -> list[TableCopy]:
    """Copy the SQLite database at ``source`` (at the newest schema) into the PostgreSQL
    database at ``url``; raises :class:`MigrationRefused`."""
    tables, data = await asyncio.to_thread(_read_source, source)
    db = await PgConnection.connect(url)
    try:
        await apply_postgresql_migrations(db)
        target = await _target_tables(db)
        rows = await db.execute_fetchall("SELECT version FROM schema_migrations")
        versions = {r[0] for r in rows}
        source_versions = {r[0] for r in data.get("schema_migrations", [])}
        if versions != source_versions:
            raise MigrationRefused(
                f"the SQLite database has migrations {sorted(source_versions - versions)} that"
                f" {redacted(url)} has not, or lacks {sorted(versions - source_versions)}:"
                " start the bot once on the SQLite file (it brings it up to date), then migrate"
            )
        busy = []
        for table in target:
            if table == "schema_migrations":
                continue
            found = await db.execute_fetchall(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            if found[0][0]:
                busy.append(f"{table} ({found[0][0]} rows)")
        if busy:
            raise MigrationRefused(
                f"{redacted(url)} is not empty: {', '.join(busy)}. Migrate into a new, empty"
                " database (README, Storage backends)"
            )
        wanted = {t: c for t, c in tables.items() if t != "schema_migrations"}
        have = {t: c for t, c in target.items() if t != "schema_migrations"}
        differ = sorted(
            t
            for t in wanted.keys() | have.keys()
            if sorted(wanted.get(t, [])) != sorted(have.get(t, []))
        )
        if differ:
            raise MigrationRefused(f"the two schemas differ in {', '.join(differ)}")
        await _copy(db, wanted, data)
        return await _verify(db, wanted, data)
    finally:
        await db.close()


async def _copy(
    db: PgConnection, tables: dict[str, list[str]], data: dict[str, list[tuple[Any, ...]]]
) -> None:
    raw = db.raw
    order = ["submissions", *sorted(t for t in tables if t != "submissions")]
    await db.execute("BEGIN")
    try:
        for table in order:
            await db.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for table in order:
            columns = tables[table]
            rows = data[table]
            own = SELF_REFERENCES.get(table)
            at = columns.index(own) if own else -1
            names = ", ".join(f'"{c}"' for c in columns)
            statement = f"COPY {table} ({names}) FROM STDIN"
            async with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    values = list(row)
                    if at >= 0:
                        values[at] = None
                    await copy.write_row(values)
            if own:
                key = columns.index("id")
                links = [(row[at], row[key]) for row in rows if row[at] is not None]
                # (table and column names from the schema, never from the data)
                relink = f"UPDATE {table} SET {own} = ? WHERE id = ?"  # noqa: S608
                await db.executemany(relink, links)
        for table in order:
            await db.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            column = "id" if table in IDENTITY_TABLES else IDENTITY_COLUMNS.get(table)
            if column is not None:
                await db.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"  # noqa: S608
                    f" COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
                )
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            await db.execute("ROLLBACK")
        raise


async def _verify(
    db: PgConnection, tables: dict[str, list[str]], data: dict[str, list[tuple[Any, ...]]]
) -> list[TableCopy]:
    copies: list[TableCopy] = []
    for table, columns in sorted(tables.items()):
        names = ", ".join(f'"{c}"' for c in columns)
        copied = await db.execute_fetchall(f"SELECT {names} FROM {table}")  # noqa: S608
        count, digest = checksum(data[table])
        got_count, got_digest = checksum(tuple(r) for r in copied)
        if (count, digest) != (got_count, got_digest):
            raise MigrationRefused(
                f"{table}: {count} rows in SQLite, {got_count} copied, and their checksums"
                f" differ ({digest[:16]} / {got_digest[:16]}): the target is left as copied;"
                " drop it and report this"
            )
        copies.append(TableCopy(table, count, digest))
    return copies
