"""The office's ``/enter``: an item heard at a meeting, on the phone or found in a
suggestion box, typed in one message (the fields on the command's line, the text on the
next ones: it works in the office group, where the bot sees only commands), and the
buttons of a 回访 (call-back) task that record the person's satisfaction. Parse → the core
(:mod:`bot.core.entering`, :func:`bot.core.answering.record_callback`) → reply."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.config import Settings
from bot.core import answering, drafting, entering
from bot.i18n import t
from bot.transport.delivery import deliver_soon
from handlers.admin import office_only
from handlers.context import Context, actor, reply
from handlers.replies import RATING_DATA, rating_pressed

ENTER_COMMANDS = ("enter",)
# cbr:<item>:<rating round>:<rating>: the rating buttons of a response, as a 回访 task.
CALLBACK_RATING = re.compile("^cbr" + RATING_DATA)


async def enter(update: Update, context: Context) -> None:
    """``/enter 来源 类型 [地点] 匿名|姓名 [电话]`` and the text on the following lines."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    svc = context.services
    lang = context.chat_language
    parsed = entering.parse_entry(svc.settings, drafting.command_argument(message.text or ""))
    if isinstance(parsed, str):
        sources = "、".join(t(lang, f"source.{s}") for s in entering.SOURCES)
        await reply(update, t(lang, parsed, sources=sources))
        return
    matches = await svc.propose_topics(parsed.text)
    result = await entering.enter(
        svc.core,
        actor(update, context),
        parsed,
        chat_id=chat.id,
        topic_id=matches[0].topic_id if matches else None,
        evidence=tuple(drafting.evidence_of(matches)),
        key=update.update_id,
    )
    if result.queued:
        deliver_soon(context)
    await reply(update, result.message)


async def callback_rating(update: Update, context: Context) -> None:
    """A 回访 task's button: the person's satisfaction, as they said it on the phone."""
    await rating_pressed(update, context, CALLBACK_RATING, answering.record_callback)


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    return [
        CommandHandler("enter", enter, filters=office_only(settings)),
        CallbackQueryHandler(callback_rating, pattern=r"^cbr:"),
    ]
