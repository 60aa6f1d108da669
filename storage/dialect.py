"""The SQL dialect layer: the repository's SQLite statements as PostgreSQL runs them.

The repository keeps one set of explicit SQL, written for SQLite (README, "Storage
backends"). The few places where PostgreSQL spells a thing differently are rewritten here,
once per distinct statement (cached), by fixed rules that the storage tests exercise on
both databases:

- ``?`` placeholders become ``%s`` (psycopg), outside quoted literals; a literal ``%`` is
  doubled;
- ``BEGIN IMMEDIATE`` is ``BEGIN`` and a transaction-level advisory lock, ``WRITER_LOCK``:
  as on SQLite, one write transaction at a time, now across every worker sharing the
  database. Without it, two workers' group commits (several residents' submissions each)
  upserted the same daily-counter rows in different orders and PostgreSQL aborted one of
  them as a deadlock (seen with three workers in ``bench.workers``). Reads never wait for
  it, and each write transaction is short (the group commit's batch);
- ``INSERT OR IGNORE`` is ``INSERT ... ON CONFLICT DO NOTHING``; ``INSERT OR REPLACE`` is an
  upsert on the table's primary key (``_PRIMARY_KEYS``);
- an ``INSERT`` into a table with an identity ``id`` returns it (``cursor.lastrowid``);
- SQLite's index hints (``INDEXED BY``, ``NOT INDEXED``) are dropped: PostgreSQL's planner
  chooses;
- ``rowid`` (the clamps' generic row address, used inside one transaction) is ``ctid``;
- ``a IS NOT b`` and ``a IS b`` (of values, not NULL) are ``IS [NOT] DISTINCT FROM``;
- ``LIKE`` is ``ILIKE``: SQLite's LIKE ignores ASCII case, and so does its FTS5 trigram
  search; the trigram clause (``text MATCH``) becomes an ``ILIKE`` that pg_trgm's GIN index
  answers (``fts_phrase_pattern`` in the baseline migration);
- SQLite's functions ``julianday``, ``date``, ``json_extract``, ``group_concat`` and
  ``char`` have stand-ins of the same meaning (the baseline migration defines them).
"""

from __future__ import annotations

import re
from functools import lru_cache

# The key of the one writer's advisory lock (any fixed number; "jdz" in ASCII).
WRITER_LOCK = 0x6A647A

# Tables whose ``id`` is an identity column (SQLite: INTEGER PRIMARY KEY, a rowid alias).
IDENTITY_TABLES = frozenset(
    {
        "attachments",
        "bulk_selections",
        "card_copies",
        "dead_letters",
        "events",
        "history",
        "labelled_examples",
        "outbox",
        "submissions",
        "unit_files",
    }
)
# Primary keys of the tables written with INSERT OR REPLACE.
_PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "languages": ("key",),
    "prompts": ("chat_id", "message_id"),
    "open_questions": ("submission_id",),
    "key_check": ("id",),
    "imports": ("content_hash",),
}

_FTS = re.compile(r"id IN \(SELECT rowid FROM submissions_fts WHERE text MATCH \?\)", re.IGNORECASE)
_INSERT = re.compile(
    r"^\s*INSERT\s+(?:OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE
)
_FUNCTIONS = (
    (re.compile(r"\bjulianday\(", re.IGNORECASE), "sqlite_julianday("),
    (re.compile(r"(?<![\w.])date\(", re.IGNORECASE), "sqlite_date("),
    (re.compile(r"\bjson_extract\(", re.IGNORECASE), "sqlite_json_extract("),
    (re.compile(r"\bgroup_concat\(", re.IGNORECASE), "string_agg("),
    (re.compile(r"\bchar\((\d+)\)", re.IGNORECASE), r"chr(\1)"),
    (re.compile(r"\bLIKE\b"), "ILIKE"),
    (re.compile(r"\browid\b"), "ctid"),
    (re.compile(r"\s+(?:NOT INDEXED|INDEXED BY \w+)", re.IGNORECASE), ""),
    (re.compile(r"\bIS NOT (?=[(?]|excluded\.)", re.IGNORECASE), "IS DISTINCT FROM "),
    (re.compile(r"\bIS (?=[(?]|excluded\.)", re.IGNORECASE), "IS NOT DISTINCT FROM "),
    (
        re.compile(r"^\s*BEGIN IMMEDIATE\s*$", re.IGNORECASE),
        f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})",
    ),
)


def _placeholders(sql: str) -> str:
    """``?`` → ``%s`` and ``%`` → ``%%`` outside quoted strings and identifiers."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
            out.append("%%" if char == "%" else char)
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=2048)
def to_postgresql(sql: str) -> str:
    """The PostgreSQL form of one of the repository's SQLite statements."""
    sql = _FTS.sub("text ILIKE fts_phrase_pattern(?) ESCAPE '\\'", sql)
    for pattern, replacement in _FUNCTIONS:
        sql = pattern.sub(replacement, sql)
    match = _INSERT.match(sql)
    if match:
        verb, table, columns = match[1], match[2], match[3]
        sql = re.sub(r"\s+OR\s+(IGNORE|REPLACE)\s+INTO", " INTO", sql, count=1, flags=re.I)
        body = sql.rstrip().rstrip(";")
        if verb and verb.upper() == "IGNORE":
            body += " ON CONFLICT DO NOTHING"
        elif verb and verb.upper() == "REPLACE":
            key = _PRIMARY_KEYS[table]
            names = [c.strip() for c in columns.split(",")]
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c not in key)
            body += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
        if table in IDENTITY_TABLES and not re.search(r"\bRETURNING\b", body, re.I):
            body += " RETURNING id"
        sql = body
    return _placeholders(sql)
