"""``/survey [phase]`` (the office) and the survey's one-tap answers (residents): parse →
:mod:`bot.core.surveying` → reply."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.config import Settings
from bot.core import surveying
from bot.i18n import t
from bot.transport.delivery import deliver_soon
from handlers.admin import office_only
from handlers.context import Context, actor, reply

SURVEY_COMMANDS = ("survey",)
ANSWER = re.compile(r"^svy:([a-z][a-z0-9_]{0,31}):([a-z][a-z0-9_]{0,15}):([sbu])$")


async def survey(update: Update, context: Context) -> None:
    args = context.args or []
    result = await surveying.send(
        context.services.core, actor(update, context), args[0] if args else None
    )
    if result.queued:
        deliver_soon(context)
    await reply(update, result.message)


async def answer(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    match = ANSWER.match(query.data or "")
    if match is None:
        await query.answer(t(context.language, "button.stale"))
        return
    result = await surveying.answer(
        context.services.core, actor(update, context), match[1], match[2], match[3]
    )
    await query.answer(result.message)


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    return [
        CommandHandler("survey", survey, filters=office_only(settings)),
        CallbackQueryHandler(answer, pattern=r"^svy:"),
    ]
