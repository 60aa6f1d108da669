"""Reports for the office: the scheduled daily digest and weekly summary, /digest, /stats
and /export (the ledger as XLSX or CSV).

Scheduled reports are recorded by period in the same transaction that queues them, so one
is never sent twice; at start-up a report whose time has passed today (or this week)
without being sent is sent at once, so a bot that was down at that minute does not skip it.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO

from telegram import Chat, Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CommandHandler, JobQueue

from bot import charts, export
from bot.config import Language, Settings
from bot.i18n import resolve_language, t, tn
from bot.presenters import status_label, topic_label
from bot.records import Outgoing, Recipient
from bot.reports import (
    FIRST_DAY,
    LAST_DAY,
    LedgerRow,
    compose_digest,
    compose_stats,
    day_in_range,
    ledger_cells,
    ledger_header,
    parse_day,
)
from bot.services import Services, get_services
from bot.workflow import Status
from handlers.admin import admin_language, in_office, office_only
from handlers.context import Context, reply, services
from handlers.delivery import deliver_soon
from storage.repository import Repository

log = logging.getLogger(__name__)

DAILY, WEEKLY = "daily", "weekly"
DEFAULT_STATS_DAYS = 30
CHART_DAYS = 92  # the most days a chart draws a bar for


def _local_now(svc: Services) -> datetime:
    return svc.repository.clock().astimezone(svc.settings.campaign.tz)


def _period(kind: str, local: datetime) -> str:
    if kind == DAILY:
        return local.date().isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def _due_today(svc: Services, kind: str, local: datetime) -> bool:
    """Whether this period's report time has already passed."""
    office = svc.settings.office
    if kind == DAILY:
        return local.time() >= office.digest_time
    scheduled = local.date() - timedelta(days=local.isoweekday() - office.weekly_weekday)
    at = datetime.combine(scheduled, office.weekly_time, tzinfo=local.tzinfo)
    return scheduled <= local.date() and local >= at


async def _compose(svc: Services, kind: str, lang: Language) -> list[str]:
    now = svc.repository.clock()
    if kind == WEEKLY:
        stats = await svc.repository.stats(start=now - timedelta(days=7), end=now)
        data = await svc.repository.digest_data(since=now - timedelta(days=7), until=now)
        return compose_digest(
            lang, svc.settings, data, title_key="digest.weekly_title"
        ) + compose_stats(lang, svc.settings, stats)
    since = await svc.repository.last_digest_at(DAILY) or now - timedelta(days=1)
    data = await svc.repository.digest_data(since=since, until=now)
    return compose_digest(lang, svc.settings, data)


async def send_scheduled(context: Context) -> None:
    """Job: queue this period's report for the office chat unless it was already sent."""
    job = context.job
    kind = str(job.data) if job is not None and job.data else DAILY
    svc = get_services(context)
    office = svc.settings.roles.office_chat_id
    if not office:
        log.info("%s report skipped: no office chat configured", kind)
        return
    local = _local_now(svc)
    period = _period(kind, local)
    if await svc.repository.digest_sent(kind, period):
        return
    lang = resolve_language(svc.settings.campaign.language)
    route = svc.secrets.encrypt_int(office)
    chunks = await _compose(svc, kind, lang)
    notices = [Outgoing(chat_enc=route, text=c, recipient=Recipient.OFFICE) for c in chunks]
    if kind == WEEKLY:
        now = svc.repository.clock()
        png = await chart_png(svc, lang, now - timedelta(days=7), now)
        if png is not None:
            notices.append(Outgoing(chat_enc=route, text="", photo=png, recipient=Recipient.OFFICE))
    if await svc.repository.record_digest(kind, period, notices):
        log.info("%s report for %s queued (%d messages)", kind, period, len(notices))
        deliver_soon(context)


