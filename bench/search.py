"""Chinese full-text search on both backends (#24): SQLite's FTS5 trigram table against
PostgreSQL's pg_trgm GIN index, each beside a naive scan of every text in Python.

``python -m bench.search 100000`` fills a SQLite campaign with that many items
(:func:`bench.store.filled`), copies it into a throwaway PostgreSQL cluster with
``jindianzi migrate``'s own copy (:func:`storage.copying.copy_to_postgresql`), then times the
repository's ``search`` (the office's ``/search``: newest 20 matches) for common and rare
three-character words and for a two-character word (which no trigram index can answer:
both backends scan). Figures are the median of the repeats, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.store import filled
from storage.copying import copy_to_postgresql
from storage.repository import Repository


def terms(path: Path) -> list[tuple[str, str]]:
    """(label, term) chosen from the stored texts: the most common three-character word of
    Chinese, one found in about 1 item in 1,000, one found nowhere, and the most common
    two-character word."""
    grams3: Counter[str] = Counter()
    grams2: Counter[str] = Counter()
    with sqlite3.connect(path) as db:
        texts = [text for (text,) in db.execute("SELECT text FROM submissions")]
    for text in texts:
        chinese = [text[i : i + 3] for i in range(len(text) - 2)]
        grams3.update({g for g in chinese if all("\u4e00" <= c <= "\u9fff" for c in g)})
        grams2.update(
            {
                text[i : i + 2]
                for i in range(len(text) - 1)
                if all("\u4e00" <= c <= "\u9fff" for c in text[i : i + 2])
            }
        )
    common = grams3.most_common(1)[0][0]
    target = max(1, len(texts) // 1000)
    rare = min(grams3, key=lambda g: (abs(grams3[g] - target), g))
    return [
        ("3 chars, common", common),
        ("3 chars, rare", rare),
        ("3 chars, absent", "量子纠缠"),
        ("2 chars, common", grams2.most_common(1)[0][0]),
    ]


def _naive(path: Path, term: str) -> float:
    """Every text read into Python and searched there: the baseline."""
    started = time.perf_counter()
    with sqlite3.connect(path) as db:
        found = [i for i, text in db.execute("SELECT id, text FROM submissions") if term in text]
    found.sort(reverse=True)
    del found[20:]
    return time.perf_counter() - started


async def _timed(repo: Repository, term: str, repeats: int) -> tuple[float, int]:
    times = []
    hits = 0
    for _ in range(repeats):
        started = time.perf_counter()
        hits = len(await repo.search([term]))
        times.append(time.perf_counter() - started)
    return statistics.median(times), hits


async def measure(size: int, repeats: int) -> list[dict[str, Any]]:
    from tests.pg_cluster import Cluster  # the tests' throwaway server (Debian's binaries)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        secrets = await filled(path, size)
        cluster = Cluster()
        cluster.start()
        try:
            url = cluster.database()
            await copy_to_postgresql(path, url)
            rows: list[dict[str, Any]] = []
            lite = Repository(path, secrets=secrets)
            pg = Repository(url, secrets=secrets)
            await lite.connect()
            await pg.connect()
            try:
                for label, term in terms(path):
                    sqlite_s, sqlite_hits = await _timed(lite, term, repeats)
                    pg_s, pg_hits = await _timed(pg, term, repeats)
                    naive = statistics.median(_naive(path, term) for _ in range(repeats))
                    rows.append(
                        {
                            "case": label,
                            "term": term,
                            "sqlite": sqlite_s,
                            "postgresql": pg_s,
                            "naive": naive,
                            "hits": sqlite_hits,
                            "same": sqlite_hits == pg_hits,
                        }
                    )
            finally:
                await lite.close()
                await pg.close()
        finally:
            cluster.stop()
    return rows


def print_table(size: int, rows: list[dict[str, Any]]) -> None:
    print(f"search: {size} items, /search's newest 20 matches (ms, median)")
    print("  case              term   SQLite FTS5   PostgreSQL pg_trgm   naive scan   hits (same)")
    for r in rows:
        print(
            f"  {r['case']:16} {r['term']:4} {r['sqlite'] * 1000:11.1f}"
            f"   {r['postgresql'] * 1000:18.1f}   {r['naive'] * 1000:10.1f}"
            f"   {r['hits']} ({'yes' if r['same'] else 'NO'})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int, nargs="?", default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.size, args.repeats))
    print_table(args.size, rows)


if __name__ == "__main__":
    main()
