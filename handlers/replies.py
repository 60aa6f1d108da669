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
from typing import Protocol

from telegram import Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.core import answering, rating
from bot.core.access import Actor
from bot.core.acting import Key
from bot.core.env import Env
from bot.core.records import Attachment, HeldMessage, OutboxEntry
from bot.core.results import Refusal, Result
from bot.core.workflow import format_reference
from bot.i18n import t, tn
from bot.text import clean_text
from bot.transport.delivery import deliver_soon
from bot.transport.markup import from_buttons
from bot.transport.media import attachment_from_message
from handlers.buttons import PrivateButton
from handlers.context import Context, actor, drop_buttons, reply, say
from handlers.media_filters import MEDIA

log = logging.getLogger(__name__)


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
    """A resident replies to the office's question (text, photo, voice note, document or
    location): attach it to the item; or to the confirmation of their 不满意 (their own
    words on it, #18)."""
    message = update.effective_message
    if message is None:
        return
    entry = await _answered_message(update, context, "question")
    if entry is not None and entry.submission_id is not None:
        await _attach(update, context, entry.submission_id, *_content(message))
        raise ApplicationHandlerStop
    entry = await _answered_message(update, context, rating.RATING_REASON)
    if entry is None or entry.submission_id is None:
        return
    result = await answering.add_words(
        context.services.core,
        actor(update, context),
        entry.submission_id,
        clean_text(message.text or message.caption or ""),
        key=update.update_id,
    )
    if not result.ok:
        return  # not theirs (any more), or no words: it goes on as a message
    deliver_soon(context)
    await reply(update, result.message)
    raise ApplicationHandlerStop


def _content(message: Message) -> tuple[str, Attachment | None]:
    return clean_text(message.text or message.caption or ""), attachment_from_message(message)


async def _attach(
    update: Update,
    context: Context,
    item_id: int,
    text: str,
    attachment: Attachment | None,
) -> bool:
    """Attach a sender's answer to the item; tell them (False: not theirs any more, or
    nothing to attach, and nothing was said)."""
    result = await answering.answer_question(
        context.services.core,
        actor(update, context),
        item_id,
        text,
        key=update.update_id,
        attachments=() if attachment is None else (attachment,),
    )
    if not result.ok:
        return False
    deliver_soon(context)
    await reply(update, result.message)
    return True


async def offer_to_question(update: Update, context: Context) -> None:
    """A sender's message typed without the reply gesture while the office's question to
    them is open: held (sealed, in the database) and offered to the item first, one tap
    each way (the item; with two open questions, either; or a new submission)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    svc = context.services
    open_items = await svc.repository.open_questions_of(user.id)
    if not open_items:
        return  # nothing asked: the message starts or continues a draft
    text, attachment = _content(message)
    held = HeldMessage(user_id=user.id, text=text, attachment=attachment, at=svc.repository.clock())
    row_id = await svc.repository.hold_message(held, update_id=update.update_id)
    if row_id is None:  # a replay: held and offered before the crash
        raise ApplicationHandlerStop
    lang = context.language
    refs = "、".join(format_reference(n) for n in open_items)
    rows = [
        [(t(lang, "question.attach", ref=format_reference(n)), f"qa:{row_id}:{n}")]
        for n in open_items
    ]
    rows.append([(t(lang, "question.new"), f"qa:{row_id}:new")])
    await reply(update, tn(lang, "question.offer", len(open_items), refs=refs), from_buttons(rows))
    raise ApplicationHandlerStop


HELD = re.compile(r"^qa:([0-9a-f]{32}):(\d{1,18}|new)$")


async def held_message(update: Update, context: Context) -> tuple[str, HeldMessage] | None:
    """For a button of an offer: the held message, if it is still there and the presser's
    own (else say so and remove the stale buttons)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    await query.answer()
    match = HELD.match(query.data or "")
    held = None if match is None else await context.services.repository.held_message(match[1])
    if match is None or held is None or held.user_id != user.id:
        await drop_buttons(update)
        await say(update, context, "question.held_gone")
        return None
    return match[1], held


