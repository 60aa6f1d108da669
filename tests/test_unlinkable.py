"""Anonymity against whoever holds the database files (#13): nothing stored links an
anonymous item to a person, or to the same person's other items.

The attacker of the issue, reproduced: residents who send named and anonymous items (one
named first, then anonymous; the other the other way round; a third for contrast), the
office working on them, copies of the database and its write-ahead log taken while the bot
runs ("live polling" of the files, and one at the end), and two ordinary ``jindianzi
backup``s, one taken while a draft was open that was later cancelled. Then a scan that
takes every value stored for each anonymous item (each column of its rows in every table
that refers to it) and looks for it, by equality and inside the values and raw bytes of
every page of every copy, next to a trace of the same person's named items (their text,
the sender's id or name) or of their other anonymous items.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

from bot.anonymity import Secrets, load_or_create_secrets
from bot.cli import main as cli
from bot.config import LANGUAGES, Settings
from bot.core.records import RATINGS
from bot.core.workflow import Kind, Status
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.processes import EXAMPLE_CONFIG
from tests.sqlite_pages import Record, Value, database_records, wal_records
from tests.test_e2e_office import submit

OFFICE = -1001234567
ALICE = FakeUser(id=5550001, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=5550002, first_name="王", last_name="建国", username="wang_jianguo")
CAROL = FakeUser(
    id=5550003, first_name="Carol", last_name="Chen", username="carol_chen", language_code="en"
)


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@dataclass
class Item:
    number: int
    person: FakeUser
    anonymous: bool


@dataclass
class Copies:
    """What the attacker collected: (name, bytes) of database and log copies, and backups."""

    files: list[tuple[str, bytes]] = field(default_factory=list)

    def take(self, settings: Settings, label: str) -> None:
        """Copy the database file and its write-ahead log as they are right now."""
        path = Path(settings.storage.path)
        for suffix in ("", "-wal"):
            file = path.with_name(path.name + suffix)
            if file.exists():
                self.files.append((f"{label}{suffix or '-db'}", file.read_bytes()))

    def records(self) -> Iterator[Record]:
        for name, data in self.files:
            if name.endswith("-wal"):
                yield from wal_records(Path(name), data)
            else:
                yield from database_records(Path(name), data)


class Office:
    """The clerk, in a private chat with the bot."""

    def __init__(self, stub: FakeBotApi) -> None:
        self.stub = stub
        self.chat = Chat(stub, ADMIN)

    async def press(self, number: int, label: str) -> SentMessage:
        card = await self.chat.send(f"/show {number}", expect=f"#{number}")
        return await self.chat.tap(card, label)

    async def reply_to_prompt(self, number: int, label: str, text: str) -> None:
        prompt = await self.press(number, label)
        mark = self.stub.mark()
        self.stub.send_reply(ADMIN, prompt, text)
        await self.stub.wait_for(ADMIN.id, after=mark)


async def backup(settings: Settings, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``jindianzi backup TARGET``, as an operator runs it while the bot runs."""
    import logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setenv("JINDIANZI_STORAGE__PATH", str(settings.storage.path))
    try:
        code = await asyncio.to_thread(
            cli, ["backup", "--config", str(EXAMPLE_CONFIG), str(target)]
        )
    finally:
        monkeypatch.delenv("JINDIANZI_STORAGE__PATH")
        root.handlers[:], level = saved
        root.setLevel(level)
    assert code == 0


# ---------------------------------------------------------------- the scan
def substantial(value: Value) -> bool:
    """A value specific enough to identify something if found elsewhere (short strings,
    small numbers and flags are shared by everything)."""
    if isinstance(value, str | bytes):
        return len(value) >= 8
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return abs(value) >= 100_000
    return isinstance(value, float) and not value.is_integer()


def item_values(db: sqlite3.Connection, number: int) -> set[Value]:
    """Every value of every row, in every table, that refers to item ``number``, except the
    columns derived from the text alone (anyone writing the same would share them)."""
    derived = {"evidence", "suggested_topic_id", "topic_id"}
    values: set[Value] = set()
    row = db.execute("SELECT * FROM submissions WHERE id = ?", (number,)).fetchone()
    values |= {row[k] for k in row.keys() if k not in derived}  # noqa: SIM118
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for ref in db.execute(f"PRAGMA foreign_key_list({table})"):
            if ref["table"] != "submissions":
                continue
            for found in db.execute(
                f"SELECT * FROM {table} WHERE {ref['from']} = ?",
                (number,),
            ):
                values |= {found[k] for k in found.keys()}  # noqa: SIM118
    return {v for v in values if substantial(v)}


