"""The 附议 (me too) button: under an item's post in the channel and under the
acknowledgement of a very similar item. Parse → :func:`bot.core.supporting.support` → the
answer as the button's notification (in a channel the bot can say nothing else)."""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import CallbackQueryLimit
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core import supporting
from bot.i18n import t
from bot.text import shorten
from handlers.context import Context, actor

SUPPORT = re.compile(r"^sup:(\d{1,18})$")


async def support(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    match = SUPPORT.match(query.data or "")
    if match is None:
        await query.answer(t(context.language, "button.stale"))
        return
    result = await supporting.support(
        context.services.core, actor(update, context), int(match[1]), key=update.update_id
    )
    text = shorten(result.message, CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH)
    await query.answer(text, show_alert=True)


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [CallbackQueryHandler(support, pattern=r"^sup:")]
