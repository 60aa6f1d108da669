"""The units' indices (#19): the SQL counts against the definitions computed naively in
Python over random items (every combination of signed, late, done, reopened, rated in
several rounds, unrated last), the overall row, the composite score and the league table
of the weekly 通报 (the line, the fewest items to be ranked)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import indices, loop, reviewing, submitting
from bot.core.access import Place, identify
from bot.core.env import Env
from bot.core.indices import Counts
from bot.core.records import Draft, Submission
from bot.core.workflow import Kind, Status
from storage.repository import Repository
from storage.rows import iso
from tests.conftest import FrozenClock
from tests.databases import both_backends, database

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
        judged = deadline  # the deadline 按时办结率 judges by
        if rng.random() < 0.3:  # an extension: approved in time it moves both, late only one
            deadline += timedelta(days=rng.choice((5, 20)))
            judged = deadline if rng.random() < 0.5 else judged
        done = None
        if signed is not None and rng.random() < 0.6:
            done = signed + timedelta(days=rng.uniform(0.1, 20))
            if done > NOW:
                done = None
        if rng.random() < 0.05:  # an earlier round's approval: not done in this one
            done = dispatched - timedelta(days=1)
        has_deadline = rng.random() < 0.95
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
                "deadline": deadline if has_deadline else None,
                "judged": judged if has_deadline else None,
                "done": done,
                "reopen": rng.choice((0, 0, 0, 1, 2)),
                "ratings": ratings,
                "status": rng.choice(("dispatched", "signed", "answered", "closed")),
            }
        )
    return items


def store(settings: Settings, items: list[dict[str, object]]) -> None:
    def at(value: object) -> str | None:
        return iso(value) if isinstance(value, datetime) else None

    with database(settings) as db:
        for item in items:
            ratings = item["ratings"]
            assert isinstance(ratings, list)
            latest = ratings[-1] if ratings and ratings[-1] != "unrated" else None
            db.execute(
                "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, sender_user_id, sender_chat_id, sender_name, language, status,"
                " created_at, updated_at, unit_id, dispatched_at, sign_due, signed_at, deadline,"
                " done_at, reopen_count, rating, rating_round, judged_deadline)"
                " VALUES (?, 'problem', 'x', 'other', 'other', '[]', 0, 1, 1, 'n', 'zh-Hans', ?,"
                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    at(item["judged"]),
                ),
            )
            for n, rating in enumerate(ratings, start=1):
                db.execute(
                    "INSERT INTO ratings (submission_id, round, rating, rated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (item["id"], n, rating, iso(START)),
                )


def naive(
    items: list[dict[str, object]], start: datetime = START, end: datetime = END
) -> dict[str, Counts]:
    """The README's definitions, item by item."""
    found: dict[str, Counts] = {}
    for item in items:
        unit, dispatched = item["unit"], item["dispatched"]
        if not isinstance(unit, str) or not isinstance(dispatched, datetime):
            continue
        if not start <= dispatched < end:
            continue
        sign_due, signed = item["sign_due"], item["signed"]
        deadline, done_at = item["judged"], item["done"]  # judged: see random_items
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


make_settings = both_backends()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def repository(settings: Settings) -> AsyncIterator[Repository]:
    repo = Repository(settings.storage.url or settings.storage.path, secrets=Secrets.generate())
    await repo.connect()
    try:
        yield repo
    finally:
        await repo.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_sql_counts_match_the_definitions(
    settings: Settings, repository: Repository, seed: int
) -> None:
    items = random_items(seed, 600)
    store(settings, items)
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


