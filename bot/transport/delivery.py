"""Delivery of the outbox: a JobQueue job that sends what is owed and retries what failed.

Runs every few seconds and right after an action queued something; also once at shutdown
(bounded) and, at start-up, over the sends a crash interrupted. The semantics are in
:mod:`bot.transport.outcomes` (and the README): each send is recorded before it is made; its outcome
is classified here (:func:`classify`: delivered, refused for now, rejected for good, or
uncertain) whatever the exception, and the decision is recorded after. A message whose
outcome was uncertain is sent once more at most; a permanent failure is listed by /failed
and told to the office once.

Nothing a Bot API answer contains can end a run early or make it spin: a run looks at each
message at most once, every decision moves the message a second ahead or ends it, and an
exception nobody expected is an uncertain outcome. When the database itself fails (a full
disk), the run stops before sending anything it could not record; an outcome it could not
write is kept in memory and written first by the next run, so the message is never sent
again meanwhile (after a crash it is an uncertain outcome). While the storage is full
(:mod:`bot.diskfull`) nothing is sent; the run after the recovery goes on. Deliveries are
"bulk" sends for the flood limiter (bot/transport/ratelimit.py): at most one per second per
private chat, on top of the overall and per-group limits.

With several workers on one database only the leader (:mod:`bot.leadership`) sends: the job
returns at once on the others, a run stops before the next message when this worker stops
leading, and the sends a previous leader left under way are recovered when a worker is
elected, not at every start. A worker that queued messages without leading wakes the leader
(:func:`wake`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot, ForceReply, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot, JobQueue

from bot import faults
from bot.anonymity import copy_placement, message_reference
from bot.context import CustomContext as Context
from bot.core import handling
from bot.core.presenters import telegram_error
from bot.core.recipients import recipient_label, recipient_of
from bot.core.records import OutboxEntry, Outgoing, Recipient
from bot.core.workflow import format_reference
from bot.i18n import t
from bot.logs import CURRENT_UPDATE
from bot.services import Services
from bot.text import truncate_html
from bot.transport.markup import from_buttons
from bot.transport.media import send_album, send_attachment
from bot.transport.outcomes import (
    STOPPED_DURING_SEND,
    Decision,
    Delivered,
    FailedForGood,
    Outcome,
    RetryLater,
    SendResult,
    decide,
)
from bot.transport.ratelimit import FloodLimiter, bulk_sending

log = logging.getLogger(__name__)

JOB_NAME = "outbox"
# Longest a delivery run waits for one chat's flood allowance before moving on (seconds).
MAX_WAIT_IN_RUN = 1.5
UNDECRYPTABLE = "destination cannot be decrypted (keys changed?)"

# httpx errors raised before the request left: Telegram cannot have seen it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def classify(exc: BaseException) -> SendResult:
    """The outcome of a send that raised ``exc`` (see :mod:`bot.transport.outcomes`)."""
    kind = type(exc).__name__
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return SendResult(Outcome.REFUSED, str(exc), retry_after=seconds)
    if isinstance(exc, Forbidden | BadRequest | ChatMigrated):
        return SendResult(Outcome.REJECTED, exc.message)
    if isinstance(exc, NetworkError):  # TimedOut too; raised by the HTTP layer or for 5xx
        cause = exc.__cause__
        if isinstance(cause, _NOT_SENT):
            return SendResult(Outcome.REFUSED, f"{kind}: not sent ({type(cause).__name__})")
        if isinstance(exc, TimedOut) or (
            cause is not None and not isinstance(cause, TelegramError)
        ):
            # A read timeout, a connection lost after the request was written, or anything
            # else the HTTP layer met on the way: the request may have arrived.
            return SendResult(Outcome.UNCERTAIN, f"{kind}: {exc.message}"[:300])
        return SendResult(Outcome.REFUSED, exc.message[:300])  # an HTTP error status (5xx)
    if isinstance(exc, TelegramError) and type(exc) is not TelegramError:
        return SendResult(Outcome.REFUSED, f"{kind}: {exc.message}"[:300])  # 401/404/409
    # TelegramError("Invalid server response") (a body that is not JSON), an answer the
    # library cannot build a Message from, or anything else: the send may have worked.
    return SendResult(Outcome.UNCERTAIN, f"{kind}: {exc}"[:300])


def _markup(entry: OutboxEntry) -> InlineKeyboardMarkup | ForceReply | None:
    """The entry's buttons; a question to a sender opens their reply field (ForceReply:
    the phone shows that the next message answers it)."""
    buttons = from_buttons(entry.buttons)
    if buttons is None and entry.purpose == "question":
        return ForceReply()
    return buttons


async def send(bot: Bot, chat_id: int, entry: OutboxEntry) -> SendResult:
    """Send one message; never raises an ``Exception`` (its outcome says what happened).
    Parse mode (HTML) and link previews (none) come from the application's ``Defaults``."""
    try:
        if entry.album:
            sent = await send_album(bot, chat_id, entry.album, caption=entry.text)
            if sent is None:
                return SendResult(Outcome.DELIVERED)
        elif entry.attachment is not None:
            sent = await send_attachment(bot, chat_id, entry.attachment, caption=entry.text)
            if sent is None:  # nothing left to send (no file id)
                return SendResult(Outcome.DELIVERED)
        elif entry.photo is not None:
            sent = await bot.send_photo(
                chat_id,
                entry.photo,
                caption=entry.text or None,
                reply_markup=from_buttons(entry.buttons),
            )
        else:
            sent = await bot.send_message(chat_id, entry.text, reply_markup=_markup(entry))
    except Exception as exc:
        return classify(exc)
    return SendResult(Outcome.DELIVERED, message_id=sent.message_id)


