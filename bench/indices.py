"""The units' indices and the reminder job (#19).

- indices: :meth:`storage.indices.IndexQueries.unit_counts_in` over a week, 30 days and
  every item, 30 units, vs the naive way: every row read into Python and counted there by
  the README's definitions;
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
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.store import bench_settings, filled
from bot.core import escalation
from bot.core.env import Env
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


async def indices(sizes: list[int], repeats: int) -> list[dict[str, float]]:
    """Per size: the SQL's time for the weekly summary's week, /stats's default 30 days and
    every item, and the naive count of every row (the fill's items came in over the 120
    days before :data:`NOW`)."""
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
                times = []
                for _ in range(repeats + 1):  # the first run warms the cache
                    began = time.perf_counter()
                    counts = await repo.unit_counts_in(start=start, end=NOW, now=NOW)
                    times.append(time.perf_counter() - began)
                assert 0 < len(counts) <= UNITS
                row[name] = statistics.median(times[1:])
            await repo.close()
            row["naive"] = _median(partial(naive_indices, path, NOW.isoformat()), repeats)
            results.append(row)
    return results


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
