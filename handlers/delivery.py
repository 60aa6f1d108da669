"""Delivery of the outbox: a JobQueue job that sends what is owed and retries what failed.

Runs every few seconds and right after an action queued something. Telegram errors are
sorted into "try again later" (flood control, network, server errors: exponential backoff)
and "will never work" (blocked bot, deleted chat, bad request): the latter are marked
failed at once and the office is told, so nothing is dropped silently. Deliveries are
"bulk" sends for the flood limiter (bot/ratelimit.py): at most one per second per private
chat, on top of the overall and per-group limits.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot, JobQueue

from bot.anonymity import message_reference
from bot.i18n import t
from bot.inbox import NO_PREVIEW
from bot.ratelimit import FloodLimiter, bulk_sending
from bot.records import OutboxEntry, Outgoing
from bot.services import Services, get_services
from bot.text import escape
from bot.workflow import format_reference
from handlers.context import Context
from handlers.keyboards import from_buttons

log = logging.getLogger(__name__)

JOB_NAME = "outbox"
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=30)
# Longest a delivery run waits for one chat's flood allowance before moving on (seconds).
MAX_WAIT_IN_RUN = 1.5


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)


async def deliver(context: Context) -> None:
    """The job: send every due message once; one run at a time."""
    await deliver_due(context.bot, get_services(context))


async def deliver_due(bot: Bot, svc: Services) -> None:
    """Send every due message once (also called at shutdown to flush the outbox)."""
    async with svc.delivery_lock:
        with bulk_sending():
            await _deliver_due(bot, svc)


async def _deliver_due(bot: Bot, svc: Services) -> None:
    """Send what is due; a message whose chat has used up its flood allowance (a group's 20
    a minute) is left for a later run rather than holding up the messages behind it."""
    limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
    deferred: set[int] = set()
    while batch := [e for e in await svc.repository.due_messages(limit=50) if e.id not in deferred]:
        for entry in batch:
            chat_id = svc.secrets.decrypt_int(entry.chat_enc)
            if (
                chat_id is not None
                and isinstance(limiter, FloodLimiter)
                and limiter.chat_delay(chat_id) > MAX_WAIT_IN_RUN
            ):
                deferred.add(entry.id)
                continue
            await _deliver_one(bot, svc, entry)


async def _deliver_one(bot: Bot, svc: Services, entry: OutboxEntry) -> None:
    repo = svc.repository
    chat_id = svc.secrets.decrypt_int(entry.chat_enc)
    if chat_id is None:
        await repo.mark_failed(entry.id, "destination cannot be decrypted (keys changed?)")
        log.error("outbox %s: destination cannot be decrypted", entry.id)
        return
    try:
        if entry.photo is not None:
            sent = await bot.send_photo(
                chat_id,
                entry.photo,
                caption=entry.text or None,
                parse_mode=ParseMode.HTML,
                reply_markup=from_buttons(entry.buttons),
            )
        else:
            sent = await bot.send_message(
                chat_id,
                entry.text,
                parse_mode=ParseMode.HTML,
                reply_markup=from_buttons(entry.buttons),
                link_preview_options=NO_PREVIEW,
            )
    except RetryAfter as exc:
        wait = exc.retry_after
        delay = wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
        await repo.mark_retry(entry.id, str(exc), repo.clock() + delay)
    except (Forbidden, BadRequest) as exc:
        await repo.mark_failed(entry.id, exc.message)
        log.warning("outbox %s for ref=%s failed for good: %s", entry.id, entry.submission_id, exc)
        await _tell_office(svc, entry, exc.message)
    except TelegramError as exc:  # network trouble, timeouts, 5xx: try again later
        if entry.attempts + 1 >= MAX_ATTEMPTS:
            await repo.mark_failed(entry.id, str(exc))
            await _tell_office(svc, entry, str(exc))
        else:
            await repo.mark_retry(entry.id, str(exc), repo.clock() + backoff(entry.attempts))
        log.info("outbox %s: will retry (%s)", entry.id, exc)
    else:
        await repo.mark_sent(
            entry, *message_reference(svc.secrets, chat_id, sent.message_id, entry.purpose)
        )


async def _tell_office(svc: Services, failed: OutboxEntry, error: str) -> None:
    """Queue a warning for the office chat (never about a warning, to avoid loops)."""
    office = svc.settings.roles.office_chat_id
    if not office or failed.submission_id is None:
        return
    if svc.secrets.decrypt_int(failed.chat_enc) == office:
        return
    lang = svc.settings.campaign.language
    text = t(
        lang,
        "admin.delivery_failed",
        ref=format_reference(failed.submission_id),
        error=escape(error[:200]),
    )
    await svc.repository.queue_messages(
        [Outgoing(chat_enc=svc.secrets.encrypt_int(office), text=text)], submission_id=None
    )


def deliver_soon(context: Context) -> None:
    """Run the delivery job now (after an action queued messages)."""
    if context.job_queue is not None:
        context.job_queue.run_once(deliver, 0)


def schedule(job_queue: JobQueue[Any], interval: float) -> None:
    """Register the repeating delivery job (also catches up on what a crash left)."""
    job_queue.run_repeating(deliver, interval=interval, first=0.5, name=JOB_NAME)
