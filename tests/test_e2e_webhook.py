"""Webhook mode end to end: the real Application's webhook server on 127.0.0.1 receives
updates as Telegram would POST them, checks the secret token, and answers through the Bot
API stand-in; and ``jindianzi run --webhook URL --listen HOST:PORT`` as a process."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from bot.app import Webhook, build_application, webhook_for
from bot.config import Settings
from bot.lifecycle import running
from bot.logs import QUIET_LIBRARIES, WITHHELD, configure_logging
from tests.botapi_stub import FakeBotApi, FakeUser, JsonDict
from tests.conftest import drafts_of
from tests.databases import both_backends, rows, sqlite_only
from tests.processes import bot_env, start_bot

USER = FakeUser(id=31415926, first_name="陈", last_name="晓明")
SECRET = "campaign-office_2026-webhook"
URL = "https://bot.example.org/jindianzi/updates"

# The webhook's intake (an update stored on arrival, a repeat stored once) runs on SQLite and on
# PostgreSQL (#24); the rest stores nothing a test elsewhere does not: SQLite only.
make_settings = both_backends()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def update(update_id: int, text: str, user: FakeUser = USER) -> JsonDict:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": user.as_json(),
            "text": text,
            "entities": entities if text.startswith("/") else [],
        },
    }


async def post(port: int, body: JsonDict | bytes, secret: str | None) -> int:
    """POST an update as Telegram does (``body`` as JSON, or bytes sent as they are)."""
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    headers["Content-Type"] = "application/json"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/jindianzi/updates", data=data, headers=headers
        ) as response,
    ):
        return response.status


async def post_when_listening(port: int, body: JsonDict, secret: str | None) -> int:
    """The first POST, retried while the server is still starting (connection refused)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await post(port, body, secret)
        except aiohttp.ClientConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_webhook_checks_the_secret_token_and_answers(
    stub: FakeBotApi, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__WEBHOOK_SECRET", SECRET)  # the environment's key
    settings = make_settings(stub)
    webhook, generated = webhook_for(settings, URL, "127.0.0.1", free_port())
    assert (webhook.secret, generated) == (SECRET, False)
    assert webhook.url_path == "jindianzi/updates"
    app = build_application(settings)
    async with running(app, webhook=webhook):
        # Telegram was told where to send updates, and which token to send with them.
        assert stub.webhook is not None
        assert stub.webhook["url"] == URL
        assert stub.webhook["secret_token"] == SECRET

        refused = [
            await post(webhook.port, update(101, "/suggest 没有令牌的更新"), None),
            await post(webhook.port, update(102, "/suggest 令牌错误的更新"), "wrong-token"),
            await post(webhook.port, update(103, "/suggest 令牌差一个字"), SECRET + "x"),
        ]
        assert refused == [403, 403, 403]
        mark = stub.mark()
        assert await post(webhook.port, update(104, "/suggest 建议增设公交站台"), SECRET) == 200
        reply = await stub.wait_for(USER.id, after=mark)
        assert "下一步" in " ".join(label for label, _ in reply.buttons)
        # Telegram sends an update again when it missed the 200: stored once, handled once.
        assert await post(webhook.port, update(104, "/suggest 建议增设公交站台"), SECRET) == 200
        await stub.wait_idle(quiet=0.3)
        assert len(stub.messages_to(USER.id)) == 1  # nothing for the refused ones or the repeat
        inbox = rows(settings, "SELECT update_id, body FROM inbox")
        assert inbox == [(104, None)]  # stored on arrival, body dropped once handled
        stored = drafts_of(settings)
    assert len(stored) == 1 and "公交站台" in stored[0]
    assert not any("令牌" in body for body in stored)
    # Updates came by webhook only: the bot never long-polled.
    assert not any(call.method == "getUpdates" for call in stub.calls)


def test_listen_without_webhook_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import EXIT_CONFIG, main

    assert main(["run", "--listen", "127.0.0.1:8443"]) == EXIT_CONFIG
    assert "--webhook" in capsys.readouterr().err


@pytest.mark.parametrize("listen", ["8443", "host:", "host:99999", ":80"])
def test_listen_must_be_host_and_port(listen: str) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", "--webhook", URL, "--listen", listen])
    assert exit_.value.code == 2


@sqlite_only
def test_a_configured_secret_must_be_what_telegram_accepts(
    make_settings: Callable[..., Settings],
) -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as error:
        make_settings(telegram={"webhook_secret": "has spaces and 中文"})
    assert "telegram.webhook_secret" in str(error.value)
    assert "中文" not in str(error.value)  # a secret is never echoed


@sqlite_only
def test_without_a_configured_secret_each_start_generates_one(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    first, generated = webhook_for(settings, URL, "127.0.0.1", 8443)
    second, _ = webhook_for(settings, URL, "127.0.0.1", 8443)
    assert generated
    assert len(first.secret) >= 32 and first.secret != second.secret
    assert isinstance(first, Webhook)


async def test_run_command_in_webhook_mode(stub: FakeBotApi, tmp_path: Path) -> None:
    """``jindianzi run --webhook URL --listen HOST:PORT`` as a process, no secret configured:
    one is generated, given to Telegram, never printed, and required."""
    port = free_port()
    env = bot_env(stub, tmp_path / "bot.sqlite3", tmp_path / "keys.json")
    process = await start_bot(env, "--webhook", URL, "--listen", f"127.0.0.1:{port}")
    try:
        await stub.wait_until(lambda: stub.webhook is not None, timeout=30)
        assert stub.webhook is not None
        assert stub.webhook["url"] == URL
        secret = str(stub.webhook["secret_token"])
        assert len(secret) >= 32
        assert await post_when_listening(port, update(7, "/suggest 不带令牌"), None) == 403
        mark = stub.mark()
        assert await post(port, update(8, "/suggest 建议在公园里多放几张长椅"), secret) == 200
        reply = await stub.wait_for(USER.id, after=mark, timeout=30)
        assert "下一步" in " ".join(label for label, _ in reply.buttons)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "generated a random secret token" in log
    assert secret not in log
    assert stub.token not in log
    assert "Traceback" not in log
    assert len(stub.messages_to(USER.id)) == 1


@sqlite_only
async def test_what_the_webhook_server_cannot_parse_is_logged_without_identity(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """python-telegram-bot's webhook server logs the body of an update it cannot parse at
    CRITICAL (#13): the line stays, the sender's id and names do not, at any level."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    settings = make_settings(stub)
    webhook = Webhook(URL, "127.0.0.1", free_port(), SECRET)
    try:
        async with running(build_application(settings), webhook=webhook):
            unparseable = update(201, "/suggest 匿名：村里的账目不公开")
            unparseable["message"]["date"] = "yesterday"
            assert await post(webhook.port, unparseable, SECRET) == 400
            cut_off = b"<html>502</html>" + json.dumps(update(202, "/suggest x")).encode()[:120]
            assert await post(webhook.port, cut_off, SECRET) >= 400
            mark = stub.mark()
            assert await post(webhook.port, update(203, "/suggest 建议增设公交站台"), SECRET) == 200
            await stub.wait_for(USER.id, after=mark)  # the server goes on
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    logs = buffer.getvalue()
    for token in (str(USER.id), "陈", "晓明", "村里的账目"):
        assert token not in logs
    assert "Received data was *not* processed!" in logs and WITHHELD in logs


@sqlite_only
async def test_ptb_webhook_server_log_of_an_unparsable_update_withholds_the_body(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """Guards a coupling to python-telegram-bot's internals: its webhook server logs an update
    it cannot parse, body included ("Received data was: %r"), from a logger of its own
    choosing (telegram.ext.Updater in 22.x, not the module's name). bot.logs recognises the
    line by its text under the "telegram" loggers; if PTB changes either, this fails."""
    settings = make_settings(stub)
    webhook, _ = webhook_for(settings, URL, "127.0.0.1", free_port())
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    configure_logging("INFO", stream=stream)
    try:
        async with running(build_application(settings), webhook=webhook):
            body = {"update_id": 9, "message": {"from": {"id": 987654321, "first_name": "秀英"}}}
            assert await post(webhook.port, body, webhook.secret) == 400
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)
    log = stream.getvalue()
    assert "Received data was *not* processed!" in log  # PTB still logs the line...
    assert WITHHELD in log  # ... and it was recognised
    assert "987654321" not in log and "秀英" not in log
