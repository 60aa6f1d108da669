"""Several webhook workers on one PostgreSQL database (#24), the intake: one shared secret
token, required; one setWebhook among the workers, recorded in the database; the inbox as a
claim queue that hands each update to exactly one worker, each sender's in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from telegram import Update
from telegram.error import BadRequest

from bot.anonymity import load_or_create_secrets
from bot.app import AnyApplication, Webhook, build_application
from bot.cli import main
from bot.config import Settings
from bot.lifecycle import running
from tests.botapi_stub import FakeBotApi, FakeUser, JsonDict
from tests.databases import database, rows
from tests.test_e2e_webhook import SECRET, URL, free_port, update
from tests.test_e2e_webhook import post as post_with


async def post(port: int, body: JsonDict) -> int:
    return await post_with(port, body, SECRET)


def webhook_calls(stub: FakeBotApi) -> list[str]:
    return [str(call.get("url")) for call in stub.webhook_calls if call.get("url")]


@contextlib.asynccontextmanager
async def worker(settings: Settings, secret: str = SECRET) -> AsyncIterator[AnyApplication]:
    """One webhook worker (an Application with its own port) on the settings' database."""
    app = build_application(settings)
    async with running(app, webhook=Webhook(URL, "127.0.0.1", free_port(), secret)) as started:
        yield started


