"""Answers that come back to the bot: a sender's reply to the office's question, the
leading group's instruction (a reply to the card the office passed on), and the sender's
rating of a response. Each is attached to its item and shown to the office.

A reply is matched to what it answers through the outbox record of the message replied to
(its purpose, and its Telegram message id in a group or a keyed hash of chat and message id
in a private chat), and only when that message was sent to this very chat; a rating is
accepted only from the item's own sender. Each effect is keyed by its update
(:mod:`storage.effects`): a replay after a crash stores nothing twice and tells the office
nothing twice, it only acknowledges again.
"""

from __future__ import annotations

import logging
import re
from typing import cast

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    MessageHandler,
    filters,
)

from bot import cards
from bot.config import Settings
from bot.i18n import t
from bot.records import RATINGS, OutboxEntry, Rating
from bot.text import clean_text, escape
from bot.workflow import format_reference
from handlers.buttons import PrivateButton
from handlers.context import Context, drop_buttons, language, say, services
from handlers.delivery import deliver_soon
from storage.base import NotFound

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 3000
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
    svc = services(context)
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
    text = clean_text(message.text or message.caption or "")[:MAX_REPLY_CHARS]
    if not text:
        return
    svc = services(context)
    ref = format_reference(entry.submission_id)
    await svc.repository.add_event(
        entry.submission_id,
        actor="sender",
        kind="answer",
        body=text,
        notices=cards.office_notice(
            svc.settings, svc.secrets, "office.answer", ref=ref, text=escape(text)
        ),
        update_id=update.update_id,
    )
    deliver_soon(context)
    await say(update, context, "notify.answer_saved", ref=ref)
    raise ApplicationHandlerStop


async def group_instruction(update: Update, context: Context) -> None:
    """A member of the leading group replies to a card: that is an instruction (批示)."""
    entry = await _answered_message(update, context, "group_card")
    message, user = update.effective_message, update.effective_user
    if entry is None or entry.submission_id is None or message is None or user is None:
        return
    text = clean_text(message.text or "")[:MAX_REPLY_CHARS]
    if not text:
        return
    svc = services(context)
    ref = format_reference(entry.submission_id)
    who = user.full_name[:60]
    await svc.repository.add_event(
        entry.submission_id,
        actor=f"group:{user.id}",
        kind="instruction",
        body=f"{who}|{text}",
        notices=cards.office_notice(
            svc.settings,
            svc.secrets,
            "office.instruction",
            ref=ref,
            who=escape(who),
            text=escape(text),
        ),
        update_id=update.update_id,
    )
    deliver_soon(context)
    await message.reply_text(t(svc.settings.campaign.language, "group.instruction.saved"))
    log.info("instruction on ref=%s from the leading group", ref)
    raise ApplicationHandlerStop


async def rate(update: Update, context: Context) -> None:
    """The sender rates the answer (满意 / 基本满意 / 不满意), once per round: a second
    press, or one on the buttons of an earlier answer, changes nothing and is told so (in
    the button's toast only: a flood of presses makes no flood of messages)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    match = RATE.match(query.data or "")
    svc = services(context)
    number = int(match["n"]) if match else 0
    lang = await language(update, context)
    if (
        match is None
        or match["rating"] not in RATINGS
        or not await svc.repository.is_owner(number, user_id=user.id)
    ):
        await query.answer()
        await say(update, context, "button.stale")
        return
    rating = cast(Rating, match["rating"])
    round_ = int(match["round"] or 1)  # buttons sent before rounds existed: the first
    office_lang = svc.settings.campaign.language
    ref = format_reference(number)
    try:
        rated = await svc.repository.rate(
            number,
            rating,
            round_=round_,
            notices=cards.office_notice(
                svc.settings,
                svc.secrets,
                "office.rating",
                ref=ref,
                rating=t(office_lang, f"rating.{rating}"),
            ),
            update_id=update.update_id,
        )
    except NotFound:
        await query.answer()
        await say(update, context, "button.stale")
        return
    if rated.outcome == "stale":
        await query.answer(t(lang, "rate.stale", ref=ref))
        return
    if rated.outcome == "already":
        done = t(lang, f"rating.{rated.rating}")
        await query.answer(t(lang, "rate.already", ref=ref, rating=done))
        return
    await query.answer()
    deliver_soon(context)
    await drop_buttons(update)
    await say(update, context, "rate.thanks", rating=t(lang, f"rating.{rating}"))


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
