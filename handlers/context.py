"""Per-update helpers shared by handlers: who is asking, in which language, and replying."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.config import Language
from bot.i18n import resolve_language, t
from bot.inbox import NO_PREVIEW, DurableBot
from bot.services import Services, get_services
from bot.text import message_parts, truncate_html

Context = ContextTypes.DEFAULT_TYPE
log = logging.getLogger(__name__)
_LANG_KEY = "lang"


def user_id(update: Update) -> int:
    """The Telegram id of the user behind this update (never stored for anonymous items:
    the repository derives pseudonyms from it)."""
    user = update.effective_user
    assert user is not None
    return user.id


async def language(update: Update, context: Context) -> Language:
    """The user's language: their /lang choice, else their Telegram app's, else the campaign's.

    Cached in memory (``user_data``) so the database is read once per user and process."""
    cached = context.user_data.get(_LANG_KEY) if context.user_data is not None else None
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    services = get_services(context)
    user = update.effective_user
    stored = None
    if user is not None:
        stored = await services.repository.get_language(user.id)
    lang = resolve_language(
        stored or (user.language_code if user else None), services.settings.campaign.language
    )
    if context.user_data is not None:
        context.user_data[_LANG_KEY] = lang
    return lang


def remember_language(context: Context, lang: Language) -> None:
    if context.user_data is not None:
        context.user_data[_LANG_KEY] = lang


async def reply(
    update: Update,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send HTML ``text`` to the chat of the update (user text in it must be escaped): one
    message, or as many as it takes within Telegram's limit (``markup`` on the last)."""
    chat = update.effective_chat
    if chat is None:
        return
    bot = chat.get_bot()
    assert isinstance(bot, DurableBot), "built by bot.app.build_application"
    *first, last = message_parts(text)
    for part in first:
        await bot.send_html(chat.id, part)
    await bot.send_html(chat.id, last, markup)


async def say(
    update: Update,
    context: Context,
    key: str,
    markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> None:
    """Reply with the message ``key`` of the catalogue in the user's language."""
    lang = await language(update, context)
    await reply(update, t(lang, key, **kwargs), markup)


async def answer_query(update: Update) -> None:
    """Acknowledge a button press so the client stops its spinner."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def drop_buttons(update: Update) -> None:
    """Remove the keyboard of the message whose button was pressed (best effort)."""
    await edit_pressed(update)


async def edit_pressed(
    update: Update, text: str | None = None, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Show HTML ``text`` (None: keep the text) and ``markup`` (None: no buttons) in the
    message whose button was pressed. True when it shows them, also when it already did (a
    double tap: Telegram refuses an edit that changes nothing); False when it cannot be
    edited (too old, deleted, no message), which is no error: what the press changed is
    stored, and the caller may send a new message instead."""
    query = update.callback_query
    if query is None or query.message is None:
        return False
    try:
        if text is None:
            await query.edit_message_reply_markup(markup)
        else:
            await query.edit_message_text(
                truncate_html(text),  # an edit cannot become two messages
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
    except BadRequest as exc:
        if "not modified" in exc.message:
            return True
        log.debug("pressed message not edited: %s", exc)
        return False
    except TelegramError as exc:
        log.debug("pressed message not edited: %s", exc)
        return False
    return True


def services(context: Context) -> Services:
    return get_services(context)
