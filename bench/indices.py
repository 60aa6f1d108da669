"""The units' indices and the reminder job (#19).

- indices: :meth:`storage.indices.IndexQueries.unit_counts_in` over a week, 30 days and
  every item, 30 units, vs the one pass over the items that counted them before the per-day
  counts of migration 0036, and vs the naive way: every row read into Python and counted
  there by the README's definitions;
- the write cost of the per-day counts' triggers: a loop step with and without them;
- the reminder job (:func:`bot.core.escalation.chase`) over open items held by units: its
  first run (the rungs reached are sent, 50 to a transaction) and a steady run (nothing
  new), vs reading every open item into Python.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.store import bench_settings, filled
from bot.core import escalation
from bot.core.env import Env
from bot.core.indices import Counts
from storage.repository import Repository

UNITS = 30
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Shanghai


def add_loop(path: Path, *, open_items: bool) -> None:
    """Every item dispatched to one of 30 units a day after it came in, with the loop's
    columns spread the way an office sees them (signed or not, done on time or late,
    reopened, rated); ``open_items``: all held by their unit instead, deadlines from a few
    days past to two months ahead of :data:`NOW`."""
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE submissions SET unit_id = 'u' || (id % ?),"
            " dispatched_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', created_at, '+1 day'),"
            " sign_due = strftime('%Y-%m-%dT%H:%M:%f000+00:00', created_at, '+2 days')",
            (UNITS,),
        )
        if open_items:
            db.execute(
                "UPDATE submissions SET status = CASE id % 3 WHEN 0 THEN 'dispatched'"
                " ELSE 'signed' END,"
                " signed_at = CASE id % 3 WHEN 0 THEN NULL ELSE sign_due END,"
                " dispatched_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', ?, '-1 day'),"
                " sign_due = strftime('%Y-%m-%dT%H:%M:%f000+00:00', ?, '+' || (id % 5) || ' days'),"
                " deadline = strftime('%Y-%m-%dT23:59:59.000000+00:00', ?,"
                " '+' || ((id % 64) - 3) || ' days')",
                (NOW.isoformat(), NOW.isoformat(), NOW.isoformat()),
            )
            return
        db.execute(
            "UPDATE submissions SET"
            " signed_at = CASE WHEN id % 7 = 0 THEN NULL WHEN id % 5 = 0"
            "  THEN strftime('%Y-%m-%dT%H:%M:%f000+00:00', sign_due, '+3 hours') ELSE sign_due END,"
            " deadline = strftime('%Y-%m-%dT%H:%M:%f000+00:00', dispatched_at, '+15 days'),"
            " done_at = CASE WHEN id % 3 = 0 THEN NULL ELSE"
            "  strftime('%Y-%m-%dT%H:%M:%f000+00:00', dispatched_at, '+' || (id % 20) || ' days')"
            "  END,"
            " reopen_count = CASE WHEN id % 11 = 0 THEN 1 ELSE 0 END,"
            " rating = CASE id % 4 WHEN 0 THEN 'satisfied' WHEN 1 THEN 'basically'"
            "  WHEN 2 THEN 'unsatisfied' ELSE NULL END,"
            " rating_round = CASE WHEN id % 4 = 3 THEN 0 ELSE 1 END"
        )
        # An extension approved after the deadline for one item in 13: judged by the first.
        db.execute(
            "UPDATE submissions SET judged_deadline = CASE WHEN id % 13 = 0"
            " THEN strftime('%Y-%m-%dT%H:%M:%f000+00:00', deadline, '-5 days') ELSE deadline END"
        )


def naive_indices(path: Path, now: str) -> dict[str, Counter[str]]:
    """Every row into Python, counted by the definitions."""
    found: dict[str, Counter[str]] = {}
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT unit_id, dispatched_at, sign_due, signed_at, judged_deadline, done_at,"
            " reopen_count, rating FROM submissions"
        )
        for unit, dispatched, sign_due, signed, deadline, done_at, reopened, rating in rows:
            if unit is None or dispatched is None:
                continue
            c = found.setdefault(unit, Counter())
            done = done_at is not None and done_at >= dispatched
            c["items"] += 1
            c["sign_base"] += sign_due is not None and (signed is not None or sign_due < now)
            c["signed_in_time"] += signed is not None and signed <= sign_due
            c["done"] += done
            c["due_base"] += deadline is not None and (done or deadline < now)
            c["done_in_time"] += done and deadline is not None and done_at <= deadline
            c["solved"] += done and not reopened
            c["rated"] += rating is not None
            c["satisfied"] += rating in ("satisfied", "basically")
    return found


def _median(run: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


PERIODS = {"week": 7, "30 days": 30, "all": None}


async def _median_async(run: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):  # the first run warms the cache
        began = time.perf_counter()
        await run()
        times.append(time.perf_counter() - began)
    return statistics.median(times[1:])


def _same(fast: dict[str, Counts], counted: dict[str, Counts]) -> None:
    assert set(fast) == set(counted)
    for unit, counts in counted.items():
        assert abs(fast[unit].done_days - counts.done_days) < 1e-3 * max(1.0, counts.done_days)
        assert replace(fast[unit], done_days=0.0) == replace(counts, done_days=0.0), unit


async def indices(sizes: list[int], repeats: int) -> list[dict[str, float]]:
    """Per size: :meth:`~storage.indices.IndexQueries.unit_counts_in` (whole days from the
    per-day counts, what depends on now from the items not yet due, part days from the
    items) for the weekly summary's week, /stats's default 30 days and every item; the same
    counted from the items in one pass (the query before the per-day counts, the
    baseline); and the naive count of every row in Python (the fill's items came in over
    the 120 days before :data:`NOW`). Both SQL ways must give the same counts."""
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "indices.sqlite3"
            secrets = await filled(path, size)
            add_loop(path, open_items=False)
            repo = Repository(path, secrets=secrets)
            await repo.connect()
            row: dict[str, float] = {"size": size}
            for name, days in PERIODS.items():
                start = NOW - timedelta(days=days) if days else datetime(2000, 1, 1, tzinfo=UTC)
                fast = partial(repo.unit_counts_in, start=start, end=NOW, now=NOW)
                one_pass = partial(repo.unit_counts_counted, start=start, end=NOW, now=NOW)
                counts = await fast()
                assert 0 < len(counts) <= UNITS
                _same(counts, await one_pass())
                row[name] = await _median_async(fast, repeats)
                row[f"{name} pass"] = await _median_async(one_pass, repeats)
            await repo.close()
            row["naive"] = _median(partial(naive_indices, path, NOW.isoformat()), repeats)
            results.append(row)
    return results


async def writes(size: int, steps: int, repeats: int) -> dict[str, float]:
    """The write cost of the per-day counts' triggers: seconds per loop step (a note that
    sets signed_at: one UPDATE of a dispatched item, its history row, one commit) over
    ``size`` open items held by units, with the triggers and on a copy without them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "writes.sqlite3"
        secrets = await filled(path, size)
        add_loop(path, open_items=True)
        plain = Path(tmp) / "plain.sqlite3"
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(plain)) as copy:
            source.backup(copy)  # (with what the write-ahead log holds)
        with sqlite3.connect(plain) as db:
            for kind in ("insert", "before_update", "update", "delete"):
                db.execute(f"DROP TRIGGER unit_days_{kind}")
        with sqlite3.connect(path) as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM submissions WHERE unit_id IS NOT NULL ORDER BY id LIMIT ?",
                    (steps * repeats,),
                )
            ]
        found: dict[str, list[float]] = {"with": [], "without": []}
        for n in range(repeats):
            for name, where in (("with", path), ("without", plain)):
                repo = Repository(where, clock=lambda: NOW, secrets=secrets)
                await repo.connect()
                began = time.perf_counter()
                for item in ids[n * steps : (n + 1) * steps]:
                    await repo.loop_step(
                        item, "note", actor="bench", note="进展", columns={"signed_at": NOW}
                    )
                found[name].append((time.perf_counter() - began) / steps)
                await repo.close()
        return {name: statistics.median(times) for name, times in found.items()}


async def reminders(size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reminders.sqlite3"
        secrets = await filled(path, size)
        add_loop(path, open_items=True)
        settings = bench_settings(
            storage={"path": str(path)},
            roles={"office_chat_id": -100123, "leading_group_chat_id": -100456},
            units=[
                {"id": f"u{i}", "names": {"zh-Hans": f"单位{i}"}, "chat_id": -2000 - i}
                for i in range(UNITS)
            ],
        )
        repo = Repository(path, clock=lambda: NOW, secrets=secrets)
        await repo.connect()
        env = Env(repo, settings, secrets)
        began = time.perf_counter()
        sent = await escalation.chase(env)
        first = time.perf_counter() - began
        began = time.perf_counter()
        again = await escalation.chase(env)
        steady = time.perf_counter() - began
        await repo.close()
        assert again == 0

        def naive() -> None:
            with sqlite3.connect(path) as db:
                list(db.execute("SELECT * FROM submissions WHERE unit_id IS NOT NULL"))

        return {
            "size": size,
            "sent": sent,
            "first": first,
            "steady": steady,
            "naive": _median(naive, 3),
            "per_rung": first / max(sent, 1),
        }
