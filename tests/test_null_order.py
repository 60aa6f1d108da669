"""NULL's place in a sort is the same on both backends (#24): SQLite sorts NULL first
ascending, PostgreSQL last. Every ``ORDER BY`` in ``storage/`` on a column that may be NULL
says where NULL goes (``x IS NULL, x`` or ``NULLS FIRST/LAST``, which SQLite has read since
3.30), or its statement keeps NULL out (``x IS NOT NULL``, or a comparison that is never
true of NULL); a sort whose column the code chooses is named here with why it is safe.
That a list keeps its order on both is test_figures' (a unit's open items, some undated)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from storage.repository import Repository
from tests.test_storage import SECRETS

STORAGE = Path(__file__).resolve().parent.parent / "storage"
WINDOW = 10  # lines of a statement before its ORDER BY
# Sorts whose column is chosen by code (an f-string), and why NULL cannot reorder them.
CHOSEN = {
    "desk.py": "deadline or created_at: a deadline sort lists only items with one"
    " (deadline IS NOT NULL, storage/desk.py's clauses); created_at is NOT NULL",
    "keycheck.py": "SQLite's file only (the key check reads it with sqlite3), by rowid",
    "office.py": "support DESC, id or id: both NOT NULL",
}
_ORDER = re.compile(r"ORDER BY (.*?)(?:\bLIMIT\b|\bOFFSET\b|\)|\"|$)")
_START = re.compile(r'f?"(?:SELECT|WITH|UPDATE|DELETE)\b')
_TABLES = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.I)


@pytest.fixture(scope="module")
def nullable(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Each table's columns that may hold NULL (SQLite's schema, PostgreSQL's being the
    same: test_pg_schema)."""
    import asyncio

    path = tmp_path_factory.mktemp("schema") / "schema.sqlite3"

    async def create() -> None:
        repository = Repository(path, secrets=SECRETS)
        await repository.connect()
        await repository.close()

    asyncio.run(create())
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: {str(c[1]) for c in db.execute(f'PRAGMA table_info("{t}")') if not c[3] and not c[5]}
            for t in tables
        }


def sorts() -> list[tuple[str, int, str, str]]:
    """(file, line, the ORDER BY's terms, its statement's text before it) in storage/."""
    found = []
    for path in sorted(STORAGE.glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            for match in _ORDER.finditer(line):
                before = "\n".join(lines[max(0, number - WINDOW) : number]) + line[: match.start()]
                starts = [m.start() for m in _START.finditer(before)]  # the statement's own
                found.append(
                    (path.name, number + 1, match[1].strip(), before[max(starts, default=0) :])
                )
    return found


def test_every_sort_on_a_nullable_column_places_null_the_same_on_both(
    nullable: dict[str, set[str]],
) -> None:
    unguarded, reviewed = [], []
    for file, line, terms, statement in sorts():
        if "{" in terms:
            assert file in CHOSEN, f"{file}:{line}: ORDER BY {terms}: a chosen column, not named"
            continue
        aliases: dict[str, str] = {}
        for table, alias in _TABLES.findall(statement):
            aliases[table] = table
            if alias and alias.upper() not in ("WHERE", "SET", "VALUES", "GROUP", "ORDER"):
                aliases[alias] = table
        tables = {t for t in aliases.values() if t in nullable}
        for term in (t.strip() for t in terms.split(",")):
            words = term.split()
            column = words[0] if words else ""
            if re.search(r"\bNULLS (FIRST|LAST)\b", term, re.I) or "IS NULL" in term.upper():
                continue
            owner, _, name = column.rpartition(".")
            where = {aliases[owner]} if owner in aliases else tables
            if not any(name in nullable.get(t, set()) for t in where):
                continue  # NOT NULL, or computed
            reviewed.append(f"{file} {column}")
            guard = rf"\b{re.escape(name)}\s*(IS NOT NULL|IS NULL,|<=?|>=?|=)"
            if not re.search(guard, f"{statement} {terms}"):
                unguarded.append(f"{file}:{line}: ORDER BY {terms}")
    assert unguarded == []
    # The nullable sort keys today, each kept the same on both (a new one is reviewed here):
    assert sorted(reviewed) == [
        "loop.py deadline",  # a unit's open items: ORDER BY deadline IS NULL, deadline, id
        "ratings.py responded_at",  # unrated answers: responded_at < ? keeps NULL out
        "reports.py deadline",  # the digest's overdue items: deadline IS NOT NULL
    ]
