"""Reports for the office, without Telegram: the daily digest and the weekly summary (when
each is due, what it says, queued once per period), the /stats figures and chart, and the
ledger (整改台账) file that /export and ``jindianzi export`` both write.

A scheduled report is recorded by its period in the same transaction that queues it
(:func:`queue_scheduled`), so one is never sent twice; at start-up a report whose time
passed today (or this week) without being sent is due at once (:func:`missed`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import BinaryIO

from bot import charts, export
from bot.config import Language, Settings
from bot.core import indices, tasks
from bot.core.env import Env
from bot.core.presenters import status_label, topic_label
from bot.core.records import Outgoing, Recipient
from bot.core.reports import (
    FIRST_DAY,
    LedgerRow,
    compose_digest,
    compose_phases,
    compose_stats,
    day_in_range,
    ledger_cells,
    ledger_header,
    ledger_widths,
    parse_day,
    survey_sheet,
)
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import Status
from bot.i18n import resolve_language, t
from storage.desk import QueueFilter
from storage.repository import Repository

log = logging.getLogger(__name__)

DAILY, WEEKLY = "daily", "weekly"
DEFAULT_STATS_DAYS = 30
# The export's sheets of the units' indices: one per month, the most recent this many.
INDEX_SHEETS = 24
CHART_DAYS = 92  # the most days a chart draws a bar for
EXPORT_BATCH = 500  # ledger rows handed to the writing thread at a time
FUNNEL = (
    Status.NEW,
    Status.ACCEPTED,
    Status.FORWARDED,
    Status.IN_PROGRESS,
    Status.ANSWERED,
    Status.PUBLISHED,
    Status.CLOSED,
)


def local_now(env: Env) -> datetime:
    return env.now().astimezone(env.settings.campaign.tz)


def period(kind: str, local: datetime) -> str:
    """The period a report covers: the day, or the ISO week."""
    if kind == DAILY:
        return local.date().isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def due_today(settings: Settings, kind: str, local: datetime) -> bool:
    """Whether this period's report time has already passed."""
    office = settings.office
    if kind == DAILY:
        return local.time() >= office.digest_time
    scheduled = local.date() - timedelta(days=local.isoweekday() - office.weekly_weekday)
    at = datetime.combine(scheduled, office.weekly_time, tzinfo=local.tzinfo)
    return scheduled <= local.date() and local >= at


async def compose(env: Env, kind: str, lang: Language) -> list[str]:
    """The daily digest (since the last one) or the weekly summary, as messages."""
    repo, now = env.repository, env.now()
    if kind == WEEKLY:
        stats = await repo.stats(start=now - timedelta(days=7), end=now)
        data = await repo.digest_data(since=now - timedelta(days=7), until=now)
        chunks = compose_digest(lang, env.settings, data, title_key="digest.weekly_title")
        chunks += compose_stats(lang, env.settings, stats)
        week = await indices.by_unit(env, now - timedelta(days=7), now)
        chunks += indices.compose(lang, env.settings, week, now - timedelta(days=7), now)
        if env.settings.units:
            chunks += indices.compose_league(lang, env.settings, week)
        if env.settings.campaign.phases:  # the phases compared, since the campaign began
            start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
            counts = await repo.place_counts(start=start, end=now)
            by_phase = [(c.phase_id, c.kind, c.n) for c in counts]
            chunks += compose_phases(lang, env.settings, by_phase, now)
        return chunks
    since = await repo.last_digest_at(DAILY) or now - timedelta(days=1)
    data = await repo.digest_data(since=since, until=now)
    return compose_digest(lang, env.settings, data)


async def queue_scheduled(env: Env, kind: str) -> Result:
    """The scheduled job's action: queue this period's report for the office chat, unless
    it was already queued (then nothing: refused as a replay of the period)."""
    office = env.settings.roles.office_chat_id
    if not office:
        log.info("%s report skipped: no office chat configured", kind)
        return refused(Refusal.NOT_CONFIGURED)
    key = period(kind, local_now(env))
    if await env.repository.digest_sent(kind, key):
        return Result(ok=True, replayed=True)
    lang = resolve_language(env.settings.campaign.language)
    route = env.secrets.encrypt_int(office)
    whom = Recipient.OFFICE
    notices = [
        Outgoing(chat_enc=route, text=c, recipient=whom) for c in await compose(env, kind, lang)
    ]
    if kind == WEEKLY:
        now = env.now()
        png = await chart_png(env, lang, now - timedelta(days=7), now)
        if png is not None:
            notices.append(Outgoing(chat_enc=route, text="", photo=png, recipient=whom))
        week = await indices.by_unit(env, now - timedelta(days=7), now)
        rates = indices.league_chart(lang, env.settings, week, now - timedelta(days=7), now)
        league = await asyncio.to_thread(charts.render_rates, rates) if rates else None
        if league is not None:
            notices.append(Outgoing(chat_enc=route, text="", photo=league, recipient=whom))
    if not await env.repository.record_digest(kind, key, notices):
        return Result(ok=True, replayed=True)
    log.info("%s report for %s queued (%d messages)", kind, key, len(notices))
    return Result(ok=True, notices=tuple(notices))


async def missed(env: Env) -> list[str]:
    """At start-up: the reports whose time passed while the bot was down."""
    local = local_now(env)
    return [
        kind
        for kind in (DAILY, WEEKLY)
        if due_today(env.settings, kind, local)
        and not await env.repository.digest_sent(kind, period(kind, local))
    ]


