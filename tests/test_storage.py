"""The repository: schema and migrations, drafts, submissions in one transaction, the
anonymity constraint, append-only history, paging, status changes and transactions."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot.anonymity import SEAL_BLOCK, Secrets
from bot.core.records import (
    Attachment,
    Draft,
    NewSubmission,
    Outgoing,
    Rated,
    Recipient,
    Sender,
    TopicEvidence,
)
from bot.core.workflow import IllegalTransition, Kind, Status
from bot.transport.outcomes import FailedForGood
from storage import migrations
from storage.migrations import Migration, apply_migrations, available_migrations
from storage.pg import INTEGRITY_ERRORS
from storage.repository import NotFound, Repository
from storage.residents import remembering_drafts
from tests.conftest import FrozenClock

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SECRETS = Secrets.generate()
ANON_USER = 987654321


def clock() -> datetime:
    return NOW


class Ticking:
    """A clock that moves one minute per call, to see whether anything was written."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
async def repo(storage_target: str) -> AsyncIterator[Repository]:
    """The repository on SQLite and on PostgreSQL (every test that uses it runs on both)."""
    repository = Repository(storage_target, clock=clock, secrets=SECRETS)
    await repository.connect()
    try:
        yield repository
    finally:
        await repository.close()


def named(user_id: int = 7, text: str = "建议增加公交班次") -> NewSubmission:
    return NewSubmission(
        kind=Kind.SUGGESTION,
        text=text,
        topic_id="transport",
        suggested_topic_id="transport",
        evidence=(TopicEvidence(topic_id="transport", score=2.0, keywords=("公交",)),),
        language="zh-Hans",
        sender=Sender(user_id=user_id, chat_id=user_id, name="王五", username="wangwu"),
    )


def anonymous(user_id: int = ANON_USER) -> NewSubmission:
    return NewSubmission(
        kind=Kind.PROBLEM,
        text="井盖丢了",
        topic_id="construction",
        suggested_topic_id="other",
        evidence=(),
        language="zh-Hant",
        attachments=(
            Attachment(type="photo", file_id="P1", file_unique_id="U1"),
            Attachment(type="location", latitude=30.5, longitude=120.25),
        ),
        reply_route=SECRETS.encrypt_int(user_id),
    )


def sender_of(new: NewSubmission) -> int:
    """The Telegram id of whoever sends ``new`` (an anonymous route is their private chat)."""
    if new.sender is not None:
        return new.sender.user_id
    route = SECRETS.decrypt_int(new.reply_route)
    assert route is not None
    return route


async def store(repo: Repository, new: NewSubmission) -> int:
    owner = sender_of(new)
    await repo.save_draft(owner, Draft(parts=["x"]))
    return (await repo.create_submission(new, owner_id=owner)).id


async def count(repo: Repository, table: str) -> int:
    async with repo.reading() as db, db.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------- schema and migrations
async def test_connect_creates_the_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "fresh.sqlite3"
    repository = Repository(path, secrets=SECRETS)
    await repository.connect()
    await repository.connect()  # idempotent
    async with repository.reading() as db, db.execute("PRAGMA journal_mode") as cur:
        assert tuple(await cur.fetchone() or ()) == ("wal",)
    assert await repository.integrity_check() == ["ok"]
    await repository.close()
    await repository.close()  # closing twice is harmless
    with sqlite3.connect(path) as plain:
        versions = [r[0] for r in plain.execute("SELECT version FROM schema_migrations")]
        tables = {r[0] for r in plain.execute("SELECT name FROM sqlite_master")}
    assert versions == [m.version for m in available_migrations()]
    expected = range(1, max(versions) + 1)
    assert versions == [v for v in expected if v not in migrations.RESERVED]
    assert {"languages", "drafts", "submissions", "attachments", "history"} <= tables
    assert "conversations" in tables and not {"users", "users_old", "drafts_old"} & tables


async def test_reconnecting_applies_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = Repository(path, clock=clock, secrets=SECRETS)
    await first.connect()
    await store(first, named())
    await first.close()
    again = Repository(path, clock=clock, secrets=SECRETS)
    await again.connect()
    assert await apply_migrations(again.db) == []
    assert (await again.get_submission(1)) is not None  # the data is still there
    await again.close()


async def test_a_failing_migration_leaves_no_half_applied_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = [
        Migration(1, "one", "CREATE TABLE a (x);"),
        Migration(2, "two", "CREATE TABLE b (x);\nINSERT INTO nowhere VALUES (1);"),
    ]
    monkeypatch.setattr(migrations, "available_migrations", lambda: fake)
    async with aiosqlite.connect(":memory:", isolation_level=None) as db:
        with pytest.raises(sqlite3.OperationalError):
            await apply_migrations(db)
        names = {r[0] for r in await db.execute_fetchall("SELECT name FROM sqlite_master")}
        versions = [
            r[0] for r in await db.execute_fetchall("SELECT version FROM schema_migrations")
        ]
    assert "a" in names and "b" not in names
    assert versions == [1]


async def test_a_migration_merged_later_with_a_lower_number_still_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = [
        Migration(1, "one", "CREATE TABLE a (x);"),
        Migration(3, "three", "CREATE TABLE c (x);"),
    ]
    monkeypatch.setattr(migrations, "available_migrations", lambda: first)
    async with aiosqlite.connect(":memory:", isolation_level=None) as db:
        assert await apply_migrations(db) == [1, 3]
        later = [*first[:1], Migration(2, "two", "CREATE TABLE b (x);"), first[1]]
        monkeypatch.setattr(migrations, "available_migrations", lambda: later)
        assert await apply_migrations(db) == [2]
        assert await apply_migrations(db) == []


