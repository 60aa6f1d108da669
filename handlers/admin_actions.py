"""The office's buttons on item cards, and replies to the questions the bot asks admins.

Callback data carries no authority: every press is checked against the configured
administrators, and a press by anyone else changes nothing (it is answered like a stale
button). A question such as "why reject #42?" is sent with ForceReply and remembered in the
database, so the admin's reply is matched to its action even after a restart.
"""

from __future__ import annotations

import logging
import re

from telegram import ForceReply, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot import cards
from bot.config import Language, Settings
from bot.i18n import t
from bot.presenters import status_label, topic_label
from bot.records import Submission
from bot.text import clean_text, escape
from bot.workflow import IllegalTransition, Status, format_reference
from handlers.admin import admin_language, is_admin, show_card
from handlers.context import Context, language, reply, say, services
from handlers.delivery import deliver_soon
from handlers.keyboards import from_buttons
from storage.repository import NotFound

log = logging.getLogger(__name__)

CALLBACK = re.compile(
    r"^adm:(?:(st):([a-z_]+)|(rej)|(tp)|(card)|(next)|(tps)):(\d{1,18})(?::([a-z][a-z0-9_]{0,31}))?$"
)
MAX_REASON_CHARS = 1000


def _actor(update: Update) -> str:
    assert update.effective_user is not None
    return f"admin:{update.effective_user.id}"


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    match = CALLBACK.match(query.data or "")
    if match is None or not await is_admin(update, context):
        # Changes nothing. The presser alone sees why (a toast), and in a private chat
        # gets the same answer as for any expired button.
        await query.answer(t(await language(update, context), "button.stale"))
        if update.effective_chat is not None and update.effective_chat.type == "private":
            await say(update, context, "button.stale")
        return
    await query.answer()
    number = int(match[8])
    svc = services(context)
    item = await svc.repository.get_submission(number)
    lang = await admin_language(update, context)
    if item is None:
        await reply(update, t(lang, "admin.not_found", ref=format_reference(number)))
        return
    if match[1]:
        await _change_status(update, context, lang, item, match[2])
    elif match[3]:
        await _ask_reason(update, context, lang, item)
    elif match[4]:
        await _edit_buttons(update, cards.topic_buttons(lang, svc.settings, item))
    elif match[5]:
        await _edit_buttons(update, cards.card_buttons(lang, item))
    elif match[6]:
        await _review_next(update, context, lang, number)
    elif match[7]:
        await _set_topic(update, context, lang, item, match[9] or "")


async def _edit_buttons(update: Update, rows: cards.Buttons) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(from_buttons(rows))
    except TelegramError as exc:  # the card is too old to edit, or already shows them
        log.debug("card buttons not edited: %s", exc)


async def _refresh_card(update: Update, context: Context, lang: Language, number: int) -> None:
    """Show the card that was pressed with the item's new state and actions."""
    query = update.callback_query
    svc = services(context)
    item = await svc.repository.get_submission(number)
    if query is None or item is None:
        return
    text = cards.item_card(
        lang,
        svc.settings,
        item,
        history=await svc.repository.history(number),
        events=await svc.repository.events(number),
    )
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=from_buttons(cards.card_buttons(lang, item)),
        )
    except TelegramError as exc:
        log.debug("card %s not refreshed: %s", number, exc)


async def _apply(
    update: Update,
    context: Context,
    lang: Language,
    item: Submission,
    target: Status,
    *,
    reason: str | None = None,
) -> bool:
    """Change the status, queue the sender's notice, and tell the admin. False if refused."""
    svc = services(context)
    notices = cards.status_notice(item, target, svc.secrets, reason=reason)
    try:
        await svc.repository.change_status(
            item.id, target, actor=_actor(update), note=reason, notices=notices
        )
    except IllegalTransition as exc:
        await reply(
            update,
            t(
                lang,
                "admin.illegal",
                ref=format_reference(item.id),
                current=status_label(lang, exc.current),
                target=status_label(lang, target),
            ),
        )
        return False
    log.info(
        "ref=%s status %s -> %s by %s",
        format_reference(item.id),
        item.status,
        target,
        _actor(update),
    )
    deliver_soon(context)
    notified = t(lang, "admin.notified") if notices else ""
    await reply(
        update,
        t(
            lang,
            "admin.done",
            ref=format_reference(item.id),
            status=status_label(lang, target),
            notified=notified,
        ),
    )
    return True


async def _change_status(
    update: Update, context: Context, lang: Language, item: Submission, value: str
) -> None:
    try:
        target = Status(value)
    except ValueError:
        await say(update, context, "button.stale")
        return
    if target not in cards.ONE_TAP:
        await say(update, context, "button.stale")
        return
    if await _apply(update, context, lang, item, target):
        await _refresh_card(update, context, lang, item.id)


async def _ask_reason(update: Update, context: Context, lang: Language, item: Submission) -> None:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    asked = await chat.send_message(
        t(lang, "admin.reject.ask", ref=format_reference(item.id)),
        reply_markup=ForceReply(selective=True, input_field_placeholder="…"),
    )
    await services(context).repository.save_prompt(
        chat_id=chat.id,
        message_id=asked.message_id,
        action="reject",
        submission_id=item.id,
        asked_by=user.id,
    )


async def _review_next(update: Update, context: Context, lang: Language, after: int) -> None:
    item = await services(context).repository.next_for_review(after=after)
    if item is None:
        await reply(update, t(lang, "admin.review.empty"))
        return
    await show_card(update, context, item, review=True)


async def _set_topic(
    update: Update, context: Context, lang: Language, item: Submission, topic_id: str
) -> None:
    svc = services(context)
    if svc.settings.topic(topic_id) is None:
        await say(update, context, "button.stale")
        return
    if topic_id != item.topic_id:
        await svc.repository.set_topic(item.id, topic_id, actor=_actor(update))
    await _refresh_card(update, context, lang, item.id)
    name = escape(topic_label(lang, svc.settings, topic_id))
    await reply(update, t(lang, "admin.topic.set", ref=format_reference(item.id), topic=name))


async def on_prompt_reply(update: Update, context: Context) -> None:
    """An admin's reply to a question the bot asked (runs before the resident handlers)."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or message.reply_to_message is None:
        return
    if not await is_admin(update, context):
        return
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    repo = services(context).repository
    prompt = await repo.find_prompt(chat_id=chat.id, message_id=replied.message_id)
    if prompt is None:
        return
    action, number = prompt
    lang = await admin_language(update, context)
    if action == "reject":
        reason = clean_text(message.text or "")[:MAX_REASON_CHARS]
        if not reason:
            await reply(update, t(lang, "admin.reject.empty"))
            raise ApplicationHandlerStop
        item = await repo.get_submission(number)
        if item is None:
            raise NotFound(number)
        if await _apply(update, context, lang, item, Status.REJECTED, reason=reason):
            await repo.drop_prompt(chat_id=chat.id, message_id=replied.message_id)
    raise ApplicationHandlerStop


PROMPT_GROUP = -1  # before the resident conversation, so an admin's reply is not a draft


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    del settings
    return [CallbackQueryHandler(on_button, pattern=r"^adm:")]


def build_prompt_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    only_admins = filters.User(user_id=settings.roles.admin_ids)
    return [
        MessageHandler(
            only_admins & filters.REPLY & filters.TEXT & ~filters.COMMAND, on_prompt_reply
        )
    ]
