"""Ingest, latency and start-up: the real application (the CLI's builder) against a bare
python-telegram-bot echo application, both on the same in-memory Bot API.

Each update is a one-line ``/suggest <text>`` from a different resident; the bot answers it
only after the draft is committed to SQLite, so the figure includes a durable write per
update. Telegram's flood limit is lifted for the run (overall_max_rate), because what is
measured is the work per update, not Telegram's 30 messages a second.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.fake_api import InMemoryBotApi, text_update
from bot import lifecycle
from bot.app import AnyApplication, build_application, freeze_start_up_objects
from bot.config import load_settings
from bot.context import BotData

ROOT = Path(__file__).resolve().parent.parent
TEXT = "建议在幸福路口增设红绿灯，早晚高峰学生过马路太危险了"


@dataclass
class Run:
    elapsed: float
    latencies: list[float]


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("收到：" + (update.effective_message.text or ""))


def echo_app(api: InMemoryBotApi, concurrency: int) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (
        ApplicationBuilder()
        .token("1:bench")
        .request(api)
        .get_updates_request(api)
        .concurrent_updates(concurrency if concurrency > 1 else False)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    return app


def bot_app(api: InMemoryBotApi, concurrency: int, workdir: Path) -> AnyApplication:
    settings = load_settings(
        ROOT / "config.example.toml",
        overrides={
            "telegram": {
                "token": "1:bench",
                "overall_max_rate": 1_000_000,
                "group_max_rate": 1_000_000,
                "concurrent_updates": concurrency,
                "persistence_interval": 60,
                "outbox_interval": 300,
            },
            "storage": {"path": str(workdir / "bench.sqlite3")},
            "anonymity": {"key_file": str(workdir / "bench.keys")},
        },
    )
    app = build_application(settings, request=api, get_updates_request=api)
    freeze_start_up_objects()  # as `jindianzi run` does
    return app


async def _start(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()


async def _stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if isinstance(app.bot_data, BotData):  # the bot: its own bounded stop (closes the database)
        await lifecycle.stop(app)
        return
    await app.stop()
    await app.shutdown()


async def _drive(kind: str, n: int, concurrency: int, first_user: int = 10_000) -> Run:
    """Push n updates at once and wait for n answers."""
    with tempfile.TemporaryDirectory() as tmp:
        api = InMemoryBotApi()
        app = bot_app(api, concurrency, Path(tmp)) if kind == "bot" else echo_app(api, concurrency)
        await _start(app)
        try:
            updates = [
                Update.de_json(text_update(i + 1, first_user + i, f"/suggest {TEXT} {i}"), app.bot)
                for i in range(n)
            ]
            api.expect(n)
            put_at: dict[int, float] = {}
            started = time.perf_counter()
            for update in updates:
                assert update is not None and update.effective_chat is not None
                put_at[update.effective_chat.id] = time.perf_counter()
                await app.update_queue.put(update)
            await api.done.wait()
            elapsed = time.perf_counter() - started
            latencies = [api.sent_at[chat] - t0 for chat, t0 in put_at.items()]
        finally:
            await _stop(app)
    return Run(elapsed, latencies)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


INGEST_CONCURRENCY = 64  # the bot's default (telegram.concurrent_updates)


async def ingest(n: int, repeats: int) -> dict[str, float]:
    """Updates per second, both applications handling up to 64 updates at once."""
    rates: dict[str, list[float]] = {"bot": [], "echo": []}
    for _ in range(repeats):
        for kind in ("echo", "bot"):
            run = await _drive(kind, n, concurrency=INGEST_CONCURRENCY)
            rates[kind].append(n / run.elapsed)
    return {k: statistics.median(v) for k, v in rates.items()}


async def latency(users: int, repeats: int) -> dict[str, tuple[float, float]]:
    """p50 and p99 seconds from update received to answer sent, users at once."""
    samples: dict[str, list[float]] = {"bot": [], "echo": []}
    for _ in range(repeats):
        for kind in ("echo", "bot"):
            run = await _drive(kind, users, concurrency=256)
            samples[kind].extend(run.latencies)
    return {k: (percentile(v, 50), percentile(v, 99)) for k, v in samples.items()}


async def startup(repeats: int) -> dict[str, float]:
    """Seconds from building the application to the first update answered."""
    times: dict[str, list[float]] = {"bot": [], "echo": []}
    for _ in range(repeats):
        for kind in ("echo", "bot"):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                api = InMemoryBotApi()
                app = bot_app(api, 1, Path(tmp)) if kind == "bot" else echo_app(api, 1)
                await _start(app)
                api.expect(1)
                update = Update.de_json(text_update(1, 99, f"/suggest {TEXT}"), app.bot)
                await app.update_queue.put(update)
                await api.done.wait()
                times[kind].append(time.perf_counter() - started)
                await _stop(app)
    return {k: statistics.median(v) for k, v in times.items()}