# ---------------------------------------------------------------- drafts
async def test_draft_round_trip(repo: Repository) -> None:
    assert await repo.get_draft(5) is None
    draft = Draft(
        kind=Kind.PROBLEM,
        parts=["一", "二"],
        attachments=[Attachment(type="location", latitude=1.5, longitude=2.5)],
        anonymous=True,
    )
    await repo.save_draft(5, draft)
    assert await repo.get_draft(5) == draft
    changed = draft.model_copy(update={"parts": ["三"]})
    await repo.save_draft(5, changed)  # upsert
    assert await repo.get_draft(5) == changed
    assert await repo.get_draft(6) is None
    assert await count(repo, "drafts") == 1
    assert await repo.delete_draft(5) is True
    assert await repo.delete_draft(5) is False
    assert await repo.get_draft(5) is None


async def test_drafts_are_sealed_under_a_new_random_id_each_time(repo: Repository) -> None:
    """A draft's row holds no value another draft of the same person (or anything else of
    theirs) holds: a random id, the owner's pseudonym sealed with the draft, and the
    number of the draft among all drafts added (#24: every worker reads the new ones)."""
    ids = []
    for text in ("第一份草稿的内容", "第二份草稿的内容"):
        await repo.save_draft(5, Draft(parts=[text]))
        rows = await repo._fetchall("SELECT * FROM drafts")
        assert len(rows) == 1 and set(rows[0].keys()) == {"seq", "id", "body"}
        ids.append(rows[0]["id"])
        assert text not in rows[0]["body"]
        plain = SECRETS.unseal(rows[0]["body"])
        assert plain is not None and plain.startswith(SECRETS.keys(5).draft + "\n")
        # Padded: the token's length tells only the number of blocks (Fernet adds 57 bytes
        # and a block of PKCS7 padding to what it encrypts).
        assert (len(base64.urlsafe_b64decode(rows[0]["body"])) - 73) % SEAL_BLOCK == 0
        assert await repo.delete_draft(5)
    assert ids[0] != ids[1]


async def test_within_one_update_a_draft_is_read_once_and_follows_its_own_writes(
    repo: Repository, storage_target: str
) -> None:
    """#24's sustained bench: the handlers of one update read the resident's draft several
    times; within :func:`storage.residents.remembering_drafts` the database is asked once,
    together with the resident's language, and the update's own save, delete and
    submission are what a later read sees. Outside it (another update, a job scheduled
    meanwhile with a copy of the context) every read goes to the table, where another
    worker may have changed the draft."""
    other = Repository(storage_target, clock=clock, secrets=SECRETS)
    await other.connect()
    try:
        await repo.save_draft(5, Draft(parts=["一"]))
        reads: list[str] = []
        fetchone = repo._fetchone

        async def counted(sql: str, params: Any = ()) -> Any:
            reads.append(sql)
            return await fetchone(sql, params)

        await repo.set_language(5, "en")
        repo._fetchone = counted  # type: ignore[method-assign]
        with remembering_drafts():
            # The language (read first, for the context) brings the draft along.
            assert await repo.get_language(5) == "en"
            assert (await repo.get_draft(5) or Draft()).parts == ["一"]
            first = await repo.get_draft(5)
            assert first is not None and first.parts == ["一"]
            first.parts.append("改了但没保存")  # a copy: the memo is not changed by it
            assert (await repo.get_draft(5) or Draft()).parts == ["一"]
            assert len(reads) == 1
            await repo.save_draft(5, Draft(parts=["二"]))
            assert (await repo.get_draft(5) or Draft()).parts == ["二"]
            assert await repo.get_draft(6) is None
            await repo.save_draft(6, Draft(parts=["新"]))  # no draft found: a new row
            assert (await repo.get_draft(6) or Draft()).parts == ["新"]
            scope = contextvars.copy_context()
        # The update is done: a copy of its context (a job) and the next update read afresh.
        await other.save_draft(5, Draft(parts=["别的进程"]))
        in_copy = await asyncio.create_task(repo.get_draft(5), context=scope)
        assert in_copy is not None and in_copy.parts == ["别的进程"]
        with remembering_drafts():
            assert (await repo.get_draft(5) or Draft()).parts == ["别的进程"]
            await repo.create_submission(named(5), owner_id=5)
            assert await repo.get_draft(5) is None
            assert await repo.delete_draft(6)
            assert await repo.get_draft(6) is None
        assert await other.get_draft(5) is None and await other.get_draft(6) is None
        assert await count(repo, "drafts") == 0
    finally:
        await other.close()


# ---------------------------------------------------------------- submissions
async def test_named_submission_is_stored_with_its_sender(repo: Repository) -> None:
    await repo.save_draft(7, Draft(parts=["x"]))
    stored = await repo.create_submission(named(), owner_id=7)
    assert stored.id == 1 and stored.reference == "#1" and stored.status is Status.NEW
    again = await repo.get_submission(1)
    assert again == stored
    assert again is not None and again.sender is not None and again.sender.name == "王五"
    assert again.evidence == named().evidence
    assert [(h.from_status, h.to_status, h.actor) for h in await repo.history(1)] == [
        (None, Status.NEW, "sender")
    ]


async def test_anonymous_submission_with_attachments(repo: Repository) -> None:
    await repo.save_draft(ANON_USER, Draft(parts=["井盖丢了"]))
    stored = await repo.create_submission(anonymous(), owner_id=ANON_USER)
    again = await repo.get_submission(stored.id)
    assert again is not None
    assert again.anonymous and again.sender is None
    assert again.attachments == anonymous().attachments
    assert again.attachments[1].latitude == 30.5 and again.attachments[1].longitude == 120.25
    assert SECRETS.decrypt_int(again.reply_route) == ANON_USER
    async with repo.reading() as db, db.execute("SELECT * FROM submissions") as cur:
        row = await cur.fetchone()
    assert row is not None
    assert row["owner_tag"] == SECRETS.own_tag(ANON_USER, stored.id)  # this item's alone
    assert row["owner_tag"] != SECRETS.person(ANON_USER)
    assert all(row[c] is None for c in ("sender_user_id", "sender_chat_id", "sender_name"))


