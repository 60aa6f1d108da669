"""Figures compared across backends (#24): one campaign of random items (seeded), written
row by row into SQLite and into PostgreSQL (the daily counters kept by each one's own
triggers), gives the same figures on both: /stats (overall and per period, with the units'
indices), /stats unit, the daily digest, the weekly summary (its indices, the 通报 league,
the phases), the chart's data, and the export (every sheet's cells, the CSV byte for byte).

The items are cut to find differences: times on the campaign's midnight and on the hour,
items created in the same second, deadlines met to the second, items without a place, a
phase, a unit or a deadline."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot import charts
from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import indices, reporting
from bot.core.env import Env
from bot.core.reports import compose_stats
from storage.repository import Repository
from storage.rows import iso
from tests.conftest import FrozenClock
from tests.databases import database, on_backend

SECRETS = Secrets.generate()
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
FIRST = datetime(2026, 9, 20, 16, 0, tzinfo=UTC)  # midnight of 21 September in Shanghai
UNITS = [
    {"id": "cjb", "names": {"zh-Hans": "城建办", "en": "Construction"}, "chat_id": -1001},
    {"id": "hbs", "names": {"zh-Hans": "环保所"}, "chat_id": -1002},
    {"id": "nyz", "names": {"zh-Hans": "农业站"}, "chat_id": -1003},
]
PLACES = [
    {"id": "chengguan", "names": {"zh-Hans": "城关镇"}},
    {"id": "dongcun", "names": {"zh-Hans": "东村"}, "parent": "chengguan"},
    {"id": "xicun", "names": {"zh-Hans": "西村"}, "parent": "chengguan"},
    {"id": "hexi", "names": {"zh-Hans": "河西镇"}},
]
PHASES: list[dict[str, Any]] = [
    {
        "id": "mobilise",
        "names": {"zh-Hans": "动员部署"},
        "start": "2026-10-01",
        "end": "2026-10-31",
    },
    {
        "id": "checking",
        "names": {"zh-Hans": "查摆问题"},
        "start": "2026-11-01",
        "end": "2026-11-30",
    },
]
STATUSES = {  # status: (weight, whether it went to a unit, whether it was answered)
    "new": (6, False, False),
    "accepted": (4, False, False),
    "rejected": (3, False, False),
    "duplicate": (1, False, False),
    "forwarded": (2, False, False),
    "dispatched": (4, True, False),
    "signed": (4, True, False),
    "returned": (1, True, False),
    "extension_requested": (1, True, False),
    "done_pending": (2, True, False),
    "reopened": (1, True, False),
    "answered": (5, True, True),
    "published": (3, True, True),
    "closed": (3, True, True),
}
ITEMS = 240


def moment(rng: random.Random) -> datetime:
    """A time in the campaign, often on a local midnight or on the hour."""
    day = FIRST + timedelta(days=rng.randrange((NOW - FIRST).days))
    pick = rng.random()
    if pick < 0.15:
        return day  # 00:00 in Shanghai
    if pick < 0.3:
        return day - timedelta(seconds=1)  # 23:59:59 the day before
    return day + timedelta(hours=rng.randrange(24), seconds=rng.choice((0, rng.randrange(3600))))


def campaign(seed: int, topics: list[str]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements that write the campaign, and their rows."""
    rng = random.Random(seed)
    submissions: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    created = sorted(moment(rng) for _ in range(ITEMS))
    for i, at in enumerate(created, start=1):
        if i > 1 and rng.random() < 0.05:
            at = created[i - 2]  # the same second as the one before
        status = rng.choices(list(STATUSES), [w for w, _, _ in STATUSES.values()])[0]
        _, to_unit, answered = STATUSES[status]
        anonymous = rng.random() < 0.2
        first_response = (
            at + timedelta(hours=rng.choice((0, 1, 2, 5, 30))) if status != "new" else None
        )
        unit = rng.choice(UNITS)["id"] if to_unit and rng.random() < 0.95 else None
        dispatched = (
            (first_response or at) + timedelta(hours=rng.randrange(1, 48)) if to_unit else None
        )
        sign_due = dispatched + timedelta(days=1) if dispatched else None
        signed: datetime | None = None
        if dispatched and status != "dispatched":
            signed = dispatched + timedelta(hours=rng.choice((1, 24, 30)))
        deadline: datetime | None = None
        if dispatched and rng.random() < 0.9:
            deadline = dispatched + timedelta(days=rng.choice((3, 7, 15)))
        done: datetime | None = None
        if signed and status in ("done_pending", "answered", "published", "closed", "reopened"):
            done = signed + timedelta(days=rng.choice((1, 2, 5, 20)))
            if deadline and rng.random() < 0.2:
                done = deadline  # met to the second
            done = min(done, NOW - timedelta(minutes=5))
        responded: datetime | None = None
        if answered:
            responded = done or (first_response or at) + timedelta(days=2)
        if responded is not None:
            responded = min(responded, NOW - timedelta(minutes=1))
        published: datetime | None = None
        if responded is not None and status in ("published", "closed"):
            published = responded + timedelta(hours=3)
        if published is not None and published > NOW:
            published = None
        rounds = rng.randrange(0, 3) if answered else 0
        rated = [
            rng.choice(("satisfied", "basically", "unsatisfied", "unrated")) for _ in range(rounds)
        ]
        latest = rated[-1] if rated and rated[-1] != "unrated" else None
        day = at.astimezone(SHANGHAI).date().isoformat()
        phase = next((p["id"] for p in PHASES if p["start"] <= day <= p["end"]), None)
        updated = max(x for x in (at, first_response, signed, done, responded, published) if x)
        submissions.append(
            (
                i,
                rng.choice(("suggestion", "problem")),
                f"第{i}条：村口的路灯坏了" if rng.random() < 0.5 else f"Item {i}: the bridge",
                rng.choice(topics),
                int(anonymous),
                rng.randbytes(8).hex() if anonymous else None,
                None if anonymous else 10_000 + i,
                None if anonymous else 10_000 + i,
                None if anonymous else rng.choice(("王建国", "李秀英", "Bob")),
                status,
                iso(at),
                iso(updated),
                rng.choice((None, "城建办", "交通办")) if status != "new" else None,
                iso(deadline) if deadline else None,
                rng.randrange(1, i) if status == "duplicate" and i > 1 else None,
                "已处理。" if responded else None,
                iso(responded) if responded else None,
                latest,
                iso(responded + timedelta(hours=1)) if latest and responded else None,
                iso(published) if published else None,
                iso(first_response) if first_response else None,
                rng.choice([p["id"] for p in PLACES]) if rng.random() < 0.7 else None,
                phase,
                len(rated),
                rng.choice((0, 0, 0, 1, 4)),
                unit,
                iso(dispatched) if dispatched else None,
                iso(sign_due) if sign_due else None,
                iso(signed) if signed else None,
                iso(done) if done else None,
                rng.choice((0, 0, 0, 1, 2)) if done else 0,
            )
        )
        history.append((i, iso(at), "system", None, "new"))
        if first_response:
            history.append((i, iso(first_response), "admin:1", "new", "accepted"))
        if status not in ("new", "accepted"):
            history.append((i, iso(updated), "admin:1", "accepted", status))
        for n, rating in enumerate(rated, start=1):
            when = (responded or at) + timedelta(hours=n)
            ratings.append((i, n, rating, iso(when)))
        if status == "forwarded":
            events.append((i, iso(updated), "group:9", "instruction", f"张书记|请研究第{i}条"))
    return [
        (
            "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, owner_tag, sender_user_id, sender_chat_id, sender_name, language,"
            " status, created_at, updated_at, owner, deadline, duplicate_of, response,"
            " responded_at, rating, rated_at, published_at, first_response_at, place_id,"
            " phase_id, rating_round, support, unit_id, dispatched_at, sign_due, signed_at,"
            " done_at, reopen_count) VALUES (?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, 'zh-Hans', ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(s[0], s[1], s[2], s[3], *s[3:]) for s in submissions],
        ),
        (
            "INSERT INTO history (submission_id, at, actor, from_status, to_status)"
            " VALUES (?, ?, ?, ?, ?)",
            history,
        ),
        (
            "INSERT INTO ratings (submission_id, round, rating, rated_at) VALUES (?, ?, ?, ?)",
            ratings,
        ),
        (
            "INSERT INTO events (submission_id, at, actor, kind, body) VALUES (?, ?, ?, ?, ?)",
            events,
        ),
    ]


