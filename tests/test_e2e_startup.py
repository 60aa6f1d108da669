"""Start-up as an operator meets it (#21), with ``jindianzi run`` as its own process against
the Bot API stand-in: a token the Bot API rejects ends the start with one line and exit 2;
a Bot API that cannot be reached costs one log line (not a traceback per try) while the bot
retries, and the bot serves as soon as it answers; the log's summary names the files in use
and warns of each role nobody fills; a stop signal while it waits ends it at once. (The
once-a-minute pacing over many minutes is tests/test_startup.py's, on a clock the test
moves.)"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

from bot.i18n import t
from storage.migrations import available_migrations
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import Chat
from tests.processes import EXAMPLE_CONFIG, BotProcess, bot_env, start_bot

USER = FakeUser(id=424242, first_name="王", last_name="建国")


def problem_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]


async def test_a_rejected_token_ends_the_start_with_one_line_and_exit_2(
    stub: FakeBotApi, tmp_path: Path
) -> None:
    env = bot_env(stub, tmp_path / "bot.sqlite3", tmp_path / "keys.json")
    env["JINDIANZI_TELEGRAM__TOKEN"] = "654321:NOT-THE-BOTS-TOKEN"
    began = time.monotonic()
    process = await start_bot(env)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    took = time.monotonic() - began
    log = stderr.decode()
    assert process.returncode == 2, log
    [line] = problem_lines(log)
    assert f"cannot start: the Bot API at {stub.base_url} rejected the bot token" in line
    assert "(401 Unauthorized from getMe)" in line
    assert "Traceback" not in log and "NOT-THE-BOTS-TOKEN" not in log
    assert [c.method for c in stub.calls] == ["getMe"]  # no retry: none could help
    assert took < 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_bot_api_is_waited_for_quietly_and_served_once_it_answers(
    tmp_path: Path,
) -> None:
    stub = FakeBotApi(port=free_port())  # not listening yet: connections are refused
    bot = BotProcess(stub, tmp_path)
    try:
        await bot.start()
        await bot.logged("cannot reach the Bot API")
        await asyncio.sleep(3.5)  # two more tries, 1 s and 2 s later, refused as well
        assert bot.process is not None and bot.process.returncode is None  # still trying
        await stub.start()
        back = time.monotonic()
        await stub.wait_until(lambda: any(c.method == "getUpdates" for c in stub.calls), timeout=30)
        serving_after = time.monotonic() - back
        reply = await Chat(stub, USER).send("/start")
        assert t("zh-Hans", "start.greeting", name="王 建国", campaign="解放思想大讨论") in (
            reply.text or ""
        )
        assert await bot.stop(signal.SIGTERM) == 0
    finally:
        bot.kill()
        await stub.stop()
    log = bot.logs[0]
    assert "Traceback" not in log
    waiting = [line for line in log.splitlines() if "cannot reach the Bot API" in line]
    assert len(waiting) == 1, waiting  # one line a minute, however many tries
    prefix = "WARNING bot.transport.botapi update=-"
    assert f"{prefix} cannot reach the Bot API at {stub.base_url}: " in waiting[0]
    assert waiting[0].endswith("; retrying")
    [answered] = [line for line in log.splitlines() if "answers (after" in line]
    assert int(answered.rsplit("after ", 1)[1].split()[0]) >= 4  # 3 refused, then answered
    assert serving_after < 15  # the next try comes within MAX_DELAY (10 s)

    # The summary: the files in use, absolute, and a warning for each missing role.
    assert f"configuration: {EXAMPLE_CONFIG}" in log
    schema = max(m.version for m in available_migrations())
    assert f"database: {tmp_path / 'bot.sqlite3'} (" in log
    assert f"schema {schema}, 0 items)" in log  # created and migrated before the summary
    assert f"anonymity keys: new keys in {tmp_path / 'keys.json'}" in log
    assert "administrators: 0" in log
    for key in ("admin_ids", "office_chat_id", "leading_group_chat_id", "channel_id"):
        [warning] = [line for line in log.splitlines() if f"(roles.{key})" in line]
        assert " WARNING jindianzi " in warning


async def test_a_stop_while_waiting_for_the_bot_api_stops_at_once(tmp_path: Path) -> None:
    stub = FakeBotApi(port=free_port())  # never started: the bot waits for it
    bot = BotProcess(stub, tmp_path)
    try:
        await bot.start()
        await bot.logged("cannot reach the Bot API")
        code, took = await bot.timed_stop(signal.SIGTERM)
    finally:
        bot.kill()
    assert code == 0, bot.logs[0]
    assert took < 5
    assert "Traceback" not in bot.logs[0]
