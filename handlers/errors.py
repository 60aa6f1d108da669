"""The global error handler: a traceback for operators, a short apology for the user.

The log line carries the update id only: never the update itself, which may identify an
anonymous sender.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.i18n import t
from handlers.context import Context, language

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update=%s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    try:
        lang = await language(update, context)
    except Exception:
        lang = "zh-Hans"
    try:
        await update.effective_chat.send_message(
            t(lang, "error.apology"), parse_mode=ParseMode.HTML
        )
    except TelegramError:
        log.warning("could not send the apology for update=%s", update_id)
