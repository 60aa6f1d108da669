"""Migration 0012 (#13) on a database the earlier version wrote: one owner hash per person on
their language row, their plain drafts and all their anonymous items; plain message ids.
After the bot starts on it with the same key file, residents find everything again (their
items in /my, their draft, their language, a reply to an old question), and nothing of the
old linking values is left in the files."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core.records import Draft
from bot.core.workflow import Kind
from bot.i18n import t, tn
from storage.conversion import ConversionError
from storage.migrations import available_migrations
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import BotRunner, Chat, drafts_of

ALICE = FakeUser(id=5550001, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=5550002, first_name="王", last_name="建国", username="wang_jianguo")
OFFICE = -1001234567
STAMP = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).isoformat()
BOB_DRAFT = "小区门口的快递柜坏了"


def old_key_hash(secrets: Secrets, key: list[int]) -> str:
    """A conversation key's hash as the earlier version stored it."""
    label = f"conversation:resident:{json.dumps(key, separators=(',', ':'))}"
    return hmac.new(secrets.hmac_key, label.encode(), hashlib.sha256).hexdigest()


def old_database(path: Path, secrets: Secrets, question_message_id: int) -> None:
    """Schema 0001-0011 and rows written the way the earlier version wrote them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for migration in available_migrations():
            if migration.version > 11:
                continue
            db.executescript(migration.sql)
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                (migration.version, migration.name, STAMP),
            )
        alice, bob = secrets.person(ALICE.id), secrets.person(BOB.id)  # the old owner_hash
        db.execute("INSERT INTO users VALUES (?, 'en', ?, ?)", (alice, STAMP, STAMP))
        draft = Draft(kind=Kind.PROBLEM, parts=[BOB_DRAFT], last_update=1)
        db.execute(
            "INSERT INTO drafts VALUES (?, ?, ?, ?)", (bob, draft.model_dump_json(), STAMP, STAMP)
        )
        insert = (
            "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, owner_hash, reply_route, sender_user_id, sender_chat_id, sender_name,"
            " sender_username, language, status, created_at, updated_at)"
            " VALUES ('problem', ?, 'other', 'other', '[]', ?, ?, ?, ?, ?, ?, ?, 'en',"
            " 'accepted', ?, ?)"
        )
        named = (None, None, ALICE.id, ALICE.id, "李 秀英", "li_xiuying")

        def anonymous() -> tuple[object, ...]:  # the same owner hash on every item
            return (alice, secrets.encrypt_int(ALICE.id), None, None, None, None)

        rows = [
            ("建议在幸福路口增设红绿灯", 0, *named),  # 1: Alice, named
            ("匿名反映：村委会账目不公开", 1, *anonymous()),  # 2, 3: Alice, anonymous
            ("匿名反映：低保评定不公", 1, *anonymous()),
        ]
        for number, row in enumerate(rows, start=1):
            db.execute(insert, (*row, STAMP, STAMP))
            db.execute(
                "INSERT INTO history (submission_id, at, actor, to_status) VALUES (?, ?, 'sender',"
                " 'new')",
                (number, STAMP),
            )
        route = db.execute("SELECT reply_route FROM submissions WHERE id = 3").fetchone()[0]
        db.execute(  # #3 merged into #1: its sender follows #1 (with its stored route)
            "INSERT INTO followers VALUES (1, 3, ?, 'en')", (route,)
        )
        outbox = (
            "INSERT INTO outbox (created_at, submission_id, chat_enc, body, status, attempts,"
            " next_attempt_at, sent_at, message_id, purpose)"
            " VALUES (?, ?, ?, ?, 'sent', 1, ?, ?, ?, ?)"
        )
        body = json.dumps({"text": "question", "buttons": []})
        for number, chat, message_id, purpose in (
            (2, route, question_message_id, "question"),  # old: the same token as the route
            (3, secrets.encrypt_int(ALICE.id), question_message_id + 1, None),
            (1, secrets.encrypt_int(ALICE.id), question_message_id + 2, None),
            (1, secrets.encrypt_int(OFFICE), 77, None),
        ):
            db.execute(outbox, (STAMP, number, chat, body, STAMP, STAMP, message_id, purpose))
        db.execute(
            "INSERT INTO conversations VALUES ('resident', ?, ?, '\"compose\"', ?)",
            (
                old_key_hash(secrets, [BOB.id, BOB.id]),
                secrets.encrypt(json.dumps([BOB.id, BOB.id])),
                STAMP,
            ),
        )


def write_key_file(settings: Settings, secrets: Secrets) -> None:
    path = Path(settings.anonymity.key_file)
    hmac_key, encryption_key = secrets.exported()
    path.write_text(json.dumps({"hmac_key": hmac_key, "encryption_key": encryption_key}))
    path.chmod(0o600)


def files_of(settings: Settings) -> bytes:
    path = Path(settings.storage.path)
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


async def test_an_old_database_is_converted_and_residents_find_everything_again(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    secrets = Secrets.generate()
    write_key_file(settings, secrets)
    # The question the office once sent to Alice about her anonymous #2 (the stand-in keeps
    # it, so she can reply to it now).
    async with Bot(stub.token, base_url=stub.base_url) as old_bot:
        asked = await old_bot.send_message(ALICE.id, "请问是哪一年的账目？")
    question = stub.sent[-1]
    old_database(Path(settings.storage.path), secrets, asked.message_id)
    old_values = [secrets.person(ALICE.id), secrets.person(BOB.id)]
    old_values.append(old_key_hash(secrets, [BOB.id, BOB.id]))

    runner = BotRunner(settings)
    await runner.start()
    try:
        alice, bob = Chat(stub, ALICE), Chat(stub, BOB)
        listing = await alice.send("/my", expect="#3")  # in English: her choice was kept
        assert all(f"#{n}" in listing.plain for n in (1, 2, 3))
        assert "My submissions (1–3 of 3)" in listing.plain
        detail = await alice.send("/status 2", expect="#2")
        assert "账目" in detail.plain
        mark = stub.mark()
        stub.send_reply(ALICE, question, "2023年的")  # her answer still finds #2
        await stub.wait_for_text(ALICE.id, t("en", "notify.answer_saved", ref="#2"), after=mark)
        more = await bob.send("已经坏了一个月")  # his draft goes on
        chars = len(BOB_DRAFT) + len("已经坏了一个月")  # the old part counted with the new
        assert more.plain == tn("zh-Hans", "compose.received", 0, chars=chars, attachments=0)
        [draft] = drafts_of(settings)
        assert BOB_DRAFT in draft and "已经坏了一个月" in draft
        nobody = await Chat(stub, FakeUser(id=5550009, first_name="X")).send("/status 2")
        assert "账目" not in nobody.plain
    finally:
        await runner.stop()

    with sqlite3.connect(settings.storage.path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations")]
        outbox = db.execute(
            "SELECT submission_id, message_id, message_key, chat_enc FROM outbox ORDER BY id"
        ).fetchall()
        tags = [r[0] for r in db.execute("SELECT owner_tag FROM submissions WHERE anonymous = 1")]
        follower = db.execute("SELECT chat_enc FROM followers").fetchone()[0]
        routes = [r[0] for r in db.execute("SELECT reply_route FROM submissions WHERE id = 3")]
    assert {"languages", "drafts", "conversations"} <= tables
    assert not {"users", "users_old", "drafts_old"} & tables
    assert versions.count(12) == 1
    assert tags == [secrets.own_tag(ALICE.id, 2), secrets.own_tag(ALICE.id, 3)]
    # Private chats: the question's message has a keyed hash, the other notices nothing;
    # the office group's card keeps its plain id. Every token is a fresh one.
    assert [(n, m, k is not None) for n, m, k, _ in outbox[:4]] == [
        (2, None, True),
        (3, None, False),
        (1, None, False),
        (1, 77, False),
    ]
    tokens = [c for *_, c in outbox] + [follower] + routes
    assert len(set(tokens)) == len(tokens)
    assert secrets.decrypt_int(follower) == ALICE.id
    data = files_of(settings)
    for value in old_values:  # the old linking values are gone from every file
        assert value.encode() not in data
    assert BOB_DRAFT.encode() not in data  # the draft is sealed now

    # Idempotent: a second start converts nothing again and finds the same.
    await runner.start()
    try:
        again = await Chat(stub, ALICE).send("/my", expect="#3")
        assert "#2" in again.plain
    finally:
        await runner.stop()
    with sqlite3.connect(settings.storage.path) as db:
        assert [r[0] for r in db.execute("SELECT version FROM schema_migrations")].count(12) == 1


async def test_conversion_refuses_keys_that_did_not_write_the_database(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old_database(path, Secrets.generate(), 5)
    for secrets in (Secrets.generate(), None):
        repository = Repository(path, secrets=secrets)
        with pytest.raises(ConversionError):
            await repository.connect()
        await repository.close()
    with sqlite3.connect(path) as db:  # nothing changed: still the old version, all there
        assert max(r[0] for r in db.execute("SELECT version FROM schema_migrations")) == 11
        assert db.execute("SELECT COUNT(*) FROM drafts").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM users").fetchone() == (1,)


async def test_an_old_database_without_residents_data_needs_no_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old_database(path, Secrets.generate(), 5)
    with sqlite3.connect(path) as db:
        for table in ("conversations", "followers", "outbox", "drafts", "users"):
            db.execute(f"DELETE FROM {table}")
        db.execute(  # named items only
            "UPDATE submissions SET anonymous = 0, owner_hash = NULL, reply_route = NULL,"
            " sender_user_id = 1, sender_chat_id = 1"
        )
    repository = Repository(path)
    await repository.connect()
    await repository.close()
    with sqlite3.connect(path) as db:
        assert 12 in {r[0] for r in db.execute("SELECT version FROM schema_migrations")}
        latest = available_migrations()[-1].version  # and every one after it
        assert max(r[0] for r in db.execute("SELECT version FROM schema_migrations")) == latest


def test_backup_of_an_old_database_needs_no_keys(tmp_path: Path) -> None:
    from bot.cli import main

    path = tmp_path / "old.sqlite3"
    old_database(path, Secrets.generate(), 5)
    config = tmp_path / "config.toml"
    topics = '[[topics]]\nid = "other"\nnames = { "zh-Hans" = "其他" }\nfallback = true\n'
    config.write_text(f'[storage]\npath = "{path}"\n' + topics, encoding="utf-8")
    assert main(["backup", "--config", str(config), str(tmp_path / "copy.sqlite3")]) == 0
    with sqlite3.connect(tmp_path / "copy.sqlite3") as db:
        assert max(r[0] for r in db.execute("SELECT version FROM schema_migrations")) == 11
