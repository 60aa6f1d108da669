"""The web desk from Telegram: ``/web`` gives an administrator, in their private chat with
the bot, a one-time login link for a desktop browser and (when the desk has a public HTTPS
address) a button that opens it inside Telegram; the menu button of the administrators'
private chats opens it too."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonDefault,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.error import TelegramError
from telegram.ext import Application, BaseHandler, CommandHandler

from bot.config import Settings
from bot.context import BotData
from bot.i18n import resolve_language, t
from bot.text import escape
from handlers.admin import in_office, office_only
from handlers.context import Context, reply
from web.tokens import new_token, token_hash

log = logging.getLogger(__name__)

WEB_COMMANDS = ("web",)


def mini_app_url(settings: Settings) -> str | None:
    """The address Telegram opens as the Mini App (HTTPS only), or None."""
    public = settings.web.public_url
    return f"{public}/" if settings.web.enabled and public else None


async def web(update: Update, context: Context) -> None:
    """/web: a one-time login link (and the Mini App button) for an administrator."""
    if not await in_office(update, context):
        return
    lang = context.language
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or chat.type != "private":
        # A login link must not be posted where others can read (and use) it.
        await reply(update, t(lang, "web.command.private"))
        return
    svc = context.services
    desk = svc.web
    if desk is None:
        await reply(update, t(lang, "web.command.disabled"))
        return
    token = new_token()
    max_age = svc.settings.web.login_link_max_age
    await svc.repository.create_login_link(
        token_hash(token),
        user_id=user.id,
        language=lang,
        expires_at=svc.repository.clock() + timedelta(seconds=max_age),
    )
    # The token travels in the fragment: browsers never send it to a server, so it shows
    # in no access log (the desk's page posts it once, to open the session).
    link = f"{desk.base_url}/#login={token}"
    text = t(lang, "web.command.link", link=escape(link), minutes=max_age // 60)
    url = mini_app_url(svc.settings)
    markup = None
    if url is not None:
        button = InlineKeyboardButton(t(lang, "web.button.open"), web_app=WebAppInfo(url))
        markup = InlineKeyboardMarkup([[button]])
    await reply(update, text, markup)


async def set_up_menu(app: Application[Any, Any, Any, Any, BotData, Any]) -> None:
    """At start-up: the menu button of each administrator's private chat opens the desk
    (or, when the desk has no public address, is Telegram's default again)."""
    svc = app.bot_data.services
    settings = svc.settings
    if not settings.web.enabled:
        return
    url = mini_app_url(settings)
    lang = resolve_language(settings.campaign.language)
    button = (
        MenuButtonWebApp(t(lang, "web.button.menu"), WebAppInfo(url))
        if url is not None
        else MenuButtonDefault()
    )
    for admin_id in settings.roles.admin_ids:
        try:
            await app.bot.set_chat_menu_button(chat_id=admin_id, menu_button=button)
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            log.info("desk menu button not set for %s: %s", admin_id, exc)


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    return [CommandHandler("web", web, filters=office_only(settings))]
