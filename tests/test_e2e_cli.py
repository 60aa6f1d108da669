"""End to end through the console command: ``jindianzi run`` as a process, configured only by
the example file and environment variables, answering over the stand-in; SIGTERM stops it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import stored_drafts
from tests.processes import EXAMPLE_CONFIG, ROOT, bot_env, start_bot

USER = FakeUser(id=424242, first_name="王", last_name="建国")


async def test_run_command_serves_the_bot_and_stops_cleanly(
    stub: FakeBotApi, tmp_path: Path
) -> None:
    env = bot_env(
        stub,
        tmp_path / "data" / "bot.sqlite3",
        tmp_path / "secret" / "keys.json",
        TELEGRAM__POLL_TIMEOUT="1",
    )
    process = await start_bot(env)
    try:
        stub.send_text(USER, "/suggest 建议在公园里多放几张长椅")
        reply = await stub.wait_for(USER.id, timeout=30)
        assert "下一步" in " ".join(label for label, _ in reply.buttons)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert stub.token not in log
    assert "Traceback" not in log
    keys = tmp_path / "secret" / "keys.json"
    assert keys.stat().st_mode & 0o777 == 0o600
    [body] = stored_drafts(tmp_path / "data" / "bot.sqlite3", keys)
    assert "长椅" in body


def test_run_without_token_exits_2_and_names_the_key(tmp_path: Path) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("JINDIANZI_")}
    env["JINDIANZI_STORAGE__PATH"] = str(tmp_path / "db.sqlite3")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(EXAMPLE_CONFIG)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "telegram.token" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "db.sqlite3").exists()
