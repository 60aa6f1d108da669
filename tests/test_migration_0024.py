"""Migrations 0024 and 0025 (#18) on a database the earlier version wrote (through 0023):
an item assigned to a free-text owner keeps it (no unit), an answered item keeps its
rating of round 1 (a second rating of that answer is refused as done), an answered
unrated item is still open to its first rating, and a 不满意 now keeps its reason."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.anonymity import Secrets
from bot.core.workflow import Status
from storage.migrations import available_migrations
from storage.repository import Repository

STAMP = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).isoformat()


def old_database(path: Path) -> None:
    """Every migration before 0024, and four items as the earlier version stored them."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for migration in available_migrations():
            if migration.version >= 24:
                continue
            db.executescript(migration.sql)
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                (migration.version, migration.name, STAMP),
            )
        for number, status, owner, response, rating in (
            (1, "in_progress", "城建办", None, None),
            (2, "answered", None, "已修好", "basically"),
            (3, "answered", None, "已处理", None),
            (4, "answered", None, "已回复", None),
        ):
            db.execute(
                "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id,"
                " evidence, anonymous, sender_user_id, sender_chat_id, language, status,"
                " created_at, updated_at, owner, deadline, response, responded_at, rating,"
                " rated_at) VALUES (?, 'problem', '路灯坏了', 'other', 'other', '[]', 0, 7, 7,"
                " 'zh-Hans', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    status,
                    STAMP,
                    STAMP,
                    owner,
                    STAMP if owner else None,
                    response,
                    STAMP if response else None,
                    rating,
                    STAMP if rating else None,
                ),
            )
            if response:  # as 0017 counts them: one answer, round 1
                db.execute("UPDATE submissions SET rating_round = 1 WHERE id = ?", (number,))
            if rating:
                db.execute(
                    "INSERT INTO ratings (submission_id, round, rating, rated_at)"
                    " VALUES (?, 1, ?, ?)",
                    (number, rating, STAMP),
                )


async def test_old_owners_and_ratings_survive_the_units_migrations(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old_database(path)
    repository = Repository(path, secrets=Secrets.generate())
    await repository.connect()
    try:
        owned = await repository.get_submission(1)
        assert owned is not None and owned.owner == "城建办" and owned.unit_id is None
        assert owned.reopen_count == 0 and owned.status is Status.IN_PROGRESS
        rated = await repository.get_submission(2)
        assert rated is not None and rated.rating == "basically" and rated.rating_round == 1
        [first] = await repository.rating_rounds(2)
        assert (first.round, first.rating) == (1, "basically")
        again = await repository.rate(2, "unsatisfied", round_=1, reason="slow")
        assert (again.outcome, again.rating) == ("already", "basically")
        assert (await repository.rate(3, "satisfied", round_=1)).outcome == "rated"
        assert [r.rating for r in await repository.rating_rounds(3)] == ["satisfied"]
        assert (await repository.rate(4, "unsatisfied", round_=1, reason="slow")).outcome == (
            "rated"
        )
        [unsatisfied] = await repository.rating_rounds(4)
        assert (unsatisfied.rating, unsatisfied.reason) == ("unsatisfied", "slow")
    finally:
        await repository.close()
