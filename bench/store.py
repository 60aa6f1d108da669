"""Tagging speed, and the store at scale: queue counts, one page of a status (and of a
town's places), search, size.

The store is filled directly with SQLite (fast), then queried through the repository the
bot uses, next to a naive scan of every row done in Python as the baseline.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import memory
from bot.anonymity import Secrets
from bot.config import Settings, load_settings
from bot.core.workflow import Status
from bot.tagging import Tagger, normalise
from storage.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
# (publishing lasts the seconds until a channel post is out: none in a filled store)
STATUSES = [s.value for s in Status if s is not Status.PUBLISHING]


def labelled_texts() -> list[str]:
    with (ROOT / "tests" / "data" / "labelled_messages.csv").open(encoding="utf-8") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def tagging(messages: int, repeats: int) -> dict[str, float]:
    """Messages per second through the tagger, next to OpenCC conversion alone (the part
    no keyword matcher can avoid), in CPU time of this process: on a shared machine,
    wall-clock time also counts the time spent waiting for a core."""
    settings = load_settings(ROOT / "config.example.toml")
    tagger = Tagger(settings.topics)
    texts = labelled_texts()
    sample = [texts[i % len(texts)] for i in range(messages)]
    rates: dict[str, list[float]] = {"tagger": [], "opencc": []}
    for _ in range(repeats):
        started = time.process_time()
        for text in sample:
            tagger.tag(text)
        rates["tagger"].append(messages / (time.process_time() - started))
        started = time.process_time()
        for text in sample:
            normalise(text)
        rates["opencc"].append(messages / (time.process_time() - started))
    return {k: statistics.median(v) for k, v in rates.items()}


BENCH_RESIDENT = 4242  # the resident whose /my is timed: one anonymous item in 20 is theirs
# A county's places (#20): 10 towns of 20 villages each; four in five items name one.
TOWNS, VILLAGES = 10, 20
PLACES: list[dict[str, Any]] = [
    {"id": f"town{t}", "names": {"zh-Hans": f"{t}号镇"}} for t in range(TOWNS)
] + [
    {"id": f"v{t}_{v}", "names": {"zh-Hans": f"{t}镇{v}村"}, "parent": f"town{t}"}
    for t in range(TOWNS)
    for v in range(VILLAGES)
]
BENCH_TOWN = "town3"  # the town whose page /queue new <town> is timed (its villages' items)
# The campaign's phases over the 120 days the fill spans (UTC days; a few days outside).
PHASES: list[dict[str, Any]] = [
    {"id": pid, "names": {"zh-Hans": name}, "start": start, "end": end}
    for pid, name, start, end in (
        ("mobilise", "动员部署", "2026-08-01", "2026-08-20"),
        ("study", "学习调研", "2026-08-21", "2026-09-30"),
        ("checking", "查摆问题", "2026-10-01", "2026-10-31"),
        ("rectify", "整改落实", "2026-11-05", "2026-11-30"),
    )
]


def bench_settings(**overrides: Any) -> Settings:
    """The example configuration with the bench's places and phases."""
    return load_settings(
        ROOT / "config.example.toml",
        overrides={"places": PLACES, "campaign": {"phases": PHASES}, **overrides},
    )


def _phase_of(created: str) -> str | None:
    day = created[:10]
    return next((p["id"] for p in PHASES if p["start"] <= day <= p["end"]), None)