async def attach_held(update: Update, context: Context) -> None:
    """ "补充到 #N": the held message is the answer to #N's question."""
    found = await held_message(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    row_id, held = found
    number = int((query.data or "").rsplit(":", 1)[1])
    await drop_buttons(update)
    if not await _attach(update, context, number, held.text, held.attachment):
        await say(update, context, "button.stale")
        return
    await context.services.repository.drop_held(row_id)


async def group_instruction(update: Update, context: Context) -> None:
    """A member of the leading group replies to a card: that is an instruction (批示)."""
    entry = await _answered_message(update, context, "group_card")
    message = update.effective_message
    if entry is None or entry.submission_id is None or message is None:
        return
    text, attachment = _content(message)
    result = await answering.instruct(
        context.services.core,
        actor(update, context),
        entry.submission_id,
        text,
        key=update.update_id,
        attachments=[attachment] if attachment else [],
    )
    if not result.ok:
        return
    deliver_soon(context)
    await message.reply_text(result.message)
    log.info("instruction on ref=#%s from the leading group", entry.submission_id)
    raise ApplicationHandlerStop


# What a rating button carries after its prefix: <item>:<rating round>:<rating>, and for a
# 不满意 its reason once chosen (#18); the round is absent from buttons sent before rounds.
RATING_DATA = (
    r":(?P<n>\d{1,18}):(?:(?P<round>\d{1,9}):)?(?P<rating>[a-z]+)(?::(?P<reason>[a-z_]+))?$"
)
RATE = re.compile("^rate" + RATING_DATA)


class RatingAction(Protocol):
    async def __call__(
        self,
        env: Env,
        actor: Actor,
        item_id: int,
        chosen: str,
        *,
        round_: int,
        reason: str | None,
        key: Key,
    ) -> Result: ...


async def rating_pressed(
    update: Update,
    context: Context,
    pattern: re.Pattern[str],
    record: RatingAction,
    *,
    ask_why: bool = False,
) -> None:
    """A rating button: the sender's (answering.rate) or a 回访 task's, pressed by the clerk
    (answering.record_callback). Once per round: a second press, or one on the buttons of an
    earlier answer, changes nothing and is told so in the button's toast only (a flood of
    presses makes no flood of messages). With ``ask_why`` (the sender's), 不满意 first shows
    the reasons in place of the rating buttons, one tap each."""
    query = update.callback_query
    assert query is not None
    match = pattern.match(query.data or "")
    if match is None:
        await query.answer()
        await reply(update, t(context.chat_language, "button.stale"))
        return
    number = int(match["n"])
    round_ = int(match["round"] or 1)
    who = actor(update, context)
    core = context.services.core
    if ask_why and match["rating"] == "unsatisfied" and match["reason"] is None:
        asked = await answering.ask_why(core, who, number, round_)
        if asked.refusal in (Refusal.DONE, Refusal.STALE):
            await query.answer(asked.message)
            return
        await query.answer()
        if not asked.ok:
            await reply(update, asked.message)
            return
        await drop_buttons(update)
        await reply(
            update, asked.message, from_buttons(rating.why_buttons(who.language, number, round_))
        )
        return
    result = await record(
        core,
        who,
        number,
        match["rating"],
        round_=round_,
        reason=match["reason"],
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
    if result.message:  # (不满意 is confirmed through the outbox: a reply to it adds words)
        await reply(update, result.message)


async def rate(update: Update, context: Context) -> None:
    """The sender rates the answer (满意 / 基本满意 / 不满意), once per round."""
    await rating_pressed(update, context, RATE, answering.rate, ask_why=True)


REPLY_GROUP = -2  # before the resident conversation: a reply to a question is not a draft


# What a sender may answer with: text, a photo, voice note, document or location.
ANSWER = (
    filters.ChatType.PRIVATE
    & filters.UpdateType.MESSAGE
    & ~filters.COMMAND
    & (filters.TEXT | MEDIA)
)


def build_reply_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    handlers: list[BaseHandler[Update, Context, None]] = [
        MessageHandler(ANSWER & filters.REPLY, sender_answer),
        MessageHandler(ANSWER, offer_to_question),
    ]
    group = settings.roles.leading_group_chat_id
    if group:
        handlers.append(
            MessageHandler(
                filters.Chat(chat_id=group)
                & filters.REPLY
                & ~filters.COMMAND
                & (filters.TEXT | filters.VOICE | filters.AUDIO | filters.PHOTO),
                group_instruction,
            )
        )
    return handlers


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        PrivateButton(rate, pattern=r"^rate:"),
        PrivateButton(attach_held, pattern=r"^qa:[0-9a-f]{32}:\d"),
    ]
