"""The bot's HTTP client for the Bot API: python-telegram-bot's ``HTTPXRequest``, except
that an answer that is not JSON is not written to the log.

The library logs such a body in full at ERROR, with a traceback, every time. A body cut
off in the middle of a getUpdates answer holds updates (user ids, names: perhaps an
anonymous sender's), and a proxy answering an error page to every poll would write a line
a second. The error itself is unchanged (``TelegramError("Invalid server response")``); the
callers log it at their own pace (one line a minute).
"""

from __future__ import annotations

import json

from telegram._utils.types import JSONDict
from telegram.error import TelegramError
from telegram.request import HTTPXRequest


class BotApiRequest(HTTPXRequest):
    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        try:
            result = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            raise TelegramError("Invalid server response") from exc
        if not isinstance(result, dict):
            raise TelegramError("Invalid server response")
        return result
