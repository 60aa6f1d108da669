"""Helpers of the web desk's tests: the bot with its desk, Mini App login data signed like
Telegram signs it, items submitted through the real resident flow, and an HTTP client
(aiohttp's test client over the desk's own routes)."""

from __future__ import annotations

import asyncio
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.i18n import t
from storage.repository import Clock, utc_now
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import database
from web import initdata
from web.server import DeskServer, create_app

ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="王", last_name="小明", username="wang_xm")
OUTSIDER = FakeUser(id=444000222, first_name="Eve", language_code="en")


def png(width: int, height: int) -> bytes:
    """A PNG picture (a colour gradient), served as a photo by the stand-in."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\0" + bytes(c for x in range(width) for c in (x * 255 // width, y * 255 // height, 160))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = png(320, 200)


def login_data(
    user: FakeUser, token: str, auth_date: datetime, *, query_id: str = "AAHdF6IQAAAAAN0X"
) -> str:
    """Mini App initData as Telegram builds it (signed with the bot's token)."""
    fields = {
        "query_id": query_id,
        "user": json.dumps(
            {
                "id": user.id,
                "first_name": user.first_name,
                "language_code": user.language_code,
                "allows_write_to_pm": True,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        "auth_date": str(int(auth_date.timestamp())),
    }
    fields["hash"] = initdata.sign(fields, token)
    return urlencode(fields)


def mini_app_fragment(data: str) -> str:
    """The URL fragment Telegram opens a Mini App with."""
    theme = {
        "bg_color": "#17212b",
        "text_color": "#f5f5f5",
        "hint_color": "#708499",
        "link_color": "#6ab3f3",
        "button_color": "#5288c1",
        "button_text_color": "#ffffff",
        "secondary_bg_color": "#232e3c",
    }
    return "#" + urlencode(
        {
            "tgWebAppData": data,
            "tgWebAppVersion": "8.0",
            "tgWebAppPlatform": "android",
            "tgWebAppThemeParams": json.dumps(theme, separators=(",", ":")),
        }
    )


def desk_settings(
    stub: FakeBotApi, make_settings: Callable[..., Settings], **overrides: Any
) -> Settings:
    """Settings with the desk on behind ``https://desk.example.org/desk`` (a port of its
    own), and no hourly limit on submissions (the tests submit many)."""
    return make_settings(
        stub,
        web={"enabled": True, "port": 0, "public_url": "https://desk.example.org/desk"},
        limits={"max_submissions_per_hour": 0},
        **overrides,
    )


@asynccontextmanager
async def started(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[BotRunner]:
    """The bot (with its desk, when the settings enable it), running until the block ends."""
    runner = BotRunner(settings, clock=clock)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def desk_of(runner: BotRunner) -> DeskServer:
    assert runner.app is not None
    desk = runner.app.bot_data.services.web
    assert desk is not None
    return desk


@asynccontextmanager
async def client_for(runner: BotRunner) -> AsyncIterator[TestClient[Any, Any]]:
    """aiohttp's test client over the desk's routes (the same Desk the bot serves)."""
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(desk_of(runner).desk)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def sign_in(
    client: TestClient[Any, Any], runner: BotRunner, user: FakeUser = ADMIN, **kwargs: Any
) -> Any:
    """Exchange fresh login data for a session; returns the response."""
    data = login_data(user, runner.settings.telegram.token.get_secret_value(), runner.clock())
    path = desk_of(runner).desk.url("/auth/telegram")
    return await client.post(path, json={"init_data": data}, **kwargs)


async def submit(
    stub: FakeBotApi,
    user: FakeUser,
    text: str,
    *,
    anonymous: bool,
    extras: Sequence[Callable[[], object]] = (),
) -> int:
    """An item through the real resident flow; each of ``extras`` sends one message (a
    photo, a file, a location) and the bot's answer to it is awaited."""
    chat = Chat(stub, user)
    received = await chat.send("/report " + text)
    for send in extras:
        mark = stub.mark()
        send()
        received = await stub.wait_for(user.id, after=mark, timeout=15)
    proposal = await chat.tap(received, t("zh-Hans", "button.next").split()[0])
    who = await chat.tap(proposal, t("zh-Hans", "topic.accept").split(" ", 1)[-1])
    label = t("zh-Hans", "identity.anonymous" if anonymous else "identity.named")
    summary = await chat.tap(who, label.split(" ", 1)[-1])
    ack = await chat.tap(summary, t("zh-Hans", "button.confirm").split(" ", 1)[-1], expect="#")
    return int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))


async def sql(settings: Settings, statement: str, params: tuple[object, ...] = ()) -> list[Any]:
    """Run ``statement`` on the bot's database, SQLite's file or PostgreSQL's, in a thread: the
    bot runs in this event loop, and a write made while it is inside a transaction must let
    the loop run until the bot commits (called in the loop itself, it waited for a lock that
    could not be released until it gave up: 'database is locked')."""
    return await asyncio.to_thread(_sql, settings, statement, params)


def query(settings: Settings, statement: str, params: tuple[object, ...] = ()) -> list[Any]:
    """A read of the bot's database, at once (a read waits for no lock: SQLite's WAL, or
    PostgreSQL); a write goes through :func:`sql`."""
    return _sql(settings, statement, params)


def _sql(settings: Settings, statement: str, params: tuple[object, ...]) -> list[Any]:
    with database(settings) as db:  # SQLite's file, or PostgreSQL's database
        rows = list(db.execute(statement, params))
        db.commit()
    return rows


@dataclass
class Items:
    """The items the desk tests look at."""

    named: int  # Alice's, with a photo, a document, a big file and a location
    anonymous: int  # Bob's, anonymous, with HTML in its text


async def office_card(stub: FakeBotApi, chat_id: int, number: int) -> SentMessage:
    """The card of item ``number`` the bot announced in the office chat."""
    return await stub.wait_for(
        chat_id, predicate=lambda m: f"#{number} " in m.plain and bool(m.buttons)
    )


async def card_edit(stub: FakeBotApi, card: SentMessage, *, after: int) -> SentMessage:
    """The first edit of a card's message after seq ``after`` (a copy kept current)."""
    return await stub.wait_for(
        card.chat_id,
        after=after,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == card.message_id,
    )


def csrf_of(html: str) -> str:
    """The session's CSRF token, from a page's <meta name="csrf-token">."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match is not None
    return match[1]
