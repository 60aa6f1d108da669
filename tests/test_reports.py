"""Digest, statistics and ledger over a fixture week with a frozen clock; splitting at
Telegram's limit; the XLSX and CSV files read back cell by cell."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from bot import export
from bot.anonymity import Secrets
from bot.config import Settings, load_settings
from bot.core.records import Draft, NewSubmission, Outgoing, Recipient, Sender
from bot.core.reports import (
    DigestData,
    OverdueItem,
    Stats,
    compose_digest,
    compose_stats,
    ledger_cells,
    ledger_header,
)
from bot.core.workflow import Kind, Status
from bot.i18n import t
from bot.text import utf16_length
from storage.repository import Repository
from tests.conftest import FrozenClock
from tests.processes import EXAMPLE_CONFIG

SECRETS = Secrets.generate()
MONDAY = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(EXAMPLE_CONFIG)


@pytest.fixture
async def week(storage_target: str) -> AsyncIterator[tuple[Repository, FrozenClock]]:
    """A week of a town's campaign, on SQLite and on PostgreSQL (#24: the same figures):

    Mon #1 named problem (transport), accepted, assigned due Wed, still open → overdue
    Tue #2 anonymous suggestion (construction), still new
    Wed #3 named suggestion (transport), accepted, forwarded
    Thu #4 named problem (environment), accepted → answered → rated → published
    Sat #5 anonymous problem (transport), rejected
    """
    clock = FrozenClock(MONDAY)
    repo = Repository(storage_target, clock=clock, secrets=SECRETS)
    await repo.connect()

    async def submit(kind: Kind, topic: str, text: str, named: bool) -> int:
        owner = 7 if named else 987654321
        await repo.save_draft(owner, Draft(parts=[text]))
        sender = Sender(user_id=7, chat_id=7, name="王建国", username="wjg") if named else None
        new = NewSubmission(
            kind=kind,
            text=text,
            topic_id=topic,
            suggested_topic_id=topic,
            evidence=(),
            language="zh-Hans",
            sender=sender,
            reply_route=None if named else SECRETS.encrypt_int(987654321),
        )
        return (await repo.create_submission(new, owner_id=owner)).id

    one = await submit(Kind.PROBLEM, "transport", "村道坑洼，雨天没法走", named=True)
    clock.advance(hours=2)
    await repo.change_status(one, Status.ACCEPTED, actor="admin:1")
    await repo.assign(
        one,
        owner="交通办",
        deadline=MONDAY + timedelta(days=2),
        judged_deadline=None,
        actor="admin:1",
    )
    clock.now = MONDAY + timedelta(days=1)
    await submit(Kind.SUGGESTION, "construction", '=HYPERLINK("x") 建议多装路灯', named=False)
    clock.now = MONDAY + timedelta(days=2)
    three = await submit(Kind.SUGGESTION, "transport", "建议开通到县城的班车", named=True)
    clock.advance(hours=4)
    await repo.change_status(three, Status.ACCEPTED, actor="admin:1")
    await repo.change_status(three, Status.FORWARDED, actor="admin:1")
    await repo.add_event(three, actor="group:9", kind="instruction", body="张书记|请交通办研究")
    clock.now = MONDAY + timedelta(days=3)
    four = await submit(Kind.PROBLEM, "environment", "菜市场垃圾没人清运", named=True)
    clock.advance(hours=1)
    await repo.change_status(four, Status.ACCEPTED, actor="admin:1")
    await repo.assign(
        four,
        owner="环卫所",
        deadline=MONDAY + timedelta(days=5),
        judged_deadline=None,
        actor="admin:1",
    )
    clock.advance(hours=24)
    await repo.respond(four, "已安排每日清运两次。", actor="admin:1")
    await repo.rate(four, "satisfied", round_=1)
    clock.advance(hours=1)
    post = Outgoing(chat_enc="-", text="#4", purpose="channel_post", recipient=Recipient.CHANNEL)
    await repo.publish(four, actor="admin:1", notices=[post])
    [queued] = [e for e in await repo.due_messages() if e.purpose == "channel_post"]
    await repo.mark_sent(queued, 77)  # published once the post went out (#15.2), as the
    assert await repo.complete_publishing(four)  # outbox then settles it (bot.core.handling)
    clock.now = MONDAY + timedelta(days=5)
    five = await submit(Kind.PROBLEM, "transport", "测试", named=False)
    await repo.change_status(five, Status.REJECTED, actor="admin:1", note="内容不清楚")
    clock.now = MONDAY + timedelta(days=6, hours=1)  # Sunday 09:00 in Shanghai
    try:
        yield repo, clock
    finally:
        await repo.close()


async def test_digest_of_the_fixture_week(
    week: tuple[Repository, FrozenClock], settings: Settings
) -> None:
    repo, clock = week
    data = await repo.digest_data(since=MONDAY, until=clock.now)
    assert data.new_by_kind == {Kind.PROBLEM: 3, Kind.SUGGESTION: 2}
    assert data.new_by_topic == {"transport": 3, "construction": 1, "environment": 1}
    assert data.awaiting_review == 1
    assert data.forwarded == [3]
    assert data.overdue == [OverdueItem(id=1, owner="交通办", days=4)]
    assert data.published == 1
    assert data.satisfaction == {"satisfied": 1}
    assert data.top_topics_week[0] == ("transport", 3)
    [message] = compose_digest("zh-Hans", settings, data)
    assert "新提交 5 条" in message
    assert "#3" in message and "交通办，逾期 4 天" in message
    assert "满意 100%" in message
    assert t("en", "digest.awaiting_review", n=1) in compose_digest("en", settings, data)[0]


async def test_a_quiet_day_is_one_line(
    week: tuple[Repository, FrozenClock], settings: Settings
) -> None:
    repo, clock = week
    quiet = DigestData(
        since=clock.now - timedelta(days=1),
        until=clock.now,
        new_by_kind={},
        new_by_topic={},
        awaiting_review=0,
        forwarded=[],
        overdue=[],
        published=0,
        satisfaction={"satisfied": 3},
        top_topics_week=[],
    )
    [message] = compose_digest("zh-Hans", settings, quiet)
    assert len(message.splitlines()) == 2  # title and one line
    assert "没有新的变化" in message
    # The fixture's Sunday still has work waiting: it is not quiet.
    sunday = await repo.digest_data(since=clock.now - timedelta(days=1), until=clock.now)
    assert not sunday.is_quiet and sunday.new_by_kind == {}


def test_long_digests_split_between_items(settings: Settings) -> None:
    data = DigestData(
        since=MONDAY,
        until=MONDAY + timedelta(days=1),
        new_by_kind={Kind.PROBLEM: 400},
        new_by_topic={"transport": 400},
        awaiting_review=400,
        forwarded=list(range(1, 400)),
        overdue=[
            OverdueItem(id=i, owner="城乡建设和交通运输办公室" * 2, days=i) for i in range(1, 401)
        ],
        published=0,
        satisfaction={},
        top_topics_week=[],
    )
    chunks = compose_digest("zh-Hans", settings, data)
    assert len(chunks) > 1
    assert all(utf16_length(c) <= 4096 for c in chunks)
    lines = [line for c in chunks for line in c.splitlines() if "逾期" in line and "#" in line]
    assert len(lines) == 400  # every overdue item once, none cut in half
    assert all(line.strip().startswith("#") and line.endswith("天") for line in lines)


async def test_statistics_of_the_week(
    week: tuple[Repository, FrozenClock], settings: Settings
) -> None:
    repo, clock = week
    stats = await repo.stats(start=MONDAY, end=clock.now)
    assert stats.total == 5 and stats.anonymous == 2
    assert stats.by_kind == {Kind.PROBLEM: 3, Kind.SUGGESTION: 2}
    assert stats.by_status[Status.NEW] == 1 and stats.by_status[Status.PUBLISHED] == 1
    # First responses after 2 h, 4 h, 1 h and 0 h: the lower median is 1 h.
    assert stats.median_first_response_hours == pytest.approx(1.0)
    assert (stats.answered_with_deadline, stats.answered_in_time) == (1, 1)
    text = "\n".join(compose_stats("zh-Hans", settings, stats))
    assert "共 5 条" in text and "实名 3，匿名 2" in text and "100%" in text


async def test_ledger_files_read_back_cell_by_cell(
    week: tuple[Repository, FrozenClock], settings: Settings
) -> None:
    repo, clock = week
    rows = [
        ledger_cells("zh-Hans", settings, r)
        async for r in repo.ledger(start=MONDAY, end=clock.now, now=clock.now)
    ]
    content = export.to_xlsx("整改台账", ledger_header("zh-Hans", settings), rows)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ledger_header("zh-Hans", settings)
    assert values[0][:3] == ["编号", "日期", "类型"]
    first = values[1]
    assert first[:4] == ["#1", "2026-11-16", "问题反映", "交通出行"]
    assert first[5] == "王建国" and first[7] == "交通办"
    assert first[8] == "2026-11-18" and first[9] == 4  # overdue days
    second = values[2]
    assert second[5] == "匿名"
    assert second[4].startswith("=HYPERLINK")  # kept as text ...
    assert sheet.cell(row=3, column=5).data_type == "s"  # ... never a formula
    third = values[3]
    assert third[10] == "请交通办研究"  # the leading group's instruction
    fourth = values[4]
    assert fourth[11] == "已安排每日清运两次。" and fourth[13] == "满意"
    assert fourth[12] == "2026-11-20"
    everything = " ".join(str(v) for row in values for v in row if v is not None)
    assert "987654321" not in everything
    english = export.to_xlsx("Ledger", ledger_header("en", settings), rows)
    assert openpyxl.load_workbook(io.BytesIO(english)).active["A1"].value == "Ref"


def test_csv_has_a_bom_and_defuses_formulas() -> None:
    content = export.to_csv(["编号", "内容"], [["#1", "=1+2"], ["#2", "路灯, 坏了\n两盏"]])
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [["编号", "内容"], ["#1", "'=1+2"], ["#2", "路灯, 坏了\n两盏"]]


async def test_export_from_the_command_line(
    week: tuple[Repository, FrozenClock],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    from bot.cli import main

    repo, _ = week
    await repo.checkpoint()
    if repo.url is None:
        monkeypatch.setenv("JINDIANZI_STORAGE__PATH", str(repo.path))
    else:
        monkeypatch.setenv("JINDIANZI_STORAGE__URL", repo.url)
    out = tmp_path / "ledger.xlsx"
    args = ["export", "--config", str(EXAMPLE_CONFIG), "--from", "2026-11-17"]
    code = await asyncio.to_thread(main, [*args, "--to", "2026-11-19", "--out", str(out)])
    assert code == 0
    assert "3 items" in capsys.readouterr().out  # Tue 17th to Thu 19th, local dates
    sheet = openpyxl.load_workbook(out).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["#2", "#3", "#4"]
    english = tmp_path / "ledger.csv"
    code = await asyncio.to_thread(
        main, [*args, "--out", str(english), "--csv", "--language", "en"]
    )
    assert code == 0
    assert english.read_bytes().startswith("\ufeffRef,Date".encode())
    bad = await asyncio.to_thread(main, [*args, "--to", "19/11/2026", "--out", str(out)])
    assert bad == 2


@pytest.mark.parametrize("hours", [0, 1, 7, 23])
async def test_day_counters_agree_with_counting_the_items(
    week: tuple[Repository, FrozenClock], hours: int
) -> None:
    from storage.reports import _ITEM_GROUPS

    repo, clock = week
    await repo.set_topic(3, "education", actor="admin:1")  # counters follow topic changes too
    start = MONDAY - timedelta(days=1, hours=hours)
    end = clock.now + timedelta(hours=hours)

    def totals(rows: list) -> Counter:  # type: ignore[type-arg]
        out: Counter[tuple[str, str, str, int]] = Counter()
        for r in rows:
            out[(r["kind"], r["status"], r["topic_id"], r["anonymous"])] += r["n"]
        return +out

    from storage.rows import iso

    direct = await repo._fetchall(_ITEM_GROUPS, (iso(start), iso(end)))
    assert totals(await repo._group_counts(start, end)) == totals(direct)
    assert sum(totals(direct).values()) == 5


def test_equal_counts_are_listed_in_the_catalogues_order(settings: Settings) -> None:
    """Not in the order the database grouped them (#24: PostgreSQL's hash aggregation
    returns groups in no order): the same figures read the same on both backends."""
    topics = [tp.id for tp in settings.topics][:4]

    def stats(order: list[str]) -> Stats:
        return Stats(
            start=MONDAY,
            end=MONDAY + timedelta(days=7),
            total=5,
            by_kind={Kind.SUGGESTION: 2, Kind.PROBLEM: 2},
            by_status={Status.CLOSED: 1, Status.NEW: 1},
            by_topic={topic: 2 if topic == topics[3] else 1 for topic in order},
            anonymous=0,
            median_first_response_hours=None,
            answered_with_deadline=0,
            answered_in_time=0,
            satisfaction={},
        )

    forwards = compose_stats("zh-Hans", settings, stats(topics))
    backwards = compose_stats("zh-Hans", settings, stats(topics[::-1]))
    assert forwards == backwards
    names = [tp.name("zh-Hans") for tp in settings.topics][:4]
    line = f"{names[3]} 2、{names[0]} 1、{names[1]} 1、{names[2]} 1"
    assert line in "\n".join(forwards)
    assert "建议 2、问题反映 2" in "\n".join(forwards)  # the kinds in Kind's order
