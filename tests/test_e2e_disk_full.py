"""A full disk (issue 15.8): found out, said once in the log in one line, told to the office
once, every resident who writes meanwhile answered once that the message waits, and
recovered from by itself when there is room again, without a restart: the office is told,
and what waited is handled, once. Nothing is lost, nothing is sent twice.

The tests in the test's process run on SQLite and on PostgreSQL (#24). There the server
refuses every write with SQLSTATE 53100, as on a full disk (:mod:`tests.full_storage`).

In the test's process the database is made full with SQLite's own limit (``PRAGMA
max_page_count`` on the bot's writing connection, its free pages taken by a filler): a
write that needs a new page is refused with ``SQLITE_FULL`` exactly as on a full disk
(SQLite reuses free room inside its pages, so the messages of these tests are long enough
to need pages of their own). As a process (``jindianzi run``), the database is on a tmpfs
of 8 MB filled to the last byte: the process gets a mount namespace of its own
(``unshare``, as root or not), so nothing is mounted on the machine; where that is not
permitted (a container without user namespaces) that test is skipped, saying why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from unittest.mock import ANY

import pytest

from bot.app import build_application, webhook_for
from bot.config import Settings
from bot.i18n import t
from bot.lifecycle import running
from bot.transport import diskspace
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, Chat
from tests.databases import both_backends, rows
from tests.full_storage import fill_database, make_room
from tests.processes import BotProcess
from tests.test_e2e_webhook import URL, free_port, post
from tests.test_e2e_webhook import USER as WEBHOOK_USER
from tests.test_e2e_webhook import update as webhook_update
from tests.webdesk import started

OFFICE = -1001234567
ALICE = FakeUser(id=987654321, first_name="李")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
CAROL = FakeUser(id=555000333, first_name="王")
# Long enough that storing one needs pages of its own (more than a page: 4,096 bytes).
LONG_EN = "The railing of the footbridge over the canal is broken. " * 60
LONG_ZH = "菜市场门口的垃圾已经三天没人清运，天热味道很大，" * 60


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def polls(stub: FakeBotApi) -> int:
    return sum(1 for c in stub.calls if c.method == "getUpdates")


def since(stub: FakeBotApi, chat_id: int, mark: int) -> list[str]:
    """The messages sent to ``chat_id`` after ``mark`` (not edits)."""
    return [
        m.plain for m in stub.messages_to(chat_id) if m.seq > mark and m.method.startswith("send")
    ]


async def noted(stub: FakeBotApi, user: FakeUser, mark: int, timeout: float = 5) -> SentMessage:
    """The bot's answer to ``user``'s /suggest with a text: noted, with the Next button."""
    return await stub.wait_for(
        user.id,
        after=mark,
        predicate=lambda m: "draft:next" in [data for _, data in m.buttons],
        timeout=timeout,
    )


def apologies(stub: FakeBotApi, *users: FakeUser) -> list[SentMessage]:
    texts = {t(lang, "error.apology") for lang in ("zh-Hans", "en")}
    return [m for u in users for m in stub.messages_to(u.id) if m.plain in texts]


# The tests in the test's process run on SQLite and on PostgreSQL (#24).
make_settings = both_backends()


def inbox_row(settings: Settings, update_id: int) -> tuple[object, ...] | None:
    found = rows(
        settings,
        "SELECT CASE WHEN body IS NOT NULL THEN 1 ELSE 0 END, handled_at FROM inbox"
        " WHERE update_id = ?",
        (update_id,),
    )
    return tuple(found[0]) if found else None


def full_reason(settings: Settings) -> str:
    """How the log line names the error: SQLite's, or PostgreSQL's server's (53100)."""
    if settings.storage.postgresql:
        return "DiskFull: could not extend file"
    return "OperationalError: database or disk"


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diskspace, "PROBE_EVERY", 0.5)


