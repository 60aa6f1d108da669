"""Button handlers for the resident's side, which only work in the private chat with the bot.

python-telegram-bot's ``CallbackQueryHandler`` takes no chat filter, and a button's callback
data can be forged under any message of the bot, e.g. under a card in the office chat. A
resident's step, page or rating pressed there must not run and answer into the group (the
fuzz test found such presses filling the group's flood budget); it falls through to the
stale-button handler, which changes nothing.
"""

from __future__ import annotations

from typing import TypeVar

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler

from handlers.context import Context

RT = TypeVar("RT")


class PrivateButton(CallbackQueryHandler[Context, RT]):
    """A ``CallbackQueryHandler`` for presses in a private chat only."""

    def check_update(self, update: object) -> bool | object | None:
        if not isinstance(update, Update):
            return False
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return False
        return super().check_update(update)
