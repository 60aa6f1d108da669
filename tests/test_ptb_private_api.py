"""Guards for the two places the bot still leans on python-telegram-bot's private API.

``DurableBot.send_html`` (bot/transport/inbox.py) posts ``sendMessage`` through ``ExtBot._post`` so
that Telegram's answer is not built into a Message (which costs about as much as the rest
of a reply; see the ingest benchmark). PTB's public ``do_api_request`` reaches the same
code, but warns on every endpoint PTB has a method for. If a PTB release changes ``_post``,
these tests fail and name it. So does the resident conversation's state set from the
database at each update (handlers/resident.py, ``_conversations``). Two other former
couplings use public API now: the webhook log line of bot/logs.py (guarded in
tests/test_e2e_webhook.py) and the frozen keyboard of handlers/keyboards.py (guarded in
tests/test_keyboards.py); the conversation persistence that needed PTB's private types is
gone (#24).
"""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from typing import Any, cast

from telegram.ext import ExtBot
from telegram.request import RequestData

from bench.fake_api import InMemoryBotApi
from bot.app import DEFAULTS
from bot.transport.inbox import DurableBot, Inbox
from bot.transport.ratelimit import FloodLimiter
from handlers import keyboards


class RecordingBotApi(InMemoryBotApi):
    """The benchmarks' in-memory Bot API, remembering each call's parameters as sent."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kw: Any
    ) -> tuple[int, bytes]:
        params = request_data.json_parameters if request_data is not None else {}
        self.calls.append((url.rsplit("/", 1)[-1], params))
        return await super().do_request(url, method, request_data, *args, **kw)


class RecordingLimiter(FloodLimiter):
    """The bot's own flood limiter, remembering which requests went through it."""

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: list[tuple[str, object]] = []

    async def process_request(self, *args: Any, **kwargs: Any) -> Any:
        self.endpoints.append((kwargs["endpoint"], kwargs["data"].get("chat_id")))
        return await super().process_request(*args, **kwargs)


def test_private_extbot_post_still_takes_an_endpoint_and_its_data() -> None:
    parameters = inspect.signature(ExtBot._post).parameters
    assert list(parameters)[:3] == ["self", "endpoint", "data"]
    assert inspect.iscoroutinefunction(ExtBot._post)


async def test_send_html_through_private_extbot_post_is_a_rate_limited_send_message() -> None:
    request, limiter = RecordingBotApi(), RecordingLimiter()
    bot = DurableBot(
        token="1:TEST",
        request=request,
        get_updates_request=InMemoryBotApi(),
        rate_limiter=limiter,
        defaults=DEFAULTS,  # parse mode and link previews, as the application's bot has
        inbox=cast(Inbox, None),  # not used for sending
    )
    async with bot:
        markup = keyboards.confirm("zh-Hans")
        await bot.send_html(42, "<b>收到</b>", markup)
    assert limiter.endpoints[-1] == ("sendMessage", 42)
    endpoint, params = request.calls[-1]
    assert endpoint == "sendMessage"
    assert params["chat_id"] == "42" and params["text"] == "<b>收到</b>"
    assert params["parse_mode"] == "HTML"
    assert json.loads(params["reply_markup"]) == markup.to_dict()
    assert json.loads(params["link_preview_options"]) == {"is_disabled": True}


def test_conversation_handler_keeps_each_keys_state_in_a_mapping_keyed_as_ours() -> None:
    """handlers/resident.py's state loader sets a key's state in ``_conversations``, under
    the key it computes itself (chat, user): if python-telegram-bot renames the mapping or
    keys it otherwise, this fails and names it."""
    from telegram import Chat, Message, Update, User

    from handlers import resident

    conversation = resident.build_conversation()
    states = conversation._conversations
    assert isinstance(states, dict)
    user = User(id=42, first_name="王", is_bot=False)
    message = Message(
        message_id=1,
        date=datetime.now(UTC),
        chat=Chat(id=42, type="private"),
        from_user=user,
        text="你好",
    )
    update = Update(update_id=1, message=message)
    key = resident.conversation_key(update)
    assert key == conversation._get_key(update) == (42, 42)
    states[key] = resident.COMPOSE
    check = conversation.check_update(update)
    assert check is not None and check[0] == resident.COMPOSE  # the state set is the one used
