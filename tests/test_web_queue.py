"""The desk's queue query against a naive filter in Python: every filter and sort order,
walked page by page forwards and back (keyset paging), gives exactly the expected items in
the expected order, each once; and the queue form's parsing of URL parameters."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.core.records import DONE_STATUSES
from bot.core.workflow import Kind, Status
from bot.i18n import t
from storage.desk import COUNT_CAP, Cursor, QueueFilter, QueuePage
from storage.repository import Repository
from storage.rows import iso
from tests.processes import EXAMPLE_CONFIG
from web import queue as queue_view

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TOPICS = ("transport", "environment", "other")
WORDS = ("路灯坏了", "井盖丢失", "公交太少", "垃圾没人收")


@pytest.fixture
async def repo(storage_target: str) -> AsyncIterator[tuple[Repository, list[dict[str, Any]]]]:
    """180 items in a database of either backend (#24: the queue's keyset pages, filters and
    search are SQL of each), with the naive answer's rows."""
    rng = random.Random(23)
    units = random.Random(24)
    rows: list[dict[str, Any]] = []
    start = NOW - timedelta(days=30)
    for i in range(1, 181):
        # Several items share a creation time (ties are ordered by id).
        created = start + timedelta(hours=(i // 3) * 4)
        status = rng.choice(list(Status))
        deadline = created + timedelta(days=10) if rng.random() < 0.5 else None
        # (its own sequence: the other columns are what they were before units)
        unit = units.choice((None, "cjb", "hbs"))
        sign_due = created + timedelta(days=units.choice((2, 40))) if unit else None
        rows.append(
            {
                "id": i,
                "kind": rng.choice(list(Kind)).value,
                "topic_id": rng.choice(TOPICS),
                "status": status.value,
                "anonymous": int(rng.random() < 0.3),
                "created_at": iso(created),
                "deadline": iso(deadline) if deadline else None,
                "text": f"{rng.choice(WORDS)}，{rng.choice(WORDS)} ({i})",
                "unit_id": unit,
                "sign_due": iso(sign_due) if sign_due else None,
            }
        )
    repository = Repository(storage_target)
    await repository.connect()
    try:
        async with repository.transaction() as db:
            await db.executemany(
                "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, owner_tag, sender_user_id, sender_chat_id, language, status,"
                " created_at, updated_at, deadline, unit_id, sign_due)"
                " VALUES (?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, 'zh-Hans', ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r["id"], r["kind"], r["text"], r["topic_id"], r["topic_id"],
                        r["anonymous"], f"h{r['id']}" if r["anonymous"] else None,
                        None if r["anonymous"] else r["id"], None if r["anonymous"] else r["id"],
                        r["status"], r["created_at"], r["created_at"], r["deadline"],
                        r["unit_id"], r["sign_due"],
                    )
                    for r in rows
                ],
            )  # fmt: skip
        yield repository, rows
    finally:
        await repository.close()


def expected(rows: list[dict[str, Any]], query: QueueFilter) -> list[int]:
    """The naive answer: every row tested in Python, sorted in Python."""
    open_statuses = {s.value for s in Status if s not in DONE_STATUSES}
    out = []
    for r in rows:
        if query.statuses and r["status"] not in {s.value for s in query.statuses}:
            continue
        if query.kind is not None and r["kind"] != query.kind.value:
            continue
        if query.topic_id is not None and r["topic_id"] != query.topic_id:
            continue
        if query.anonymous is not None and r["anonymous"] != int(query.anonymous):
            continue
        if query.overdue and not (
            r["deadline"] and r["deadline"] < iso(NOW) and r["status"] in open_statuses
        ):
            continue
        created = datetime.fromisoformat(r["created_at"])
        if query.created_from is not None and created < query.created_from:
            continue
        if query.created_until is not None and created >= query.created_until:
            continue
        if any(term not in r["text"] for term in query.terms):
            continue
        if query.unit_id is not None and r["unit_id"] != query.unit_id:
            continue
        if query.unsigned and not (
            r["status"] == "dispatched" and r["sign_due"] and r["sign_due"] < iso(NOW)
        ):
            continue
        if query.sort == "deadline" and r["deadline"] is None:
            continue
        out.append(r)
    if query.sort == "deadline":
        out.sort(key=lambda r: (r["deadline"], r["id"]))
    else:
        out.sort(key=lambda r: (r["created_at"], r["id"]), reverse=query.sort == "new")
    return [r["id"] for r in out]