def changed(settings: Settings, items: list[dict[str, object]], seed: int) -> None:
    """Each step an item's row can take after it was stored, on about half of them, in the
    database and in ``items``: signed, done, a late extension, 重办 (a new round dispatched
    later, to another unit), a new rating round (re-rated or 未评价), moved back to the
    office (no unit), deleted."""
    rng = random.Random(seed * 7919)
    with database(settings) as db:
        for item in list(items):
            n = item["id"]
            dispatched = item["dispatched"]
            if not isinstance(dispatched, datetime) or rng.random() < 0.5:
                continue
            step = rng.choice(("sign", "done", "extend", "redo", "rate", "office", "delete"))
            if step == "sign" and item["signed"] is None:
                item["signed"] = signed = dispatched + timedelta(hours=rng.randrange(1, 60))
                db.execute("UPDATE submissions SET signed_at = ? WHERE id = ?", (iso(signed), n))
            elif step == "done" and item["done"] is None:
                item["done"] = done = dispatched + timedelta(days=rng.uniform(0.5, 12))
                db.execute("UPDATE submissions SET done_at = ? WHERE id = ?", (iso(done), n))
            elif step == "extend" and isinstance(item["deadline"], datetime):
                item["deadline"] += timedelta(days=9)  # approved late: judged stays
                db.execute("UPDATE submissions SET deadline = ? WHERE id = ?",
                           (iso(item["deadline"]), n))  # fmt: skip
            elif step == "redo" and item["unit"] is not None:
                again = dispatched + timedelta(days=rng.randrange(1, 9), hours=rng.randrange(24))
                item.update(
                    unit=rng.choice(UNITS), dispatched=again, sign_due=again + timedelta(days=1),
                    signed=None, deadline=again + timedelta(days=5),
                    judged=again + timedelta(days=5), reopen=int(str(item["reopen"])) + 1,
                )  # fmt: skip
                db.execute(
                    "UPDATE submissions SET unit_id = ?, dispatched_at = ?, sign_due = ?,"
                    " signed_at = NULL, deadline = ?, judged_deadline = ?,"
                    " reopen_count = reopen_count + 1 WHERE id = ?",
                    (item["unit"], iso(again), iso(again + timedelta(days=1)),
                     iso(again + timedelta(days=5)), iso(again + timedelta(days=5)), n),
                )  # fmt: skip
            elif step == "rate":
                ratings = item["ratings"]
                assert isinstance(ratings, list)
                rating = rng.choice(("satisfied", "basically", "unsatisfied", "unrated"))
                ratings.append(rating)
                db.execute("UPDATE submissions SET rating_round = ? WHERE id = ?",
                           (len(ratings), n))  # fmt: skip
                db.execute(
                    "INSERT INTO ratings (submission_id, round, rating, rated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (n, len(ratings), rating, iso(START)),
                )
            elif step == "office":
                item["unit"] = None
                db.execute("UPDATE submissions SET unit_id = NULL WHERE id = ?", (n,))
            elif step == "delete":
                items.remove(item)
                db.execute("DELETE FROM ratings WHERE submission_id = ?", (n,))
                db.execute("DELETE FROM submissions WHERE id = ?", (n,))


# Periods: whole days, part days at both ends, within one day, every item, ending after now.
PERIODS = [
    (START, END),
    (START + timedelta(hours=5, minutes=7), END - timedelta(hours=3)),
    (START + timedelta(days=3, hours=2), START + timedelta(days=3, hours=20)),
    (datetime(2000, 1, 1, tzinfo=UTC), NOW),
    (START - timedelta(days=6, hours=-7), NOW + timedelta(days=7, hours=5)),
]


@pytest.mark.parametrize("seed", [4, 5])
async def test_the_days_sums_and_the_live_part_match_the_definitions_after_every_step(
    settings: Settings, repository: Repository, seed: int
) -> None:
    """The fast path (whole days from unit_days kept by the triggers, less what is not due
    yet now; part days from the items) against the definitions, over random items that were
    then signed, done, extended late, redone, re-rated, moved back and deleted; also the
    whole-period count from the items themselves."""
    items = random_items(seed, 500)
    store(settings, items)
    changed(settings, items, seed)
    for start, end in PERIODS:
        expected = naive(items, start, end)
        for got in (
            await repository.unit_counts_in(start=start, end=end, now=NOW),
            await repository.unit_counts_counted(start=start, end=end, now=NOW),
        ):
            assert set(got) == set(expected), (start, end)
            for unit, counts in expected.items():
                assert _close(got[unit], counts), (unit, start, end)


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


