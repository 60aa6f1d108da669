"""A full disk, seen from Telegram (issue 15.8; the state is :mod:`bot.diskfull`'s).

When the disk is found full, the office is told once, with a direct message sent at once:
the outbox is a table, and may be the very thing that cannot be written (best effort: if
Telegram cannot be reached either, the log line is all there is). A job then looks for room
every few seconds (:func:`probe`): room means :data:`RESERVE` bytes that the database's
file system allocates and SQLite's own page limit allows (:mod:`storage.space`), and a
write that commits. Then the state ends: the updates whose handlers failed for want of
space are handled again first, the office is told through the outbox, and polling stores
what waited at Telegram. Nothing needs a restart.

Several workers on PostgreSQL (#24) find the server's full disk each for itself, and each
goes through the state above; two things are shared:

- **The office is told once each way**, by the worker holding the advisory lock
  ``disk-full`` (:meth:`storage.leases.LeaseQueries.try_lock`: no write, so it works on the
  full disk). The first worker to ask keeps it for its lifetime; if it dies, the lock goes
  with its connection and the next worker to ask (at its recovery, say) tells.
- **Held updates stay in the inbox**, unhandled and claimed by the worker that held them.
  Its lease cannot be renewed while nothing can be written, so it may run out, and once
  there is room another worker may claim them first. The holding worker therefore renews
  its leases and handles again only those it still holds; the others are the claimer's.
  If it dies, they are claimed by a survivor after the lease, like any unfinished update.
"""

from __future__ import annotations

import logging
from math import ceil
from typing import Any

from telegram.constants import ParseMode
from telegram.ext import Application, JobQueue

from bot.context import CustomContext as Context
from bot.core.records import Outgoing, Recipient
from bot.i18n import t
from bot.services import Services
from bot.transport.delivery import deliver_soon
from bot.transport.inbox import now_ms
from bot.transport.ordering import handle_again

log = logging.getLogger(__name__)

JOB_NAME = "storage-probe"
TELLER = "disk-full"  # the advisory lock of the worker that tells the office
PROBE_EVERY = 2.0  # seconds between looks for room while the disk is full
RESERVE = 1 << 20  # bytes that must be free before the disk counts as having room again

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def watch(app: AnyApplication, svc: Services) -> None:
    """At start-up: when the disk is found full, tell the office and look for room."""

    def began() -> None:
        app.create_task(_tell_office_full(app, svc))
        if app.job_queue is not None:
            start_probing(app.job_queue)

    svc.repository.disk.on_full = began


def start_probing(job_queue: JobQueue[Any]) -> None:
    if not job_queue.get_jobs_by_name(JOB_NAME):
        job_queue.run_repeating(probe, interval=PROBE_EVERY, first=PROBE_EVERY, name=JOB_NAME)


def _office_chats(svc: Services) -> list[int]:
    """The office chat, or without one each administrator's private chat."""
    roles = svc.settings.roles
    return [roles.office_chat_id] if roles.office_chat_id else list(roles.admin_ids)


async def _tells_office(svc: Services) -> bool:
    """Whether this worker tells the office (several workers see one server's full disk:
    the one holding the ``disk-full`` lock tells; a lone process always)."""
    try:
        return await svc.repository.try_lock(TELLER)
    except Exception as exc:  # (the database is away too) better twice than never
        log.info("could not ask which worker tells the office: %s", type(exc).__name__)
        return True


async def _tell_office_full(app: AnyApplication, svc: Services) -> None:
    if not await _tells_office(svc):
        log.info("another worker tells the office that the storage is full")
        return
    text = t(svc.settings.campaign.language, "storage.full.office")
    for chat_id in _office_chats(svc):
        try:
            await app.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        except Exception as exc:  # best effort (TelegramError or worse), never a traceback
            log.warning("the office could not be told the storage is full: %s", type(exc).__name__)


async def probe(context: Context) -> None:
    """The job while the disk is full: if there is room again, end the state, tell the
    office, and handle again what waited."""
    svc = context.services
    disk = svc.repository.disk
    if not disk.full:
        _stop_probing(context)
        return
    try:
        if not await svc.repository.has_room(RESERVE):
            return
        await svc.repository.probe_write()
        elsewhere = await _claimed_elsewhere(svc, list(disk.held))
    except Exception as exc:
        if not disk.noticed(exc):
            log.warning("looking for room failed: %s", type(exc).__name__)
        return
    ended = disk.recovered()
    _stop_probing(context)
    if ended is None:
        return
    lasted, _, held = ended
    if elsewhere:
        log.info("%d held updates were claimed by another worker meanwhile", len(elsewhere))
    # First what waited, in the order it came, before polling stores anything newer.
    handle_again(context.application, (u for i, u in held.items() if i not in elsewhere))
    if not await _tells_office(svc):
        return
    minutes = max(1, ceil(lasted / 60))
    text = t(svc.settings.campaign.language, "storage.recovered.office", minutes=minutes)
    notices = [
        Outgoing(chat_enc=svc.secrets.encrypt_int(chat), text=text, recipient=Recipient.OFFICE)
        for chat in _office_chats(svc)
    ]
    await svc.repository.queue_messages(notices)
    deliver_soon(context)


async def _claimed_elsewhere(svc: Services, held: list[int]) -> set[int]:
    """Several workers: of the updates held here, those another worker claimed while this
    one's leases could not be renewed. This worker's leases are renewed first, so the ones
    it still holds stay its own while they are handled again."""
    inbox = svc.inbox
    if not inbox.shared or not held:
        return set()
    await svc.repository.renew_claims(inbox.worker, lease_until=now_ms() + int(inbox.lease * 1000))
    return set(held) - await svc.repository.claims_held(inbox.worker, held)


def _stop_probing(context: Context) -> None:
    if context.job_queue is not None:
        for job in context.job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
