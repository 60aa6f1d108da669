"""Sustained whole path: residents walking the guided flow for a minute, through the real
intake (long polling with the durable inbox, or webhook POSTs), persistence on.

``bench.ingest`` puts one-line ``/suggest`` updates straight into the update queue, so its
figure leaves out the inbox write of each fetched batch (or each POST) and, being shorter than
the persistence interval, the periodic write of conversation states. Here each resident
walks the flow a phone would: ``/start``, 提建议, the text, 下一步, 就是这个类别, 实名/匿名,
确认提交, each step sent only once the bot has answered the step before (the next button is
read from the bot's own keyboard). ``CONCURRENT`` residents walk at once; one that is done
is replaced by a new one (a resident sends one item, as the hourly limit expects). The
bot runs with the configured persistence interval (2 s), far shorter than the run.

The baseline is a bare python-telegram-bot echo application fed the same way (the same
updates through the same polling or webhook path, one answer per update, a keyboard to
press). The figure is steps answered per second, as a ratio to the echo's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import re
import socket
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.fake_api import BOT_USER, InMemoryBotApi, text_update
from bench.ingest import ROOT
from bot import lifecycle
from bot.app import AnyApplication, Webhook, build_application
from bot.config import load_settings
from bot.context import BotData
from bot.i18n import t

CONCURRENT = 100  # residents walking at the same time
STEP_TIMEOUT = 30.0  # a step not answered by then counts as lost
TEXT = "建议在幸福路口增设红绿灯，早晚高峰学生过马路太危险了，最好再安排志愿者"
SECRET = "bench-webhook-secret"
ACK = r"#\d+"  # the bot's acknowledgement names the reference number
# The guided flow: a text to send, or the catalogue key of the button to press.
STEPS: tuple[tuple[str, str], ...] = (
    ("text", "/start"),
    ("press", "menu.suggest"),
    ("text", TEXT),
    ("press", "button.next"),
    ("press", "topic.accept"),
    ("press", "identity.*"),
    ("press", "button.confirm"),
)


class WalkingApi(InMemoryBotApi):
    """The in-memory Bot API with what a walking resident needs: updates served to
    ``getUpdates`` (long polling), and, per chat, the latest keyboard and a counter of the
    bot's answers (sent or edited messages) to wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.answers: dict[int, int] = {}
        self.texts: dict[int, list[str]] = {}  # what the bot said to each chat, in order
        self.keyboards: dict[int, tuple[dict[str, Any], list[list[dict[str, Any]]]]] = {}
        self.changed: dict[int, asyncio.Event] = {}

    def feed(self, update: dict[str, Any]) -> None:
        self.pending.append(update)
        self.arrived.set()

    async def answer(self, api_method: str, params: dict[str, Any]) -> Any:
        if api_method == "getUpdates":
            return await self._updates(params)
        result = await super().answer(api_method, params)
        if api_method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            chat_id = int(str(params.get("chat_id", 0)))
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message_id = int(params.get("message_id") or result["message_id"])
                message = {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "from": BOT_USER,
                    "text": str(params.get("text", "")),
                }
                self.keyboards[chat_id] = (message, markup["inline_keyboard"])
            self.answers[chat_id] = self.answers.get(chat_id, 0) + 1
            self.texts.setdefault(chat_id, []).append(str(params.get("text", "")))
            self.changed.setdefault(chat_id, asyncio.Event()).set()
        return result

    async def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.pending = [u for u in self.pending if u["update_id"] >= offset]
        if not self.pending:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), float(params.get("timeout") or 0) or 1)
        return self.pending[: int(params.get("limit") or 100)]


@dataclass
class Tally:
    steps: int = 0
    flows: int = 0
    lost: int = 0
    stored: int = 0  # the bot's submissions in its database afterwards
    refused: int = 0  # webhook POSTs not answered 200 (posted again)


def _button(keyboard: list[list[dict[str, Any]]], key: str) -> str | None:
    """The callback data of the button whose label is the catalogue text ``key`` (``x.*``:
    any of that family), or, for the echo's keyboard, its only button."""
    buttons = [b for row in keyboard for b in row if "callback_data" in b]
    if len(buttons) == 1 and buttons[0]["callback_data"] == "echo":
        return "echo"
    labels = _labels(key)
    for button in buttons:
        if button["text"] in labels:
            return str(button["callback_data"])
    return None


@functools.cache
def _labels(key: str) -> tuple[str, ...]:
    """The labels of the catalogue key ``key`` (``x.*``: of that family), looked up once:
    the residents' own lookups are the bench's work, not the bot's, yet would be charged
    to the bot only (the echo's one button needs none)."""
    if key.endswith("*"):
        prefix = key.removesuffix("*")
        return tuple(t("zh-Hans", prefix + s) for s in ("named", "anonymous"))
    return (t("zh-Hans", key),)