FILTERS = [
    QueueFilter(),
    QueueFilter(sort="old"),
    QueueFilter(sort="deadline"),
    QueueFilter(statuses=(Status.NEW,)),
    QueueFilter(statuses=tuple(s for s in Status if s not in DONE_STATUSES)),
    QueueFilter(kind=Kind.PROBLEM, anonymous=True),
    QueueFilter(topic_id="transport", sort="old"),
    QueueFilter(anonymous=False, statuses=(Status.CLOSED, Status.ACCEPTED)),
    QueueFilter(overdue=True),
    QueueFilter(overdue=True, sort="deadline"),
    QueueFilter(created_from=NOW - timedelta(days=20), created_until=NOW - timedelta(days=10)),
    QueueFilter(terms=("路灯坏了",)),  # trigram index
    QueueFilter(terms=("井盖", "公交")),  # LIKE
    QueueFilter(terms=("垃圾没人收",), sort="deadline", topic_id="other"),
    QueueFilter(topic_id="other", created_from=NOW + timedelta(days=1)),  # nothing
    QueueFilter(unit_id="cjb"),  # (unit_id, created_at), 0028
    QueueFilter(unit_id="hbs", sort="old", kind=Kind.SUGGESTION),
    QueueFilter(unsigned=True),
    QueueFilter(unsigned=True, unit_id="cjb", sort="deadline"),
    QueueFilter(terms=("井",), unit_id="hbs"),
]


@pytest.mark.parametrize("query", FILTERS, ids=lambda q: repr(q)[12:80])
async def test_pages_forwards_and_back_give_exactly_the_naive_answer(
    repo: tuple[Repository, list[dict[str, Any]]], query: QueueFilter
) -> None:
    repository, rows = repo
    want = expected(rows, query)
    pages: list[QueuePage] = []
    cursor: Cursor | None = None
    while True:
        page = await repository.queue_page(query, cursor=cursor, limit=7, now=NOW)
        pages.append(page)
        if page.next is None:
            break
        cursor = page.next
        assert len(pages) < 100
    assert [r.id for p in pages for r in p.rows] == want
    if pages[0].count is not None:
        assert pages[0].count == len(want)
    assert pages[0].previous is None
    # Back from the last page to the first: the same pages.
    back = [pages[-1]]
    while back[-1].previous is not None:
        back.append(await repository.queue_page(query, cursor=back[-1].previous, limit=7, now=NOW))
        assert len(back) <= len(pages)
    assert [[r.id for r in p.rows] for p in reversed(back)] == [
        [r.id for r in p.rows] for p in pages
    ]


