"""The repository: schema and migrations, drafts, submissions in one transaction, the
anonymity constraint, history, paging, and conversation-state persistence."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.anonymity import Secrets
from bot.records import Attachment, Draft, NewSubmission, Sender, TopicEvidence
from bot.workflow import IllegalTransition, Kind, Status
from storage.migrations import available_migrations
from storage.persistence import SqliteConversationPersistence
from storage.repository import NotFound, Repository

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
SECRETS = Secrets.generate()


def clock() -> datetime:
    return NOW


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    repository = Repository(tmp_path / "db" / "test.sqlite3", clock=clock)
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


def anonymous(user_id: int = 8) -> NewSubmission:
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
        owner_hash=SECRETS.owner_hash(user_id),
        reply_route=SECRETS.encrypt_int(user_id),
    )


async def store(repo: Repository, new: NewSubmission, owner: str) -> int:
    await repo.save_draft(owner, Draft(parts=["x"]))
    return (await repo.create_submission(new, draft_owner=owner)).id


async def test_schema_is_created_once_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    first = Repository(path)
    await first.connect()
    await first.connect()  # idempotent
    async with first.reading() as db, db.execute("PRAGMA journal_mode") as cur:
        assert tuple(await cur.fetchone() or ()) == ("wal",)
    await first.close()
    with sqlite3.connect(path) as plain:
        versions = [r[0] for r in plain.execute("SELECT version FROM schema_migrations")]
    assert versions == [m.version for m in available_migrations()]
    assert versions[:2] == [1, 2]
    again = Repository(path)
    await again.connect()
    assert await again.integrity_check() == ["ok"]
    await again.close()


async def test_draft_round_trip(repo: Repository) -> None:
    assert await repo.get_draft("h") is None
    draft = Draft(kind=Kind.PROBLEM, parts=["一", "二"], anonymous=True)
    await repo.save_draft("h", draft)
    assert await repo.get_draft("h") == draft
    assert await repo.delete_draft("h") is True
    assert await repo.delete_draft("h") is False


async def test_submission_and_draft_deletion_are_one_transaction(repo: Repository) -> None:
    owner = SECRETS.owner_hash(8)
    await repo.save_draft(owner, Draft(parts=["井盖丢了"]))
    stored = await repo.create_submission(anonymous(), draft_owner=owner)
    assert stored.id == 1 and stored.reference == "#1"
    assert await repo.get_draft(owner) is None
    # A second confirm finds no draft and stores nothing.
    with pytest.raises(NotFound):
        await repo.create_submission(anonymous(), draft_owner=owner)
    again = await repo.get_submission(1)
    assert again is not None
    assert again.attachments == anonymous().attachments
    assert again.created_at == NOW and again.created_at.tzinfo is not None
    assert again.sender is None and again.anonymous
    assert await repo.get_submission(2) is None


async def test_database_refuses_identity_on_anonymous_rows(repo: Repository) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with repo.transaction() as db:
            await db.execute(
                "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, owner_hash, sender_user_id, language, status, created_at,"
                " updated_at) VALUES ('problem', 't', 'other', 'other', '[]', 1, 'h', 42,"
                " 'zh-Hans', 'new', 'x', 'x')"
            )
    async with repo.reading() as db, db.execute("SELECT COUNT(*) FROM submissions") as cur:
        assert tuple(await cur.fetchone() or ()) == (0,)  # rolled back


async def test_named_rows_carry_no_owner_hash(repo: Repository) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with repo.transaction() as db:
            await db.execute(
                "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
                " anonymous, owner_hash, sender_user_id, sender_chat_id, language, status,"
                " created_at, updated_at) VALUES ('problem', 't', 'other', 'other', '[]', 0,"
                " 'h', 42, 42, 'zh-Hans', 'new', 'x', 'x')"
            )


async def test_history_is_append_only(repo: Repository) -> None:
    await store(repo, named(), "o")
    for statement in ("UPDATE history SET note = 'x'", "DELETE FROM history"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with repo.transaction() as db:
                await db.execute(statement)


async def test_status_changes_follow_the_state_machine(repo: Repository) -> None:
    number = await store(repo, named(), "o")
    accepted = await repo.change_status(number, Status.ACCEPTED, actor="admin:1", note="好")
    assert accepted.status is Status.ACCEPTED
    with pytest.raises(IllegalTransition, match="accepted"):
        await repo.change_status(number, Status.CLOSED, actor="admin:1")
    history = await repo.history(number)
    assert [(h.from_status, h.to_status, h.actor) for h in history] == [
        (None, Status.NEW, "sender"),
        (Status.NEW, Status.ACCEPTED, "admin:1"),
    ]
    assert (await repo.get_submission(number)).status is Status.ACCEPTED  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await repo.change_status(99, Status.ACCEPTED, actor="admin:1")


async def test_own_list_pages_newest_first_and_never_shows_others(repo: Repository) -> None:
    for i in range(5):
        await store(repo, named(user_id=7, text=f"第{i}条"), "a")
    await store(repo, anonymous(user_id=7), "b")  # same person, anonymously
    await store(repo, named(user_id=9), "c")  # someone else
    mine = SECRETS.owner_hash(7)
    page, total = await repo.list_own(user_id=7, owner_hash=mine, offset=0, limit=4)
    assert total == 6
    assert [s.id for s in page] == [6, 5, 4, 3]
    rest, _ = await repo.list_own(user_id=7, owner_hash=mine, offset=4, limit=4)
    assert [s.id for s in rest] == [2, 1]
    assert await repo.is_owner(6, user_id=7, owner_hash=mine)
    assert not await repo.is_owner(7, user_id=7, owner_hash=mine)
    assert await repo.is_owner(7, user_id=9, owner_hash=SECRETS.owner_hash(9))


@pytest.mark.parametrize("number", [0, -1, 2**63, 10**30])
async def test_out_of_range_numbers_are_simply_missing(repo: Repository, number: int) -> None:
    assert await repo.get_submission(number) is None
    assert not await repo.is_owner(number, user_id=1, owner_hash="h")


async def test_failed_transaction_rolls_back(repo: Repository) -> None:
    with pytest.raises(RuntimeError):
        async with repo.transaction() as db:
            await db.execute(
                "INSERT INTO drafts (owner_hash, body, created_at, updated_at)"
                " VALUES ('z', '{}', 'x', 'x')"
            )
            raise RuntimeError("boom")
    assert await repo.get_draft("z") is None


async def test_conversation_states_survive_reopening_without_plain_ids(tmp_path: Path) -> None:
    path = tmp_path / "conv.sqlite3"
    repo = Repository(path)
    persistence = SqliteConversationPersistence(repo, SECRETS, update_interval=1)
    assert await persistence.get_conversations("resident") == {}  # connects, as PTB does first
    await persistence.update_conversation("resident", (987654321, 987654321), "compose")
    await persistence.update_conversation("resident", (111, 111), "topic")
    await persistence.update_conversation("resident", (111, 111), None)
    await repo.close()

    reopened = Repository(path)
    restored = SqliteConversationPersistence(reopened, SECRETS, update_interval=1)
    assert await restored.get_conversations("resident") == {(987654321, 987654321): "compose"}
    other_keys = SqliteConversationPersistence(reopened, Secrets.generate(), update_interval=1)
    assert await other_keys.get_conversations("resident") == {}
    await reopened.checkpoint()
    await reopened.close()
    assert b"987654321" not in path.read_bytes()


async def test_group_commit_makes_each_caller_durable_and_isolates_failures(
    tmp_path: Path,
) -> None:
    import asyncio

    path = tmp_path / "group.sqlite3"
    repository = Repository(path, clock=clock)
    await repository.connect()
    statements: list[str] = []
    db = repository.db
    # In aiosqlite's own thread, where the sqlite3 connection lives.
    await db._execute(db._conn.set_trace_callback, statements.append)  # type: ignore[no-untyped-call]

    async def save(i: int) -> None:
        await repository.save_draft(f"owner-{i}", Draft(parts=[f"第{i}条"]))
        # Once the call returned, another connection sees it: it is committed.
        with sqlite3.connect(path) as other:
            body = other.execute("SELECT body FROM drafts WHERE owner_hash = ?", (f"owner-{i}",))
            assert body.fetchone() is not None

    async def fail() -> None:
        async with repository.transaction() as db:
            await db.execute(
                "INSERT INTO drafts (owner_hash, body, created_at, updated_at)"
                " VALUES ('doomed', '{}', 'x', 'x')"
            )
            raise RuntimeError("this one fails")

    results = await asyncio.gather(
        *(save(i) for i in range(25)),
        fail(),
        *(save(i) for i in range(25, 50)),
        return_exceptions=True,
    )
    assert [r for r in results if r is not None] and all(
        r is None or isinstance(r, RuntimeError) for r in results
    )
    commits = [s for s in statements if s.strip().upper() == "COMMIT"]
    assert 1 <= len(commits) < 50  # grouped
    assert await repository.get_draft("doomed") is None
    for i in range(50):
        assert await repository.get_draft(f"owner-{i}") is not None
    await repository.close()


async def test_online_backup_is_consistent_while_writes_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.cli import main
    from tests.conftest import EXAMPLE_CONFIG

    path = tmp_path / "live.sqlite3"
    repo = Repository(path, clock=clock)
    await repo.connect()
    for i in range(200):
        await store(repo, named(user_id=i, text=f"第{i}条建议：" + "内容" * 50), f"o{i}")
    stop = asyncio.Event()

    async def keep_writing() -> int:
        n = 0
        while not stop.is_set():
            await repo.save_draft(f"w{n}", Draft(parts=["写入中" * 20]))
            n += 1
            await asyncio.sleep(0)
        return n

    writer = asyncio.create_task(keep_writing())
    check = await repo.backup(tmp_path / "copy" / "backup.sqlite3")
    stop.set()
    written = await writer
    assert check == ["ok"] and written > 0
    with sqlite3.connect(tmp_path / "copy" / "backup.sqlite3") as copy:
        assert copy.execute("SELECT COUNT(*) FROM submissions").fetchone() == (200,)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # The command line does the same while the bot's connection is open.
    monkeypatch.setenv("JINDIANZI_STORAGE__PATH", str(path))
    target = tmp_path / "cli.sqlite3"
    code = await asyncio.to_thread(main, ["backup", "--config", str(EXAMPLE_CONFIG), str(target)])
    assert code == 0 and "integrity ok" in capsys.readouterr().out
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT COUNT(*) FROM submissions").fetchone() == (200,)
    await repo.close()
