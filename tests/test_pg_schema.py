"""PostgreSQL's schema is SQLite's (#24): the same tables, columns (order, NOT NULL,
defaults), primary keys, indexes and triggers; Chinese search through pg_trgm gives
SQLite's answers and uses the trigram index; the dialect's rewriting rules."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest

from bot.anonymity import Namespace
from bot.config import Settings
from bot.startup import StartupError, prepare
from storage.copying import IDENTITY_COLUMNS
from storage.dialect import IDENTITY_TABLES, to_postgresql
from storage.migrations import available_migrations
from storage.pg import conninfo
from storage.repository import Repository
from tests.pg_cluster import Cluster
from tests.test_storage import SECRETS, clock, named, store

# SQLite's FTS5 table and its shadow tables: PostgreSQL has a GIN trigram index instead.
FTS = "submissions_fts"
# Indexes PostgreSQL has and SQLite has not, and why.
PG_ONLY_INDEXES = {"ix_submissions_text_trgm"}  # in place of submissions_fts
# SQLite's triggers that are PostgreSQL indexes (the FTS table's upkeep).
SQLITE_ONLY_TRIGGERS = {"submissions_fts_insert", "submissions_fts_update"}


def sqlite_schema(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as db:
        tables = [
            str(r[0])
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(r[0]).startswith(("sqlite_", FTS))
        ]
        columns = {
            t: [
                (str(c[1]), bool(c[3]) or bool(c[5]))
                for c in db.execute(f'PRAGMA table_info("{t}")')
            ]
            for t in tables
        }
        keys = {
            t: sorted(str(c[1]) for c in db.execute(f'PRAGMA table_info("{t}")') if c[5])
            for t in tables
        }
        indexes = {
            str(r[0])
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
        triggers = {
            str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
    return {"columns": columns, "keys": keys, "indexes": indexes, "triggers": triggers}


def postgresql_schema(url: str) -> dict[str, object]:
    with psycopg.connect(**conninfo(url)) as db:
        found = db.execute(
            "SELECT c.table_name, c.column_name, c.is_nullable = 'NO'"
            " FROM information_schema.columns c JOIN pg_tables t"
            " ON t.tablename = c.table_name AND t.schemaname = c.table_schema"
            " WHERE c.table_schema = current_schema() ORDER BY c.table_name, c.ordinal_position"
        ).fetchall()
        columns: dict[str, list[tuple[str, bool]]] = {}
        for table, column, not_null in found:
            columns.setdefault(table, []).append((column, bool(not_null)))
        keys: dict[str, list[str]] = {t: [] for t in columns}
        for table, column in db.execute(
            "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc"
            " JOIN information_schema.key_column_usage kcu"
            " ON kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name"
            " WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()"
        ):
            keys[table].append(column)
        indexes = {
            str(r[0])
            for r in db.execute(
                "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = current_schema()"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)"
            )
        }
        triggers = {
            str(r[0]) for r in db.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        }
    return {
        "columns": columns,
        "keys": {t: sorted(k) for t, k in keys.items()},
        "indexes": indexes,
        "triggers": triggers,
    }


async def test_postgresql_has_sqlites_schema(tmp_path: Path, pg_url: str) -> None:
    path = tmp_path / "schema.sqlite3"
    repository = Repository(path, secrets=SECRETS)
    await repository.connect()
    await repository.close()
    lite, pg = sqlite_schema(path), postgresql_schema(pg_url)
    assert pg["columns"] == lite["columns"]  # names, order, NOT NULL (or key)
    assert pg["keys"] == lite["keys"]
    assert pg["indexes"] - PG_ONLY_INDEXES == lite["indexes"]  # type: ignore[operator]
    assert pg["triggers"] == lite["triggers"] - SQLITE_ONLY_TRIGGERS  # type: ignore[operator]
    with psycopg.connect(**conninfo(pg_url)) as db:
        versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    with sqlite3.connect(path) as db:
        assert versions == [
            r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY 1")
        ]


def test_the_dialect_knows_every_identity_table(pg_url: str) -> None:
    """An INSERT into a table with an identity id gets ``RETURNING id`` (the id the code
    reads as ``cursor.lastrowid``) only when the dialect lists the table: 0033's
    bulk_selections was missing, and a clerk's 批量处理 failed on PostgreSQL."""
    with psycopg.connect(**conninfo(pg_url)) as db:
        found = {
            (str(r[0]), str(r[1]))
            for r in db.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_identity = 'YES'"
            )
        }
    assert {table for table, column in found if column == "id"} == IDENTITY_TABLES
    # An identity column of another name is not read back, but `jindianzi migrate` must
    # move its sequence past the copied rows (0037's drafts.seq).
    assert {(t, c) for t, c in found if c != "id"} == set(IDENTITY_COLUMNS.items())