@pytest.mark.parametrize(
    "query",
    [
        QueueFilter(terms=("井盖",)),
        QueueFilter(terms=("路灯", "公交"), sort="old"),
        QueueFilter(terms=("垃圾",), statuses=(Status.NEW, Status.ACCEPTED)),
        QueueFilter(terms=("盖丢",), sort="deadline"),
        QueueFilter(terms=("没有",)),  # no match at all: every window read, page by page
    ],
    ids=lambda q: repr(q)[12:80],
)
async def test_a_short_word_reads_a_bounded_window_per_page_and_misses_nothing(
    repo: tuple[Repository, list[dict[str, Any]]],
    query: QueueFilter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A one- or two-character term has no index: each page reads at most SCAN_WINDOW
    items (here 13) of the order; a page the window ended before it was full says how far
    it read, and its next link reads on. Walked forwards and back, every match comes once,
    in order."""
    monkeypatch.setattr("storage.desk.SCAN_WINDOW", 13)
    repository, rows = repo
    want = expected(rows, query)
    forwards: list[QueuePage] = []
    cursor: Cursor | None = None
    while True:
        page = await repository.queue_page(query, cursor=cursor, limit=5, now=NOW)
        forwards.append(page)
        assert len(page.rows) <= 5
        if page.next is None:
            break
        cursor = page.next
        assert len(forwards) < 200
    assert [r.id for p in forwards for r in p.rows] == want
    scanned = [p for p in forwards if p.scanned_to is not None]
    assert scanned and all(p.next is not None for p in scanned)  # said so, and reads on
    backwards = [forwards[-1]]
    while backwards[-1].previous is not None:
        backwards.append(
            await repository.queue_page(query, cursor=backwards[-1].previous, limit=5, now=NOW)
        )
        assert len(backwards) < 200
    assert [r.id for p in reversed(backwards) for r in p.rows] == want


async def test_a_unit_scope_shows_its_units_items_only(
    repo: tuple[Repository, list[dict[str, Any]]],
) -> None:
    repository, _ = repo
    page = await repository.queue_page(QueueFilter(unit_id="chengjian"), now=NOW)
    assert page.rows == [] and page.count == 0  # nothing dispatched to it yet
    async with repository.transaction() as db:
        await db.execute("UPDATE submissions SET unit_id = 'chengjian' WHERE id IN (3, 5, 8)")
        await db.execute("UPDATE submissions SET unit_id = 'huanbao' WHERE id IN (4, 6)")
    page = await repository.queue_page(QueueFilter(unit_id="chengjian"), now=NOW)
    assert sorted(r.id for r in page.rows) == [3, 5, 8] and page.count == 3


def test_the_count_is_capped_above_its_limit() -> None:
    assert QueuePage(rows=[], count=COUNT_CAP + 1, next=None, previous=None).count_capped
    assert not QueuePage(rows=[], count=COUNT_CAP, next=None, previous=None).count_capped


@pytest.mark.parametrize(
    "text",
    ["", "a", "x12~2026", "a0~2026-01-01T00:00:00+00:00", "a1~not-a-date", "c1~2026-01-01",
     "a" + "9" * 20 + "~2026-01-01", "a-1~2026-01-01"],
)  # fmt: skip
def test_a_cursor_from_a_url_is_checked(text: str) -> None:
    assert Cursor.decode(text) is None


def test_a_cursor_survives_its_url() -> None:
    cursor = Cursor(id=42, key="2026-11-30T12:00:00.000000+00:00", backwards=True)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(EXAMPLE_CONFIG)


def test_the_form_becomes_a_filter(settings: Settings) -> None:
    asked = queue_view.parse(
        {
            "q": " 路灯  井盖 ",
            "status": "open",
            "kind": "problem",
            "topic": "transport",
            "who": "anonymous",
            "from": "2026-11-01",
            "to": "2026-11-30",
            "sort": "old",
            "overdue": "1",
        },
        settings,
        "zh-Hans",
        unit_id=None,
    )
    query = asked.filter
    assert asked.problems == []
    assert query.terms == ("路灯", "井盖")
    assert set(query.statuses) == {s for s in Status if s not in DONE_STATUSES}
    assert query.kind is Kind.PROBLEM and query.topic_id == "transport"
    assert query.anonymous is True and query.overdue and query.sort == "old"
    tz = settings.campaign.tz
    assert query.created_from == datetime(2026, 11, 1, tzinfo=tz)
    assert query.created_until == datetime(2026, 12, 1, tzinfo=tz)  # the whole last day
    assert asked.filtered


def test_bad_values_are_named_and_ignored(settings: Settings) -> None:
    asked = queue_view.parse(
        {"status": "gone", "kind": "x", "topic": "nope", "who": "me", "from": "31/12/2026",
         "sort": "random", "overdue": "yes", "page": "garbage"},
        settings,
        "en",
        unit_id=None,
    )  # fmt: skip
    assert asked.filter == QueueFilter()
    assert asked.cursor is None
    assert len(asked.problems) == 7


def test_days_beyond_what_a_date_holds_are_ignored_not_an_error(settings: Settings) -> None:
    """The day after ``to`` must be a date: 9999-12-31 used to end in OverflowError (500)."""
    asked = queue_view.parse(
        {"from": "0001-01-01", "to": "9999-12-31"}, settings, "en", unit_id=None
    )
    assert asked.filter == QueueFilter()
    assert asked.problems == [
        t("en", "web.queue.ignored", field=t("en", key))
        for key in ("web.field.from", "web.field.to")
    ]


def test_overdue_items_come_longest_overdue_first_unless_sorted_otherwise(
    settings: Settings,
) -> None:
    assert queue_view.parse({"overdue": "1"}, settings, "en", unit_id=None).filter.sort == (
        "deadline"
    )
    chosen = queue_view.parse({"overdue": "1", "sort": "new"}, settings, "en", unit_id=None)
    assert chosen.filter.sort == "new"


def test_many_terms_are_cut_to_a_few_short_ones(settings: Settings) -> None:
    many = queue_view.parse({"q": " ".join(["路灯"] * 12)}, settings, "zh-Hans", unit_id="u1")
    assert many.filter.terms == ("路灯",) * queue_view.MAX_TERMS
    assert many.filter.unit_id == "u1"
    long = queue_view.parse({"q": "路" * 90}, settings, "zh-Hans", unit_id=None)
    assert long.filter.terms == ("路" * queue_view.MAX_TERM_CHARS,)