async def test_anonymous_submission_leaves_no_plain_id_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "anon.sqlite3"
    repository = Repository(path, clock=clock, secrets=SECRETS)
    await repository.connect()
    await store(repository, anonymous())
    await repository.checkpoint()
    await repository.close()
    assert str(ANON_USER).encode() not in path.read_bytes()


async def test_ids_count_up(repo: Repository) -> None:
    ids = [
        await store(repo, named()),
        await store(repo, anonymous()),
        await store(repo, named(user_id=9)),
    ]
    assert ids == [1, 2, 3]


async def test_named_submission_never_keeps_an_owner_tag(repo: Repository) -> None:
    new = named().model_copy(update={"reply_route": "r"})
    number = await store(repo, new)
    async with (
        repo.reading() as db,
        db.execute("SELECT owner_tag, reply_route FROM submissions") as cur,
    ):
        assert tuple(await cur.fetchone() or ()) == (None, None)
    stored = await repo.get_submission(number)
    assert stored is not None and stored.reply_route is None


async def test_draft_is_deleted_with_the_submission_and_a_second_confirm_stores_nothing(
    repo: Repository,
) -> None:
    await repo.save_draft(ANON_USER, Draft(parts=["井盖丢了"]))
    await repo.create_submission(anonymous(), owner_id=ANON_USER)
    assert await repo.get_draft(ANON_USER) is None
    with pytest.raises(NotFound):
        await repo.create_submission(anonymous(), owner_id=ANON_USER)
    assert await count(repo, "submissions") == 1
    assert await count(repo, "attachments") == 2
    assert await count(repo, "history") == 1
    assert await repo.get_submission(2) is None


async def test_failure_inside_create_keeps_the_draft(repo: Repository) -> None:
    await repo.save_draft(7, Draft(parts=["x"]))

    def announce(_: object) -> list[object]:
        raise RuntimeError("announcement failed")

    with pytest.raises(RuntimeError):
        await repo.create_submission(named(), owner_id=7, announce=announce)  # type: ignore[arg-type]
    assert await repo.get_draft(7) is not None
    assert await count(repo, "submissions") == 0
    assert await count(repo, "history") == 0


_INSERT = (
    "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence, anonymous,"
    " owner_tag, reply_route, sender_user_id, sender_chat_id, language, status, created_at,"
    " updated_at) VALUES ('problem', 't', 'other', 'other', '[]', ?, ?, ?, ?, ?,"
    " 'zh-Hans', 'new', 'x', 'x')"
)


@pytest.mark.parametrize(
    "values",
    [
        (1, "h", None, 42, None),  # anonymous with a sender id
        (1, "h", None, None, 42),  # anonymous with a sender chat
        (1, None, None, None, None),  # anonymous without an owner tag
        (0, "h", None, 42, 42),  # named with an owner tag
        (0, None, "route", 42, 42),  # named with an anonymous reply route
        (0, None, None, 42, None),  # named without a chat
        (2, None, None, 42, 42),  # neither
    ],
)
async def test_check_constraint_refuses_mixed_identities(
    repo: Repository, values: tuple[object, ...]
) -> None:
    with pytest.raises(INTEGRITY_ERRORS):
        async with repo.transaction() as db:
            await db.execute(_INSERT, values)
    assert await count(repo, "submissions") == 0


async def test_history_is_append_only(repo: Repository) -> None:
    await store(repo, named())
    for statement in ("UPDATE history SET note = 'x'", "DELETE FROM history"):
        with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
            async with repo.transaction() as db:
                await db.execute(statement)
    assert await count(repo, "history") == 1


# ---------------------------------------------------------------- residents' lists
async def test_own_list_pages_newest_first_and_never_shows_others(repo: Repository) -> None:
    for i in range(5):
        await store(repo, named(user_id=7, text=f"第{i}条"))  # 1..5
    await store(repo, anonymous(user_id=7))  # 6: the same person, anonymously
    await store(repo, named(user_id=9))  # 7: someone else
    await store(repo, anonymous(user_id=9))  # 8: someone else, anonymously
    page, total = await repo.list_own(user_id=7, offset=0, limit=4)
    assert total == 6
    assert [s.id for s in page] == [6, 5, 4, 3]
    assert page[0].kind is Kind.PROBLEM and page[0].status is Status.NEW
    rest, total_again = await repo.list_own(user_id=7, offset=4, limit=4)
    assert [s.id for s in rest] == [2, 1] and total_again == 6
    beyond, _ = await repo.list_own(user_id=7, offset=8, limit=4)
    assert beyond == []
    theirs, their_total = await repo.list_own(user_id=9, offset=0, limit=10)
    assert [s.id for s in theirs] == [8, 7] and their_total == 2
    nobody, none_total = await repo.list_own(user_id=1, offset=0, limit=10)
    assert nobody == [] and none_total == 0
    await store(repo, anonymous(user_id=7))  # 9: found by the next call, which checks only
    page, total = await repo.list_own(user_id=7, offset=0, limit=2)  # items after #8
    assert [s.id for s in page] == [9, 6] and total == 7


async def test_is_owner(repo: Repository) -> None:
    named_id = await store(repo, named(user_id=7))
    anon_id = await store(repo, anonymous(user_id=7))
    assert await repo.is_owner(named_id, user_id=7)  # by user id
    assert await repo.is_owner(anon_id, user_id=7)  # by the item's tag
    assert not await repo.is_owner(named_id, user_id=9)
    assert not await repo.is_owner(anon_id, user_id=9)
    assert not await repo.is_owner(99, user_id=7)
    assert await repo.owned_among(7, [named_id, anon_id, 99]) == {named_id, anon_id}
    assert await repo.owned_among(9, [named_id, anon_id]) == set()


