"""Numbered SQL migrations (``NNNN_name.sql`` beside this file), applied in order at start-up.

Each file runs in its own transaction together with its row in ``schema_migrations``; a
database is never left half-migrated. Never edit a released migration: add the next number.

A migration may have a Python step (``steps``), for what SQL cannot compute (e.g. keyed
hashes): it runs right after the migration's SQL, inside the same transaction, before the
row in ``schema_migrations``; so it runs exactly once, and a failure leaves the database as
it was before the migration.

A migration that rebuilds a table others refer to (SQLite cannot change a CHECK in place)
says ``-- foreign_keys: off`` on a line of its own: it runs with foreign keys off, as
SQLite's procedure for such changes asks, and ``PRAGMA foreign_key_check`` must find
nothing before its COMMIT (else it is rolled back).

A number may be reserved (``RESERVED``) for a migration on a branch not merged yet; every
migration not yet recorded in ``schema_migrations`` is applied, in order, so one merged
later with a lower number than the newest applied still runs.

PostgreSQL (``storage.url = "postgresql://..."``) has its own files under ``postgresql/``:
``0025_baseline.sql`` creates in one step the schema SQLite has after 0001-0025 (same tables,
columns, keys, CHECKs, indexes and counters) and counts as versions 1-25; every later
migration is written twice, with the same number and name: ``NNNN_name.sql`` here in
SQLite's SQL and ``postgresql/NNNN_name.sql`` in PostgreSQL's (``ALTER TABLE`` can change
what SQLite must rebuild; a trigger is a PL/pgSQL function; no ``-- foreign_keys: off``).
A Python step runs on both (its SQL goes through ``storage/dialect.py`` like the
repository's). ``tests/test_pg_schema.py`` compares the two schemas column by column, so a
migration written for one database only fails the tests.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import aiosqlite

from storage.pg import PgConnection

# Numbers held for migrations on branches in flight; drop each when merged.
RESERVED: frozenset[int] = frozenset()

# A Python step of a migration: runs on the connection inside the migration's transaction.
Step = Callable[[aiosqlite.Connection], Awaitable[None]]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_FOREIGN_KEYS_OFF = re.compile(r"^-- foreign_keys: off$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def foreign_keys_off(self) -> bool:
        return bool(_FOREIGN_KEYS_OFF.search(self.sql))


def available_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    expected = [v for v in range(1, (versions[-1] if versions else 0) + 1) if v not in RESERVED]
    if versions != expected:
        raise RuntimeError(
            f"migrations must be numbered 1..n without gaps (reserved: {sorted(RESERVED)}),"
            f" found {versions}"
        )
    return found


_PG_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def postgresql_migrations() -> list[Migration]:
    """PostgreSQL's baseline and the migrations after it, in order."""
    folder = resources.files(__package__).joinpath("postgresql")
    found = [
        Migration(int(m[1]), m[2], entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if (m := _PG_NAME.match(entry.name))
    ]
    found.sort(key=lambda m: m.version)
    if not found or found[0].name != "baseline":
        raise RuntimeError("storage/migrations/postgresql needs its baseline first")
    sqlite_versions = {m.version: m.name for m in available_migrations()}
    for migration in found[1:]:
        if sqlite_versions.get(migration.version) != migration.name:
            raise RuntimeError(f"PostgreSQL migration {migration.version} has no SQLite twin")
    missing = [v for v in sqlite_versions if v > found[0].version]
    missing = [v for v in missing if v not in {m.version for m in found}]
    if missing:
        raise RuntimeError(f"SQLite migrations {missing} have no PostgreSQL form")
    return found


async def apply_postgresql_migrations(db: PgConnection) -> list[int]:
    """Apply PostgreSQL's baseline (on an empty database) or the migrations after it, each
    in its own transaction with its rows in ``schema_migrations``; return the versions."""
    migrations = postgresql_migrations()
    baseline = migrations[0]
    await db.execute("SELECT pg_advisory_lock(20261207)")  # several workers starting at once
    try:
        exists = await db.execute_fetchall("SELECT to_regclass('schema_migrations') AS t")
        done: set[int] = set()
        if exists[0]["t"] is not None:
            rows = await db.execute_fetchall("SELECT version FROM schema_migrations")
            done = {r[0] for r in rows}
        applied: list[int] = []
        names = {m.version: m.name for m in available_migrations()}
        for migration in migrations:
            if migration.version in done:
                continue
            stamp = datetime.now(UTC).isoformat()
            first = 1 if migration is baseline else migration.version
            versions = list(range(first, migration.version + 1))
            await db.execute("BEGIN")
            try:
                await db.executescript(migration.sql)
                for version in versions:
                    await db.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES (?, ?, ?)",
                        (version, names[version], stamp),
                    )
                await db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise
            applied += versions
        return applied
    finally:
        await db.execute("SELECT pg_advisory_unlock(20261207)")


async def current_version(db: aiosqlite.Connection) -> int:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(
    db: aiosqlite.Connection, steps: Mapping[int, Step] | None = None
) -> list[int]:
    """Apply every migration newer than the database (each with its Python step, if it has
    one, in one transaction); return the versions applied."""
    await current_version(db)  # creates schema_migrations if needed
    done = {r[0] for r in await db.execute_fetchall("SELECT version FROM schema_migrations")}
    applied: list[int] = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        stamp = datetime.now(UTC).isoformat()
        step = (steps or {}).get(migration.version)
        if migration.foreign_keys_off:  # (only outside a transaction)
            await db.execute("PRAGMA foreign_keys=OFF")
        try:
            # The script's transaction stays open (no COMMIT in it) for the step and the
            # checks; a later executescript would commit it first, so the rest are single
            # statements.
            await db.executescript(f"BEGIN IMMEDIATE;\n{migration.sql}\n;\n")
            if step is not None:
                await step(db)
            if migration.foreign_keys_off:
                broken = list(await db.execute_fetchall("PRAGMA foreign_key_check"))
                if broken:
                    raise RuntimeError(
                        f"migration {migration.version} broke {len(broken)} foreign keys"
                    )
            await db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, stamp),
            )
            await db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
        finally:
            if migration.foreign_keys_off:
                await db.execute("PRAGMA foreign_keys=ON")
        applied.append(migration.version)
    return applied