async def edit(bot: Bot, chat_id: int, message_id: int, entry: OutboxEntry) -> SendResult:
    """Edit a card copy to show the item as it is now; "message is not modified" (it
    already does) is done too. Never raises an ``Exception``."""
    try:
        await bot.edit_message_text(
            truncate_html(entry.text),
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=from_buttons(entry.buttons),
        )
    except BadRequest as exc:
        if "not modified" in exc.message:
            return SendResult(Outcome.DELIVERED, message_id=message_id)
        return classify(exc)
    except Exception as exc:
        return classify(exc)
    return SendResult(Outcome.DELIVERED, message_id=message_id)


async def _send_or_edit(svc: Services, bot: Bot, chat_id: int, entry: OutboxEntry) -> SendResult:
    if entry.copy_id is None:
        return await send(bot, chat_id, entry)
    copy = await svc.repository.card_copy(entry.copy_id)
    message_id = None
    if copy is not None:
        message_id = copy.message_id or svc.secrets.decrypt_int(copy.message_enc)
    if message_id is None:  # forgotten meanwhile (or unreadable): nothing to edit
        return SendResult(Outcome.DELIVERED)
    return await edit(bot, chat_id, message_id, entry)


async def deliver(context: Context) -> None:
    """The job (every ``outbox_interval`` seconds, and at once after an action queued
    messages): start a delivery run in the background, or, if one is going on, have it go
    round once more. It returns at once, so a long run (a Bot API that hangs) never finds
    the scheduler's previous call still going."""
    if not leading(context.services):
        return
    state = context.services.delivery
    if state.run is not None and not state.run.done():
        state.again = True
        return
    state.again = False
    state.run = context.application.create_task(_runs(context.bot, context.services))


async def _runs(bot: Bot, svc: Services) -> None:
    CURRENT_UPDATE.set(None)  # started from a handler's job: its lines are not that update's
    while True:
        await deliver_due(bot, svc)
        if not svc.delivery.again:
            return
        svc.delivery.again = False


async def deliver_due(bot: Bot, svc: Services) -> None:
    """Send every due message once (also called at shutdown to flush the outbox). Never
    raises an ``Exception``: what nobody expected is logged (once a minute) and the next
    run starts afresh."""
    state = svc.delivery
    async with state.lock:
        with bulk_sending():
            try:
                await _deliver_due(bot, svc)
            except Exception as exc:
                if not svc.repository.disk.noticed(exc):
                    state.throttle.log(
                        log, logging.ERROR, "run", "outbox run failed: %s", exc, exc_info=exc
                    )


