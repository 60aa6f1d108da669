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
from bot.core import answering, rating
from bot.core.records import OutboxEntry
from bot.text import clean_text
from bot.transport.delivery import deliver_soon
from bot.transport.markup import from_buttons
from handlers.buttons import PrivateButton
from handlers.context import Context, actor, drop_buttons, reply, say

log = logging.getLogger(__name__)

# rate:<n>:<rating> (sent before rounds), rate:<n>:<round>:<rating>[:<reason>]
RATE = re.compile(
    r"^rate:(?P<n>\d{1,18}):(?:(?P<round>\d{1,6}):)?(?P<rating>[a-z]+)(?::(?P<reason>[a-z_]+))?$"
)


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
    """A resident replies to the office's question (attached to the item), or to the
    confirmation of their 不满意 (their own words on it, #18)."""
    message = update.effective_message
    if message is None:
        return
    text = clean_text(message.text or message.caption or "")
    core, who, key = context.services.core, actor(update, context), update.update_id
    for purpose in ("question", rating.RATING_REASON):
        entry = await _answered_message(update, context, purpose)
        if entry is None or entry.submission_id is None:
            continue
        if purpose == "question":
            result = await answering.answer_question(core, who, entry.submission_id, text, key=key)
        else:
            result = await rating.add_words(core, who, entry.submission_id, text, key=key)
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
    """The sender rates the answer (满意 / 基本满意 / 不满意); 不满意 first shows the reasons
    in place of the rating buttons, one tap each."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    match = RATE.match(query.data or "")
    if match is None:
        await say(update, context, "button.stale")
        return
    number = int(match["n"])
    round_ = int(match["round"]) if match["round"] else None
    who = actor(update, context)
    core = context.services.core
    if match["rating"] == "unsatisfied" and match["reason"] is None:
        asked = await rating.ask_why(core, who, number, round_)
        if not asked.ok or asked.item is None:
            await reply(update, asked.message)
            return
        chosen = round_ if round_ is not None else asked.item.rating_round
        await drop_buttons(update)
        await reply(
            update, asked.message, from_buttons(rating.why_buttons(who.language, number, chosen))
        )
        return
    result = await rating.rate(
        core,
        who,
        number,
        match["rating"],
        round_=round_,
        reason=match["reason"],
        key=update.update_id,
    )
    if not result.ok:
        await reply(update, result.message)
        return
    deliver_soon(context)
    await drop_buttons(update)
    if result.message:  # (不满意 is confirmed through the outbox: a reply to it adds words)
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
