"""Last-resort handlers: whatever no other handler took still gets a polite answer.

Unknown commands, expired or forged buttons, edited messages and unsupported content in a
private chat are answered; group and channel traffic that is not for the bot is ignored.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from handlers.context import Context, say

PRIVATE = filters.ChatType.PRIVATE


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