@dataclass
class Marks:
    """What marks one item in a record: values (compared for equality) and strings (looked
    for inside longer values and raw bytes)."""

    values: set[Value]
    strings: set[str]


def identity(person: FakeUser) -> Marks:
    """What identifies a person: their id, names and username."""
    names = {
        f"{person.first_name} {person.last_name}",
        f"{person.first_name}{person.last_name}",
        person.username or "",
        str(person.id),
    }
    return Marks({person.id, *names}, {n for n in names if n})


def contains(haystack: Value, needle: str) -> bool:
    if needle.isdigit():  # a number: only as a whole number, not inside a base64 token
        pattern = rf"(?<![A-Za-z0-9_\-]){needle}(?![A-Za-z0-9_\-])"
        if isinstance(haystack, bytes):
            return re.search(pattern.encode(), haystack) is not None
        return isinstance(haystack, str) and re.search(pattern, haystack) is not None
    if isinstance(haystack, bytes):
        return needle.encode() in haystack
    return isinstance(haystack, str) and needle in haystack


def bears(record: Record, marks: Marks) -> bool:
    for value in record.values:
        if value in marks.values and not record.raw:
            return True
        if isinstance(value, str | bytes) and any(contains(value, s) for s in marks.strings):
            return True
    return False


def links(
    db_path: Path, items: list[Item], records: Iterable[Record], vocabulary: set[Value]
) -> tuple[list[str], dict[int, int]]:
    """What the copies link: an anonymous item to its sender's identity or named items, or
    to the same person's other anonymous items; and, for each anonymous item, how many
    records of the copies bear it (so the scan did find the item itself)."""
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        stored = {item.number: item_values(db, item.number) for item in items}
    found: list[str] = []
    marks: dict[int, Marks] = {}
    for item in items:
        others = set().union(*(stored[o.number] for o in items if o.person is not item.person))
        specific = stored[item.number] - others - vocabulary
        marks[item.number] = Marks(specific, {v for v in specific if isinstance(v, str)})
    unique = {(r.values, r.raw): r for r in records}.values()
    seen: dict[int, int] = {}
    for item in (i for i in items if i.anonymous):
        mine = marks[item.number]
        related = [o for o in items if o.person is item.person and o is not item]
        for other in related:
            shared = mine.values & marks[other.number].values
            if shared:
                found.append(f"#{item.number} and #{other.number} store the same {shared!r}")
        traces = {f"#{o.number}": marks[o.number] for o in related}
        traces[f"{item.person.first_name}{item.person.last_name}"] = identity(item.person)
        assert len(mine.values) >= 5, (item.number, mine.values)
        for record in unique:
            if not bears(record, mine):
                continue
            seen[item.number] = seen.get(item.number, 0) + 1
            for name, trace in traces.items():
                if bears(record, trace):
                    found.append(f"#{item.number} next to {name} in {record.source}")
    return found, seen