def test_webhook_mode_on_postgresql_requires_the_shared_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A random secret per start would make every worker but the last answer 403."""
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "123:abc")
    monkeypatch.setenv("JINDIANZI_STORAGE__URL", "postgresql://bot@localhost/jindianzi")
    monkeypatch.delenv("JINDIANZI_TELEGRAM__WEBHOOK_SECRET", raising=False)
    assert main(["run", "--webhook", URL, "--listen", "127.0.0.1:8443"]) == 2
    err = capsys.readouterr().err
    assert "telegram.webhook_secret" in err and "PostgreSQL" in err


def test_check_config_says_the_secret_is_required_on_postgresql(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_STORAGE__URL", pg_url)
    monkeypatch.setenv("JINDIANZI_ANONYMITY__KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.delenv("JINDIANZI_TELEGRAM__WEBHOOK_SECRET", raising=False)
    main(["check-config"])
    assert "warning: telegram.webhook_secret: required" in capsys.readouterr().out
    monkeypatch.setenv("JINDIANZI_TELEGRAM__WEBHOOK_SECRET", SECRET)
    main(["check-config"])
    assert "telegram.webhook_secret" not in capsys.readouterr().out


async def test_only_one_worker_calls_set_webhook(
    stub: FakeBotApi, make_settings: Callable[..., Settings], pg_url: str
) -> None:
    settings = make_settings(stub, storage={"url": pg_url})
    # Two workers starting at once with the same URL and secret: one registers.
    async with worker(settings), worker(settings):
        assert webhook_calls(stub) == [URL]
        assert stub.webhook is not None and stub.webhook["secret_token"] == SECRET
    # Restarted with the same registration: not again.
    async with worker(settings):
        pass
    assert webhook_calls(stub) == [URL]
    # The database keeps the URL and a digest of the secret, never the secret itself.
    ((url, digest),) = rows(settings, "SELECT url, secret_digest FROM webhook_registration")
    assert url == URL and SECRET not in digest and len(digest) >= 32
    # A changed secret is registered once, by one of the workers that start with it.
    changed = "campaign-office_2027-webhook"
    async with worker(settings, changed), worker(settings, changed):
        assert webhook_calls(stub) == [URL, URL]
        assert stub.webhook is not None and stub.webhook["secret_token"] == changed


async def test_a_single_worker_on_sqlite_sets_the_webhook_at_every_start(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """SQLite is one process: as before, each start tells Telegram (nothing is skipped)."""
    settings = make_settings(stub)
    for _ in range(2):
        async with worker(settings):
            pass
    assert webhook_calls(stub) == [URL, URL]


async def test_a_failed_registration_is_tried_again_at_the_next_start(
    stub: FakeBotApi, make_settings: Callable[..., Settings], pg_url: str
) -> None:
    settings = make_settings(stub, storage={"url": pg_url})
    stub.fail_next("setWebhook", status=400, description="Bad Request: bad webhook")
    with pytest.raises(BadRequest):
        async with worker(settings):
            pass
    assert rows(settings, "SELECT COUNT(*) FROM webhook_registration") == [(0,)]
    async with worker(settings):
        assert stub.webhook is not None and stub.webhook["url"] == URL


async def test_two_workers_handle_each_update_once_and_each_senders_in_order(
    stub: FakeBotApi, make_settings: Callable[..., Settings], pg_url: str
) -> None:
    """Ten residents each ask for five references (/status N, whose answer names N), each
    message POSTed to the other worker than the one before (as a round-robin proxy does),
    all residents at once: every message is answered once, and each resident's answers
    come in the order asked, though consecutive messages reach different workers.

    Each worker handles 3 updates at once, fewer than the ten residents: a worker claims no
    more than that free capacity, so both workers take part (before, one claim could take
    the whole burst while the other idled). (A guided flow over several workers is
    test_e2e_workers_state's and test_e2e_workers_faults' check.)"""
    settings = make_settings(stub, storage={"url": pg_url}, telegram={"concurrent_updates": 3})
    residents = [FakeUser(id=7100 + n, first_name=f"居民{n}") for n in range(10)]
    asked = [str(9000 + i) for i in range(5)]
    app1 = build_application(settings)
    app2 = build_application(settings)
    # (worker_id() names a process; two workers in one need two names)
    app1.bot_data.services.inbox.worker = "test:1:one"
    app2.bot_data.services.inbox.worker = "test:2:two"
    hooks = [Webhook(URL, "127.0.0.1", free_port(), SECRET) for _ in range(2)]
    async with running(app1, webhook=hooks[0]), running(app2, webhook=hooks[1]):

        async def resident(n: int, user: FakeUser) -> None:
            for i, ref in enumerate(asked):
                body = update(1000 + n * 10 + i, f"/status {ref}", user)
                assert await post(hooks[(n + i) % 2].port, body) == 200

        await asyncio.gather(*(resident(n, user) for n, user in enumerate(residents)))
        await stub.wait_until(
            lambda: all(len(stub.messages_to(u.id)) >= len(asked) for u in residents), timeout=60
        )
        await stub.wait_idle(quiet=0.5)
        for user in residents:
            answers = [m.plain for m in stub.messages_to(user.id)]
            named = [next(ref for ref in asked if ref in answer) for answer in answers]
            assert named == asked, answers
        # Each update was claimed once, both workers claimed some, and nothing is left
        # unhandled.
        claimed = rows(settings, "SELECT claimed_by, COUNT(*) FROM inbox GROUP BY claimed_by")
        assert {row[0] for row in claimed} == {"test:1:one", "test:2:two"}, claimed
        assert sum(row[1] for row in claimed) == len(residents) * len(asked)
        assert rows(settings, "SELECT COUNT(*) FROM inbox WHERE body IS NOT NULL") == [(0,)]


async def test_a_dead_workers_update_is_handled_by_a_survivor_after_its_lease(
    stub: FakeBotApi, make_settings: Callable[..., Settings], pg_url: str
) -> None:
    """An update a worker admitted and claimed, then died with: once the lease ran out a
    running worker claims and handles it (before, only the same worker's restart did)."""
    settings = make_settings(stub, storage={"url": pg_url})
    user = FakeUser(id=7201, first_name="王")
    secrets = load_or_create_secrets(settings.anonymity)
    async with worker(settings) as app:
        body = secrets.encrypt(json.dumps(update(501, "/suggest 路灯坏了三盏", user)))
        lease_until = int(time.time() * 1000) + 1500
        with database(settings) as db:
            db.execute(
                "INSERT INTO inbox (update_id, body, received_at, sender_key, claimed_by,"
                " lease_until) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    501,
                    body,
                    "2026-12-07T09:00:00+00:00",
                    app.bot_data.services.inbox.sender_key(
                        Update.de_json(update(501, "/x", user), None)
                    ),
                    "gone:1:dead",
                    lease_until,
                ),
            )
        await asyncio.sleep(1.0)
        assert stub.messages_to(user.id) == []  # the dead worker's lease still holds
        reply = await stub.wait_for(user.id, timeout=10)
        assert "下一步" in " ".join(label for label, _ in reply.buttons)
        await stub.wait_idle(quiet=0.3)
        assert rows(settings, "SELECT body IS NULL FROM inbox WHERE update_id = 501") == [(True,)]
    assert len(stub.messages_to(user.id)) == 1


async def test_long_polling_in_between_makes_the_next_webhook_start_register_again(
    stub: FakeBotApi, make_settings: Callable[..., Settings], pg_url: str
) -> None:
    """Long polling deletes the webhook at Telegram, so the record of it goes too."""
    settings = make_settings(stub, storage={"url": pg_url})
    async with worker(settings):
        pass
    async with running(build_application(settings)):
        assert stub.webhook is None
    assert rows(settings, "SELECT COUNT(*) FROM webhook_registration") == [(0,)]
    async with worker(settings):
        assert stub.webhook is not None and stub.webhook["url"] == URL
    assert webhook_calls(stub) == [URL, URL]