async def test_two_anonymous_items_of_one_person_share_no_stored_value(repo: Repository) -> None:
    first, second = await store(repo, anonymous(7)), await store(repo, anonymous(7))
    rows = await repo._fetchall(
        "SELECT owner_tag, reply_route FROM submissions WHERE id IN (?, ?)", (first, second)
    )
    assert rows[0]["owner_tag"] != rows[1]["owner_tag"]
    assert rows[0]["reply_route"] != rows[1]["reply_route"]  # fresh tokens, same chat


async def test_hourly_count_finds_anonymous_items_by_their_tags(tmp_path: Path) -> None:
    ticking = Ticking()  # a minute per call
    repository = Repository(tmp_path / "quota.sqlite3", clock=ticking, secrets=SECRETS)
    await repository.connect()
    await store(repository, named(user_id=7))
    await store(repository, anonymous(user_id=7))
    await store(repository, anonymous(user_id=9))
    since = ticking.now - timedelta(hours=1)
    assert await repository.count_recent(user_id=7, since=since) == 2
    assert await repository.count_recent(user_id=9, since=since) == 1
    assert await repository.count_recent(user_id=7, since=ticking.now + timedelta(days=1)) == 0
    await repository.close()


# ---------------------------------------------------------------- status changes
async def test_change_status_records_history(tmp_path: Path) -> None:
    ticking = Ticking()
    repository = Repository(tmp_path / "db.sqlite3", clock=ticking, secrets=SECRETS)
    await repository.connect()
    number = await store(repository, named())
    accepted = await repository.change_status(number, Status.ACCEPTED, actor="admin:1", note="好")
    assert accepted.status is Status.ACCEPTED
    assert accepted.updated_at == ticking.now and accepted.updated_at > accepted.created_at
    history = await repository.history(number)
    assert [(h.from_status, h.to_status, h.actor, h.note) for h in history] == [
        (None, Status.NEW, "sender", None),
        (Status.NEW, Status.ACCEPTED, "admin:1", "好"),
    ]
    assert history[1].at == ticking.now
    await repository.close()


async def test_illegal_transition_changes_nothing(tmp_path: Path) -> None:
    repository = Repository(tmp_path / "db.sqlite3", clock=Ticking(), secrets=SECRETS)
    await repository.connect()
    number = await store(repository, named())
    before = await repository.get_submission(number)
    with pytest.raises(IllegalTransition) as info:
        await repository.change_status(number, Status.CLOSED, actor="admin:1")
    assert info.value.current is Status.NEW and info.value.target is Status.CLOSED
    assert await repository.get_submission(number) == before  # updated_at included
    assert len(await repository.history(number)) == 1
    with pytest.raises(NotFound):
        await repository.change_status(99, Status.ACCEPTED, actor="admin:1")
    await repository.close()


async def publishing(repo: Repository) -> int:
    """An answered item whose publication was started, with its channel post, the sender's
    notice held for the post and an unrelated notice in the outbox."""
    number = await store(repo, named())
    for target in (Status.ACCEPTED, Status.IN_PROGRESS):
        await repo.change_status(number, target, actor="admin:1")
    await repo.respond(number, "已处理", actor="admin:1")
    post = Outgoing(chat_enc="c", text="post", purpose="channel_post", recipient=Recipient.CHANNEL)
    told = Outgoing(chat_enc="s", text="told", recipient=Recipient.SENDER, after=0)
    await repo.publish(number, actor="admin:1", notices=[post, told])
    await repo.queue_messages([Outgoing(chat_enc="o", text="other")])
    return number


async def test_publishing_completes_when_the_post_is_delivered(repo: Repository) -> None:
    """The post's delivery is recorded; the item, still publishing, is then settled by the
    core (bot.core.handling.post_delivered, tested in test_core.py), once."""
    number = await publishing(repo)
    item = await repo.get_submission(number)
    assert item is not None and item.status is Status.PUBLISHING and item.published_at is None
    entries = {e.text: e for e in await repo.due_messages()}
    assert set(entries) == {"post", "other"}  # the notice waits for the post
    assert await repo.unsettled_publications() == []  # the post is not out yet
    await repo.mark_sent(entries["post"], 99)
    assert [e.text for e in await repo.due_messages()] == ["told", "other"]
    assert await repo.unsettled_publications() == [(number, "sent", None)]
    assert await repo.complete_publishing(number)
    item = await repo.get_submission(number)
    assert item is not None and item.status is Status.PUBLISHED
    assert item.published_at == NOW and item.channel_message_id == 99
    last = (await repo.history(number))[-1]
    assert (last.from_status, last.to_status, last.actor) == (
        Status.PUBLISHING,
        Status.PUBLISHED,
        "system",
    )
    assert await repo.unsettled_publications() == []
    assert not await repo.complete_publishing(number)  # once


@pytest.mark.parametrize("maybe_delivered", [False, True])
async def test_publishing_reverts_when_the_post_fails_for_good(
    repo: Repository, maybe_delivered: bool
) -> None:
    number = await publishing(repo)
    [post] = [e for e in await repo.due_messages() if e.purpose == "channel_post"]
    failure = FailedForGood(
        "Forbidden: no rights", maybe_delivered=maybe_delivered, uncertain=False
    )
    assert await repo.mark_failed(post.id, failure)
    assert [e.text for e in await repo.due_messages()] == ["other"]  # the notice is gone
    assert await repo.unsettled_publications() == [(number, "failed", "Forbidden: no rights")]
    assert await repo.revert_publishing(number, "Forbidden: no rights") is Status.ANSWERED
    item = await repo.get_submission(number)
    assert item is not None and item.status is Status.ANSWERED and item.published_at is None
    last = (await repo.history(number))[-1]
    assert (last.from_status, last.to_status, last.actor, last.note) == (
        Status.PUBLISHING,
        Status.ANSWERED,
        "system",
        "Forbidden: no rights",
    )
    records = len(await repo.history(number))
    assert not await repo.mark_failed(post.id, failure)  # once
    assert await repo.revert_publishing(number, "again") is None
    assert len(await repo.history(number)) == records
    assert await repo.unsettled_publications() == []


