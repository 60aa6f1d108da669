"""Per-update helpers shared by handlers: who is acting, replying, editing the pressed
message, and turning a core :class:`~bot.core.results.Result` into a reply.

Handlers are typed with :data:`Context` (:class:`bot.context.CustomContext`): the services
are ``context.services`` and the languages ``context.language`` (the user's) and
``context.chat_language`` (this chat's), resolved once per update.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.context import CustomContext
from bot.core.access import Actor, identify, place_of
from bot.core.copies import Origin
from bot.core.results import Result
from bot.i18n import t
from bot.text import message_parts, truncate_html
from bot.transport.inbox import DurableBot

Context = CustomContext
log = logging.getLogger(__name__)


def user_id(update: Update) -> int:
    """The Telegram id of the user behind this update (never stored for anonymous items:
    the repository derives pseudonyms from it)."""
    user = update.effective_user
    assert user is not None
    return user.id


def actor(update: Update, context: Context) -> Actor:
    """Who acts, with the roles the configuration gives them in this chat, answered in
    this chat's language (:func:`bot.core.access.identify`)."""
    user, chat = update.effective_user, update.effective_chat
    settings = context.services.settings
    place = place_of(
        settings,
        chat.id if chat else 0,
        private=chat is not None and chat.type == ChatType.PRIVATE,
    )
    return identify(
        settings,
        user.id if user else None,
        place,
        language=context.chat_language,
        name=user.full_name if user else "",
        chat_id=chat.id if chat else 0,
    )


def origin(update: Update, context: Context) -> Origin | None:
    """The card a button was pressed on, to refresh it with the item's other copies."""
    query = update.callback_query
    message = query.message if query is not None else None
    if message is None:
        return None
    return Origin(message.chat.id, message.message_id, context.chat_language)


async def reply(
    update: Update,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> int | None:
    """Send HTML ``text`` to the chat of the update (user text in it must be escaped): one
    message, or as many as it takes within Telegram's limit (``markup`` on the last).
    Returns the last message's id (None: no chat)."""
    chat = update.effective_chat
    if chat is None:
        return None
    bot = chat.get_bot()
    assert isinstance(bot, DurableBot), "built by bot.app.build_application"
    *first, last = message_parts(text)
    for part in first:
        await bot.send_html(chat.id, part)
    return await bot.send_html(chat.id, last, markup)


async def say(
    update: Update,
    context: Context,
    key: str,
    markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> None:
    """Reply with the message ``key`` of the catalogue in the user's language."""
    await reply(update, t(context.language, key, **kwargs), markup)


async def tell(update: Update, result: Result) -> None:
    """Reply with what a core function says to the actor (nothing if it says nothing)."""
    if result.message:
        await reply(update, result.message)


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
    bot = query.get_bot()
    assert isinstance(bot, DurableBot), "built by bot.app.build_application"
    message = query.message
    try:
        # An edit cannot become two messages. Parse mode and link previews: Defaults.
        edited = None if text is None else truncate_html(text)
        await bot.edit_html(message.chat.id, message.message_id, edited, markup)
    except BadRequest as exc:
        if "not modified" in exc.message:
            return True
        log.debug("pressed message not edited: %s", exc)
        return False
    except TelegramError as exc:
        log.debug("pressed message not edited: %s", exc)
        return False
    return True
