"""Spreadsheets entered by ``jindianzi import`` (#20), by a hash of their content: the
guard against entering the same paper slips twice (migration 0029)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.base import RepositoryBase
from storage.rows import iso, parse_dt


@dataclass(frozen=True)
class Imported:
    """An earlier import of the same content."""

    file_name: str
    rows: int
    started_at: datetime
    finished: bool
    first_id: int | None
    last_id: int | None


class ImportQueries(RepositoryBase):
    """(Mixed into :class:`storage.repository.Repository`.)"""

    async def imported(self, content_hash: str) -> Imported | None:
        row = await self._fetchone("SELECT * FROM imports WHERE content_hash = ?", (content_hash,))
        if row is None:
            return None
        return Imported(
            file_name=row["file_name"],
            rows=row["rows"],
            started_at=parse_dt(row["started_at"]),
            finished=row["finished_at"] is not None,
            first_id=row["first_id"],
            last_id=row["last_id"],
        )

    async def import_started(self, content_hash: str, file_name: str, rows: int) -> None:
        """Recorded before the first row is entered (an import run ``--again`` replaces
        the earlier record)."""
        await self._write(
            "INSERT OR REPLACE INTO imports (content_hash, file_name, rows, started_at)"
            " VALUES (?, ?, ?, ?)",
            (content_hash, file_name, rows, iso(self.clock())),
        )

    async def import_finished(self, content_hash: str, first_id: int, last_id: int) -> None:
        await self._write(
            "UPDATE imports SET finished_at = ?, first_id = ?, last_id = ? WHERE content_hash = ?",
            (iso(self.clock()), first_id, last_id, content_hash),
        )