class Residents:
    """Residents walking the flow through ``send`` (a fed update or a webhook POST)."""

    def __init__(
        self,
        api: WalkingApi,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        concurrent: int = CONCURRENT,
        ack: str | None = None,
    ):
        self.api = api
        self.ack = ack  # what the last answer must contain (the bot's "#N"), if anything
        self.concurrent = concurrent
        self.send = send
        self.ids = itertools.count(1)
        self.users = itertools.count(500_000)
        self.tally = Tally()

    async def _answered(
        self, chat: int, seen: int, key: str | None, ack_from: int | None = None
    ) -> bool:
        """Whether the bot answered after its ``seen``-th answer to ``chat``: with the button
        ``key`` on its keyboard, or (``ack_from``) with the acknowledgement among the texts
        from that index on (an edit removing the last buttons may come after it)."""
        event = self.api.changed.setdefault(chat, asyncio.Event())
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            ready = self.api.answers.get(chat, 0) > seen
            if ready and key is not None:
                keyboard = self.api.keyboards.get(chat)
                ready = keyboard is not None and _button(keyboard[1], key) is not None
            if ready and ack_from is not None and self.ack is not None:
                said = self.api.texts.get(chat, [])[ack_from:]
                ready = any(re.search(self.ack, text) for text in said)
            if ready:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left)

    async def walk(self, anonymous: bool) -> None:
        user = next(self.users)
        for index, (kind, value) in enumerate(STEPS):
            seen = self.api.answers.get(user, 0)
            said = len(self.api.texts.get(user, []))
            if kind == "text":
                await self.send(text_update(next(self.ids), user, value))
            else:
                message, keyboard = self.api.keyboards[user]
                data = _button(keyboard, value.replace("*", "anonymous" if anonymous else "named"))
                assert data is not None
                await self.send(_press(next(self.ids), user, message, data))
            following = STEPS[index + 1] if index + 1 < len(STEPS) else None
            needed = following[1] if following and following[0] == "press" else None
            # The last step must be answered with the acknowledgement (not an apology).
            if not await self._answered(user, seen, needed, said if following is None else None):
                self.tally.lost += 1
                return
            self.tally.steps += 1
        self.tally.flows += 1

    async def run(self, seconds: float) -> float:
        """Walk for ``seconds``, ``concurrent`` residents at a time; returns the elapsed time
        until the last walk started in time has finished."""
        started = time.perf_counter()
        stop_at = started + seconds

        async def lane(n: int) -> None:
            while time.perf_counter() < stop_at:
                await self.walk(anonymous=n % 3 == 0)

        await asyncio.gather(*(lane(n) for n in range(self.concurrent)))
        return time.perf_counter() - started


def _press(update_id: int, user: int, message: dict[str, Any], data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": {"id": user, "is_bot": False, "first_name": "居民", "language_code": "zh-hans"},
            "chat_instance": str(user),
            "message": message,
            "data": data,
        },
    }


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("▶", callback_data="echo")]])
    await context.bot.send_message(chat.id, "收到", reply_markup=keyboard)


def _echo_app(api: WalkingApi) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (
        ApplicationBuilder()
        .token("1:bench")
        .request(api)
        .get_updates_request(api)
        .concurrent_updates(64)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(echo))
    return app


def _bot_app(api: WalkingApi, workdir: Path) -> AnyApplication:
    settings = load_settings(
        ROOT / "config.example.toml",
        overrides={
            "telegram": {
                "token": "1:bench",
                "overall_max_rate": 1_000_000,
                "private_max_rate": 1_000_000,
                "group_max_rate": 1_000_000,
                "poll_timeout": 1,
            },
            "storage": {"path": str(workdir / "bench.sqlite3")},
            "anonymity": {"key_file": str(workdir / "bench.keys")},
        },
    )
    return build_application(settings, request=api, get_updates_request=api)


@contextlib.asynccontextmanager
async def _running(
    app: Application[Any, Any, Any, Any, Any, Any], webhook: Webhook | None
) -> AsyncIterator[None]:
    if isinstance(app.bot_data, BotData):  # the bot: its own start and bounded stop
        async with lifecycle.running(app, webhook=webhook):
            yield
        return
    await app.initialize()
    assert app.updater is not None
    if webhook is None:
        await app.updater.start_polling(timeout=1)
    else:
        await app.updater.start_webhook(**webhook.server_options())
    await app.start()
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def walk(
    kind: str, path: str, seconds: float, concurrent: int = CONCURRENT
) -> tuple[float, Tally]:
    """Steps answered per second for ``kind`` ("bot" or "echo") through ``path``
    ("polling" or "webhook"), and what was counted."""
    with tempfile.TemporaryDirectory() as tmp:
        api = WalkingApi()
        app = _bot_app(api, Path(tmp)) if kind == "bot" else _echo_app(api)
        webhook = None
        if path == "webhook":
            port = free_port()
            webhook = Webhook(f"https://bench.example/hook/{port}", "127.0.0.1", port, SECRET)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(_running(app, webhook))
            if webhook is None:

                async def send(update: dict[str, Any]) -> None:
                    api.feed(update)

            else:
                # Telegram keeps up to 40 connections open to a webhook (its default).
                client = await stack.enter_async_context(
                    aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40))
                )
                target = f"http://127.0.0.1:{webhook.port}/{webhook.url_path}"
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

                async def send(update: dict[str, Any]) -> None:
                    async with client.post(target, json=update, headers=headers) as answer:
                        answer.raise_for_status()

            residents = Residents(api, send, concurrent, ACK if kind == "bot" else None)
            elapsed = await residents.run(seconds)
        if kind == "bot":
            with contextlib.closing(sqlite3.connect(Path(tmp) / "bench.sqlite3")) as db:
                residents.tally.stored = db.execute("SELECT COUNT(*) FROM submissions").fetchone()[
                    0
                ]
    return residents.tally.steps / elapsed, residents.tally


async def sustained(seconds: float) -> dict[str, dict[str, float]]:
    """For each path: the bot's and the echo's steps per second, the bot's flows and lost steps."""
    figures: dict[str, dict[str, float]] = {}
    for path in ("polling", "webhook"):
        echo_rate, _ = await walk("echo", path, seconds)
        bot_rate, tally = await walk("bot", path, seconds)
        figures[path] = {
            "echo": echo_rate,
            "bot": bot_rate,
            "flows": tally.flows,
            "stored": tally.stored,
            "lost": tally.lost,
        }
    return figures
