"""The web desk's queue page at scale: the time to answer ``GET /queue`` (query and
rendering, through aiohttp's test client on loopback) with filters, a search and a page of
50, first and deep (5,000 items in, reached by the keyset cursor as the "next" links do),
next to a naive baseline measured on the same store: the same filter as plain SQL that
SQLite plans alone, paged with OFFSET and counted exactly (its rendering not even counted).

    python -m bench.desk 1000000             # build a store of that size (takes minutes)
    python -m bench.desk --store PATH        # or use a store already filled (a copy)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot

from bench import store
from bot.anonymity import Secrets
from storage.repository import Repository
from storage.rows import iso
from web.server import Desk, create_app
from web.sessions import COOKIE
from web.tokens import new_csrf, new_token, token_hash

ADMIN = 1000001
PAGE = 50
DEEP = 5_000
NOW = datetime(2026, 12, 1, tzinfo=UTC)
OPEN = ("new", "accepted", "forwarded", "in_progress")
# The units (承办单位) the loop's items are dispatched to (#18), one in ten each.
UNITS = [
    {"id": f"u{n}", "names": {"zh-Hans": f"单位{n}"}, "member_ids": [2000 + n]} for n in range(10)
]
LOOP = ("dispatched", "signed", "returned", "extension_requested", "done_pending", "reopened")
# The place filter's town and its villages (the desk includes the places under a place).
TOWN = (store.BENCH_TOWN, *(p["id"] for p in store.PLACES if p.get("parent") == store.BENCH_TOWN))
# (name, the desk's URL parameters, the naive SQL filter and its parameters)
CASES: list[tuple[str, dict[str, str], str, tuple[object, ...]]] = [
    ("everything", {}, "1", ()),
    ("one status", {"status": "new"}, "status = ?", ("new",)),
    ("open", {"status": "open"}, "status IN (?, ?, ?, ?)", OPEN),
    ("topic", {"topic": "transport"}, "topic_id = ?", ("transport",)),
    (
        "kind+anonymous",
        {"kind": "problem", "who": "anonymous"},
        "kind = ? AND anonymous = 1",
        ("problem",),
    ),
    (
        "a month",
        {"from": "2026-09-01", "to": "2026-09-30"},
        "created_at >= ? AND created_at < ?",
        ("2026-08-31T16:00:00.000000+00:00", "2026-09-30T16:00:00.000000+00:00"),
    ),
    (
        "overdue",
        {"overdue": "1"},
        "deadline IS NOT NULL AND deadline < ? AND status IN (?, ?, ?, ?)",
        (iso(NOW), *OPEN),
    ),
    (
        "a town's places",
        {"place": store.BENCH_TOWN},
        f"place_id IN ({', '.join('?' * len(TOWN))})",
        TOWN,
    ),
    ("a unit", {"unit": "u3"}, "unit_id = ?", ("u3",)),
    (
        "unsigned",
        {"unsigned": "1"},
        "status = 'dispatched' AND sign_due IS NOT NULL AND sign_due < ?",
        (iso(NOW),),
    ),
    (
        "search 3+ chars",
        {"q": "红绿灯"},
        "id IN (SELECT rowid FROM submissions_fts WHERE text MATCH ?)",
        ('"红绿灯"',),
    ),
    (
        "search 2 chars + open",
        {"q": "路灯", "status": "open"},
        "text LIKE ? AND status IN (?, ?, ?, ?)",
        ("%路灯%", *OPEN),
    ),
    # A two-character word no item holds: the naive scan reads every text; the desk reads
    # one window (storage.desk.SCAN_WINDOW) and offers to read on.
    ("search 2 chars, rare", {"q": "鲸鱼"}, "text LIKE ?", ("%鲸鱼%",)),
]


def add_deadlines(path: Path) -> None:
    """Items being handled get a deadline 15 days after they came in (the fill has none)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE submissions SET deadline = strftime('%Y-%m-%dT%H:%M:%f000+00:00',"
            " created_at, '+15 days') WHERE deadline IS NULL AND status IN"
            " ('accepted', 'forwarded', 'in_progress', 'answered')"
        )


def add_units(path: Path) -> None:
    """Items in the units' loop belong to a unit (the fill leaves them none); a dispatched
    one had two days to be signed for."""
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE submissions SET unit_id = 'u' || (id % 10) WHERE status IN {LOOP!r}")
        db.execute(
            "UPDATE submissions SET sign_due = strftime('%Y-%m-%dT%H:%M:%f000+00:00',"
            " created_at, '+2 days') WHERE status = 'dispatched'"
        )


