"""Jobs that keep the database from holding more than it must (#13).

Every job but the WAL scrub (each process truncates the log after its own deletions) and
the model's refresh runs on the leader only (:mod:`bot.leadership`).

- **The model's refresh** (#24): every minute a worker loads the topic model if another
  worker (the leader, which trains) saved a newer one.

- **WAL scrub**: after a draft, a handled update's body, a conversation or a route was
  deleted, the write-ahead log still holds the pages from before; every
  ``anonymity.wal_scrub_seconds`` the log is checkpointed and truncated if something was
  deleted since the last time (``secure_delete`` has already overwritten the database file).
- **Chasing** (#19): every ``escalation.check_seconds`` the reminders and escalations
  (催办 / 督办) reached are sent (:func:`bot.core.escalation.chase`).
- **The survey at a phase's end**: every 10 minutes, a phase that has ended and says
  ``survey = true`` gets its satisfaction survey, once (:mod:`bot.core.surveying`).
- **Unlinking**: once an hour, anonymous items closed more than
  ``anonymity.unlink_after_days`` ago lose their reply route and ownership tag (see
  :meth:`storage.residents.ResidentQueries.unlink_closed`); messages held for a sender's
  choice (answer or new submission) that nobody placed in a day are deleted.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram.ext import JobQueue

from bot.config import Settings
from bot.core import escalation, rating, surveying
from bot.leadership import leader_only
from bot.transport.delivery import deliver_soon
from handlers.context import Context

log = logging.getLogger(__name__)

UNLINK_EVERY = timedelta(hours=1)
# How often the ended phases are checked for their automatic survey.
SURVEY_CHECK_EVERY = timedelta(minutes=10)
# How often a worker looks for a model another worker saved.
MODEL_REFRESH_EVERY = timedelta(minutes=1)


async def scrub_wal(context: Context) -> None:
    await context.services.repository.scrub_wal()


async def unlink_closed(context: Context) -> None:
    svc = context.services
    days = svc.settings.anonymity.unlink_after_days
    count = await svc.repository.unlink_closed(svc.repository.clock() - timedelta(days=days))
    if count:
        log.info(
            "%d anonymous items closed over %d days ago unlinked from their senders", count, days
        )
        await svc.repository.scrub_wal()
    purged = await svc.repository.purge_held()
    if purged:
        log.info("%d held messages nobody placed deleted", purged)


async def close_unrated(context: Context) -> None:
    closed = await rating.close_unrated(context.services.core)
    if closed:
        log.info("%d answers nobody rated in time closed as unrated", len(closed))
        deliver_soon(context)


async def chase(context: Context) -> None:
    if await escalation.chase(context.services.core):
        deliver_soon(context)


async def survey_ended_phases(context: Context) -> None:
    """The satisfaction survey of a phase that has ended and says ``survey = true``: once,
    through the outbox and its flood limiter (bot.core.surveying.send_ended_phases)."""
    sent = await surveying.send_ended_phases(context.services.core)
    if sent:
        log.info("the survey of ended phases sent by itself: %s", ", ".join(sent))
        deliver_soon(context)


async def refresh_model(context: Context) -> None:
    learner = context.services.learner
    if learner is not None:
        await learner.refresh()


def schedule(job_queue: JobQueue[Any], settings: Settings) -> None:
    job_queue.run_repeating(refresh_model, interval=MODEL_REFRESH_EVERY, name="model-refresh")
    job_queue.run_repeating(
        scrub_wal, interval=settings.anonymity.wal_scrub_seconds, name="wal-scrub"
    )
    job_queue.run_repeating(
        leader_only(unlink_closed), interval=UNLINK_EVERY, first=1, name="unlink"
    )
    job_queue.run_repeating(
        leader_only(close_unrated), interval=UNLINK_EVERY, first=2, name="unrated"
    )
    job_queue.run_repeating(
        leader_only(chase), interval=settings.escalation.check_seconds, first=3, name="chase"
    )
    if any(phase.survey for phase in settings.campaign.phases):
        job_queue.run_repeating(
            leader_only(survey_ended_phases),
            interval=SURVEY_CHECK_EVERY,
            first=3,
            name="survey-phases",
        )
