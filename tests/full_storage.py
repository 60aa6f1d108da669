"""A full database without a full disk: SQLite's own limit (``PRAGMA max_page_count``) on
the repository's writing connection, with the free pages inside the file taken up, so that
every write needing a new page is refused with ``SQLITE_FULL`` ("database or disk is
full"), the error a full disk gives. Writes that fit in room left inside existing pages
still succeed, as they do on a full disk."""

from __future__ import annotations

import sqlite3

import aiosqlite

from storage.repository import Repository

NO_LIMIT = 1_073_741_823  # SQLite's default max_page_count


async def fill_database(repo: Repository) -> None:
    """Let the database grow no more (its page limit where it is now) and take up the
    free pages inside it."""
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
    """What the operator does: the limit goes (the filler stays: the room is outside)."""
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