async def _deliver_due(bot: Bot, svc: Services) -> None:
    """Send what is due, each message at most once per run; a message whose chat has used
    up its flood allowance (a group's 20 a minute) is left for a later run rather than
    holding up the messages behind it. Stops at the first write the database refuses, and
    sends nothing while the storage is full (what it sent could not be recorded)."""
    if not leading(svc) or svc.repository.disk.full or not await _write_unrecorded(svc):
        return
    if svc.delivery.unsettled and not await _settle(svc):
        return
    limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
    seen: set[int] = set()
    while batch := [e for e in await svc.repository.due_messages(limit=50) if e.id not in seen]:
        for entry in batch:
            if not leading(svc):  # the lease was lost: the new leader sends the rest
                return
            seen.add(entry.id)
            chat_id = svc.secrets.decrypt_int(entry.chat_enc)
            if (
                chat_id is not None
                and isinstance(limiter, FloodLimiter)
                and limiter.chat_delay(chat_id) > MAX_WAIT_IN_RUN
            ):
                continue
            if not await _deliver_one(bot, svc, entry, chat_id):
                return


async def _deliver_one(bot: Bot, svc: Services, entry: OutboxEntry, chat_id: int | None) -> bool:
    """One attempt at one message; False when the database refused a write (stop the run)."""
    repo, state = svc.repository, svc.delivery
    if chat_id is None:
        failure = FailedForGood(UNDECRYPTABLE, maybe_delivered=False, uncertain=False)
        return await _record(svc, entry, failure)
    try:
        if not await repo.start_attempt(entry.id, text=entry.text, chat_enc=entry.chat_enc):
            return True  # no longer pending (or coalesced or replaced since): nothing to send
    except Exception as exc:
        if repo.disk.noticed(exc):
            return False
        state.throttle.log(
            log,
            logging.ERROR,
            "start",
            "outbox %s: the attempt cannot be recorded, not sent (database: %s)",
            entry.id,
            exc,
        )
        return False
    result = await _send_or_edit(svc, bot, chat_id, entry)
    faults.point("outbox.sent")
    decision = decide(result, attempts=entry.attempts, uncertain=entry.uncertain, now=repo.clock())
    if isinstance(decision, Delivered) and decision.message_id is not None:
        # What is kept of it: never a private chat's plain message id (#13); a card is
        # recorded as a copy of its item's card, to be edited when the item changes.
        sent_id = decision.message_id
        plain, key = message_reference(svc.secrets, chat_id, sent_id, entry.purpose)
        copy = None
        if entry.card is not None and entry.submission_id is not None:
            copy = copy_placement(svc.secrets, chat_id, sent_id, entry.submission_id)
        decision = Delivered(plain, key, copy=copy)
    return await _record(svc, entry, decision)


async def _record(svc: Services, entry: OutboxEntry, decision: Decision) -> bool:
    """Write a decision (and the office's warning with a failure); on a database error keep
    it for the next run and say so once a minute."""
    try:
        told = await svc.repository.record_outcome(
            entry, decision, if_failed=_office_warning(svc, entry, decision)
        )
    except Exception as exc:
        svc.delivery.unrecorded[entry.id] = (entry, decision)
        if svc.repository.disk.noticed(exc):
            return False
        svc.delivery.throttle.log(
            log,
            logging.ERROR,
            "record",
            "outbox %s: outcome (%s) cannot be recorded, kept for the next run (database: %s)",
            entry.id,
            type(decision).__name__,
            exc,
        )
        return False
    _log_decision(entry, decision, told=told)
    if entry.purpose == "channel_post" and isinstance(decision, Delivered | FailedForGood):
        svc.delivery.unsettled = True  # until its item is settled
        return await _settle(svc)
    return True


async def _settle(svc: Services) -> bool:
    """Settle the publications whose channel post's outcome is recorded (published, or
    back to the status before): the same core functions whoever settles them. False
    while the database refuses (the next run tries again)."""
    try:
        await handling.settle_publishing(svc.core)
    except Exception as exc:
        if not svc.repository.disk.noticed(exc):
            svc.delivery.throttle.log(
                log, logging.ERROR, "settle", "publications cannot be settled: %s", exc
            )
        return False
    svc.delivery.unsettled = False
    return True


