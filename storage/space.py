"""Room to write (issue 15.8): whether the database can grow again, and a write that shows
it can commit. Used while the disk is full (:mod:`bot.transport.diskspace`) to tell when there is
room again.

Two limits count: SQLite's own page budget (``PRAGMA max_page_count``, per connection, less
the pages in use, plus the free pages inside the file), and the file system the database is
on, asked by allocating the room for real (a file of that size, made and removed): free
space, the blocks reserved for root and a user's quota all count, as they do for SQLite's
own writes (the free space ``statvfs`` shows says nothing of a quota).
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

from storage.base import MAX_SQLITE_INT, RepositoryBase
from storage.rows import iso

ROOM_FILE = ".jindianzi-room"  # made and removed beside the database while looking for room


def can_allocate(folder: Path, size: int) -> bool:
    """Whether the file system of ``folder`` gives ``size`` bytes to a new file now (False
    when it is full or the quota is used up; other errors are raised)."""
    probe = folder / f"{ROOM_FILE}-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return False
        raise
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return False
        raise
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)
    return True


class SpaceQueries(RepositoryBase):
    """(Mixed into :class:`storage.repository.Repository`.)"""

    async def page_room(self) -> int:
        """The bytes SQLite lets the database grow by (its page limit, its free pages).
        PostgreSQL has no page limit of its own: its server refuses a write when its disk
        is full, which the write's caller sees as an error."""
        if self.postgresql:
            return MAX_SQLITE_INT
        async with self.reading() as db:  # the writing connection: its page limit counts
            values = []
            for pragma in ("page_size", "page_count", "max_page_count", "freelist_count"):
                rows = await db.execute_fetchall(f"PRAGMA {pragma}")
                values.append(int(next(iter(rows))[0]))
        page_size, pages, most, free = values
        return (most - pages + free) * page_size

    async def has_room(self, size: int) -> bool:
        """Whether the database can grow by ``size`` bytes: within SQLite's page limit, and
        on its file system."""
        if await self.page_room() < size:
            return False
        if str(self.path) == ":memory:":
            return True
        return await asyncio.to_thread(can_allocate, self.path.parent, size)

    async def probe_write(self) -> None:
        """A small write, committed (raises what the database raises)."""
        await self._write(
            "INSERT INTO storage_probe (id, at) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            (iso(self.clock()),),
        )
