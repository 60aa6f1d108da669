"""End to end: places and phases (#20) through the real Application and the stand-in.

A resident who arrives through a place's deep link (``/start <place>``) has the place on
their item; one who does not is asked with buttons (one tap, or 不确定); an unknown link is
ignored politely; the campaign's phase changes what the bot says and which kinds it takes;
the place and phase reach /queue, /stats, the digest, the weekly summary and the ledger."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest

from bot.config import Settings
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage, Upload
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock, drafts_of
from tests.databases import both_backends, rows, sqlite_only, tables

ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="王", last_name="小明")
CAROL = FakeUser(id=555000222, first_name="张", last_name="红")
OFFICE = -1001234567

PLACES: list[dict[str, Any]] = [
    {"id": "chengguan", "names": {"zh-Hans": "城关镇", "zh-Hant": "城關鎮", "en": "Chengguan"}},
    {"id": "dongcun", "names": {"zh-Hans": "东村", "en": "East Village"}, "parent": "chengguan"},
    {"id": "xicun", "names": {"zh-Hans": "西村"}, "parent": "chengguan"},
    {"id": "hexi", "names": {"zh-Hans": "河西镇"}},
    {"id": "nancun", "names": {"zh-Hans": "南村"}, "parent": "hexi"},
]
PHASES: list[dict[str, Any]] = [
    {
        "id": "mobilise",
        "names": {"zh-Hans": "动员部署"},
        "start": "2026-11-01",
        "end": "2026-11-15",
    },
    {
        "id": "checking",
        "names": {"zh-Hans": "查摆问题", "en": "Finding problems"},
        "start": "2026-11-16",
        "end": "2026-11-30",
        "kinds": ["problem"],
    },
    {"id": "rectify", "names": {"zh-Hans": "整改落实"}, "start": "2026-12-01", "end": "2026-12-31"},
]
NOV_10 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 动员部署 (all kinds)
NOV_15_LATE = datetime(2026, 11, 15, 15, 50, tzinfo=UTC)  # 23:50 local, the phase's last day
NOV_20 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 查摆问题: problems only
NOV_25 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 查摆问题


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def words(key: str) -> str:
    """A button's label without its emoji prefix."""
    return zh(key).split(" ", 1)[-1]


# The tests here run on SQLite and on PostgreSQL (#24), except the variants marked
# ``sqlite_only``: they walk the statements of another test here (the place asked, the phase's
# refusal).
make_settings = both_backends()


def places_settings(
    make_settings: Callable[..., Settings], stub: FakeBotApi, **extra: Any
) -> Settings:
    return make_settings(stub, places=PLACES, limits={"max_submissions_per_hour": 0}, **extra)


@pytest.fixture
async def places_bot(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    """The bot with the places configured (no phases), running for the test."""
    runner = BotRunner(places_settings(make_settings, stub))
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def to_identity(chat: Chat, text: str, *, command: str = "/report") -> SentMessage:
    """From the command with the text to the message after the topic was accepted."""
    received = await chat.send(f"{command} {text}")
    proposal = await chat.tap(received, zh("button.next").split()[0])
    return await chat.tap(proposal, words("topic.accept"))


async def finish(chat: Chat, who: SentMessage, *, anonymous: bool = False) -> int:
    summary = await chat.tap(who, words("identity.anonymous" if anonymous else "identity.named"))
    ack = await chat.tap(summary, words("button.confirm"), expect="#")
    return int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))


async def with_place(chat: Chat, text: str, place: str, *, command: str = "/report") -> int:
    """A whole submission, choosing ``place`` (a button's label) when asked."""
    asked = await to_identity(chat, text, command=command)
    assert zh("place.ask") in asked.plain
    who = await chat.tap(asked, place)
    return await finish(chat, who)


