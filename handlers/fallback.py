"""Last-resort handlers: whatever no other handler took still gets a polite answer.

Unknown commands, expired or forged buttons, edited messages and unsupported content in a
private chat are answered; group and channel traffic that is not for the bot is ignored.

A button press without callback data is stopped before every other handler
(:data:`GUARD_GROUP`): python-telegram-bot's ``CallbackQueryHandler`` lets a query with
empty data through whatever its pattern (``if callback_data: ... else: return True``), so
such a forged press would reach the first button handler of the conversation's step (the
fuzz test found it crashing the kind choice with an IndexError).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from handlers.context import Context, say

PRIVATE = filters.ChatType.PRIVATE
GUARD_GROUP = -100  # before every other group


class EmptyButton(BaseHandler[Update, Context, None]):
    """Matches a callback query without data or game (no real button sends one); every
    other update passes by without a callback being run for it."""

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.callback_query is None:
            return False
        query = update.callback_query
        return not query.data and not query.game_short_name


async def empty_button(update: Update, context: Context) -> None:
    """Stop a callback query without data: treated as stale."""
    await stale_button(update, context)
    raise ApplicationHandlerStop


def build_guards() -> list[BaseHandler[Update, Context, None]]:
    return [EmptyButton(empty_button)]


async def stale_button(update: Update, context: Context) -> None:
    """A button whose step is over, from an old message, or forged: change nothing."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if query.message is not None and query.message.chat.type == "private":
        await say(update, context, "button.stale")


async def unknown_command(update: Update, context: Context) -> None:
    await say(update, context, "command.unknown")


async def edited_message(update: Update, context: Context) -> None:
    await say(update, context, "edited.ignored")


async def unsupported(update: Update, context: Context) -> None:
    await say(update, context, "input.unsupported")


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        CallbackQueryHandler(stale_button),
        MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, edited_message),
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command),
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE, unsupported),
    ]
