"""End to end: the ledger export from Telegram and from the console (issue 15.3, 15.5, 15.12).

A large export is made beside the admin's other commands, not in front of them; a named
sender whose name holds control characters no longer breaks it; a day outside the range a
report can name gets a clear answer instead of an apology or a traceback."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from bench.store import fill
from bot.cli import main
from bot.config import Settings
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage, Upload
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.databases import both_backends
from tests.processes import EXAMPLE_CONFIG
from tests.test_e2e_office import submit

OFFICE = -1001234567
CONTROL = FakeUser(id=555000333, first_name="控\x01制\x0b符", last_name="\x7f居民\x1f")
LATER = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # after every item bench.store.fill makes


make_settings = both_backends()


def storage_env(settings: Settings) -> dict[str, str]:
    """The console command's environment for the bot's database (the file, or the URL)."""
    if settings.storage.url is not None:
        return {"JINDIANZI_STORAGE__URL": settings.storage.url}
    return {"JINDIANZI_STORAGE__PATH": str(settings.storage.path)}


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def document_after(stub: FakeBotApi, mark: int, *, timeout: float = 30) -> Upload:
    sent = await stub.wait_for(
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method == "sendDocument",
        timeout=timeout,
    )
    upload = sent.params["document"]
    assert isinstance(upload, Upload)
    return upload


async def test_a_large_export_does_not_hold_up_the_admins_next_commands(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    if settings.storage.postgresql:
        pytest.skip("the 3,000 items are written by bench.store.fill, into SQLite's file")
    runner = BotRunner(settings, FrozenClock(LATER))
    await runner.start()
    try:
        fill(settings.storage.path, 3000)  # written beside the running bot, as a restore would
        admin = Chat(stub, ADMIN)
        mark = stub.mark()
        stub.send_text(ADMIN, "/export")
        queue = await admin.send("/queue", expect="3000")
        upload = await document_after(stub, mark)
        document = next(m for m in stub.messages_to(ADMIN.id) if m.method == "sendDocument")
        # The queue was answered while the ledger was still being written.
        assert queue.seq < document.seq
        actions = [c for c in stub.calls if c.method == "sendChatAction"]
        assert actions and actions[-1].params["action"] == "upload_document"
        sheet = openpyxl.load_workbook(io.BytesIO(upload.content), read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 3001 and rows[0][0] == zh("ledger.ref")
        assert [r[0] for r in rows[1:4]] == ["#1", "#2", "#3"] and rows[-1][0] == "#3000"
        with sqlite3.connect(settings.storage.path) as db:
            anonymous = db.execute("SELECT COUNT(*) FROM submissions WHERE anonymous").fetchone()
            [oldest] = db.execute("SELECT MIN(created_at) FROM submissions").fetchone()
        assert sum(r[5] == zh("ledger.anonymous") for r in rows[1:]) == anonymous[0]
        # "Everything" starts at the first item's day (#17, point 11), not at 2000-01-01.
        first = datetime.fromisoformat(oldest).astimezone(settings.campaign.tz).date()
        assert tn(
            "zh-Hans", "export.caption", 3000, start=str(first), end="2026-12-10", n=3000
        ) in (document.text or "")
        assert upload.filename == f"ledger-{first}-2026-12-10.xlsx"
    finally:
        await runner.stop()


def cells_of(upload: Upload) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(upload.content)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


@pytest.fixture
async def one_item(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    """The bot, running, with one item from the sender whose name has control characters."""
    runner = BotRunner(make_settings(stub, roles={"office_chat_id": OFFICE}))
    await runner.start()
    try:
        await submit(Chat(stub, CONTROL), "小区门口的路灯坏了一个月", anonymous=False)
        yield runner
    finally:
        await runner.stop()


async def test_a_name_with_control_characters_is_exported_readably(
    stub: FakeBotApi, one_item: BotRunner, tmp_path: Path
) -> None:
    settings = one_item.settings
    try:
        mark = stub.mark()
        stub.send_text(ADMIN, "/export")
        cells = cells_of(await document_after(stub, mark))
        assert cells[1][5] == "控制符 居民"
        mark = stub.mark()
        stub.send_text(ADMIN, "/export csv")
        upload = await document_after(stub, mark)
        rows = list(csv.reader(io.StringIO(upload.content.decode("utf-8-sig"))))
        assert rows[1][5] == "控制符 居民"
        apology = zh("error.apology")
        assert [m for m in stub.messages_to(ADMIN.id) if m.plain == apology] == []
    finally:
        await one_item.stop()  # the console command works on the database the bot left

    # The console command, on the same database.
    env = storage_env(settings)
    for name, as_csv in (("ledger.xlsx", False), ("ledger.csv", True)):
        out = tmp_path / name
        argv = ["export", "--config", str(EXAMPLE_CONFIG), "--out", str(out)]
        code = await asyncio.to_thread(run_cli, [*argv, *(["--csv"] if as_csv else [])], env)
        assert code == (0, "")
        if as_csv:
            text = out.read_bytes().decode("utf-8-sig")
            assert list(csv.reader(io.StringIO(text)))[1][5] == "控制符 居民"
        else:
            assert openpyxl.load_workbook(out).active["F2"].value == "控制符 居民"
        assert not out.with_name(name + ".part").exists()


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``jindianzi`` in this process with ``env`` set; (exit code, what it wrote on stderr)."""
    import contextlib

    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(argv)
    return code, err.getvalue()


async def test_days_outside_the_range_are_answered_clearly(
    stub: FakeBotApi, one_item: BotRunner, tmp_path: Path
) -> None:
    settings = one_item.settings
    try:
        admin = Chat(stub, ADMIN)
        range_text = zh("dates.range", first="1970-01-01", last="2999-12-31")
        for command in (
            "/stats 0001-01-01",
            "/stats 2026-01-01 9999-12-31",
            "/export 0001-01-01",
            "/export 2026-01-01 9999-12-31 csv",
        ):
            answer: SentMessage = await admin.send(command)
            assert answer.plain == range_text, command
        # The last day of the range itself is fine.
        stats = await admin.send("/stats 1970-01-01 2999-12-31", expect="统计")
        assert "共 1 条" in stats.plain
        # Its chart is drawn over the days that hold items, not one bar for each of the
        # 376,000 days named (which took minutes and gigabytes).
        await stub.wait_for(ADMIN.id, after=stats.seq, predicate=lambda m: m.method == "sendPhoto")
        usage = await admin.send("/stats 2026-12-01 2026-11-01")  # reversed: the usage
        assert usage.plain == zh("stats.usage")
        assert "/stats unit " in usage.plain
        assert [m for m in stub.messages_to(ADMIN.id) if m.plain == zh("error.apology")] == []
    finally:
        await one_item.stop()  # the console command works on the database the bot left

    env = storage_env(settings)
    out = tmp_path / "ledger.xlsx"
    base = ["export", "--config", str(EXAMPLE_CONFIG), "--out", str(out)]
    for dates in (["--to", "9999-12-31"], ["--from", "0001-01-01"]):
        code, err = await asyncio.to_thread(run_cli, [*base, *dates], env)
        assert code == 2
        assert err == "Dates must lie between 1970-01-01 and 2999-12-31.\n"
    assert not out.exists()
    code, err = await asyncio.to_thread(run_cli, [*base, "--to", "2999-12-31"], env)
    assert (code, err) == (0, "")
    assert openpyxl.load_workbook(out).active["A2"].value == "#1"
