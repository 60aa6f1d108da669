"""Guards for the one place the bot still leans on python-telegram-bot's private API.

``DurableBot.send_html`` (bot/inbox.py) posts ``sendMessage`` through ``ExtBot._post`` so
that Telegram's answer is not built into a Message (which costs about as much as the rest
of a reply; see the ingest benchmark). PTB's public ``do_api_request`` reaches the same
code, but warns on every endpoint PTB has a method for. If a PTB release changes ``_post``,
these tests fail and name it. The three other former couplings use public API now: the
conversation types of storage/persistence.py, the webhook log line of bot/logs.py (guarded
in tests/test_e2e_webhook.py) and the frozen keyboard of handlers/keyboards.py (guarded in
tests/test_keyboards.py).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any, cast

from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import BaseRequest, RequestData

from bot.inbox import DurableBot, Inbox
from handlers import keyboards


class RecordingRequest(BaseRequest):
    """A Bot API that answers every call, and remembers what it was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        params = request_data.json_parameters if request_data is not None else {}
        self.calls.append((url.rsplit("/", 1)[-1], params))
        result: object = {"id": 1, "is_bot": True, "first_name": "金点子", "username": "b"}
        if url.endswith("/sendMessage"):
            result = {"message_id": 5, "date": 0, "chat": {"id": 42, "type": "private"}}
        return 200, json.dumps({"ok": True, "result": result}).encode()


class RecordingLimiter(BaseRateLimiter[int]):
    def __init__(self) -> None:
        self.endpoints: list[tuple[str, object]] = []

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        self.endpoints.append((endpoint, data.get("chat_id")))
        return await callback(*args, **kwargs)


def test_private_extbot_post_still_takes_an_endpoint_and_its_data() -> None:
    parameters = inspect.signature(ExtBot._post).parameters
    assert list(parameters)[:3] == ["self", "endpoint", "data"]
    assert inspect.iscoroutinefunction(ExtBot._post)


async def test_send_html_through_private_extbot_post_is_a_rate_limited_send_message() -> None:
    request, limiter = RecordingRequest(), RecordingLimiter()
    bot = DurableBot(
        token="1:TEST",
        request=request,
        get_updates_request=RecordingRequest(),
        rate_limiter=limiter,
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