def schedule(job_queue: JobQueue[Any], settings: Settings) -> None:
    tz = settings.campaign.tz
    office = settings.office
    job_queue.run_daily(
        send_scheduled, office.digest_time.replace(tzinfo=tz), name="digest", data=DAILY
    )
    job_queue.run_daily(
        send_scheduled,
        office.weekly_time.replace(tzinfo=tz),
        days=(office.weekly_weekday % 7,),  # PTB counts Sunday as 0
        name="weekly",
        data=WEEKLY,
    )


async def catch_up(job_queue: JobQueue[Any], svc: Services) -> None:
    """At start-up: send a report whose time passed while the bot was down."""
    local = _local_now(svc)
    for kind in (DAILY, WEEKLY):
        if _due_today(svc, kind, local) and not await svc.repository.digest_sent(
            kind, _period(kind, local)
        ):
            job_queue.run_once(send_scheduled, 0, data=kind, name=f"catch-up-{kind}")


# ---------------------------------------------------------------- commands
async def digest_command(update: Update, context: Context) -> None:
    """/digest: today's digest, here and now (not recorded: the scheduled one still goes)."""
    if not await in_office(update, context):
        return
    lang = await admin_language(update, context)
    for chunk in await _compose(services(context), DAILY, lang):
        await reply(update, chunk)


def _days(args: list[str]) -> list[date] | None:
    """[from] [to] as dates; None if there are more than two or one is not YYYY-MM-DD."""
    parsed = [parse_day(a) for a in args]
    days = [d for d in parsed if d is not None]
    if len(days) != len(parsed) or len(days) > 2:
        return None
    return days


def _window(
    svc: Services, days: list[date], *, default_days: int | None
) -> tuple[datetime, datetime] | None:
    """[from] [to] as local dates (inclusive) → [start, end) instants; None if reversed."""
    tz = svc.settings.campaign.tz
    today = _local_now(svc).date()
    if days:
        first = days[0]
    elif default_days is not None:
        first = today - timedelta(days=default_days - 1)
    else:
        first = date(2000, 1, 1)
    last = days[1] if len(days) == 2 else today
    if last < first:
        return None
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start, end


async def _ask_window(
    update: Update, context: Context, lang: Language, args: list[str], usage: str, **kw: Any
) -> tuple[datetime, datetime] | None:
    """The period the command names, or None after telling the admin what is wrong with it:
    the usage for a malformed or reversed period, the range for a day outside it."""
    days = _days(args)
    if days is not None and not all(day_in_range(d) for d in days):
        await reply(update, t(lang, "dates.range", first=FIRST_DAY, last=LAST_DAY))
        return None
    window = None if days is None else _window(services(context), days, **kw)
    if window is None:
        await reply(update, t(lang, usage))
    return window


FUNNEL = (
    Status.NEW,
    Status.ACCEPTED,
    Status.FORWARDED,
    Status.IN_PROGRESS,
    Status.ANSWERED,
    Status.PUBLISHED,
    Status.CLOSED,
)