async def test_a_full_database_is_told_once_and_waited_out_without_a_restart(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    quick_probe: None,
) -> None:
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    async with started(settings) as runner:
        app = runner.app
        assert app is not None
        repo = app.bot_data.services.repository
        alice = Chat(stub, ALICE)
        draft = await alice.send("/suggest 村口的路灯坏了一个星期")  # a draft from before
        await stub.wait_idle(quiet=0.5)
        await fill_database(repo)
        caplog.clear()

        # Bob's message cannot be stored: he is told why, in his language, and so is the
        # office, once; Carol's and Alice's press of a button meanwhile are answered too.
        mark, polled = stub.mark(), polls(stub)
        bob_update = stub.send_text(BOB, "/suggest " + LONG_EN)
        told = await stub.wait_for(BOB.id, after=mark, timeout=5)
        assert told.plain == t("en", "storage.full")
        office = await stub.wait_for(OFFICE, after=mark)
        assert office.plain == zh("storage.full.office")
        stub.send_text(CAROL, "/suggest " + LONG_ZH)
        assert (await stub.wait_for(CAROL.id, after=mark)).plain == zh("storage.full")
        answers = len(stub.answered_callbacks)
        stub.press_button(ALICE, draft, zh("button.next"))
        await stub.wait_until(lambda: len(stub.answered_callbacks) > answers)
        alert = stub.answered_callbacks[-1]
        assert alert.get("text") == zh("storage.full.alert") and alert.get("show_alert")

        await asyncio.sleep(2.5)  # the batch comes again every second: nobody is told twice
        assert since(stub, BOB.id, mark) == [told.plain]
        assert since(stub, CAROL.id, mark) == [zh("storage.full")]
        assert since(stub, ALICE.id, mark) == []
        assert since(stub, OFFICE, mark) == [office.plain]
        assert len(stub.answered_callbacks) == answers + 1
        assert polls(stub) - polled <= 6  # about one a second while it waits, no spinning
        [line] = warnings_logged(caplog)
        assert line.getMessage().startswith(f"storage full ({full_reason(settings)}")
        assert line.exc_info is None and "\n" not in line.getMessage()
        assert inbox_row(settings, bob_update) is None  # still at Telegram: not confirmed
        assert not repo.disk.held

        # The operator makes room: the bot notices by itself and goes on, once each.
        mark = stub.mark()
        await make_room(repo)
        recovered = await stub.wait_for(OFFICE, after=mark, timeout=5)
        assert recovered.plain == zh("storage.recovered.office", minutes=1)
        await noted(stub, BOB, mark)
        await noted(stub, CAROL, mark)
        topics = await stub.wait_for(ALICE.id, after=mark, predicate=lambda m: bool(m.buttons))
        await stub.wait_idle(quiet=0.5)
        assert len(since(stub, BOB.id, mark)) == len(since(stub, CAROL.id, mark)) == 1
        assert since(stub, ALICE.id, mark) == [topics.plain]
        assert since(stub, OFFICE, mark) == [recovered.plain]
        assert apologies(stub, ALICE, BOB, CAROL) == []
        assert not repo.disk.full
        lines = [r.getMessage() for r in warnings_logged(caplog)]
        assert len(lines) == 2 and lines[1].startswith("storage has room again after")
        assert inbox_row(settings, bob_update) is not None