async def figures(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Everything the office reads, as the bot composes it, from ``settings``' database."""
    clock = FrozenClock(NOW)
    repo = Repository(settings.storage.target, clock=clock, secrets=SECRETS)
    await repo.connect()
    # The chart's data, not its pixels (matplotlib's output is the renderer's business).
    monkeypatch.setattr(charts, "render", lambda data: repr(data).encode())
    env = Env(repository=repo, settings=settings, secrets=SECRETS)
    found: dict[str, Any] = {}
    try:
        for lang in ("zh-Hans", "en"):
            found[f"digest {lang}"] = await reporting.compose(env, reporting.DAILY, lang)
            found[f"weekly {lang}"] = await reporting.compose(env, reporting.WEEKLY, lang)
        periods = {
            "30 days": reporting.window(env, [], default_days=30),
            "all": reporting.window(env, ["2026-09-01"], default_days=None),
            "one day": reporting.window(env, ["2026-11-01", "2026-11-01"], default_days=None),
            "october": reporting.window(env, ["2026-10-01", "2026-10-31"], default_days=None),
        }
        for name, (start, end) in periods.items():
            stats = await repo.stats(start=start, end=end)
            found[f"stats {name}"] = stats
            found[f"stats text {name}"] = compose_stats("zh-Hans", settings, stats)
            by_unit = await indices.by_unit(env, start, end)
            found[f"indices {name}"] = by_unit
            found[f"indices text {name}"] = indices.compose(
                "zh-Hans", settings, by_unit, start, end
            )
            found[f"league {name}"] = indices.compose_league("zh-Hans", settings, by_unit)
            found[f"chart {name}"] = await reporting.chart_png(env, "zh-Hans", start, end)
            found[f"places {name}"] = await repo.place_counts(start=start, end=end)
            for unit in UNITS:
                counts = by_unit.get(str(unit["id"]), indices.Counts())
                tasks = await repo.unit_tasks(str(unit["id"]))
                found[f"stats unit {unit['id']} {name}"] = indices.compose_unit(
                    "zh-Hans", settings, str(unit["id"]), counts, tasks, start, end, NOW
                )
        start, end = periods["all"]
        for as_csv in (False, True):
            out = io.BytesIO()
            rows = await reporting.ledger_file(
                repo, settings, "zh-Hans", start, end, out, as_csv=as_csv
            )
            found[f"export rows {as_csv}"] = rows
            if as_csv:
                found["export csv"] = out.getvalue()
            else:
                book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
                found["export sheets"] = {
                    sheet.title: [
                        [(c.value, c.number_format) for c in row] for row in sheet.iter_rows()
                    ]
                    for sheet in book.worksheets
                }
    finally:
        await repo.close()
    return found


@pytest.fixture
def settings_for(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> Callable[[str | None], Settings]:
    def make(url: str | None) -> Settings:
        return on_backend(make_settings, url)(
            units=UNITS,
            places=PLACES,
            campaign={"phases": PHASES},
            indices={"min_items": 3},
        )

    return make


@pytest.mark.parametrize("seed", [1])  # (another seed: the same statements, 15 s more)
async def test_the_same_campaign_gives_the_same_figures_on_both_backends(
    settings_for: Callable[[str | None], Settings],
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    found = {}
    for url in (None, pg_url):
        settings = settings_for(url)
        repo = Repository(settings.storage.target, secrets=SECRETS)
        await repo.connect()  # the schema
        await repo.close()
        topics = [topic.id for topic in settings.topics]
        with database(settings) as db:
            for sql, rows in campaign(seed, topics):
                db.executemany(sql, rows)
            db.commit()
        if url is not None:
            # Hash aggregation wherever the planner may use it: groups come back in no
            # order, as they do on a big table, so an order taken from them shows.
            monkeypatch.setenv("PGOPTIONS", "-c enable_sort=off")
        found[url is None] = await figures(settings, monkeypatch)
    lite, pg = found[True], found[False]
    assert lite.keys() == pg.keys()
    for key in lite:
        assert pg[key] == lite[key], key
    # Not an empty comparison: the campaign fills every figure.
    assert lite["stats all"].total == ITEMS
    assert all(lite["indices all"][u["id"]].items for u in UNITS)
    assert len(lite["export sheets"]) >= 3  # the ledger and the indices' months
    assert lite["export rows True"] == ITEMS
