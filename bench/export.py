"""The ledger export (issue 15.3): ``/export`` and ``jindianzi export`` over a store of N
items, as XLSX and as CSV, next to a plain ``csv`` write of the same rows read straight
from SQLite (the least any export must do). The XLSX time must grow linearly: 100,000 rows
at most 12 times the time of 10,000.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.store import ROOT, filled
from bot.config import load_settings
from bot.core.reporting import ledger_file
from storage.repository import Repository

START = datetime(2000, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)  # after every item bench.store.fill makes
COLUMNS = (
    "id, created_at, kind, topic_id, text, sender_name, status, owner, deadline,"
    " response, published_at, rating"
)


def plain_csv(path: Path) -> int:
    """The baseline: every row of the same period read with sqlite3 and written with csv."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with sqlite3.connect(path) as db:
        rows = db.execute(
            f"SELECT {COLUMNS} FROM submissions WHERE created_at >= ? AND created_at < ?"
            " ORDER BY id",
            (START.isoformat(), END.isoformat()),
        )
        writer.writerows(rows)
    return len(buffer.getvalue())


async def export(sizes: list[int], repeats: int) -> list[dict[str, float]]:
    """Seconds for each size: the XLSX and CSV exports and the plain csv baseline."""
    settings = load_settings(ROOT / "config.example.toml")
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export.sqlite3"
            await filled(path, size)
            repo = Repository(path)
            await repo.connect()
            timings: dict[str, list[float]] = {"xlsx": [], "csv": [], "plain": []}
            try:
                for _ in range(repeats):
                    for kind in ("xlsx", "csv"):
                        target = io.BytesIO()
                        started = time.perf_counter()
                        count = await ledger_file(
                            repo, settings, "zh-Hans", START, END, target, as_csv=kind == "csv"
                        )
                        timings[kind].append(time.perf_counter() - started)
                        assert count == size, (count, size)
                    started = time.perf_counter()
                    plain_csv(path)
                    timings["plain"].append(time.perf_counter() - started)
            finally:
                await repo.close()
            results.append(
                {"size": float(size), **{k: statistics.median(v) for k, v in timings.items()}}
            )
    return results