async def test_an_update_whose_write_found_the_disk_full_is_handled_again_after(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    quick_probe: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inbox took the update, then its handler's write met the full disk: the sender
    is told it waits (no apology, no traceback), the update is not marked handled (a
    restart would replay it), and it is handled again once there is room."""
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    async with started(settings) as runner:
        app = runner.app
        assert app is not None
        repo = app.bot_data.services.repository
        save = repo.save_draft
        filled: list[int] = []

        async def fills_first(user_id: int, draft: object) -> None:
            if not filled:  # the disk fills between the inbox and the draft
                filled.append(user_id)
                await fill_database(repo)
            await save(user_id, draft)  # type: ignore[arg-type]

        monkeypatch.setattr(repo, "save_draft", fills_first)
        caplog.clear()
        mark = stub.mark()
        update_id = stub.send_text(BOB, "/suggest " + LONG_EN)
        told = await stub.wait_for(BOB.id, after=mark)
        assert told.plain == t("en", "storage.full")
        assert update_id in repo.disk.held
        await stub.wait_for(OFFICE, after=mark)
        await asyncio.sleep(1.0)  # the handled marks are written within 0.2 s
        assert inbox_row(settings, update_id) == (1, None)
        assert since(stub, BOB.id, mark) == [told.plain]
        assert [r.getMessage().split(" (")[0] for r in warnings_logged(caplog)] == ["storage full"]
        assert not [r for r in caplog.records if r.exc_info]

        mark = stub.mark()
        await make_room(repo)
        await noted(stub, BOB, mark)
        await stub.wait_for(OFFICE, after=mark, predicate=lambda m: m.plain.startswith("✅"))
        await stub.wait_until(lambda: (inbox_row(settings, update_id) or (1, None))[1] is not None)
        assert inbox_row(settings, update_id) == (0, ANY)  # handled, its body overwritten
        await stub.wait_idle(quiet=0.5)
        assert len(since(stub, BOB.id, mark)) == 1
        assert apologies(stub, BOB) == []
        assert not repo.disk.held


async def test_in_webhook_mode_telegram_is_answered_503_until_there_is_room(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    quick_probe: None,
) -> None:
    """Webhook mode: an update that cannot be stored is refused (Telegram sends it again
    later), its sender told once; once there is room the next delivery is taken."""
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    webhook, _ = webhook_for(settings, URL, "127.0.0.1", free_port())
    app = build_application(settings)
    async with running(app, webhook=webhook):
        repo = app.bot_data.services.repository
        await fill_database(repo)
        caplog.clear()
        mark = stub.mark()
        body = webhook_update(201, "/suggest " + LONG_ZH)
        assert await post(webhook.port, body, webhook.secret) == 503
        assert await post(webhook.port, body, webhook.secret) == 503  # Telegram, again
        await stub.wait_for(OFFICE, after=mark)
        await stub.wait_idle(quiet=0.3)
        assert since(stub, WEBHOOK_USER.id, mark) == [zh("storage.full")]
        assert [r.getMessage().split(" (")[0] for r in warnings_logged(caplog)] == ["storage full"]

        await make_room(repo)
        await stub.wait_until(lambda: not repo.disk.full)
        assert await post(webhook.port, body, webhook.secret) == 200
        await noted(stub, WEBHOOK_USER, mark)
        await stub.wait_idle(quiet=0.3)
        assert len(since(stub, WEBHOOK_USER.id, mark)) == 2


# ------------------------------------------------------------------------ as a process
TMPFS_SIZE = "8m"


def in_own_mount_namespace(folder: Path) -> list[str]:
    """The command prefix that runs a program with a tmpfs of its own at ``folder``, in a
    user and mount namespace of its own (gone with the process)."""
    script = f'mount -t tmpfs -o size={TMPFS_SIZE} jindianzi-test "$0" && exec "$@"'
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(folder)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A folder that a process started with :func:`in_own_mount_namespace` sees as an
    empty tmpfs (skips the test where namespaces are not permitted)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    disk = tmp_path / "disk"
    disk.mkdir()
    tried = subprocess.run(
        [*in_own_mount_namespace(disk), "true"], capture_output=True, text=True, check=False
    )
    if tried.returncode != 0:
        pytest.skip(f"a tmpfs in a namespace of its own is not permitted here: {tried.stderr}")
    return disk


def seen_by(pid: int, path: Path) -> Path:
    """``path`` as the process ``pid`` sees it (in its mount namespace)."""
    return Path(f"/proc/{pid}/root") / path.relative_to("/")


def fill_disk(disk: Path) -> Path:
    """Write a file until the disk has no byte left."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                pass
    free = os.statvfs(disk)
    assert free.f_bavail == 0
    return filler


async def test_a_full_disk_as_a_process(stub: FakeBotApi, small_disk: Path) -> None:
    bot = BotProcess(
        stub,
        small_disk,
        prefix=in_own_mount_namespace(small_disk),
        ROLES__OFFICE_CHAT_ID=str(OFFICE),
        ROLES__ADMIN_IDS=f"[{ADMIN.id}]",
        TELEGRAM__OUTBOX_INTERVAL="0.5",
        ANONYMITY__WAL_SCRUB_SECONDS="0.5",
    )
    try:
        await bot.start(polling=True)
        assert bot.process is not None
        disk = seen_by(bot.process.pid, small_disk)
        await Chat(stub, ALICE).send("/start")
        await stub.wait_idle(quiet=1.0)
        # The handled /start is scrubbed from the write-ahead log, which is then empty:
        # the next write must grow a file (else SQLite reuses the room it has).
        wal = disk / "bot.sqlite3-wal"
        await stub.wait_until(lambda: wal.exists() and wal.stat().st_size == 0, timeout=5)
        filler = fill_disk(disk)

        mark, polled = stub.mark(), polls(stub)
        residents = [FakeUser(id=600_000_100 + i, first_name=f"居民{i}") for i in range(5)]
        for i, resident in enumerate(residents):
            stub.send_text(resident, f"/suggest 第{i + 1}条：" + LONG_ZH)
        await stub.wait_for(OFFICE, after=mark, timeout=5)  # the office is told
        for resident in residents:
            await stub.wait_for(resident.id, after=mark)
        await asyncio.sleep(2.5)
        assert polls(stub) - polled <= 8  # about one a second, not 90
        assert since(stub, OFFICE, mark) == [zh("storage.full.office")]
        for resident in residents:
            assert since(stub, resident.id, mark) == [zh("storage.full")]

        mark = stub.mark()
        filler.unlink()
        recovered = await stub.wait_for(OFFICE, after=mark, timeout=10)
        assert recovered.plain == zh("storage.recovered.office", minutes=1)
        for resident in residents:  # nothing lost: every draft is taken, once
            await noted(stub, resident, mark)
        await stub.wait_idle(quiet=0.5)
        for resident in residents:
            assert len(since(stub, resident.id, mark)) == 1
        await bot.stop(2)
        log = bot.logs[-1]
        assert log.count("storage full") == 1 and log.count("storage has room again") == 1
        assert "Traceback" not in log
        during = log[log.index("storage full") : log.index("storage has room again")]
        assert during.count("\n") == 1, during  # the two lines, nothing between them
    finally:
        bot.kill()
