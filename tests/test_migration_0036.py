"""Migration 0036 (#19) on a database the earlier version wrote (through 0033), on both
backends: each dispatched item's judged deadline (the one 按时办结率 judges it by) is filled
from its history: the deadline, unless an extension was approved after the deadline then
in force, which leaves it at that deadline; a 重办 round's first deadline is not in its
history, so its first approval counts as timely; an earlier round's approval is not this
round's."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.anonymity import Secrets
from storage.migrations import available_migrations, postgresql_migrations
from storage.pg import conninfo
from storage.repository import Repository
from tests.pg_cluster import Cluster

STAMP = "2026-10-01T00:00:00.000000+00:00"
NOV = "2026-11-{:02d}T{}.000000+00:00"
DISPATCHED = NOV.format(2, "01:00:00")


def end_of(day: int) -> str:  # the end of a Shanghai day, in UTC
    return NOV.format(day, "15:59:59")


# id: (the deadline now, history rows: (at, step, note)), and the judged deadline expected
ITEMS: dict[int, tuple[str, list[tuple[str, str, str]], str]] = {
    # no extension
    1: (end_of(9), [(DISPATCHED, "dispatch", "环保所 → 2026-11-09")], end_of(9)),
    # approved before the deadline
    2: (
        end_of(20),
        [
            (DISPATCHED, "dispatch", "环保所 → 2026-11-09"),
            (NOV.format(5, "02:00:00"), "approve_extension", "2026-11-20"),
        ],
        end_of(20),
    ),
    # approved after it
    3: (
        end_of(30),
        [
            (DISPATCHED, "dispatch", "环保所 → 2026-11-09\n请核实"),
            (NOV.format(12, "02:00:00"), "approve_extension", "2026-11-30"),
        ],
        end_of(9),
    ),
    # in time, then late against the moved deadline
    4: (
        end_of(30),
        [
            (DISPATCHED, "dispatch", "环保所 → 2026-11-09"),
            (NOV.format(5, "02:00:00"), "approve_extension", "2026-11-20"),
            (NOV.format(25, "02:00:00"), "approve_extension", "2026-11-30"),
        ],
        end_of(20),
    ),
    # late, then another (stays at the first deadline)
    5: (
        end_of(30),
        [
            (DISPATCHED, "dispatch", "环保所 → 2026-11-09"),
            (NOV.format(10, "02:00:00"), "approve_extension", "2026-11-20"),
            (NOV.format(15, "02:00:00"), "approve_extension", "2026-11-30"),
        ],
        end_of(9),
    ),
    # a 重办 round: its first deadline is not in the history
    6: (
        end_of(30),
        [
            (NOV.format(1, "01:00:00"), "dispatch", "环保所 → 2026-11-01"),
            (DISPATCHED, "redo", "不满意"),
            (NOV.format(25, "02:00:00"), "approve_extension", "2026-11-30"),
        ],
        end_of(30),
    ),
    # an earlier round's late approval, then a new 派单 without one
    7: (
        end_of(9),
        [
            (NOV.format(1, "00:00:00"), "approve_extension", "2026-11-05"),
            (DISPATCHED, "dispatch", "环保所 → 2026-11-09"),
        ],
        end_of(9),
    ),
}


def _insert_rated(db: Any) -> None:
    """Item 8: rated 满意 in round 1, round 2 closed 未评价, its row's rating empty."""
    db.execute(
        "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
        " anonymous, sender_user_id, sender_chat_id, sender_name, language, status,"
        " created_at, updated_at, unit_id, dispatched_at, sign_due, deadline, done_at,"
        " rating_round) VALUES (8, 'problem', '路灯坏了', 'other', 'other', '[]', 0, 7, 7, 'n',"
        " 'zh-Hans', 'closed', ?, ?, 'hbs', ?, ?, ?, ?, 2)",
        (STAMP, STAMP, DISPATCHED, end_of(3), end_of(9), NOV.format(6, "02:00:00")),
    )
    for round_, rating in ((1, "satisfied"), (2, "unrated")):
        db.execute(
            "INSERT INTO ratings (submission_id, round, rating, rated_at) VALUES (8, ?, ?, ?)",
            (round_, rating, STAMP),
        )


def _insert(db: Any) -> None:
    for number, (deadline, history, _) in ITEMS.items():
        db.execute(
            "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, sender_user_id, sender_chat_id, sender_name, language, status,"
            " created_at, updated_at, unit_id, dispatched_at, sign_due, deadline)"
            " VALUES (?, 'problem', '路灯坏了', 'other', 'other', '[]', 0, 7, 7, 'n', 'zh-Hans',"
            " 'signed', ?, ?, 'hbs', ?, ?, ?)",
            (number, STAMP, STAMP, DISPATCHED, end_of(3), deadline),
        )
        for at, step, note in history:
            db.execute(
                "INSERT INTO history (submission_id, at, actor, from_status, to_status, note,"
                " step) VALUES (?, ?, 'admin:1', 'signed', 'signed', ?, ?)",
                (number, at, note, step),
            )
    _insert_rated(db)


@pytest.fixture
def old_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Every migration before 0036 and the items above; the database's path or URL."""
    if backend == "sqlite":
        path = tmp_path / "old.sqlite3"
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for migration in available_migrations():
                if migration.version < 36:
                    db.executescript(migration.sql)
                    db.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        (migration.version, migration.name, STAMP),
                    )
            _insert(db)
        yield str(path)
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    url = cluster.empty_database()
    names = {m.version: m.name for m in available_migrations()}
    with psycopg.connect(**conninfo(url), autocommit=True) as pg:
        first = 1
        for migration in postgresql_migrations():
            if migration.version >= 36:
                continue
            pg.execute(migration.sql.encode())
            for version in range(first, migration.version + 1):
                pg.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                    (version, names[version], STAMP),
                )
            first = migration.version + 1

        class Rewritten:
            @staticmethod
            def execute(sql: str, params: tuple[object, ...]) -> None:
                pg.execute(sql.replace("?", "%s").encode(), params)

        _insert(Rewritten)
    yield url


async def test_the_judged_deadline_is_filled_from_the_history(old_database: str) -> None:
    repository = Repository(old_database, secrets=Secrets.generate())
    await repository.connect()
    try:
        for number, (deadline, _, judged) in ITEMS.items():
            item = await repository.get_submission(number)
            assert item is not None and item.deadline is not None
            assert item.judged_deadline is not None, number
            assert item.judged_deadline.isoformat(timespec="microseconds") == judged, number
            assert item.deadline.isoformat(timespec="microseconds") == deadline
        rated = await repository.get_submission(8)
        assert rated is not None and rated.rating == "satisfied"
        # The per-day counts are filled: the whole days give what the items give.
        start, end, now = (datetime(2026, 11, d, tzinfo=UTC) for d in (1, 3, 20))
        fast = await repository.unit_counts_in(start=start, end=end, now=now)
        counted = (await repository.unit_counts_counted(start=start, end=end, now=now))["hbs"]
        hbs = fast["hbs"]
        assert hbs.done_days == pytest.approx(counted.done_days, abs=1e-6)
        assert replace(hbs, done_days=0.0) == replace(counted, done_days=0.0)
        assert hbs.items == 8 and hbs.rated == hbs.satisfied == 1
        # Judged past by the 20th: 1, 3, 5 and 7 (late), and 8, done in time.
        assert hbs.due_base == 5 and hbs.done_in_time == 1
    finally:
        await repository.close()