async def reopen(repo: Repository, number: int) -> None:
    """What the loop issue's 不满意 → 重办 will do: the item goes back to handling."""
    async with repo.transaction() as db:
        await db.execute("UPDATE submissions SET status = 'in_progress' WHERE id = ?", (number,))


async def test_one_rating_per_round_and_every_round_kept(repo: Repository) -> None:
    number = await store(repo, named())
    await repo.change_status(number, Status.ACCEPTED, actor="admin:1")
    with pytest.raises(NotFound):  # nothing to rate before an answer
        await repo.rate(number, "satisfied", round_=1)
    first = await repo.respond(number, "已处理", actor="admin:1")
    assert first.rating_round == 1
    assert await repo.rate(number, "unsatisfied", round_=1, update_id=11) == Rated(
        outcome="rated", rating="unsatisfied"
    )
    # A second press of the same round, whatever it says, changes nothing.
    again = await repo.rate(number, "satisfied", round_=1, update_id=12)
    assert again == Rated(outcome="already", rating="unsatisfied")
    # A replay of the first press is acknowledged as it was.
    replayed = await repo.rate(number, "unsatisfied", round_=1, update_id=11)
    assert replayed == Rated(outcome="rated", rating="unsatisfied")
    await reopen(repo, number)
    second = await repo.respond(number, "已重新处理", actor="admin:1")
    assert second.rating_round == 2
    assert await repo.rate(number, "satisfied", round_=1) == Rated(
        outcome="already", rating="unsatisfied"
    )
    with pytest.raises(NotFound):  # a round that never was
        await repo.rate(number, "satisfied", round_=3)
    await reopen(repo, number)
    await repo.respond(number, "第三次答复", actor="admin:1")
    # Round 2 was never rated and round 3 began: its buttons are stale now.
    assert await repo.rate(number, "basically", round_=2) == Rated(outcome="stale")
    assert await repo.rate(number, "satisfied", round_=3) == Rated(
        outcome="rated", rating="satisfied"
    )
    assert await repo.ratings(number) == [(1, "unsatisfied"), (3, "satisfied")]
    item = await repo.get_submission(number)
    assert item is not None and item.rating == "satisfied"  # the latest
    assert [e.body for e in await repo.events(number) if e.kind == "rating"] == [
        "unsatisfied",
        "satisfied",
    ]


