"""Polling never spins (issue #14), through the real Application against the stand-in:
an update python-telegram-bot cannot read is kept apart (encrypted) and skipped without
taking its batch with it; getUpdates answers that are not JSON, or a database that refuses
the batch, cost at most one getUpdates a second and one log line a minute, and nothing is
lost once they pass (a full disk, which is also told to its senders and the office and
ends when there is room: test_e2e_disk_full.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from bot.cli import main
from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, Misbehaviour
from tests.conftest import BotRunner
from tests.databases import both_backends, rows, sqlite_only
from tests.processes import EXAMPLE_CONFIG

ALICE = FakeUser(id=987654321, first_name="李")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
CAROL = FakeUser(id=555000333, first_name="Carol", language_code="en")

# The dead letters (stored, skipped, read by the operator) on SQLite and on PostgreSQL (#24);
# the failing calls and writes store nothing another test does not: SQLite only.
make_settings = both_backends()


def poll_calls(stub: FakeBotApi) -> int:
    return sum(1 for c in stub.calls if c.method == "getUpdates")


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name in ("bot.transport.inbox", "telegram.ext.Updater", "telegram.ext._updater")
        and r.levelno >= logging.WARNING
        and "works again" not in r.getMessage()
    ]


async def test_an_unreadable_update_is_kept_apart_and_its_batch_goes_on(
    stub: FakeBotApi, runner: BotRunner, caplog: pytest.LogCaptureFixture
) -> None:
    assert runner.app is not None
    svc = runner.app.bot_data.services
    await stub.wait_idle(quiet=0.3)
    polls = poll_calls(stub)
    first = stub.send_text(BOB, "/help")
    bad = stub.send_garbled_text(ALICE, "我家门口的井盖丢了")
    last = stub.send_text(CAROL, "/help")  # the three come in one batch
    await stub.wait_for(BOB.id, timeout=5)
    await stub.wait_for(CAROL.id, timeout=5)
    apology = await stub.wait_for(ALICE.id, timeout=5)
    assert apology.plain == t("zh-Hans", "error.unreadable")
    await asyncio.sleep(2.0)
    assert poll_calls(stub) - polls <= 5  # long polls of 1 s, no spinning

    letters = rows(runner.settings, "SELECT update_id, body, error FROM dead_letters")
    inbox = {row[0] for row in rows(runner.settings, "SELECT update_id FROM inbox")}
    [(update_id, body, error)] = letters
    assert update_id == bad and error == "TypeError"
    assert "井盖" not in body  # encrypted with the anonymity key
    plain = svc.secrets.decrypt(body)
    assert plain is not None and json.loads(plain)["message"]["text"] == "我家门口的井盖丢了"
    assert {first, last} <= inbox and bad not in inbox
    # Skipped for good: the confirmation went past it, it is neither fetched nor stored again.
    assert stub._highest_offset > last
    stub.deliver_again(bad)
    await stub.wait_processed(bad, timeout=5)
    await stub.wait_idle(quiet=0.5)
    assert len(stub.messages_to(ALICE.id)) == 1
    assert rows(runner.settings, "SELECT COUNT(*) FROM dead_letters") == [(1,)]
    assert len([line for line in failure_lines(caplog) if "cannot be read" in line]) == 1


async def test_the_operator_reads_the_dead_letters(
    stub: FakeBotApi,
    runner: BotRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = stub.send_garbled_text(ALICE, "我家门口的井盖丢了")
    await stub.wait_for(ALICE.id, timeout=5)
    settings = runner.settings
    monkeypatch.setenv("JINDIANZI_STORAGE__PATH", str(settings.storage.path))
    if settings.storage.url is not None:
        monkeypatch.setenv("JINDIANZI_STORAGE__URL", settings.storage.url)
    monkeypatch.setenv("JINDIANZI_ANONYMITY__KEY_FILE", str(settings.anonymity.key_file))
    argv = ["dead-letters", "--config", str(EXAMPLE_CONFIG)]
    assert await asyncio.to_thread(main, argv) == 0
    listing = capsys.readouterr().out
    assert f"update {bad}" in listing and "TypeError" in listing and "井盖" not in listing
    assert await asyncio.to_thread(main, [*argv, "--show", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["update_id"] == bad


@sqlite_only
@pytest.mark.parametrize("fault", ["not_json", "error_500", "garbled", "close"])
async def test_getupdates_failing_costs_a_call_a_second_and_a_line_a_minute(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    fault: Misbehaviour,
) -> None:
    runner = BotRunner(make_settings(stub))
    await runner.start()
    try:
        await stub.wait_idle(quiet=0.3)
        stub.misbehave("getUpdates", fault)
        await asyncio.sleep(1.2)  # the long poll under way when it began has ended
        polls = poll_calls(stub)
        stub.send_text(BOB, "/help")  # garbled: this one comes unreadable
        await asyncio.sleep(3.0)
        assert poll_calls(stub) - polls <= 4  # at most one a second
        lines = failure_lines(caplog)
        assert len(lines) <= 1, lines
        stub.behave("getUpdates")
        stub.send_text(CAROL, "/help")
        await stub.wait_for(CAROL.id, timeout=5)  # polling works again, nothing lost
        if fault != "garbled":
            await stub.wait_for(BOB.id, timeout=5)
    finally:
        await runner.stop()


@sqlite_only
async def test_a_failing_inbox_write_does_not_spin_and_loses_nothing(
    stub: FakeBotApi,
    runner: BotRunner,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runner.app is not None
    repository = runner.app.bot_data.services.repository
    await stub.wait_idle(quiet=0.3)

    async def failing(*args: Any, **kwargs: Any) -> set[int]:  # (a full disk: its own test)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(repository, "admit_updates", failing)
    update = stub.send_text(BOB, "/help")
    polls = poll_calls(stub)
    await asyncio.sleep(3.0)
    assert poll_calls(stub) - polls <= 4  # was thousands a second
    assert stub.messages_to(BOB.id) == []  # not handled before it is stored
    assert stub._highest_offset <= update  # nor confirmed: Telegram keeps it
    lines = failure_lines(caplog)
    assert len(lines) == 1 and "disk I/O error" in lines[0], lines
    monkeypatch.undo()
    await stub.wait_for(BOB.id, timeout=5)  # fetched again and handled once stored
    assert any("works again" in r.getMessage() for r in caplog.records)
