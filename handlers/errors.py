"""The global error handler: a traceback for operators, a short apology for the user.

The log line carries the update id only: never the update itself, which may identify an
anonymous sender. A full disk is no bug (#15.8): the update is kept to be handled again
when there is room (:mod:`bot.diskfull`), its sender told it waits, and nothing logged here.
Nor is the database away for a moment (a PostgreSQL restart, a deadlock): the update is
handled again shortly (:mod:`bot.transport.retries`), the apology only when that fails too.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.i18n import t
from bot.transport.inbox import DurableBot
from bot.transport.retries import retry_later
from handlers.context import Context
from storage.pg import is_transient

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log what a handler or a job raised (once, with its update id or job name) and, in a
    private chat, apologise. Never raises: nothing an answer contains gets past here."""
    disk = context.services.repository.disk
    if disk.noticed(context.error):
        if isinstance(update, Update):
            disk.hold(update.update_id, update)
            if isinstance(context.bot, DurableBot):
                await context.bot.tell_storage_full(update)
            raise ApplicationHandlerStop  # its other handlers run when it is handled again
        return
    if (
        isinstance(update, Update)
        and is_transient(context.error)
        and retry_later(context.application, context.services.inbox, update)
    ):
        raise ApplicationHandlerStop  # handled again in a moment, its other handlers too
    update_id = update.update_id if isinstance(update, Update) else None
    if update_id is None and context.job is not None:
        log.error("error in job %s", context.job.name, exc_info=context.error)
        return
    log.error("error while handling update=%s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    with contextlib.suppress(Exception):  # the user's language, if the database answers
        await context.refresh_data()
    lang = context.language
    try:
        await update.effective_chat.send_message(t(lang, "error.apology"))
    except Exception as exc:  # TelegramError, or an answer that cannot be read
        log.warning("could not send the apology for update=%s: %s", update_id, type(exc).__name__)