@pytest.fixture(params=["sqlite", "postgresql"])
async def filled(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Repository]:
    target = (
        str(request.getfixturevalue("pg_url"))
        if request.param == "postgresql"
        else str(tmp_path / "search.sqlite3")
    )
    repository = Repository(target, clock=clock, secrets=SECRETS)
    await repository.connect()
    texts = [
        "东村路口需要红绿灯", "红绿灯坏了三天", "菜市场垃圾没人清运", "Street LAMP broken",
        "建议增设公交站", "公交车班次太少", "路灯不亮", "50%的路段没有灯", "under_score 测试",
    ]  # fmt: skip
    for i, text in enumerate(texts * 3):
        await store(repository, named(user_id=100 + i, text=text))
    try:
        yield repository
    finally:
        await repository.close()


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("红绿灯", 6),  # three characters: the trigram index
        ("绿灯", 6),  # two: a scan, as on SQLite
        ("灯", 12),
        ("lamp", 3),  # ASCII case ignored, as FTS5's trigram tokenizer does
        ("50%", 3),  # LIKE's wildcards are plain characters in a search
        ("under_", 3),
        ("公交 太少", 3),  # every term
        ("没有的词语", 0),
    ],
)
async def test_chinese_search_gives_the_same_answers_on_both(
    filled: Repository, query: str, count: int
) -> None:
    found = await filled.search(query.split(), limit=100)
    assert len(found) == count


async def test_three_character_terms_use_the_trigram_index(pg_url: str) -> None:
    with psycopg.connect(**conninfo(pg_url), autocommit=True) as db:
        # Under C.UTF-8, pg_trgm makes trigrams of Chinese (under C it would make none).
        assert db.execute("SELECT show_trgm('红绿灯')").fetchone()[0]  # type: ignore[index]
        db.execute(
            "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, owner_tag, language, created_at, updated_at)"
            " SELECT 'problem', '第' || g || '号意见', 'other', 'other', '[]', 1, 'x',"
            " 'zh-Hans', 't', 't' FROM generate_series(1, 5000) g"
        )
        db.execute("ANALYZE submissions")
        # (at this size a scan costs about the same; the index must be able to answer it)
        db.execute("SET enable_seqscan = off")
        sql = to_postgresql(
            "EXPLAIN SELECT id FROM submissions WHERE"
            " id IN (SELECT rowid FROM submissions_fts WHERE text MATCH ?)"
        )
        plan = "\n".join(r[0] for r in db.execute(sql.replace("%s", "'\"123号\"'")))
    assert "ix_submissions_text_trgm" in plan


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        ("SELECT * FROM t WHERE a = ? AND b LIKE '%x?'",
         "SELECT * FROM t WHERE a = %s AND b ILIKE '%%x?'"),
        ("INSERT OR IGNORE INTO digests (kind, period, sent_at) VALUES (?, ?, ?)",
         "INSERT INTO digests (kind, period, sent_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"),
        ("INSERT OR REPLACE INTO languages (key, language) VALUES (?, ?)",
         "INSERT INTO languages (key, language) VALUES (%s, %s)"
         " ON CONFLICT (key) DO UPDATE SET language = EXCLUDED.language"),
        ("INSERT INTO history (submission_id, at) VALUES (?, ?)",
         "INSERT INTO history (submission_id, at) VALUES (%s, %s) RETURNING id"),
        ("BEGIN IMMEDIATE", "BEGIN; SELECT pg_advisory_xact_lock(6972538)"),
        ("SELECT id FROM submissions INDEXED BY ix_submissions_created WHERE x IS ?",
         "SELECT id FROM submissions WHERE x IS NOT DISTINCT FROM %s"),
        ("SELECT group_concat(a, char(10)), julianday(b), date(c, ? || ' minutes')",
         "SELECT string_agg(a, chr(10)), sqlite_julianday(b), sqlite_date(c, %s || ' minutes')"),
    ],
)  # fmt: skip
def test_the_dialect_rewrites_sqlites_spellings(sqlite: str, postgresql: str) -> None:
    assert to_postgresql(sqlite) == postgresql


def test_the_start_up_sets_up_a_postgresql_database_and_refuses_a_c_locale(
    pg_cluster: Cluster, make_settings: Callable[..., Settings]
) -> None:
    """``jindianzi run``'s checks before the bot starts (bot/startup.py) on PostgreSQL: the
    server answers, the schema is created and the keys' check row written; a second start
    accepts the same keys; a database whose LC_CTYPE is C (no trigrams of Chinese) is
    refused with the reason."""
    settings = make_settings(storage={"url": pg_cluster.empty_database()})
    latest = available_migrations()[-1].version
    first = prepare(settings)
    assert not first.database.exists or first.database.schema_version == latest
    again = prepare(settings)
    assert again.database.exists and again.database.schema_version == latest
    assert again.secrets.tag(Namespace.DRAFT, 1) == first.secrets.tag(Namespace.DRAFT, 1)
    pg_cluster._admin("CREATE DATABASE jdz_c TEMPLATE template0 LC_CTYPE 'C' LC_COLLATE 'C'")
    c_locale = make_settings(storage={"url": pg_cluster.url("jdz_c")})
    with pytest.raises(StartupError, match="LC_CTYPE is C"):
        prepare(c_locale)