# ---------------------------------------------------------------- places
async def test_a_deep_link_records_the_place_and_keeps_it_off_anything_per_person(
    stub: FakeBotApi, places_bot: BotRunner
) -> None:
    runner = places_bot
    chat = Chat(stub, ALICE)
    greeting = await chat.send("/start dongcun")
    assert zh("start.place", place="城关镇 / 东村") in greeting.plain
    assert len(greeting.buttons) == 4  # the main menu, as always
    who = await to_identity(chat, "东村村口的路灯坏了一个星期，晚上很黑")
    assert zh("place.ask") not in who.plain  # known from the link: not asked
    assert "who:anon" in [data for _, data in who.buttons]  # the identity step
    summary = await chat.tap(who, words("identity.anonymous"))
    assert zh("field.place", value="城关镇 / 东村") in summary.plain
    assert any(data == "place:change" for _, data in summary.buttons)
    ack = await chat.tap(summary, words("button.confirm"), expect="#")
    assert "#1" in ack.plain
    [item] = rows(runner.settings, "SELECT * FROM submissions")
    assert item["place_id"] == "dongcun" and item["anonymous"] == 1
    assert item["phase_id"] is None  # no phases configured
    # The place is content of the item, nothing per person: the draft that carried it is
    # gone, and no other table holds it (the daily counters are counts, not people).
    assert drafts_of(runner.settings) == []
    holding = set()
    for table in tables(runner.settings):
        for row in rows(runner.settings, f'SELECT * FROM "{table}"'):
            if any(isinstance(v, str) and "dongcun" in v for v in row):
                holding.add(table)
    assert holding == {"submissions", "daily_place_counts"}


async def test_an_unknown_place_is_asked_with_buttons_changeable_and_skippable(
    stub: FakeBotApi, places_bot: BotRunner
) -> None:
    runner = places_bot
    chat = Chat(stub, ALICE)
    greeting = await chat.send("/start")
    assert zh("start.place", place="")[:6] not in greeting.plain
    asked = await to_identity(chat, "建议在西村修一个篮球场，孩子们没地方玩")
    assert zh("place.ask") in asked.plain
    labels = [label for label, _ in asked.buttons]
    for name in ("城关镇", "东村", "西村", "河西镇", "南村", zh("place.skip")):
        assert name in labels
    assert all(len(data.encode()) <= 64 for _, data in asked.buttons)
    who = await chat.tap(asked, "东村")  # one tap
    assert "who:anon" in [data for _, data in who.buttons]  # the identity step
    summary = await chat.tap(who, words("identity.named"))
    assert zh("field.place", value="城关镇 / 东村") in summary.plain

    # Changed on the summary: the places replace its buttons; the choice brings it back.
    mark = stub.mark()
    stub.press_button(ALICE, summary, words("place.change"))
    edited = await stub.wait_for(
        ALICE.id, after=mark, predicate=lambda m: m.method.startswith("edit")
    )
    again = await chat.tap_data(edited, edited.button_data("西村"))
    assert zh("field.place", value="城关镇 / 西村") in again.plain
    ack = await chat.tap(again, words("button.confirm"), expect="#")
    assert "#1" in ack.plain

    # Nobody is blocked: 不确定 goes on without a place.
    bob = Chat(stub, BOB)
    asked = await to_identity(bob, "镇上的公交车班次太少了，等车要一个小时")
    who = await bob.tap(asked, zh("place.skip"))
    summary = await bob.tap(who, words("identity.named"))
    assert zh("field.place", value=zh("place.none")) in summary.plain
    await bob.tap(summary, words("button.confirm"), expect="#")
    assert stub.errors == []
    stored = rows(runner.settings, "SELECT id, place_id FROM submissions ORDER BY id")
    assert [(r["id"], r["place_id"]) for r in stored] == [(1, "xicun"), (2, None)]


@sqlite_only
async def test_an_unknown_or_malformed_link_is_ignored_politely(
    stub: FakeBotApi, places_bot: BotRunner
) -> None:
    runner = places_bot
    chat = Chat(stub, ALICE)
    for payload in ("no_such_place", "bad$payload", "x" * 65):
        greeting = await chat.send(f"/start {payload}")
        assert zh("start.place_unknown") in greeting.plain
        assert payload not in greeting.plain  # never echoed
    assert drafts_of(runner.settings) == []  # nothing recorded
    asked = await to_identity(chat, "南村的自来水最近经常停水")
    assert zh("place.ask") in asked.plain  # still asked, as for anyone