# ------------------------------------------------- extensions and the judged deadline
OFFICE = -1001234567
ADMIN_ID = 1000001
MEMBER = 4002


@pytest.fixture
async def env(make_settings: Callable[..., Settings]) -> AsyncIterator[Env]:
    settings = make_settings(
        roles={"admin_ids": [ADMIN_ID], "office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        units=[{"id": "hbs", "names": {"zh-Hans": "环保所"}, "member_ids": [MEMBER]}],
    )
    secrets = Secrets.generate()
    clock = FrozenClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))  # Monday 09:00 Shanghai
    repo = Repository(settings.storage.url or settings.storage.path, clock=clock, secrets=secrets)
    await repo.connect()
    try:
        yield Env(repo, settings, secrets)
    finally:
        await repo.close()


async def dispatched_and_signed(env: Env, text: str) -> int:
    office = identify(env.settings, ADMIN_ID, Place.OFFICE, language="zh-Hans", chat_id=OFFICE)
    unit = identify(env.settings, MEMBER, Place.PRIVATE, language="zh-Hans", chat_id=MEMBER)
    draft = Draft(kind=Kind.PROBLEM, parts=[text], anonymous=True)
    await env.repository.save_draft(4242, draft)
    who = identify(env.settings, 4242, Place.PRIVATE, language="zh-Hans")
    item = (await submitting.submit(env, who, draft, chat_id=4242, key=None)).item
    assert item is not None
    await reviewing.accept(env, office, item.id, key=None)
    await loop.dispatch(env, office, item.id, "hbs", deadline="5", key=None)
    await loop.sign(env, unit, item.id, key=None)
    return item.id


async def extended(env: Env, number: int, days: str) -> Submission:
    office = identify(env.settings, ADMIN_ID, Place.OFFICE, language="zh-Hans", chat_id=OFFICE)
    unit = identify(env.settings, MEMBER, Place.PRIVATE, language="zh-Hans", chat_id=MEMBER)
    asked = await loop.request_extension(env, unit, number, f"{days} 需要协调", key=None)
    assert asked.status is Status.EXTENSION_REQUESTED
    approved = await loop.decide_extension(env, office, number, True, key=None)
    assert approved.item is not None and approved.item.deadline is not None
    return approved.item


async def test_an_extension_approved_after_the_deadline_does_not_make_the_item_on_time(
    env: Env,
) -> None:
    """按时办结率: an extension approved before the deadline moves the deadline it is judged
    by; one approved after it moves only the unit's deadline (the round was already late)."""
    clock = env.repository.clock
    assert isinstance(clock, FrozenClock)
    timely = await dispatched_and_signed(env, "河道里有人倾倒垃圾")
    late = await dispatched_and_signed(env, "路灯坏了一个月")
    first = await env.repository.get_submission(late)
    assert first is not None and first.deadline is not None
    assert first.judged_deadline == first.deadline
    moved = await extended(env, timely, "20")
    assert moved.judged_deadline == moved.deadline  # before the deadline: it moves
    clock.now = first.deadline + timedelta(days=2)  # the first deadline has passed
    kept = await extended(env, late, "30")
    assert kept.deadline is not None and kept.deadline > first.deadline
    assert kept.judged_deadline == first.deadline  # after it: judged by the first
    office = identify(env.settings, ADMIN_ID, Place.OFFICE, language="zh-Hans", chat_id=OFFICE)
    unit = identify(env.settings, MEMBER, Place.PRIVATE, language="zh-Hans", chat_id=MEMBER)
    for number in (timely, late):  # both done now, before their new deadlines
        await loop.finish(env, unit, number, "已处理", key=None)
        approved = await loop.approve_done(env, office, number, key=None)
        assert approved.status is Status.ANSWERED
    counts = (
        await env.repository.unit_counts_in(
            start=START, end=clock.now + timedelta(days=1), now=clock.now
        )
    )["hbs"]
    assert (counts.done, counts.due_base, counts.done_in_time) == (2, 2, 1)
    assert counts.rate("on_time") == 0.5