def fill(path: Path, count: int, *, secrets: Secrets | None = None, seed: int = 7) -> None:
    """``count`` realistic items over the last 120 days (a tenth anonymous, each with its
    own ownership tag, as the bot stores them; one in 20 of those is BENCH_RESIDENT's under
    ``secrets``, new keys if none are given), four in five of a place (:data:`PLACES`), each
    with the phase of its day."""
    secrets = secrets or Secrets.generate()
    rng = random.Random(seed)
    # (its own sequence: the other columns are what they were before items had places)
    where = random.Random(seed + 1)
    place_ids = [p["id"] for p in PLACES]
    route = secrets.encrypt_int(BENCH_RESIDENT)
    texts = labelled_texts()
    topics = [t.id for t in load_settings(ROOT / "config.example.toml").topics]
    start = datetime(2026, 8, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        created = (start + timedelta(seconds=i * 10_368_000 // max(count, 1))).isoformat()
        anonymous = rng.random() < 0.1
        rows.append(
            (
                rng.choice(("suggestion", "problem")),
                rng.choice(texts) + f" ({i})",
                rng.choice(topics),
                "[]",
                int(anonymous),
                None
                if not anonymous
                else secrets.own_tag(BENCH_RESIDENT, i + 1)
                if rng.random() < 0.05
                else rng.randbytes(16).hex(),
                route if anonymous else None,
                None if anonymous else 10_000 + i,
                None if anonymous else 10_000 + i,
                None if anonymous else "居民",
                rng.choices(STATUSES, weights=(5, 20, 3, 2, 10, 20, 15, 5, 20))[0],
                created,
                where.choice(place_ids) if where.random() < 0.8 else None,
                _phase_of(created),
            )
        )
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, owner_tag, reply_route, sender_user_id, sender_chat_id, sender_name,"
            " language, status, created_at, updated_at, place_id, phase_id)"
            " VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'zh-Hans', ?11, ?12, ?12,"
            " ?13, ?14)",
            rows,
        )


async def filled(path: Path, count: int) -> Secrets:
    """A new database at ``path`` with the bot's schema and ``count`` items (:func:`fill`);
    returns the anonymity keys they were stored with."""
    secrets = Secrets.generate()
    repo = Repository(path, secrets=secrets)
    await repo.connect()  # schema
    await repo.close()
    fill(path, count, secrets=secrets)
    return secrets


def _naive_counts(path: Path) -> Counter[str]:
    with sqlite3.connect(path) as db:
        return Counter(row[0] for row in db.execute("SELECT status FROM submissions"))


def _naive_report(path: Path) -> Counter[tuple[str, str, str]]:
    """The baseline for digest and statistics: every row into Python, counted there."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT kind, status, topic_id, created_at FROM submissions")
        return Counter((kind, status, topic) for kind, status, topic, _ in rows)


async def scale(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "scale.sqlite3"
            secrets = await filled(path, size)
            empty_size = path.stat().st_size
            repo = Repository(path, secrets=secrets)
            await repo.connect()
            timings: dict[str, list[float]] = {
                "counts": [],
                "page": [],
                "place_page": [],
                "search": [],
                "my": [],
                "naive": [],
                "digest": [],
                "stats": [],
                "stats_all": [],
                "naive_report": [],
            }
            until = datetime(2026, 12, 1, tzinfo=UTC)
            town = bench_settings().place_index.subtree(BENCH_TOWN)
            for _ in range(repeats):
                started = time.perf_counter()
                await repo.status_counts()
                timings["counts"].append(time.perf_counter() - started)
                started = time.perf_counter()
                await repo.list_items(status=Status.NEW, limit=20)
                timings["page"].append(time.perf_counter() - started)
                started = time.perf_counter()  # /queue new 3号镇: the town and its villages
                await repo.list_items(status=Status.NEW, place_ids=town, limit=20)
                timings["place_page"].append(time.perf_counter() - started)
                started = time.perf_counter()
                await repo.search(["红绿灯"], limit=20)
                timings["search"].append(time.perf_counter() - started)
                repo._own.clear()  # the first /my of a resident: every linked tag checked
                started = time.perf_counter()
                await repo.list_own(user_id=BENCH_RESIDENT, limit=10)
                timings["my"].append(time.perf_counter() - started)
                started = time.perf_counter()
                _naive_counts(path)
                timings["naive"].append(time.perf_counter() - started)
                started = time.perf_counter()
                await repo.digest_data(since=until - timedelta(days=1), until=until)
                timings["digest"].append(time.perf_counter() - started)
                started = time.perf_counter()
                await repo.stats(start=until - timedelta(days=30), end=until)  # /stats default
                timings["stats"].append(time.perf_counter() - started)
                started = time.perf_counter()
                await repo.stats(start=until - timedelta(days=365), end=until)
                timings["stats_all"].append(time.perf_counter() - started)
                started = time.perf_counter()
                _naive_report(path)
                timings["naive_report"].append(time.perf_counter() - started)
            await repo.checkpoint()
            await repo.close()
            rss, peak = await memory.bot_rss(path, Path(tmp) / "keys.json", secrets)
            from bench import desk  # imports this module

            desk_rows = await desk.queue(path, repeats)
            results.append(
                {
                    "desk": desk_rows,
                    "size": float(size),
                    **{k: statistics.median(v) for k, v in timings.items()},
                    "kb_per_1000": path.stat().st_size / 1024 / size * 1000 if size else 0.0,
                    "db_mb": max(path.stat().st_size, empty_size) / 1024 / 1024,
                    "rss_mb": rss,
                    "peak_mb": peak,
                }
            )
    return results