@sqlite_only
async def test_many_places_are_chosen_level_by_level(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    towns = [{"id": f"town{i}", "names": {"zh-Hans": f"{i}号镇"}} for i in range(3)]
    villages = [
        {"id": f"v{i}_{j}", "names": {"zh-Hans": f"{i}镇{j}村"}, "parent": f"town{i}"}
        for i in range(3)
        for j in range(10)
    ]
    settings = make_settings(stub, places=towns + villages)
    runner = BotRunner(settings)
    await runner.start()
    try:
        chat = Chat(stub, ALICE)
        asked = await to_identity(chat, "2镇7村的桥有裂缝，车辆经过时晃动")
        labels = [label for label, _ in asked.buttons]
        assert "7村" not in " ".join(labels)  # the top level only: the towns open their level
        mark = stub.mark()
        stub.press_button(ALICE, asked, "2号镇")
        level = await stub.wait_for(
            ALICE.id, after=mark, predicate=lambda m: m.method.startswith("edit")
        )
        assert "2镇7村" in [label for label, _ in level.buttons]
        who = await chat.tap_data(level, level.button_data("2镇7村"))
        await finish(chat, who)
    finally:
        await runner.stop()
    assert [r["place_id"] for r in rows(settings, "SELECT place_id FROM submissions")] == ["v2_7"]


# ---------------------------------------------------------------- phases
async def test_the_phase_changes_what_the_bot_says_and_accepts(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    clock = FrozenClock(NOV_25)
    settings = make_settings(
        stub, campaign={"phases": PHASES}, limits={"max_submissions_per_hour": 0}
    )
    runner = BotRunner(settings, clock)
    await runner.start()
    try:
        chat = Chat(stub, ALICE)
        line = zh(
            "phase.current",
            phase="查摆问题",
            period="2026-11-16 – 2026-11-30",
            kinds=zh("kind.problem"),
        )
        assert line in (await chat.send("/start")).plain
        assert line in (await chat.send("/help")).plain

        # A suggestion is not collected now: said why and when; the text stays in the draft.
        refused = await chat.send("/suggest 建议在村口的小广场装几盏太阳能路灯")
        later = zh("phase.later", phase="整改落实", start="2026-12-01", kind=zh("kind.suggestion"))
        assert later in refused.plain
        assert "查摆问题" in refused.plain and zh("kind.suggestion") in refused.plain
        assert [data for _, data in refused.buttons] == ["kind:problem", "draft:cancel"]
        assert any("太阳能路灯" in d for d in drafts_of(settings))
        assert rows(settings, "SELECT * FROM submissions") == []
        # The resident files it as a problem instead: nothing was lost.
        received = await chat.tap(refused, zh("kind.problem"))
        assert zh("button.next").split()[0] in " ".join(label for label, _ in received.buttons)
        proposal = await chat.tap(received, zh("button.next").split()[0])
        who = await chat.tap(proposal, words("topic.accept"))
        number = await finish(chat, who)
        [item] = rows(settings, "SELECT * FROM submissions WHERE id = ?", (number,))
        assert item["kind"] == "problem" and item["phase_id"] == "checking"
        assert "太阳能路灯" in item["text"]

        # Refused without any text yet: the kind offered instead starts the draft.
        bob = Chat(stub, BOB)
        refused = await bob.send("/suggest")
        assert "查摆问题" in refused.plain
        asked = await bob.tap(refused, zh("kind.problem"))
        assert zh("compose.ask.problem") in asked.plain

        # Between phases nothing is refused: after the last one the greeting says so.
        clock.now = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
        ended = await chat.send("/start")
        assert zh("phase.ended", end="2026-12-31") in ended.plain
    finally:
        await runner.stop()


@sqlite_only
async def test_a_phase_that_begins_before_confirming_refuses_and_keeps_the_draft(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    clock = FrozenClock(NOV_15_LATE)
    settings = make_settings(stub, campaign={"phases": PHASES})
    runner = BotRunner(settings, clock)
    await runner.start()
    try:
        chat = Chat(stub, ALICE)
        who = await to_identity(chat, "建议镇里每月开一次群众座谈会", command="/suggest")
        summary = await chat.tap(who, words("identity.named"))
        clock.advance(minutes=20)  # midnight: 查摆问题 begins, problems only
        refused = await chat.tap(summary, words("button.confirm"))
        assert "查摆问题" in refused.plain
        why = zh(
            "phase.not_collected",
            phase="查摆问题",
            period="2026-11-16 – 2026-11-30",
            kind=zh("kind.suggestion"),
            kinds=zh("kind.problem"),
        )
        assert why in refused.plain
        assert rows(settings, "SELECT * FROM submissions") == []
        assert any("群众座谈会" in d for d in drafts_of(settings))
        # One tap: the kind changed, the finished draft goes straight back to its summary.
        again = await chat.tap(refused, zh("kind.problem"))
        assert zh("summary.title").removeprefix("<b>").removesuffix("</b>") in again.plain
        ack = await chat.tap(again, words("button.confirm"), expect="#")
        assert "#1" in ack.plain
    finally:
        await runner.stop()
    [item] = rows(settings, "SELECT kind, phase_id FROM submissions")
    assert (item["kind"], item["phase_id"]) == ("problem", "checking")


# ---------------------------------------------------------------- the office's views
async def test_place_and_phase_in_queue_stats_digest_weekly_and_ledger(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    clock = FrozenClock(NOV_10)
    base = {"places": PLACES, "campaign": {"phases": PHASES}, "roles": {"office_chat_id": OFFICE}}
    quiet = make_settings(stub, office={"announce_new": False}, **base)
    runner = BotRunner(quiet, clock)
    await runner.start()
    try:
        alice = Chat(stub, ALICE)
        await alice.send("/start dongcun")
        who = await to_identity(alice, "建议东村建一个农产品直销点", command="/suggest")
        assert await finish(alice, who) == 1  # 动员部署, 东村
        clock.now = NOV_20
        assert await with_place(Chat(stub, BOB), "西村的垃圾三天没人清运了", "西村") == 2
        assert await with_place(Chat(stub, CAROL), "有人在河边偷排污水", zh("place.skip")) == 3
        clock.now = NOV_25

        admin = Chat(stub, ADMIN)
        east = await admin.send("/queue new 东村", expect="地点：城关镇 / 东村")
        assert "#1" in east.plain and "#2" not in east.plain and "#3" not in east.plain
        town = await admin.send("/queue new 城关镇")  # a town: its villages' items too
        assert "#1" in town.plain and "#2" in town.plain and "#3" not in town.plain
        by_id = await admin.send("/queue xicun")
        assert tn("zh-Hans", "admin.queue.title", 1, total=1) in (by_id.text or "")
        assert zh("admin.queue.under") not in by_id.plain and zh("admin.queue.under") in town.plain
        english = await admin.send("/queue new East Village")  # a name in another language
        assert "#1" in english.plain and "#2" not in english.plain
        unknown = await admin.send("/queue new 不存在的村")  # said unknown, then the usage
        assert unknown.plain.startswith(zh("admin.queue.unknown", word="不存在的村"))
        assert zh("admin.queue.usage", statuses="")[:6] in unknown.plain

        stats = await admin.send("/stats 2026-11-01 2026-11-30", expect="统计")
        assert zh("stats.by_place", value="")[:3] in stats.plain
        for part in ("城关镇 / 东村 1", "城关镇 / 西村 1", f"{zh('place.none')} 1"):
            assert part in stats.plain
        assert "动员部署 1" in stats.plain and "查摆问题 2" in stats.plain

        digest = await admin.send("/digest", expect="每日简报")
        assert "当前阶段：查摆问题" in digest.plain
        # Items in the last 7 days: 西村 (and so 城关镇) only: 东村 and 河西镇, 南村 are silent.
        assert tn("zh-Hans", "digest.silent", 3, n=3) in digest.plain
        assert "• 河西镇" in digest.plain and "• 城关镇：东村" in digest.plain
        assert "• 河西镇：南村" in digest.plain

        mark = stub.mark()
        stub.send_text(ADMIN, "/export")
        sent = await stub.wait_for(
            ADMIN.id, after=mark, predicate=lambda m: m.method == "sendDocument"
        )
        upload = sent.params["document"]
        assert isinstance(upload, Upload)
        sheet = openpyxl.load_workbook(io.BytesIO(upload.content)).active
        table = [[c.value for c in row] for row in sheet.iter_rows()]
        header = table[0]
        place, phase = header.index(zh("ledger.place")), header.index(zh("ledger.phase"))
        assert [(r[place], r[phase]) for r in table[1:]] == [
            ("城关镇 / 东村", "动员部署"),
            ("城关镇 / 西村", "查摆问题"),
            (None, "查摆问题"),
        ]
    finally:
        await runner.stop()

    # The weekly summary (Wednesday 08:00 here) compares the phases since the campaign began.
    weekly = make_settings(
        stub,
        office={"scheduled_reports": True, "weekly_weekday": 3, "digest_time": "23:00"},
        **base,
    )
    runner = BotRunner(weekly, clock)
    await runner.start()
    try:
        await stub.wait_for_text(OFFICE, zh("phases.title")[3:8], timeout=10)
        text = "\n".join(m.plain for m in stub.messages_to(OFFICE))
        period = "2026-11-01 – 2026-11-15"
        line = tn("zh-Hans", "phases.line", 1, phase="动员部署", period=period, n=1, kinds="建议 1")
        assert line in text
        assert "查摆问题（2026-11-16 – 2026-11-30）：2 条（问题反映 2）" in text
        assert "整改落实" not in text.split(zh("phases.title")[3:8], 1)[1]  # not begun yet
    finally:
        await runner.stop()


async def test_the_web_desks_queue_filters_and_shows_the_place(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    from tests.webdesk import client_for, sign_in, started

    settings = places_settings(make_settings, stub, web={"enabled": True, "port": 0})
    async with started(settings) as runner, client_for(runner) as client:
        alice = Chat(stub, ALICE)
        await alice.send("/start dongcun")
        assert await finish(alice, await to_identity(alice, "东村的路灯坏了一个星期")) == 1
        assert await with_place(Chat(stub, BOB), "西村的垃圾三天没人清运", "西村") == 2
        assert await with_place(Chat(stub, CAROL), "南村的桥有裂缝", "南村") == 3
        await sign_in(client, runner)

        async def shown(query: str) -> tuple[set[int], str]:
            response = await client.get(f"/queue?{query}")
            html = await response.text()
            assert response.status == 200, html[:300]
            found = {int(n) for n in re.findall(r'<tr class="row[^"]*" data-id="(\d+)"', html)}
            return found, html

        assert (await shown("place=dongcun"))[0] == {1}
        assert (await shown("place=chengguan"))[0] == {1, 2}  # a town: with its villages
        assert (await shown("place=河西镇"))[0] == {3}  # by name, as typed
        everything, html = await shown("")
        assert everything == {1, 2, 3}
        assert '<option value="dongcun">\u3000东村</option>' in html  # indented under its town
        assert "城关镇 / 西村" in html  # the column
        ignored, html = await shown("place=nowhere")
        assert ignored == {1, 2, 3}
        notice = zh("web.queue.ignored", field=zh("web.field.place"))
        assert notice in html.replace("&#34;", '"')
        item = await client.get("/items/3")
        assert "河西镇 / 南村" in await item.text()
