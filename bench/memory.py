"""Memory of the running bot: ``jindianzi run`` as its own process over a store of N items,
after it has answered a resident (/start, /my) and an administrator (/queue, /stats,
/digest), next to a bare python-telegram-bot echo bot process (the framework's own floor).
Both talk to the loopback Bot API stand-in of the tests; RSS is read from /proc."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path

from bot.anonymity import Secrets, write_key_file
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.processes import ROOT, bot_env, start_bot

ADMIN = FakeUser(id=1_000_001, first_name="办公室")
RESIDENT = FakeUser(id=2_000_002, first_name="居民")
ANSWER_TIMEOUT = 120.0  # the first /stats over a million items includes a cold cache

ECHO = """
import sys
from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.effective_chat.send_message(update.effective_message.text or "?")

token, base_url = sys.argv[1], sys.argv[2]
app = ApplicationBuilder().token(token).base_url(base_url).build()
app.add_handler(MessageHandler(filters.ALL, echo))
app.run_polling(timeout=1, allowed_updates=Update.ALL_TYPES)
"""


def _rss_mb(pid: int) -> tuple[float, float]:
    """Resident set size now and at its peak (VmHWM), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


async def _talk(stub: FakeBotApi, user: FakeUser, texts: list[str]) -> None:
    for text in texts:
        mark = stub.mark()
        stub.send_text(user, text)
        await stub.wait_for(user.id, after=mark, timeout=ANSWER_TIMEOUT)


async def _measure(
    start: Awaitable[asyncio.subprocess.Process],
    script: list[tuple[FakeUser, str]],
    stub: FakeBotApi,
) -> tuple[float, float]:
    process = await start
    try:
        for user, text in script:
            await _talk(stub, user, [text])
        await stub.wait_idle(quiet=0.5, timeout=ANSWER_TIMEOUT)
        return _rss_mb(process.pid)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def bot_rss(database: Path, keys: Path, secrets: Secrets) -> tuple[float, float]:
    """(RSS, peak RSS) in MB of ``jindianzi run`` over ``database`` once it has answered.
    The bot gets the key file of the keys the store was written with, as a deployment has
    one (without it, or with other keys, it refuses to start beside anonymous data)."""
    write_key_file(keys, secrets)
    async with FakeBotApi() as stub:
        env = bot_env(
            stub,
            database,
            keys,
            TELEGRAM__POLL_TIMEOUT="1",
            ROLES__ADMIN_IDS=f"[{ADMIN.id}]",
            OFFICE__SCHEDULED_REPORTS="false",
        )
        script = [
            (RESIDENT, "/start"),
            (RESIDENT, "/my"),
            (ADMIN, "/queue"),
            (ADMIN, "/stats"),
            (ADMIN, "/digest"),
        ]
        return await _measure(start_bot(env, stderr=asyncio.subprocess.DEVNULL), script, stub)


async def echo_rss() -> tuple[float, float]:
    """The same for a bare python-telegram-bot echo bot answering the same messages."""
    async with FakeBotApi() as stub:
        start = asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            ECHO,
            stub.token,
            stub.base_url,
            cwd=ROOT,
            stderr=asyncio.subprocess.DEVNULL,
        )
        script = [(RESIDENT, "/start"), (RESIDENT, "/my"), (ADMIN, "/queue")]
        return await _measure(start, script, stub)