async def chart_png(svc: Services, lang: Language, start: datetime, end: datetime) -> bytes | None:
    """Items per day by topic and the status funnel for [start, end), as a PNG."""
    tz = svc.settings.campaign.tz
    offset = end.astimezone(tz).utcoffset() or timedelta(0)
    counts = await svc.repository.daily_topic_counts(
        start=start, end=end, utc_offset_minutes=int(offset.total_seconds() // 60)
    )
    first = start.astimezone(tz).date()
    last = (end - timedelta(seconds=1)).astimezone(tz).date()
    if (last - first).days >= CHART_DAYS and counts:
        # A long period (/stats 1970-01-01): the days that hold items, at most the last
        # CHART_DAYS of them; a bar per day over decades is neither drawable nor readable.
        last = min(last, date.fromisoformat(counts[-1][0]))
        first = max(first, date.fromisoformat(counts[0][0]), last - timedelta(CHART_DAYS - 1))
        start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    reached = await svc.repository.funnel(start=start, end=end)
    days = list(charts.days_between(first, last))
    index = {d.isoformat(): i for i, d in enumerate(days)}
    per_topic: dict[str, list[int]] = {}
    for day, topic_id, n in counts:
        if day in index:
            label = topic_label(lang, svc.settings, topic_id)
            per_topic.setdefault(label, [0] * len(days))[index[day]] += n
    data = charts.ChartData(
        title=t(lang, "chart.title", start=first, end=last),
        days=days,
        per_topic=per_topic,
        funnel=[(status_label(lang, s), reached.get(s, 0)) for s in FUNNEL],
        others_label=t(lang, "chart.others"),
        per_day_title=t(lang, "chart.per_day"),
        funnel_title=t(lang, "chart.funnel"),
    )
    try:
        return await asyncio.to_thread(charts.render, data)
    except (UserWarning, ValueError, RuntimeError, OSError):
        log.exception("chart not drawn")  # the report goes out without it
        return None


async def stats_command(update: Update, context: Context) -> None:
    """/stats [from] [to]: totals for items submitted in that period (default 30 days)."""
    if not await in_office(update, context):
        return
    svc = services(context)
    lang = await admin_language(update, context)
    window = await _ask_window(
        update, context, lang, context.args or [], "stats.usage", default_days=DEFAULT_STATS_DAYS
    )
    if window is None:
        return
    stats = await svc.repository.stats(start=window[0], end=window[1])
    for chunk in compose_stats(lang, svc.settings, stats):
        await reply(update, chunk)
    png = await chart_png(svc, lang, *window) if stats.total else None
    chat = update.effective_chat
    if png is not None and chat is not None:
        await chat.send_photo(png)


EXPORT_BATCH = 500  # ledger rows handed to the writing thread at a time


def ledger_writer(target: BinaryIO, lang: Language, *, as_csv: bool) -> export.LedgerWriter:
    header = ledger_header(lang)
    if as_csv:
        return export.CsvWriter(target, header)
    return export.XlsxWriter(target, t(lang, "ledger.title"), header)


async def ledger_file(
    repository: Repository,
    settings: Settings,
    lang: Language,
    start: datetime,
    end: datetime,
    target: BinaryIO,
    *,
    as_csv: bool,
) -> int:
    """Write the ledger of items created in [start, end) into ``target``; returns its row
    count. Rows stream from the repository page by page and are written by a thread a
    batch at a time, so neither the whole ledger nor the writing sits on the event loop."""
    now = repository.clock()
    writer = ledger_writer(target, lang, as_csv=as_csv)

    def write(rows: list[LedgerRow]) -> None:
        writer.write(ledger_cells(lang, settings, row) for row in rows)

    batch: list[LedgerRow] = []
    async for row in repository.ledger(start=start, end=end, now=now):
        batch.append(row)
        if len(batch) == EXPORT_BATCH:
            await asyncio.to_thread(write, batch)
            batch = []
    await asyncio.to_thread(write, batch)
    await asyncio.to_thread(writer.close)
    return writer.rows


async def export_command(update: Update, context: Context) -> None:
    """/export [from] [to] [csv]: the ledger as a file (default: everything, XLSX).

    The file is made in a task of its own: the admin's next commands do not wait for it
    (one admin's updates are otherwise handled one after another)."""
    if not await in_office(update, context):
        return
    chat = update.effective_chat
    if chat is None:
        return
    lang = await admin_language(update, context)
    args = list(context.args or [])
    as_csv = bool(args) and args[-1].lower() == "csv"
    if as_csv:
        args.pop()
    window = await _ask_window(update, context, lang, args, "export.usage", default_days=None)
    if window is None:
        return
    await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
    context.application.create_task(
        _send_ledger(chat, services(context), lang, window, as_csv=as_csv),
        update=update,
        name=f"export-{update.update_id}",
    )


async def _send_ledger(
    chat: Chat, svc: Services, lang: Language, window: tuple[datetime, datetime], *, as_csv: bool
) -> None:
    start, end = window
    async with svc.export_lock:  # one at a time: each holds a thread and its file
        content = io.BytesIO()
        count = await ledger_file(
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
