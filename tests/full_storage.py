"""A full database without a full disk: SQLite's own limit (``PRAGMA max_page_count``) on
the repository's writing connection, with the free pages inside the file taken up, so that
every write needing a new page is refused with ``SQLITE_FULL`` ("database or disk is
full"), the error a full disk gives. Writes that fit in room left inside existing pages
still succeed, as they do on a full disk.

On PostgreSQL (#24) the server itself refuses every INSERT and UPDATE with SQLSTATE 53100
``disk_full`` and the message a full disk gives ("could not extend file ...: No space left
on device"), from a trigger on every table: psycopg raises its real ``DiskFull`` through
the bot's own connection (a tablespace on a tiny file system would need root)."""

from __future__ import annotations

import sqlite3

import aiosqlite
import psycopg

from storage.pg import conninfo
from storage.repository import Repository
from tests.pg_cluster import TEST_OBJECTS

NO_LIMIT = 1_073_741_823  # SQLite's default max_page_count


PG_FULL = f"{TEST_OBJECTS}disk_full"  # the trigger function that refuses writes
PG_FULL_MESSAGE = 'could not extend file "base/16384/16402": No space left on device'


async def _on_postgresql(url: str, statements: list[str]) -> None:
    connect = psycopg.AsyncConnection.connect(**conninfo(url), autocommit=True)
    async with await connect as db, db.transaction():  # every table at once, or none
        for sql in statements:
            await db.execute(sql.encode())


async def fill_database(repo: Repository) -> None:
    """Let the database grow no more (its page limit where it is now) and take up the
    free pages inside it; on PostgreSQL every write refused as the server refuses it on a
    full disk."""
    if repo.url is not None:
        async with await psycopg.AsyncConnection.connect(**conninfo(repo.url)) as db:
            cursor = await db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            tables = [str(r[0]) for r in await cursor.fetchall()]
        refuse = (
            f"CREATE FUNCTION {PG_FULL}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" RAISE EXCEPTION '{PG_FULL_MESSAGE}' USING ERRCODE = 'disk_full',"
            " HINT = 'Check free disk space.'; END $$"
        )
        await _on_postgresql(
            repo.url,
            [refuse]
            + [
                f'CREATE TRIGGER zz_disk_full BEFORE INSERT OR UPDATE ON "{table}"'
                f" FOR EACH STATEMENT EXECUTE FUNCTION {PG_FULL}()"
                for table in tables
            ],
        )
        return
    async with repo.reading() as db:  # the writing connection, holding the write lock
        await db.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
        [(pages,)] = await db.execute_fetchall("PRAGMA page_count")
        await db.execute(f"PRAGMA max_page_count = {int(pages)}")
        for size in (65536, 8192, 1024, 128, 16, 1):
            try:
                while True:
                    await db.execute("INSERT INTO filler VALUES (zeroblob(?))", (size,))
            except aiosqlite.OperationalError as exc:
                assert "full" in str(exc)
        [(free,)] = await db.execute_fetchall("PRAGMA freelist_count")
        assert free == 0


async def make_room(repo: Repository) -> None:
    """What the operator does: the limit goes (the filler stays: the room is outside); on
    PostgreSQL the server takes writes again."""
    if repo.url is not None:
        await _on_postgresql(repo.url, [f"DROP FUNCTION {PG_FULL}() CASCADE"])
        return
    async with repo.reading() as db:
        await db.execute(f"PRAGMA max_page_count = {NO_LIMIT}")


def sqlite_full_error() -> sqlite3.Error:
    """The error SQLite itself raises when a database cannot grow (for a fault injected
    where filling the database would not hit the write in question)."""
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE t (x BLOB)")
        [(pages,)] = db.execute("PRAGMA page_count").fetchall()
        db.execute(f"PRAGMA max_page_count = {pages}")
        try:
            db.execute("INSERT INTO t VALUES (zeroblob(100000))")
        except sqlite3.Error as exc:
            return exc
    raise AssertionError("the insert was not refused")