async def _write_unrecorded(svc: Services) -> bool:
    """Write the decisions an earlier run could not; False while the database refuses."""
    pending = svc.delivery.unrecorded
    for entry_id, (entry, decision) in list(pending.items()):
        del pending[entry_id]
        if not await _record(svc, entry, decision):
            return False
    svc.delivery.throttle.clear("record")
    return True


def _log_decision(entry: OutboxEntry, decision: Decision, *, told: bool) -> None:
    ref = entry.submission_id
    if isinstance(decision, Delivered):
        if entry.attempts:
            log.info("outbox %s for ref=%s delivered (send %d)", entry.id, ref, entry.attempts + 1)
    elif isinstance(decision, RetryLater):
        log.info(
            "outbox %s for ref=%s: %s; retry at %s%s",
            entry.id,
            ref,
            decision.error,
            decision.at.isoformat(timespec="seconds"),
            " (outcome unknown: sent once more at most)" if decision.uncertain else "",
        )
    else:
        log.warning(
            "outbox %s for ref=%s failed for good%s: %s%s",
            entry.id,
            ref,
            " (it may have arrived)" if decision.maybe_delivered else "",
            decision.error,
            "; the office is told" if told else "",
        )


def _office_warning(svc: Services, failed: OutboxEntry, decision: Decision) -> list[Outgoing]:
    """The warning for the office chat if ``decision`` ends the message (never about a
    message to the office itself, nor about one that concerns no item: no loops). It names
    whom the message was for; a channel post's also says the item is not published."""
    office = svc.settings.roles.office_chat_id
    if not isinstance(decision, FailedForGood) or not office or failed.submission_id is None:
        return []
    chat_id = svc.secrets.decrypt_int(failed.chat_enc)
    if chat_id == office:
        return []
    lang = svc.settings.campaign.language
    recipient = recipient_of(failed, chat_id, svc.settings.roles)
    if failed.purpose == "channel_post":
        key = "admin.publish_unknown" if decision.maybe_delivered else "admin.publish_failed"
    else:
        key = "admin.delivery_unknown" if decision.maybe_delivered else "admin.delivery_failed"
    text = t(
        lang,
        key,
        ref=format_reference(failed.submission_id),
        recipient=recipient_label(lang, recipient),
        error=telegram_error(lang, decision.error),
    )
    return [
        Outgoing(chat_enc=svc.secrets.encrypt_int(office), text=text, recipient=Recipient.OFFICE)
    ]


def leading(svc: Services) -> bool:
    """Whether this worker sends the outbox (the leader; a lone process always is)."""
    return svc.leadership is None or svc.leadership.leading


async def recover_interrupted(svc: Services) -> int:
    """When this worker becomes the leader (at start-up, or taking over from one whose
    lease is gone): a send that was under way when the previous leader stopped has an
    unknown outcome (sent once more at most, or failed if it already had one). Returns how
    many."""
    entries = await svc.repository.interrupted_sends()
    stopped = SendResult(Outcome.UNCERTAIN, STOPPED_DURING_SEND)
    for entry in entries:
        decision = decide(
            stopped, attempts=entry.attempts, uncertain=entry.uncertain, now=svc.repository.clock()
        )
        await _record(svc, entry, decision)
    if entries:
        log.warning("outbox: %d sends were interrupted by the stop; outcome unknown", len(entries))
    return len(entries)


def deliver_soon(context: Context) -> None:
    """Run the delivery job now (after an action queued messages)."""
    wake(context.application.job_queue, context.services)


def wake(queue: JobQueue[Any] | None, svc: Services) -> None:
    """The outbox now: this worker's delivery if it leads, else the leader's (NOTIFY on
    PostgreSQL; on SQLite the leader's next periodic run, ``outbox_interval`` at most)."""
    if svc.leadership is not None and not svc.leadership.leading:
        svc.leadership.nudge()
    elif svc.delivery.run is not None and not svc.delivery.run.done():
        svc.delivery.again = True  # the run going on goes round once more (as deliver does)
    elif queue is not None:
        queue.run_once(deliver, 0)


def schedule(job_queue: JobQueue[Any], interval: float) -> None:
    """Register the repeating delivery job (also catches up on what a crash left)."""
    job_queue.run_repeating(deliver, interval=interval, first=0.5, name=JOB_NAME)
