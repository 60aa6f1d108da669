"""Migration 0021 (#20): the submissions table rebuilt so that the office can enter items
without a Telegram sender. Every row, id, counter, column, index, trigger and reference of
the table as 0001-0020 leave it survives; the new CHECK admits entered items and still
refuses what it refused before."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bot.anonymity import Secrets
from storage.migrations import available_migrations
from storage.repository import Repository

STAMP = "2026-11-02T01:00:00+00:00"
REBUILD = 21  # the migration that rebuilds the table


def database_at_0020(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for migration in available_migrations():
            if migration.version > REBUILD - 1:
                continue
            db.executescript(migration.sql)
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                (migration.version, migration.name, STAMP),
            )
        insert = (
            "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, owner_tag, reply_route, sender_user_id, sender_chat_id, sender_name,"
            " language, status, created_at, updated_at, place_id, duplicate_of)"
            " VALUES ('problem', ?, 'other', 'other', '[]', ?, ?, ?, ?, ?, ?, 'zh-Hans', 'new',"
            " ?, ?, ?, ?)"
        )
        db.execute(
            insert,
            (
                "建议在幸福路口增设红绿灯",
                0,
                None,
                None,
                42,
                42,
                "李 秀英",
                STAMP,
                STAMP,
                "dongcun",
                None,
            ),
        )
        db.execute(
            insert,
            (
                "匿名反映：村委会账目不公开",
                1,
                "tag",
                "route",
                None,
                None,
                None,
                STAMP,
                STAMP,
                None,
                1,
            ),
        )
        for number in (1, 2):
            db.execute(
                "INSERT INTO history (submission_id, at, actor, to_status)"
                " VALUES (?, ?, 'sender', 'new')",
                (number, STAMP),
            )
        db.execute(
            "INSERT INTO attachments (submission_id, position, type, file_id)"
            " VALUES (1, 0, 'photo', 'PHOTO1')"
        )
        # What 0017 and 0020 keep about items: two answers (rating rounds), each rated, and
        # an open question.
        db.execute(
            "UPDATE submissions SET response = '已安排', responded_at = ?, rating_round = 2,"
            " rating = 'basically', rated_at = ? WHERE id = 1",
            (STAMP, STAMP),
        )
        db.executemany(
            "INSERT INTO ratings (submission_id, round, rating, rated_at) VALUES (1, ?, ?, ?)",
            [(1, "unsatisfied", STAMP), (2, "basically", STAMP)],
        )
        db.execute("INSERT INTO open_questions VALUES (2, 'new', ?, ?)", (STAMP, STAMP))
        # An item was once given #9 and later removed: its number is never given again.
        db.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'submissions'")


def schema_of(db: sqlite3.Connection) -> set[tuple[str, str]]:
    return {
        (r[0], r[1])
        for r in db.execute(
            "SELECT type, name FROM sqlite_master WHERE tbl_name = 'submissions'"
            " AND type IN ('index', 'trigger')"
        )
    }


def _sql(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def table_shape(db: sqlite3.Connection) -> tuple[list[tuple[object, ...]], dict[str, str]]:
    """The table's columns in order (name, type, not null, default, primary key), its
    foreign keys, and its indexes and triggers by name with their SQL (spacing aside)."""
    columns = [tuple(r[1:]) for r in db.execute("PRAGMA table_xinfo(submissions)")]
    columns += [("fk", *r[2:5]) for r in db.execute("PRAGMA foreign_key_list(submissions)")]
    others = {
        f"{r[0]} {r[1]}": _sql(r[2])
        for r in db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'submissions'"
            " AND type IN ('index', 'trigger')"
        )
    }
    return columns, others


def test_the_rebuild_keeps_every_column_index_and_trigger_of_0020(tmp_path: Path) -> None:
    """Against the schema as 0001-0020 leave it: a rebuild that forgot a column (0017's
    rating_round), an index, or a trigger's latest body (0018's daily_counts_update, which
    also fires on created_at) fails here."""
    path = tmp_path / "shape.sqlite3"
    database_at_0020(path)
    (rebuild,) = [m for m in available_migrations() if m.version == REBUILD]
    assert rebuild.foreign_keys_off
    with sqlite3.connect(path) as db:
        columns_before, others_before = table_shape(db)
        db.execute("PRAGMA foreign_keys = OFF")
        db.executescript(f"BEGIN;\n{rebuild.sql}\nCOMMIT;")
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        columns_after, others_after = table_shape(db)
    names = [c[0] for c in columns_before]
    assert "rating_round" in names and "place_id" in names
    added = [
        ("source", "TEXT", 1, "'chat'", 0, 0),
        ("contact_name", "TEXT", 0, None, 0, 0),
        ("contact_phone", "TEXT", 0, None, 0, 0),
    ]
    plain = [c for c in columns_before if c[0] != "fk"]
    assert [c for c in columns_after if c[0] != "fk"] == plain + added
    assert [c for c in columns_after if c[0] == "fk"] == [c for c in columns_before if c[0] == "fk"]
    assert "created_at" in others_before["trigger daily_counts_update"]
    new_index = "index ix_submissions_source_created"
    assert {k: v for k, v in others_after.items() if k != new_index} == others_before
    assert new_index in others_after


async def test_rows_ids_counters_and_references_survive_the_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    database_at_0020(path)
    with sqlite3.connect(path) as db:
        before_rows = list(db.execute("SELECT * FROM submissions ORDER BY id"))
        before_schema = schema_of(db)
    repository = Repository(path, secrets=Secrets.generate())
    await repository.connect()
    try:
        assert [r[0] for r in await repository.db.execute_fetchall("PRAGMA foreign_keys")] == [1]
        first = await repository.get_submission(1)
        assert first is not None and first.sender is not None and first.source == "chat"
        assert first.attachments[0].file_id == "PHOTO1" and first.place_id == "dongcun"
        found = await repository.search(["红绿灯"])  # the full-text index still points at it
        assert [s.id for s in found] == [1]
    finally:
        await repository.close()
    with sqlite3.connect(path) as db:
        after_rows = list(db.execute("SELECT * FROM submissions ORDER BY id"))
        assert [row[: len(before_rows[0])] for row in after_rows] == before_rows
        added = len(before_rows[0])
        assert [row[added : added + 3] for row in after_rows] == [("chat", None, None)] * 2
        # (and what later migrations add)
        assert schema_of(db) >= before_schema | {("index", "ix_submissions_source_created")}
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'submissions'"
        ).fetchone() == (9,)
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name LIKE '%0021%'").fetchall()


def test_the_new_check_admits_entered_items_and_refuses_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for migration in available_migrations():
            db.executescript(migration.sql)
        columns = (
            "kind, text, topic_id, suggested_topic_id, evidence, language, created_at,"
            " updated_at, anonymous, owner_tag, reply_route, sender_user_id, sender_chat_id,"
            " sender_name, source, contact_name, contact_phone"
        )

        def insert(*values: object) -> None:
            db.execute(
                f"INSERT INTO submissions ({columns}) VALUES ('problem', 'x', 'o', 'o', '[]',"
                " 'zh-Hans', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (STAMP, STAMP, *values),
            )

        # Admitted: entered named (a clerk's route), entered anonymous (nothing at all).
        insert(0, None, "clerk", None, None, None, "phone", "张三", "13800001111")
        insert(1, "random", None, None, None, None, "box", None, None)
        # And what was always admitted.
        insert(0, None, None, 42, 42, "李 秀英", "chat", None, None)
        insert(1, "tag", "route", None, None, None, "chat", None, None)
        refused = [
            (0, None, None, None, None, None, "chat", None, None),  # named, no sender
            (0, None, None, None, None, None, "phone", None, "138"),  # entered, no name
            (0, None, None, 42, 42, "李", "phone", "张三", None),  # entered with a sender
            (1, "t", None, None, None, None, "box", "张三", None),  # anonymous with a name
            (1, "t", None, None, None, None, "box", None, "138"),  # anonymous with a phone
            (1, "t", "route", None, None, None, "box", None, None),  # entered anon, a route
            (0, None, None, 42, 42, "李", "chat", "张三", None),  # a chat item with a contact
        ]
        for values in refused:
            with pytest.raises(sqlite3.IntegrityError):
                insert(*values)
