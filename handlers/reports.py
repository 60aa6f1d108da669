"""The office's reports in Telegram: the scheduled daily digest and weekly summary (jobs),
/digest, /stats and /export. What each report holds, and when one is due, is
:mod:`bot.core.reporting`'s; here they are parsed, scheduled and sent.
"""

from __future__ import annotations

import io
import logging
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Chat, Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CommandHandler, JobQueue

from bot.config import Language, Settings
from bot.core import indices, reporting
from bot.core.reporting import DAILY, WEEKLY, BadPeriod
from bot.core.reports import FIRST_DAY, LAST_DAY, compose_stats, compose_survey
from bot.i18n import t, tn
from bot.leadership import leader_only
from bot.services import Services
from bot.text import escape
from bot.transport.delivery import deliver_soon
from handlers.admin import in_office, office_only
from handlers.context import Context, reply

log = logging.getLogger(__name__)


async def send_scheduled(context: Context) -> None:
    """Job: queue this period's report for the office chat unless it was already sent."""
    job = context.job
    kind = str(job.data) if job is not None and job.data else DAILY
    result = await reporting.queue_scheduled(context.services.core, kind)
    if result.queued:
        deliver_soon(context)


def schedule(job_queue: JobQueue[Any], settings: Settings) -> None:
    tz = settings.campaign.tz
    office = settings.office
    job_queue.run_daily(
        leader_only(send_scheduled),
        office.digest_time.replace(tzinfo=tz),
        name="digest",
        data=DAILY,
    )
    job_queue.run_daily(
        leader_only(send_scheduled),
        office.weekly_time.replace(tzinfo=tz),
        days=(office.weekly_weekday % 7,),  # PTB counts Sunday as 0
        name="weekly",
        data=WEEKLY,
    )


async def catch_up(job_queue: JobQueue[Any], svc: Services) -> None:
    """When this worker becomes the leader (at start-up, or taking over): send a report
    whose time passed while no worker sent it."""
    for kind in await reporting.missed(svc.core):
        job_queue.run_once(leader_only(send_scheduled), 0, data=kind, name=f"catch-up-{kind}")


# ---------------------------------------------------------------- commands
async def digest_command(update: Update, context: Context) -> None:
    """/digest: today's digest, here and now (not recorded: the scheduled one still goes)."""
    if not await in_office(update, context):
        return
    for chunk in await reporting.compose(context.services.core, DAILY, context.chat_language):
        await reply(update, chunk)


async def _ask_window(
    update: Update,
    context: Context,
    args: list[str],
    usage: str,
    *,
    default_days: int | None,
    since: date | None = None,
) -> tuple[datetime, datetime] | None:
    """The period the command names, or None after telling the admin what is wrong with it:
    the usage for a malformed or reversed period, the range for a day outside it."""
    lang = context.chat_language
    try:
        core = context.services.core
        return reporting.window(core, args, default_days=default_days, since=since)
    except BadPeriod as exc:
        if exc.key == "dates.range":
            await reply(update, t(lang, "dates.range", first=FIRST_DAY, last=LAST_DAY))
        else:
            await reply(update, t(lang, usage))
        return None


async def stats_command(update: Update, context: Context) -> None:
    """/stats [from] [to]: totals for items submitted in that period (default 30 days),
    and the units' indices for items dispatched in it; /stats unit <id> [from] [to]: one
    unit's indices and its open items."""
    if not await in_office(update, context):
        return
    svc, lang = context.services, context.chat_language
    if context.args and context.args[0].lower() in ("unit", "单位", "單位"):
        await _unit_stats(update, context, context.args[1:])
        return
    window = await _ask_window(
        update,
        context,
        context.args or [],
        "stats.usage",
        default_days=reporting.DEFAULT_STATS_DAYS,
    )
    if window is None:
        return
    stats = await svc.repository.stats(start=window[0], end=window[1])
    survey = compose_survey(lang, svc.settings, await svc.repository.survey_results())
    rates = indices.compose(lang, svc.settings, await indices.by_unit(svc.core, *window), *window)
    for chunk in [*compose_stats(lang, svc.settings, stats), *rates, *survey]:
        await reply(update, chunk)
    png = await reporting.chart_png(svc.core, lang, *window) if stats.total else None
    chat = update.effective_chat
    if png is not None and chat is not None:
        await chat.send_photo(png)


async def _unit_stats(update: Update, context: Context, args: list[str]) -> None:
    svc, lang = context.services, context.chat_language
    settings = svc.settings
    if not args:
        await reply(update, t(lang, "indices.unit.usage"))
        return
    wanted = args[0].strip()
    unit = settings.unit(wanted.lower()) or next(
        (u for u in settings.units if wanted in u.names.values()), None
    )
    if unit is None:
        names = "、".join(f"{u.id} {u.name(lang)}" for u in settings.units) or "—"
        await reply(
            update, t(lang, "indices.unit.unknown", value=escape(wanted), units=escape(names))
        )
        return
    window = await _ask_window(
        update, context, args[1:], "indices.unit.usage", default_days=reporting.DEFAULT_STATS_DAYS
    )
    if window is None:
        return
    counts = (await indices.by_unit(svc.core, *window)).get(unit.id, indices.Counts())
    tasks = await svc.repository.unit_tasks(unit.id)
    now = svc.core.now()
    for chunk in indices.compose_unit(lang, settings, unit.id, counts, tasks, *window, now):
        await reply(update, chunk)


async def export_command(update: Update, context: Context) -> None:
    """/export [from] [to] [csv]: the ledger as a file (default: everything, XLSX).

    The file is made in a task of its own: the admin's next commands do not wait for it
    (one admin's updates are otherwise handled one after another)."""
    if not await in_office(update, context):
        return
    chat = update.effective_chat
    if chat is None:
        return
    args = list(context.args or [])
    as_csv = bool(args) and args[-1].lower() == "csv"
    if as_csv:
        args.pop()
    since = await reporting.first_day(context.services.core)
    window = await _ask_window(
        update, context, args, "export.usage", default_days=None, since=since
    )
    if window is None:
        return
    await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
    context.application.create_task(
        _send_ledger(chat, context.services, context.chat_language, window, as_csv=as_csv),
        update=update,
        name=f"export-{update.update_id}",
    )


async def _send_ledger(
    chat: Chat, svc: Services, lang: Language, window: tuple[datetime, datetime], *, as_csv: bool
) -> None:
    start, end = window
    async with svc.export_lock:  # one at a time: each holds a thread and its file
        content = io.BytesIO()
        count = await reporting.ledger_file(
            svc.repository, svc.settings, lang, start, end, content, as_csv=as_csv
        )
    content.seek(0)
    tz = svc.settings.campaign.tz
    first, last = start.astimezone(tz).date(), (end - timedelta(seconds=1)).astimezone(tz).date()
    await chat.send_document(
        content,
        filename=f"ledger-{first}-{last}.{'csv' if as_csv else 'xlsx'}",
        caption=tn(lang, "export.caption", count, start=first, end=last, n=count),
    )


REPORT_COMMANDS = ("digest", "stats", "export")


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    office = office_only(settings)
    return [
        CommandHandler("digest", digest_command, filters=office),
        CommandHandler("stats", stats_command, filters=office),
        CommandHandler("export", export_command, filters=office),
    ]