def test_migration_0017_makes_earlier_ratings_round_one(tmp_path: Path) -> None:
    """An item answered and rated before rounds existed: its answer was round 1."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for migration in available_migrations():
            if migration.version < 17:
                db.executescript(migration.sql)
        stamp = NOW.isoformat()
        for number, response, rating in (
            (1, "答复", "basically"),
            (2, "答复", None),
            (3, None, None),
        ):
            db.execute(
                "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, sender_user_id, sender_chat_id, language, status, created_at,"
                " updated_at, response, responded_at, rating, rated_at) VALUES (?, 'problem',"
                " 't', 'other', 'other', '[]', 0, 7, 7, 'zh-Hans', 'answered', ?, ?, ?, ?, ?, ?)",
                (number, stamp, stamp, response, stamp, rating, stamp if rating else None),
            )
        [migration] = [m for m in available_migrations() if m.version == 17]
        db.executescript(migration.sql)
        assert db.execute("SELECT id, rating_round FROM submissions ORDER BY id").fetchall() == [
            (1, 1),
            (2, 1),
            (3, 0),
        ]
        assert db.execute("SELECT * FROM ratings").fetchall() == [(1, 1, "basically", stamp)]


def office_line(text: str, window: float = 30) -> Outgoing:
    return Outgoing(
        chat_enc="o", text=text, recipient=Recipient.OFFICE, merge="office", merge_seconds=window
    )


async def test_office_notices_about_one_item_are_coalesced(tmp_path: Path) -> None:
    clock = FrozenClock(NOW)
    repo = Repository(tmp_path / "db.sqlite3", clock=clock, secrets=SECRETS)
    await repo.connect()
    try:
        number, other = await store(repo, named()), await store(repo, named(8))
        await repo.queue_messages([office_line("一")], submission_id=number)
        [first] = await repo.due_messages()
        assert await repo.start_attempt(first.id, text=first.text)
        await repo.mark_sent(first, 1)
        # Within the window after it: a new message, due when the window has passed, that
        # the next ones join (in order) while it waits.
        for text in ("二", "三", "四"):
            await repo.queue_messages([office_line(text)], submission_id=number)
        await repo.queue_messages([office_line("别的事项")], submission_id=other)
        assert [e.text for e in await repo.due_messages()] == ["别的事项"]
        clock.advance(seconds=30)
        due = await repo.due_messages()
        assert [e.text for e in due] == ["二\n三\n四", "别的事项"]
        # A notice that joins a message after a delivery run read it: the run's send is
        # refused (it would lose the new line), the next run sends the whole.
        await repo.queue_messages([office_line("五")], submission_id=number)
        assert not await repo.start_attempt(due[0].id, text=due[0].text)
        [again, *_] = await repo.due_messages()
        assert again.text == "二\n三\n四\n五"
        assert await repo.start_attempt(again.id, text=again.text)
        await repo.mark_sent(again, 2)
        # A message sent "in the future" (the clock ran ahead) holds the next back at most
        # one window.
        async with repo.transaction() as db:
            await db.execute("UPDATE outbox SET sent_at = '2099-01-01T00:00:00+00:00'")
        await repo.queue_messages([office_line("六")], submission_id=number)
        assert "六" not in [e.text for e in await repo.due_messages()]
        clock.advance(seconds=30)
        assert "六" in [e.text for e in await repo.due_messages()]
    finally:
        await repo.close()


async def test_final_status_refuses_everything(repo: Repository) -> None:
    number = await store(repo, named())
    await repo.change_status(number, Status.REJECTED, actor="admin:1", note="广告")
    # Only the office's reopen leaves a rejected item (#18).
    for target in set(Status) - {Status.REOPENED}:
        with pytest.raises(IllegalTransition):
            await repo.change_status(number, target, actor="admin:1")
    stored = await repo.get_submission(number)
    assert stored is not None and stored.status is Status.REJECTED


# ---------------------------------------------------------------- transactions
async def test_failed_transaction_rolls_back(repo: Repository) -> None:
    with pytest.raises(RuntimeError):
        async with repo.transaction() as db:
            await db.execute("INSERT INTO languages (key, language) VALUES ('z', 'en')")
            raise RuntimeError("boom")
    assert await count(repo, "languages") == 0
    await repo.save_draft(3, Draft(parts=["ok"]))  # the connection is still usable
    assert await repo.get_draft(3) is not None


async def traced(path: Path) -> tuple[Repository, list[str]]:
    """A connected repository and the list its write connection logs each statement to."""
    repository = Repository(path, clock=clock, secrets=SECRETS)
    await repository.connect()
    statements: list[str] = []
    db = repository.db
    # In aiosqlite's own thread, where the sqlite3 connection lives.
    await db._execute(db._conn.set_trace_callback, statements.append)  # type: ignore[no-untyped-call]
    return repository, statements


async def test_group_commit_isolates_a_failing_transaction(tmp_path: Path) -> None:
    path = tmp_path / "group.sqlite3"
    repository, statements = await traced(path)

    async def save(i: int) -> None:
        await repository.save_draft(i, Draft(parts=[f"第{i}条"]))
        # Once the call returned, another connection sees it: it is committed.
        row_id = await repository.draft_row(i)
        with sqlite3.connect(path) as other:
            found = other.execute("SELECT 1 FROM drafts WHERE id = ?", (row_id,))
            assert found.fetchone() is not None

    async def fail() -> None:
        async with repository.transaction() as db:
            await db.execute("INSERT INTO languages (key, language) VALUES ('doomed', 'en')")
            raise RuntimeError("this one fails")

    results = await asyncio.gather(
        *(save(i) for i in range(20)),
        fail(),
        *(save(i) for i in range(20, 40)),
        return_exceptions=True,
    )
    assert [type(r) for r in results if r is not None] == [RuntimeError]
    commits = [s for s in statements if s.strip().upper() == "COMMIT"]
    assert 1 <= len(commits) < 40  # grouped: fewer COMMITs (fsyncs) than callers
    assert await repository._fetchall("SELECT 1 FROM languages") == []
    for i in range(40):
        assert await repository.get_draft(i) is not None
    await repository.close()


async def test_a_burst_of_statements_shares_one_trip_and_each_fails_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "burst.sqlite3"
    repository, statements = await traced(path)
    insert = "INSERT INTO languages (key, language) VALUES (?, ?)"
    await repository._write(insert, ("taken", "en"))
    statements.clear()
    # 30 residents at once; one insert collides with the row above (primary key).
    owners = [f"u{i}" for i in range(15)] + ["taken"] + [f"u{i}" for i in range(15, 29)]
    results = await asyncio.gather(
        *(repository._write(insert, (owner, "zh-Hant")) for owner in owners),
        return_exceptions=True,
    )
    failed = [o for o, r in zip(owners, results, strict=True) if isinstance(r, BaseException)]
    assert failed == ["taken"]
    assert isinstance(results[15], sqlite3.IntegrityError)
    with sqlite3.connect(path) as other:  # committed: another connection sees them
        rows = dict(other.execute("SELECT key, language FROM languages").fetchall())
    assert rows == {"taken": "en", **{f"u{i}": "zh-Hant" for i in range(29)}}
    # The burst was tried as one statement run for all (it failed, was undone, and each
    # statement ran alone), within one transaction and one COMMIT, not 30.
    assert sum(s.strip().upper() == "COMMIT" for s in statements) == 1
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 1
    assert sum(s.startswith("ROLLBACK TO") for s in statements) == 1
    # Counted deletes, all at once, each get their own rowcount.
    await repository.save_draft(1, Draft(parts=["x"]))
    await repository.save_draft(2, Draft(parts=["y"]))
    deleted = await asyncio.gather(
        repository.delete_draft(3),
        repository.delete_draft(1),
        repository.save_draft(4, Draft(parts=["x"])),
        repository.delete_draft(2),
    )
    assert list(deleted) == [False, True, None, True]
    assert await repository.delete_draft(4) is True
    await repository.close()


@pytest.mark.parametrize("where", ["transaction", "statement"])
async def test_a_write_cancelled_while_its_transaction_begins_leaves_no_stray_transaction(
    repo: Repository, where: str
) -> None:
    # The BEGIN is already queued to the database thread when the cancellation arrives
    # (e.g. the polling task stopped while it admitted a batch into the inbox): the next
    # writer must neither start a second transaction nor find its work left uncommitted.
    async def write() -> None:
        if where == "transaction":
            async with repo.transaction() as db:
                await db.execute("DELETE FROM drafts WHERE id = 'none'")
        else:
            await repo._write("DELETE FROM drafts WHERE id = 'none'")

    task = asyncio.create_task(write())
    await asyncio.sleep(0)  # the task runs up to its first trip to the database thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await repo.save_draft(8, Draft(parts=["之后"]))
    async with repo.transaction() as db:
        await db.execute("DELETE FROM drafts WHERE id = 'none'")
    assert await repo.get_draft(8) == Draft(parts=["之后"])
    assert not repo.db.in_transaction


async def test_a_statement_python_cannot_bind_fails_alone(repo: Repository) -> None:
    sql = "INSERT INTO languages (key, language) VALUES (?, ?)"
    results = await asyncio.gather(
        repo._write(sql, ("a", "en")),
        repo._write(sql, ("b", 2**64)),  # OverflowError: not an sqlite3.Error
        repo._write(sql, ("c", "en")),
        return_exceptions=True,
    )
    assert results[0] == results[2] == -1
    assert isinstance(results[1], OverflowError)
    rows = await repo._fetchall("SELECT key FROM languages ORDER BY key")
    assert [r["key"] for r in rows] == ["a", "c"]
    assert not repo.db.in_transaction


async def test_a_write_after_close_fails_instead_of_waiting_forever(tmp_path: Path) -> None:
    repository = Repository(tmp_path / "closed.sqlite3", clock=clock, secrets=SECRETS)
    await repository.connect()
    await repository.close()
    with pytest.raises(RuntimeError, match="not connected"):
        await asyncio.wait_for(repository.save_draft(1, Draft(parts=["x"])), timeout=5)
    with pytest.raises(RuntimeError, match="not connected"):
        await asyncio.wait_for(repository.set_language(1, "en"), timeout=5)


async def test_drafts_and_language_choices_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    first = Repository(path, clock=clock, secrets=SECRETS)
    await first.connect()
    kept, submitted, cancelled, never = 1, 7, 3, 4
    await first.save_draft(kept, Draft(parts=["留着"]))
    await first.save_draft(submitted, Draft(parts=["交了"]))
    await first.save_draft(cancelled, Draft(parts=["不要了"]))
    await first.create_submission(named(user_id=submitted), owner_id=submitted)
    assert await first.delete_draft(cancelled) is True
    await first.set_language(kept, "en")
    await first.set_language(kept, "zh-Hant")  # the last choice counts
    assert await first.get_draft(submitted) is None
    assert await first.get_draft(cancelled) is None
    await first.close()

    second = Repository(path, clock=clock, secrets=SECRETS)
    await second.connect()
    assert await second.get_draft(kept) == Draft(parts=["留着"])
    assert await second.get_draft(submitted) is None
    assert await second.get_draft(cancelled) is None
    assert await second.get_language(kept) == "zh-Hant"
    assert await second.get_language(never) is None
    await second.close()

    # Another writer while it is closed (e.g. a restore), then the same object reconnects.
    with sqlite3.connect(path) as other:
        other.execute("DELETE FROM languages")
        other.execute("DELETE FROM drafts")
    await second.connect()
    assert await second.get_language(kept) is None
    assert await second.get_draft(kept) is None
    await second.close()


async def test_online_backup_is_consistent_while_writes_go_on(tmp_path: Path) -> None:
    repository = Repository(tmp_path / "live.sqlite3", clock=clock, secrets=SECRETS)
    await repository.connect()
    for i in range(50):
        await store(repository, named(user_id=i + 1, text=f"第{i}条建议" + "内容" * 50))
    stop = asyncio.Event()

    async def keep_writing() -> int:
        n = 0
        while not stop.is_set():
            await repository.save_draft(1000 + n, Draft(parts=["写入中" * 20]))
            n += 1
            await asyncio.sleep(0)
        return n

    writer = asyncio.create_task(keep_writing())
    check = await repository.backup(tmp_path / "copy" / "backup.sqlite3")
    stop.set()
    written = await writer
    await repository.close()
    assert check == ["ok"] and written > 0
    with sqlite3.connect(tmp_path / "copy" / "backup.sqlite3") as copy:
        assert copy.execute("SELECT COUNT(*) FROM submissions").fetchone() == (50,)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# ---------------------------------------------------------------- edges
@pytest.mark.parametrize("number", [0, -1, -(2**70), 2**63, 10**30])
async def test_out_of_range_numbers_are_simply_missing(repo: Repository, number: int) -> None:
    assert await repo.get_submission(number) is None
    assert not await repo.is_owner(number, user_id=1)


async def test_largest_sqlite_integer_is_just_missing(repo: Repository) -> None:
    assert await repo.get_submission(2**63 - 1) is None


async def test_timestamps_round_trip_timezone_aware(tmp_path: Path) -> None:
    local = datetime(2026, 11, 25, 16, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    repository = Repository(tmp_path / "db.sqlite3", clock=lambda: local, secrets=SECRETS)
    await repository.connect()
    number = await store(repository, named())
    stored = await repository.get_submission(number)
    await repository.close()
    assert stored is not None
    assert stored.created_at.tzinfo is not None
    assert stored.created_at == local  # the same instant (stored in UTC)
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.created_at.microsecond == 123456


async def test_naive_clock_is_refused(tmp_path: Path) -> None:
    repository = Repository(
        tmp_path / "db.sqlite3", clock=lambda: datetime(2026, 1, 1), secrets=SECRETS
    )
    await repository.connect()
    with pytest.raises(ValueError, match="naive"):
        await store(repository, named())
    assert await repository.get_submission(1) is None
    await repository.close()


async def test_language_preference(repo: Repository) -> None:
    assert await repo.get_language(5) is None
    await repo.set_language(5, "zh-Hant")
    await repo.set_language(5, "en")
    assert await repo.get_language(5) == "en"
    assert await repo.get_language(6) is None
    assert await count(repo, "languages") == 1
    [row] = await repo._fetchall("SELECT key FROM languages")
    assert row["key"] == SECRETS.language_key(5)  # its own namespace: no other row has it
    assert row["key"] not in (SECRETS.person(5), SECRETS.keys(5).draft)


# ---------------------------------------------------------------- unlinking
async def test_unlinking_waits_for_the_final_status_and_the_followed_original(
    tmp_path: Path,
) -> None:
    clock = FrozenClock(NOW)
    repository = Repository(tmp_path / "unlink.sqlite3", clock=clock, secrets=SECRETS)
    await repository.connect()
    try:
        original = await store(repository, named(user_id=9))  # someone else's, still open
        merged = await store(repository, anonymous(user_id=7))
        rejected = await store(repository, anonymous(user_id=7))
        kept = await store(repository, anonymous(user_id=7))
        await repository.mark_duplicate(
            merged, original, actor="admin:1", follower=(SECRETS.encrypt_int(7), "zh-Hans")
        )
        await repository.change_status(rejected, Status.REJECTED, actor="admin:1", note="广告")
        clock.now += timedelta(days=40)
        assert await repository.unlink_closed(clock.now - timedelta(days=30)) == 1  # rejected
        assert await repository.owned_among(7, [merged, rejected, kept]) == {merged, kept}
        # The duplicate's sender follows the original: linked while it runs, and after.
        await repository.change_status(original, Status.REJECTED, actor="admin:1", note="x")
        assert await repository.unlink_closed(clock.now - timedelta(days=30)) == 0
        clock.now += timedelta(days=31)
        assert await repository.unlink_closed(clock.now - timedelta(days=30)) == 1
        assert await repository.owned_among(7, [merged, rejected, kept]) == {kept}
        assert await repository.followers(original) == []
        assert await repository.owned_among(9, [original]) == {original}  # named: untouched
        page, total = await repository.list_own(user_id=7)
        assert [s.id for s in page] == [kept] and total == 1
        assert await repository.unlink_closed(clock.now) == 0  # nothing twice
    finally:
        await repository.close()


async def test_the_wal_is_truncated_after_a_sensitive_deletion_when_no_reader_holds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scrub.sqlite3"
    wal = path.with_name(path.name + "-wal")
    repository = Repository(path, clock=clock, secrets=SECRETS)
    await repository.connect()
    try:
        await repository.save_draft(5, Draft(parts=["一份草稿"]))
        assert await repository.scrub_wal() is False  # nothing deleted yet: left alone
        assert wal.stat().st_size > 0
        await repository.delete_draft(5)
        with sqlite3.connect(path) as reader:  # someone reading an older snapshot
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM drafts").fetchone()
            assert await repository.scrub_wal() is False  # not waited for: tried again
            reader.execute("COMMIT")
        assert await repository.scrub_wal() is True
        assert wal.stat().st_size == 0
        assert await repository.scrub_wal() is False
        await repository.save_draft(6, Draft(parts=["之后"]))  # and writing goes on
        assert await repository.get_draft(6) == Draft(parts=["之后"])
    finally:
        await repository.close()


async def test_a_replaced_edit_is_not_sent_in_place_of_its_successor(repo: Repository) -> None:
    """#17: a pending edit of a card copy is replaced by a newer one (deleted, the new row
    inserted); SQLite gives the new row the old one's id when it was the last. A delivery
    run that read the old row must not start it on the new row (it sent the stale text and
    marked the newer edit sent: the announcement stayed out of date)."""
    from bot.core.records import CardSpec, CopyPlacement, Outgoing
    from storage.copies import Renderer

    item = await store(repo, named())
    place = CopyPlacement(place="-100", chat_enc=SECRETS.encrypt_int(-100), message_id=5)
    copy = await repo.add_card_copy(item, CardSpec(kind="announce", language="zh-Hans"), place)

    def render(text: str) -> Renderer:
        def edits(*_: object) -> list[Outgoing]:
            return [Outgoing(chat_enc=SECRETS.encrypt_int(-100), text=text, copy_id=copy)]

        return edits

    await repo.refresh_copies(item, render("old"))
    [stale] = await repo.due_messages()
    await repo.refresh_copies(item, render("new"))
    [fresh] = await repo.due_messages()
    assert fresh.text == "new"
    # SQLite reused the id; PostgreSQL's identity never does, and the token check holds alike
    assert fresh.id == stale.id or repo.postgresql
    assert not await repo.start_attempt(stale.id, chat_enc=stale.chat_enc)
    assert await repo.start_attempt(fresh.id, chat_enc=fresh.chat_enc)


async def test_two_workers_storing_at_once_never_deadlock_on_the_daily_counters(
    pg_url: str,
) -> None:
    """Several workers (#24): each worker's group commit stores several residents' items in
    one transaction, and each item's triggers upsert its daily-counter rows. Two workers
    whose batches held a suggestion and a problem in opposite orders locked those rows in
    opposite orders, and PostgreSQL aborted one batch as a deadlock (found by
    ``bench.workers`` with three workers). A write transaction now takes the one writer's
    lock first, as SQLite's BEGIN IMMEDIATE does."""
    workers = [Repository(pg_url, clock=clock, secrets=SECRETS) for _ in range(2)]
    for worker in workers:
        await worker.connect()
    try:

        async def one(worker: Repository, user: int, kind: Kind) -> int:
            new = named(user).model_copy(update={"kind": kind})
            return await store(worker, new)

        kinds = (Kind.SUGGESTION, Kind.PROBLEM)
        for round_ in range(5):
            stored = await asyncio.gather(
                *(
                    one(workers[w], 1000 * round_ + 100 * w + i, kinds[(i + w) % 2])
                    for w in range(2)
                    for i in range(20)
                )
            )
            assert len(set(stored)) == 40
        assert await count(workers[0], "submissions") == 200
    finally:
        for worker in workers:
            await worker.close()
