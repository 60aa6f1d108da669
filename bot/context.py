"""The typed context every handler and job receives (python-telegram-bot's ``ContextTypes``,
as in its ``contexttypesbot.py`` example): the application's services, and the languages
of the update, resolved once when the context is made.

- ``context.services``: the :class:`bot.services.Services` the application was built with
  (kept in ``bot_data``, a :class:`BotData`, not a ``dict``).
- ``context.language``: the user's own language (their ``/lang`` choice, read from the
  database when the update starts, else their Telegram app's, else the campaign's).
- ``context.chat_language``: the language to write in this chat: the user's in a private
  chat, the campaign's in a group (the office group, the leading group), where everyone
  reads the same message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackContext, ContextTypes

from bot.config import Language
from bot.i18n import resolve_language
from bot.transport.inbox import DurableBot

if TYPE_CHECKING:
    from bot.services import Services


class BotData:
    """The application's ``bot_data``: the services, set by :func:`bot.app.build_application`
    before the application runs anything."""

    services: Services


class CustomContext(CallbackContext[DurableBot, dict[Any, Any], dict[Any, Any], BotData]):
    """The context of every callback (see the module's docstring)."""

    def __init__(
        self,
        application: Application[DurableBot, CustomContext, Any, Any, BotData, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        campaign = resolve_language(self.services.settings.campaign.language)
        self.language: Language = campaign
        self.chat_language: Language = campaign
        self._update: Update | None = None

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @classmethod
    def from_update(
        cls,
        update: object,
        application: Application[Any, CustomContext, Any, Any, Any, Any],
    ) -> CustomContext:
        context = super().from_update(update, application)
        context._update = update if isinstance(update, Update) else None
        return context

    async def refresh_data(self) -> None:
        """Before the first handler of an update runs (python-telegram-bot awaits this):
        the user's language, read from the database, where another worker may have
        written their ``/lang`` choice (#24)."""
        await super().refresh_data()
        if self._update is not None:
            await self._resolve_languages(self._update)

    async def _resolve_languages(self, update: Update) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None:
            return
        settings = self.services.settings
        stored = await self.services.repository.get_language(user.id)
        self.language = resolve_language(stored or user.language_code, settings.campaign.language)
        if chat is None or chat.type == ChatType.PRIVATE:
            self.chat_language = self.language

    def remember_language(self, lang: Language) -> None:
        """The user chose another language in this update (``/lang``)."""
        self.language = self.chat_language = lang


CONTEXT_TYPES = ContextTypes(context=CustomContext, bot_data=BotData)