# ---------------------------------------------------------------- periods asked for
class BadPeriod(ValueError):
    """A period that cannot be used; ``key`` is the catalogue key saying why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def window(
    env: Env, args: list[str], *, default_days: int | None, since: date | None = None
) -> tuple[datetime, datetime]:
    """``[from] [to]`` (YYYY-MM-DD, local dates, inclusive) as the instants [start, end);
    without ``from``, the last ``default_days`` days (None: from ``since``, the first
    item's day, or today when there is none; see :func:`first_day`). Raises
    :class:`BadPeriod` (``dates.range`` for a day outside the supported range, else the
    caller's usage)."""
    parsed = [parse_day(a) for a in args]
    days = [d for d in parsed if d is not None]
    if len(days) != len(parsed) or len(days) > 2:
        raise BadPeriod("usage")
    if not all(day_in_range(d) for d in days):
        raise BadPeriod("dates.range")
    tz = env.settings.campaign.tz
    today = local_now(env).date()
    if days:
        first = days[0]
    elif default_days is not None:
        first = today - timedelta(days=default_days - 1)
    else:
        first = min(since or today, today)
    last = days[1] if len(days) == 2 else today
    if last < first:
        raise BadPeriod("usage")
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start, end


async def first_day(env: Env) -> date | None:
    """The local day of the first item: where "everything" starts (an export's name)."""
    first = await env.repository.first_submitted_at()
    return first.astimezone(env.settings.campaign.tz).date() if first else None


# ---------------------------------------------------------------- the chart
async def chart_png(env: Env, lang: Language, start: datetime, end: datetime) -> bytes | None:
    """Items per day by topic and the status funnel for [start, end), as a PNG (drawn in
    a worker thread; None when it cannot be drawn: the report goes out without it)."""
    settings, repo = env.settings, env.repository
    tz = settings.campaign.tz
    offset = end.astimezone(tz).utcoffset() or timedelta(0)
    counts = await repo.daily_topic_counts(
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
    reached = await repo.funnel(start=start, end=end)
    days = list(charts.days_between(first, last))
    index = {d.isoformat(): i for i, d in enumerate(days)}
    per_topic: dict[str, list[int]] = {}
    for day, topic_id, n in counts:
        if day in index:
            label = topic_label(lang, settings, topic_id)
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


# ---------------------------------------------------------------- the ledger
def ledger_writer(
    target: BinaryIO, lang: Language, settings: Settings, *, as_csv: bool
) -> export.LedgerWriter:
    header = ledger_header(lang, settings)
    if as_csv:
        return export.CsvWriter(target, header)
    return export.XlsxWriter(target, t(lang, "ledger.title"), header, ledger_widths(settings))


async def ledger_file(
    repository: Repository,
    settings: Settings,
    lang: Language,
    start: datetime,
    end: datetime,
    target: BinaryIO,
    *,
    as_csv: bool,
    only: QueueFilter | None = None,
) -> int:
    """Write the ledger of items created in [start, end) (those ``only`` matches, when
    the desk's filters are given) into ``target``; returns its row count. Rows stream
    from the repository page by page and are written by a thread a batch at a time, so
    neither the whole ledger nor the writing sits on the event loop."""
    now = repository.clock()
    writer = ledger_writer(target, lang, settings, as_csv=as_csv)

    def write(rows: list[LedgerRow]) -> None:
        writer.write(ledger_cells(lang, settings, row) for row in rows)

    batch: list[LedgerRow] = []
    async for row in repository.ledger(start=start, end=end, now=now, only=only):
        batch.append(row)
        if len(batch) == EXPORT_BATCH:
            await asyncio.to_thread(write, batch)
            batch = []
    await asyncio.to_thread(write, batch)
    if isinstance(writer, export.XlsxWriter):
        if only is None and settings.units:
            for title, rows in await _index_sheets(repository, settings, lang, start, end, now):
                await asyncio.to_thread(writer.add_sheet, title, indices.header(lang), rows)
        # The satisfaction survey's counts on a sheet of their own (a CSV holds one table).
        results = await repository.survey_results()
        if results:
            header, counts = survey_sheet(lang, settings, results)
            title = t(lang, "ledger.survey.sheet")
            await asyncio.to_thread(writer.add_sheet, title, header, counts)
    await asyncio.to_thread(writer.close)
    return writer.rows


async def _index_sheets(
    repository: Repository,
    settings: Settings,
    lang: Language,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[tuple[str, list[list[export.Cell]]]]:
    """The units' indices of the export, one sheet per calendar month of the period (the
    last :data:`INDEX_SHEETS` months), a row per unit and one for all units."""
    tz = settings.campaign.tz
    first = start.astimezone(tz).date().replace(day=1)
    last = (end - timedelta(seconds=1)).astimezone(tz).date()
    months: list[date] = []
    month = first
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    overdue = await repository.unit_counts(now)
    sheets = []
    for month in months[-INDEX_SHEETS:]:
        following = (month + timedelta(days=32)).replace(day=1)
        since = max(start, datetime.combine(month, datetime.min.time(), tzinfo=tz))
        until = min(end, datetime.combine(following, datetime.min.time(), tzinfo=tz))
        counts = await repository.unit_counts_in(start=since, end=until, now=now)
        by_unit = indices.with_overdue(counts, overdue)
        rows: list[list[export.Cell]] = [
            [tasks.unit_name(settings, lang, unit_id), *indices.sheet_cells(c)]
            for unit_id, c in indices.ordered(settings, by_unit)
        ]
        rows.append([t(lang, "indices.all"), *indices.sheet_cells(indices.overall(by_unit))])
        sheets.append((t(lang, "indices.sheet", month=month.strftime("%Y-%m")), rows))
    return sheets
