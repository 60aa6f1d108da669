"""Answers that come back to the bot: a sender's reply to the office's question, the
leading group's instruction (a reply to the card the office passed on), and the sender's
rating of a response. Here they are matched and parsed; :mod:`bot.core.answering` decides
who may answer and stores each (keyed by its update: a replay stores nothing twice and
tells the office nothing twice, it only acknowledges again).

A reply is matched to what it answers through the outbox record of the message replied to
(its purpose, and its Telegram message id in a group or a keyed hash of chat and message id
in a private chat), and only when that message was sent to this very chat.
"""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.core import answering
from bot.core.records import OutboxEntry
from bot.core.results import Refusal
from bot.text import clean_text
from bot.transport.delivery import deliver_soon
from handlers.buttons import PrivateButton
from handlers.context import Context, actor, drop_buttons, reply, say

log = logging.getLogger(__name__)

# rate:<n>:<round>:<rating>; rate:<n>:<rating> was sent before rounds existed (round 1).
RATE = re.compile(r"^rate:(?P<n>\d{1,18}):(?:(?P<round>\d{1,9}):)?(?P<rating>[a-z]+)$")


async def _answered_message(update: Update, context: Context, purpose: str) -> OutboxEntry | None:
    """The outbox entry of the bot message this update replies to, if it had ``purpose``
    and was sent to this chat."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or message.reply_to_message is None:
        return None
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return None
    svc = context.services
    if chat.id > 0:  # a private chat: only a keyed hash of the message is stored
        found = await svc.repository.sent_with_purpose(
            purpose, message_key=svc.secrets.message_key(chat.id, replied.message_id)
        )
    else:
        found = await svc.repository.sent_with_purpose(purpose, message_id=replied.message_id)
    for entry in found:
        if svc.secrets.decrypt_int(entry.chat_enc) == chat.id:
            return entry
    return None


async def sender_answer(update: Update, context: Context) -> None:
    """A resident replies to the office's question: attach it to the item."""
    entry = await _answered_message(update, context, "question")
    message = update.effective_message
    if entry is None or entry.submission_id is None or message is None:
        return
    text = clean_text(message.text or message.caption or "")
    result = await answering.answer_question(
        context.services.core,
        actor(update, context),
        entry.submission_id,
        text,
        key=update.update_id,
    )
    if not result.ok:
        return  # not theirs (any more), or nothing to attach: it goes on as a message
    deliver_soon(context)
    await reply(update, result.message)
    raise ApplicationHandlerStop


async def group_instruction(update: Update, context: Context) -> None:
    """A member of the leading group replies to a card: that is an instruction (批示)."""
    entry = await _answered_message(update, context, "group_card")
    message = update.effective_message
    if entry is None or entry.submission_id is None or message is None:
        return
    text = clean_text(message.text or "")
    result = await answering.instruct(
        context.services.core,
        actor(update, context),
        entry.submission_id,
        text,
        key=update.update_id,
    )
    if not result.ok:
        return
    deliver_soon(context)
    await message.reply_text(result.message)
    log.info("instruction on ref=#%s from the leading group", entry.submission_id)
    raise ApplicationHandlerStop


async def rate(update: Update, context: Context) -> None:
    """The sender rates the answer (满意 / 基本满意 / 不满意), once per round: a second
    press, or one on the buttons of an earlier answer, changes nothing and is told so in
    the button's toast only (a flood of presses makes no flood of messages)."""
    query = update.callback_query
    assert query is not None
    match = RATE.match(query.data or "")
    if match is None:
        await query.answer()
        await say(update, context, "button.stale")
        return
    result = await answering.rate(
        context.services.core,
        actor(update, context),
        int(match["n"]),
        match["rating"],
        round_=int(match["round"] or 1),
        key=update.update_id,
    )
    if result.refusal in (Refusal.DONE, Refusal.STALE):
        await query.answer(result.message)
        return
    await query.answer()
    if not result.ok:
        await reply(update, result.message)
        return
    deliver_soon(context)
    await drop_buttons(update)
    await reply(update, result.message)


REPLY_GROUP = -2  # before the resident conversation: a reply to a question is not a draft


def build_reply_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    handlers: list[BaseHandler[Update, Context, None]] = [
        MessageHandler(
            filters.ChatType.PRIVATE
            & filters.REPLY
            & (filters.TEXT | filters.CAPTION)
            & ~filters.COMMAND,
            sender_answer,
        )
    ]
    group = settings.roles.leading_group_chat_id
    if group:
        handlers.append(
            MessageHandler(
                filters.Chat(chat_id=group) & filters.REPLY & filters.TEXT & ~filters.COMMAND,
                group_instruction,
            )
        )
    return handlers


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [PrivateButton(rate, pattern=r"^rate:")]