def naive(path: Path, where: str, params: tuple[object, ...], offset: int) -> float:
    """The plain way: the filter as SQL, OFFSET paging and an exact count."""
    started = time.perf_counter()
    with sqlite3.connect(path) as db:
        db.execute(
            "SELECT id, kind, topic_id, status, created_at, deadline, anonymous,"
            f" substr(text, 1, 160) FROM submissions WHERE {where}"
            " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, PAGE, offset),
        ).fetchall()
        db.execute(f"SELECT COUNT(*) FROM submissions WHERE {where}", params).fetchone()
    return time.perf_counter() - started


async def _get(client: TestClient[Any, Any], url: str) -> tuple[float, str]:
    started = time.perf_counter()
    async with client.get(url) as response:
        html = await response.text()
        assert response.status == 200, html[:300]
    return time.perf_counter() - started, html


def _deep_cursor(path: Path, query: dict[str, str], where: str, params: tuple[object, ...]) -> str:
    """The cursor the desk's "next" link carries after DEEP items (set-up, not timed)."""
    deadline_sort = query.get("overdue") == "1"
    column = "deadline" if deadline_sort else "created_at"
    order = "ASC" if deadline_sort else "DESC"
    with sqlite3.connect(path) as db:
        row = db.execute(
            f"SELECT id, {column} FROM submissions WHERE {where}"
            f" ORDER BY {column} {order}, id {order} LIMIT 1 OFFSET ?",
            (*params, DEEP - 1),
        ).fetchone()
    return "" if row is None else f"a{row[0]}~{row[1]}"


async def queue(path: Path, repeats: int) -> list[dict[str, Any]]:
    """Median seconds per case: the desk's page 1 and deep page, the naive ones."""
    add_deadlines(path)
    add_units(path)
    settings = store.bench_settings(
        storage={"path": str(path)},
        roles={"admin_ids": [ADMIN]},
        web={"enabled": True, "port": 0},
        units=UNITS,
    )
    repository = Repository(path, clock=lambda: NOW)
    await repository.connect()
    desk = Desk(
        settings=settings,
        repository=repository,
        secrets=Secrets.generate(),
        bot=Bot("123456:BENCH-NOT-USED"),
        clock=lambda: NOW,
    )
    token = new_token()
    await repository.create_web_session(
        token_hash(token),
        user_id=ADMIN,
        language="zh-Hans",
        csrf=new_csrf(),
        via="link",
        expires_at=NOW + timedelta(hours=8),
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(desk)))
    await client.start_server()
    client.session.cookie_jar.update_cookies({COOKIE: token})
    results = []
    try:
        for name, query, where, params in CASES:
            cursor = _deep_cursor(path, query, where, params)
            timings: dict[str, list[float]] = {
                "page": [],
                "deep": [],
                "naive": [],
                "naive_deep": [],
            }
            for _ in range(repeats):
                seconds, _ = await _get(client, "/queue?" + urlencode(query))
                timings["page"].append(seconds)
                if cursor:
                    deep = urlencode({**query, "page": cursor})
                    timings["deep"].append((await _get(client, "/queue?" + deep))[0])
                timings["naive"].append(naive(path, where, params, 0))
                if cursor:
                    timings["naive_deep"].append(naive(path, where, params, DEEP))
            results.append(
                {
                    "case": name,
                    **{k: statistics.median(v) if v else 0.0 for k, v in timings.items()},
                }
            )
    finally:
        await client.close()
        await repository.close()
    return results


def print_table(size: int, rows: list[dict[str, Any]]) -> float:
    """The table, and the ratio (geometric mean of naive/desk over every case and depth)."""
    print(f"web desk queue page (GET /queue, 50 rows, rendered) at {size} items, seconds;")
    print(f"deep = {DEEP:,} items in (the desk by keyset cursor, the baseline by OFFSET)")
    print("  case                       desk     naive   desk deep  naive deep")
    ratios = []
    for row in rows:
        print(
            f"  {row['case']:22} {row['page']:9.4f} {row['naive']:9.4f}"
            f" {row['deep']:11.4f} {row['naive_deep']:11.4f}"
        )
        ratios.append(row["naive"] / row["page"])
        if row["deep"]:
            ratios.append(row["naive_deep"] / row["deep"])
    return statistics.geometric_mean(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.desk", description=__doc__)
    parser.add_argument("size", nargs="?", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="a filled store to copy instead of filling")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "desk.sqlite3"
        if args.store is not None:
            shutil.copyfile(args.store, path)
        else:
            asyncio.run(_schema(path))
            store.fill(path, args.size)
        with sqlite3.connect(path) as db:
            size = int(db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])
        rows = asyncio.run(queue(path, args.repeats))
    ratio = print_table(size, rows)
    print(f"desk_queue_{size} ratio {ratio:.3f}")


async def _schema(path: Path) -> None:
    repository = Repository(path)
    await repository.connect()
    await repository.close()


if __name__ == "__main__":
    main()
