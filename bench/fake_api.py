"""A network-free Bot API for benchmarks: a PTB request object that answers in memory.

Both the bot and the bare echo baseline use it, so what is compared is the work done per
update, not the network. It records when each message was sent, for latency figures.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "bench", "username": "bench_bot"}


class InMemoryBotApi(BaseRequest):
    """Answers every Bot API method like Telegram would, without I/O."""

    def __init__(self) -> None:
        self.sent_at: dict[int, float] = {}  # chat id -> perf_counter of the latest send
        self.sends = 0
        self._message_id = 0
        self.target = 0
        self.done = asyncio.Event()

    def expect(self, sends: int) -> None:
        """Set ``done`` once this many messages have been sent (from now)."""
        self.target = self.sends + sends
        self.done = asyncio.Event()

    @property
    def read_timeout(self) -> float | None:
        return None

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
        params = request_data.parameters if request_data is not None else {}
        result = await self.answer(url.rsplit("/", 1)[-1], params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def answer(self, api_method: str, params: dict[str, Any]) -> Any:
        """The ``result`` of a Bot API call (parameters as python-telegram-bot gives them)."""
        result: Any = True
        if api_method == "getMe":
            result = BOT_USER
        elif api_method == "getUpdates":
            await asyncio.sleep(0.05)
            result = []
        elif api_method in ("sendMessage", "editMessageText"):
            chat_id = int(str(params.get("chat_id", 0)))
            self._message_id += 1
            result = {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            self.sent_at[chat_id] = time.perf_counter()
            self.sends += 1
            if self.target and self.sends >= self.target:
                self.done.set()
        return result


def text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private message, as Telegram would deliver it."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "居民"},
        "from": {"id": user_id, "is_bot": False, "first_name": "居民", "language_code": "zh-hans"},
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}