# ---------------------------------------------------------------- the attacker's story
async def test_no_copy_of_the_files_links_an_anonymous_item_to_anyone(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(
        stub, roles={"office_chat_id": OFFICE}, limits={"max_submissions_per_hour": 0}
    )
    runner = BotRunner(settings)
    copies = Copies()
    alice, bob, carol = Chat(stub, ALICE), Chat(stub, BOB), Chat(stub, CAROL)
    office = Office(stub)
    items: list[Item] = []

    async def send(chat: Chat, text: str, *, anonymous: bool) -> Item:
        number = await submit(chat, text, anonymous=anonymous)
        copies.take(settings, f"after-{number}")  # someone polling the files
        items.append(Item(number, chat.user, anonymous))
        return items[-1]

    await runner.start()
    try:
        # Alice: named first, then (after a draft she cancelled) anonymous, twice.
        n1 = await send(alice, "建议在幸福路口增设红绿灯，学生过马路太危险", anonymous=False)
        await alice.send("/suggest 我是李秀英，住幸福路3号，想反映楼道里的灯坏了半年")
        await backup(settings, tmp_path / "backup-1.sqlite3", monkeypatch)  # the draft is open
        await alice.send("/cancel", expect=zh("cancel.done"))
        a1 = await send(alice, "匿名反映：村委会账目长期不公开，群众意见很大", anonymous=True)
        a2 = await send(alice, "匿名反映：低保评定有人情关系，希望核查", anonymous=True)
        # Bob: anonymous first, then named.
        a3 = await send(bob, "匿名反映：菜市场有人强行收取摊位费", anonymous=True)
        n2 = await send(bob, "建议菜市场门口增加垃圾清运次数", anonymous=False)
        # Carol, for contrast: what everybody's items have in common is no link.
        await send(
            carol, "Please open the school sports ground to residents at weekends", anonymous=True
        )
        await send(carol, "Please repair the broken street lamps on River Road", anonymous=False)

        # The office works: every item accepted (each sender told), a question to Alice about
        # her first anonymous item that she answers, a response to the second that she rates.
        for item in items:
            mark = stub.mark()
            await office.press(item.number, "受理")
            await stub.wait_for(item.person.id, after=mark)
        mark = stub.mark()
        await office.reply_to_prompt(a1.number, "请提交人补充", "是哪一年的账目？")
        question = await stub.wait_for_text(ALICE.id, "哪一年", after=mark)
        mark = stub.mark()
        stub.send_reply(ALICE, question, "2023年和2024年的都没有公开")
        await stub.wait_for_text(
            ALICE.id, zh("notify.answer_saved", ref=f"#{a1.number}"), after=mark
        )
        await office.reply_to_prompt(a2.number, "答复", "已请民政办复核低保评定。")
        response = await stub.wait_for_text(ALICE.id, "民政办", after=mark)
        mark = stub.mark()
        stub.press_button(ALICE, response, zh("rating.satisfied"))
        await stub.wait_for_text(ALICE.id, zh("rating.satisfied"), after=mark)
        await stub.wait_idle(quiet=0.3)

        copies.take(settings, "end")  # one copy of db + WAL afterwards
        await backup(settings, tmp_path / "backup-2.sqlite3", monkeypatch)
    finally:
        await runner.stop()
    copies.take(settings, "stopped")
    assert {n1.number, a1.number, a2.number, a3.number, n2.number} <= {i.number for i in items}

    vocabulary: set[Value] = {
        *(s.value for s in Status),
        *(k.value for k in Kind),
        *(topic.id for topic in settings.topics),
        *LANGUAGES,
        *RATINGS,
        ADMIN.id,
        f"admin:{ADMIN.id}",
        OFFICE,
    }
    records = [
        *copies.records(),
        *database_records(tmp_path / "backup-1.sqlite3"),
        *database_records(tmp_path / "backup-2.sqlite3"),
    ]
    assert len(records) > 1000  # the scan saw the files
    found, seen = links(Path(settings.storage.path), items, records, vocabulary)
    assert found == [], "\n".join(found)
    # The scan did see every anonymous item in the copies (its rows, its notices...).
    assert {i.number for i in items if i.anonymous} == {n for n, count in seen.items() if count}


# ---------------------------------------------------------------- message ids (finding 3)
def gap_suspects(settings: Settings) -> dict[int, set[int]]:
    """The office's attack on message ids: for each notice of an anonymous item, the named
    senders in whose chat its message id falls between two of their own notices (ids count
    per chat: the anonymous sender's chat always fits). Notices to senders are told from
    cards by their text; the test tells them by their (decrypted) private chat."""
    secrets = load_or_create_secrets(settings.anonymity)
    with sqlite3.connect(settings.storage.path) as db:
        rows = db.execute(
            "SELECT o.message_id, o.chat_enc, s.id, s.anonymous, s.sender_chat_id"
            " FROM outbox o JOIN submissions s ON s.id = o.submission_id"
            " WHERE o.message_id IS NOT NULL AND o.status = 'sent'"
        ).fetchall()
    named: dict[int, list[int]] = {}
    anonymous: list[tuple[int, int]] = []
    for message_id, chat_enc, number, is_anonymous, sender_chat in rows:
        chat = secrets.decrypt_int(chat_enc)
        if chat is None or chat < 0:  # a card in a group: not a notice to a sender
            continue
        if is_anonymous:
            anonymous.append((number, message_id))
        elif chat == sender_chat:
            named.setdefault(chat, []).append(message_id)
    suspects: dict[int, set[int]] = {}
    for number, message_id in anonymous:
        for chat, ids in named.items():
            ordered = sorted(ids)
            if any(a < message_id < b for a, b in pairwise(ordered)):
                suspects.setdefault(number, set()).add(chat)
    return suspects


async def test_notice_message_ids_cannot_be_compared_across_chats(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        stub, roles={"office_chat_id": OFFICE}, limits={"max_submissions_per_hour": 0}
    )
    runner = BotRunner(settings)
    office = Office(stub)
    bob, carol = Chat(stub, BOB), Chat(stub, CAROL)
    await runner.start()
    try:
        named = [
            await submit(bob, "建议菜市场门口增加垃圾清运次数", anonymous=False),
            await submit(carol, "Please repair the broken street lamps", anonymous=False),
        ]
        later = [
            await submit(bob, "建议在菜市场旁边建一个公共厕所", anonymous=False),
            await submit(carol, "Please add a bench at the bus stop", anonymous=False),
        ]
        secret = await submit(bob, "匿名反映：菜市场有人强行收取摊位费", anonymous=True)
        # The office notifies every named sender, then the anonymous one, then all again.
        for number in named:
            await office.press(number, "受理")
        mark = stub.mark()
        await office.reply_to_prompt(secret, "请提交人补充", "大概是哪几个人？")
        question = await stub.wait_for_text(BOB.id, "哪几个人", after=mark)
        for number in later:
            await office.press(number, "受理")
        await stub.wait_idle(quiet=0.3)
        # The sender's reply to the question still finds its item.
        mark = stub.mark()
        stub.send_reply(BOB, question, "穿制服的两个人")
        await stub.wait_for_text(BOB.id, zh("notify.answer_saved", ref=f"#{secret}"), after=mark)
    finally:
        await runner.stop()
    assert gap_suspects(settings) == {}
    secrets = load_or_create_secrets(settings.anonymity)
    with sqlite3.connect(settings.storage.path) as db:
        sent = [
            (secrets.decrypt_int(chat_enc) or 0, message_id, message_key)
            for chat_enc, message_id, message_key in db.execute(
                "SELECT chat_enc, message_id, message_key FROM outbox WHERE status = 'sent'"
            )
        ]
        events = db.execute("SELECT body FROM events WHERE kind = 'answer'").fetchall()
    private = [(m, k) for chat, m, k in sent if chat > 0]
    assert len(private) >= 5 and all(m is None for m, _ in private)  # no plain id
    assert [k for _, k in private if k] and all(
        m is not None for chat, m, _ in sent if chat < 0
    )  # a hash where a reply is matched (the question); groups keep their plain ids
    assert events == [("穿制服的两个人",)]


# ---------------------------------------------------------------- the WAL (finding 5)
def decryptable(secrets: Secrets, data: bytes) -> list[str]:
    """The plain text of every Fernet token in ``data`` that these keys decrypt (a token is
    cut where it ends: base64 characters of the next value may follow it)."""
    found = []
    for match in re.finditer(rb"gAAAAA[A-Za-z0-9_\-]+={0,2}", data):
        token = match.group().decode()
        for end in range(len(token) - len(token) % 4, 40, -4):
            plain = secrets.decrypt(token[:end])
            if plain is not None:
                found.append(plain)
                break
    return found


async def test_handled_updates_leave_no_readable_body_in_the_files(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """Even with the key file, the database files hold no body of an update that was handled
    (they carried the sender's name and username), nor a deleted draft."""
    settings = make_settings(stub, anonymity={"wal_scrub_seconds": 0.2})
    runner = BotRunner(settings)
    chat = Chat(stub, ALICE)
    await runner.start()
    try:
        for n in range(3):
            await submit(chat, f"匿名反映第{n}件事：村道上的路灯不亮", anonymous=True)
        await chat.send("/suggest 这份草稿会被放弃")
        await chat.send("/cancel", expect=zh("cancel.done"))
        await stub.wait_idle(quiet=0.5)
        wal = Path(settings.storage.path).with_name(Path(settings.storage.path).name + "-wal")
        try:  # the scrub job truncates the log (checked after what the files hold)
            await stub.wait_until(lambda: wal.stat().st_size == 0, timeout=10)
            truncated = True
        except AssertionError:
            truncated = False
        copies = Copies()
        copies.take(settings, "now")
    finally:
        await runner.stop()
    secrets = load_or_create_secrets(settings.anonymity)
    files = dict(copies.files)
    cancelled = "这份草稿会被放弃"
    for data in files.values():
        assert b"li_xiuying" not in data and cancelled.encode() not in data
    readable = [p for data in files.values() for p in decryptable(secrets, data)]
    assert not [p for p in readable if "update_id" in p or "li_xiuying" in p], readable
    assert not [p for p in readable if cancelled in p or "路灯" in p], readable  # drafts
    assert not [p for p in readable if p.startswith(f"[{ALICE.id}")], readable  # conversations
    assert truncated and files.get("now-wal", b"") == b""


# ---------------------------------------------------------------- forward secrecy
async def test_a_closed_anonymous_item_is_unlinked_for_good_after_the_set_days(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """``anonymity.unlink_after_days`` after 销号 the item's route and tag are deleted, and
    every copy of its sender's chat in the outbox: then even the key file leads nowhere; the
    item leaves the sender's /my, /status refuses it, and a rating no longer counts."""
    from datetime import UTC, datetime

    from bot.context import CustomContext
    from handlers import maintenance
    from tests.conftest import FrozenClock

    clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    runner = BotRunner(settings, clock=clock)
    office, alice = Office(stub), Chat(stub, ALICE)
    app = await runner.start()
    svc = app.bot_data.services

    async def unlink_job() -> None:
        await maintenance.unlink_closed(CustomContext(app))

    try:
        closed = await submit(alice, "匿名反映：村委会账目长期不公开", anonymous=True)
        still_open = await submit(alice, "匿名反映：低保评定有人情关系", anonymous=True)
        mark = stub.mark()
        await office.press(closed, "受理")
        await office.reply_to_prompt(closed, "请提交人补充", "是哪一年的账目？")
        question = await stub.wait_for_text(ALICE.id, "哪一年", after=mark)
        await office.reply_to_prompt(closed, "答复", "已责成村委会公开账目。")
        response = await stub.wait_for_text(ALICE.id, "公开账目", after=mark)
        await office.press(closed, "销号")
        await stub.wait_idle(quiet=0.3)

        clock.advance(days=29)  # not yet
        await unlink_job()
        listing = await alice.send("/my", expect=f"#{closed}")
        assert f"#{still_open}" in listing.plain

        clock.advance(days=2)
        await unlink_job()
        listing = await alice.send("/my", expect=f"#{still_open}")
        assert f"#{closed}" not in listing.plain
        assert tn("zh-Hans", "my.unlinked", 30, days=30) in listing.plain
        refused = await alice.send(f"/status {closed}")
        assert refused.plain == zh("status.not_found", ref=f"#{closed}")
        mark = stub.mark()
        stub.press_button(ALICE, response, zh("rating.satisfied"))
        stale = await stub.wait_for(ALICE.id, after=mark)
        assert stale.plain == zh("button.stale")
        mark = stub.mark()  # a reply to the old question no longer finds its item
        stub.send_reply(ALICE, question, "2023年的")
        await stub.wait_idle(quiet=0.3)
        assert not [m for m in stub.sent if m.seq > mark and "#" + str(closed) in m.plain]
        assert await svc.repository.is_owner(still_open, user_id=ALICE.id)
    finally:
        await runner.stop()

    secrets = load_or_create_secrets(settings.anonymity)
    with sqlite3.connect(settings.storage.path) as db:
        item = db.execute(
            "SELECT owner_tag, reply_route FROM submissions WHERE id = ?", (closed,)
        ).fetchone()
        outbox = db.execute(
            "SELECT chat_enc, message_key FROM outbox WHERE submission_id = ?", (closed,)
        ).fetchall()
    assert item[1] is None and item[0] != secrets.own_tag(ALICE.id, closed)
    chats = [secrets.decrypt_int(chat_enc) for chat_enc, _ in outbox]
    assert ALICE.id not in chats and OFFICE in chats  # the office's copies stay
    assert all(key is None for _, key in outbox)
    # The key holder tries every message id of Alice's chat: no stored key is hers.
    keys = {secrets.message_key(ALICE.id, m) for m in range(1, 500)}
    data = b"".join(f[1] for f in _files(settings))
    assert not [k for k in keys if k.encode() in data]
    assert secrets.own_tag(ALICE.id, closed).encode() not in data
    assert secrets.own_tag(ALICE.id, still_open).encode() in data  # (the search works)


def _files(settings: Settings) -> list[tuple[str, bytes]]:
    copies = Copies()
    copies.take(settings, "now")
    return copies.files
