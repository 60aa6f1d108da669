"""The units' indices (#19): the SQL counts against the definitions computed naively in
Python over random items (every combination of signed, late, done, reopened, rated in
several rounds, unrated last), the overall row, the composite score and the league table
of the weekly 通报 (the line, the fewest items to be ranked)."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import indices
from bot.core.indices import Counts
from storage.repository import Repository
from storage.rows import iso

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 15, tzinfo=UTC)
UNITS = ("cjb", "hbs", "nyz", "gone")


def random_items(seed: int, count: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    items: list[dict[str, object]] = []
    for i in range(count):
        dispatched = START + timedelta(hours=rng.randrange(-5 * 24, 25 * 24))
        sign_due = dispatched + timedelta(days=1)
        signed = None if rng.random() < 0.2 else dispatched + timedelta(hours=rng.randrange(48))
        deadline = dispatched + timedelta(days=rng.choice((3, 10, 15)))
        done = None
        if signed is not None and rng.random() < 0.6:
            done = signed + timedelta(days=rng.uniform(0.1, 20))
            if done > NOW:
                done = None
        if rng.random() < 0.05:  # an earlier round's approval: not done in this one
            done = dispatched - timedelta(days=1)
        ratings = [
            rng.choice(("satisfied", "basically", "unsatisfied", "unrated"))
            for _ in range(rng.randrange(0, 4))
        ]
        items.append(
            {
                "id": i + 1,
                "unit": rng.choice(UNITS) if rng.random() < 0.95 else None,
                "dispatched": dispatched if rng.random() < 0.97 else None,
                "sign_due": sign_due,
                "signed": signed,
                "deadline": deadline if rng.random() < 0.95 else None,
                "done": done,
                "reopen": rng.choice((0, 0, 0, 1, 2)),
                "ratings": ratings,
                "status": rng.choice(("dispatched", "signed", "answered", "closed")),
            }
        )
    return items


def store(path: Path, items: list[dict[str, object]]) -> None:
    def at(value: object) -> str | None:
        return iso(value) if isinstance(value, datetime) else None

    with sqlite3.connect(path) as db:
        for item in items:
            ratings = item["ratings"]
            assert isinstance(ratings, list)
            latest = ratings[-1] if ratings and ratings[-1] != "unrated" else None
            db.execute(
                "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, sender_user_id, sender_chat_id, sender_name, language, status,"
                " created_at, updated_at, unit_id, dispatched_at, sign_due, signed_at, deadline,"
                " done_at, reopen_count, rating, rating_round)"
                " VALUES (?, 'problem', 'x', 'other', 'other', '[]', 0, 1, 1, 'n', 'zh-Hans', ?,"
                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item["id"],
                    item["status"],
                    iso(START),
                    iso(START),
                    item["unit"],
                    at(item["dispatched"]),
                    at(item["sign_due"]),
                    at(item["signed"]),
                    at(item["deadline"]),
                    at(item["done"]),
                    item["reopen"],
                    latest,
                    len(ratings),
                ),
            )
            for n, rating in enumerate(ratings, start=1):
                db.execute(
                    "INSERT INTO ratings (submission_id, round, rating, rated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (item["id"], n, rating, iso(START)),
                )


def naive(items: list[dict[str, object]]) -> dict[str, Counts]:
    """The README's definitions, item by item."""
    found: dict[str, Counts] = {}
    for item in items:
        unit, dispatched = item["unit"], item["dispatched"]
        if not isinstance(unit, str) or not isinstance(dispatched, datetime):
            continue
        if not START <= dispatched < END:
            continue
        sign_due, signed = item["sign_due"], item["signed"]
        deadline, done_at = item["deadline"], item["done"]
        assert isinstance(sign_due, datetime)
        done = isinstance(done_at, datetime) and done_at >= dispatched
        ratings = [r for r in item["ratings"] if r != "unrated"]  # type: ignore[attr-defined]
        latest = ratings[-1] if ratings else None
        reopened = int(str(item["reopen"])) > 0
        one = Counts(
            items=1,
            sign_base=int(signed is not None or sign_due < NOW),
            signed_in_time=int(isinstance(signed, datetime) and signed <= sign_due),
            done=int(done),
            due_base=int(isinstance(deadline, datetime) and (done or deadline < NOW)),
            done_in_time=int(
                done
                and isinstance(deadline, datetime)
                and isinstance(done_at, datetime)
                and done_at <= deadline
            ),
            solved=int(done and not reopened),
            redone=int(done and reopened),
            done_days=(done_at - dispatched).total_seconds() / 86400
            if done and isinstance(done_at, datetime)
            else 0.0,
            rated=int(latest is not None),
            satisfied=int(latest in ("satisfied", "basically")),
        )
        found[unit] = found.get(unit, Counts()) + one
    return found


@pytest.fixture
async def repository(make_settings: Callable[..., Settings]) -> AsyncIterator[Repository]:
    settings = make_settings()
    repo = Repository(settings.storage.path, secrets=Secrets.generate())
    await repo.connect()
    try:
        yield repo
    finally:
        await repo.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_sql_counts_match_the_definitions(repository: Repository, seed: int) -> None:
    items = random_items(seed, 600)
    store(repository.path, items)
    got = await repository.unit_counts_in(start=START, end=END, now=NOW)
    expected = naive(items)
    assert set(got) == set(expected)
    for unit, counts in expected.items():
        assert _close(got[unit], counts), unit
    total = indices.overall(got)
    assert total.items == sum(c.items for c in expected.values())
    assert total.rate("on_time") == pytest.approx(
        sum(c.done_in_time for c in expected.values()) / sum(c.due_base for c in expected.values())
    )


def _close(a: Counts, b: Counts) -> bool:
    assert a.done_days == pytest.approx(b.done_days, abs=1e-4)
    assert a.__class__(**{**vars(a), "done_days": 0.0}) == b.__class__(
        **{**vars(b), "done_days": 0.0}
    )
    return True


def test_rates_with_nothing_to_count_are_none() -> None:
    assert Counts().rate("sign") is None and Counts().average_days is None
    assert indices.cells(Counts()) == ["0", "—", "—", "—", "—", "—", "—", "0"]


def test_the_league_ranks_units_with_enough_items_and_names_those_below_the_line(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    good = Counts(
        items=6,
        sign_base=6,
        signed_in_time=6,
        due_base=6,
        done_in_time=6,
        done=6,
        solved=6,
        rated=6,
        satisfied=6,
    )
    poor = Counts(
        items=5,
        sign_base=5,
        signed_in_time=2,
        due_base=5,
        done_in_time=2,
        done=5,
        solved=3,
        redone=2,
        rated=5,
        satisfied=3,
    )
    few = Counts(items=4, sign_base=4, due_base=4, done=4, rated=4)
    ranked = indices.league(settings, {"poor": poor, "good": good, "few": few})
    assert [(r.unit_id, r.below) for r in ranked] == [("good", False), ("poor", True)]
    # 0.4 × 2/5 + 0.3 × 3/5 + 0.2 × 2/5 + 0.1 × (1 − 2/5)
    assert ranked[1].score == pytest.approx(0.4 * 0.4 + 0.3 * 0.6 + 0.2 * 0.4 + 0.1 * 0.6)
    assert ranked[0].score == pytest.approx(1.0)
