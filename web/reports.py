"""The desk's reports page: the /stats figures for a period as tables with bars (readable
on a phone), the chart the weekly summary sends, and the ledger (整改台账) download for a
period and the queue's filters. The figures, the chart and the ledger file are
:mod:`bot.core.reporting`'s and :mod:`bot.core.reports`'s, the same the chat commands
send; here they are only laid out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup

from bot.config import Language, Settings
from bot.core import indices, tasks
from bot.core.env import Env
from bot.core.presenters import kind_label, local_date, status_label, topic_label
from bot.core.records import Rating
from bot.core.reporting import BadPeriod, window
from bot.core.reports import FIRST_DAY, Stats, day_in_range, parse_day
from bot.core.workflow import Kind, Status
from bot.i18n import t, tn

CSV, XLSX = "csv", "xlsx"
MEDIA_TYPES = {
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RATINGS: tuple[Rating, ...] = ("satisfied", "basically", "unsatisfied")


@dataclass(frozen=True)
class Period:
    """The period asked for, as the instants [start, end) and the form's two days;
    ``problem``: why the asked one was replaced by the default (else "")."""

    start: datetime
    end: datetime
    first: date
    last: date
    problem: str = ""


def period(
    env: Env,
    params: Mapping[str, str],
    lang: Language,
    *,
    default_days: int | None,
    since: date | None = None,
) -> Period:
    """``from`` and ``to`` (local days, inclusive) as the chat's reports read them
    (:func:`bot.core.reporting.window`); only ``to``: the ``default_days`` up to it (or
    everything before it). Without ``default_days``, everything starts on ``since`` (the
    first item's day, as /export's). Dates that cannot be used give the default period,
    and say so."""
    given_from = params.get("from", "").strip()[:10]
    given_to = params.get("to", "").strip()[:10]
    problem = ""
    last = parse_day(given_to) if given_to and not given_from else None
    if last is not None and day_in_range(last):
        first = last - timedelta(days=default_days - 1) if default_days else since or FIRST_DAY
        given_from = first.isoformat()  # (before FIRST_DAY: refused by window)
    args = [day for day in (given_from, given_to) if day]
    try:
        start, end = window(env, args, default_days=default_days, since=since)
    except BadPeriod:
        problem = t(lang, "web.reports.bad_period")
        start, end = window(env, [], default_days=default_days, since=since)
    tz = env.settings.campaign.tz
    first = start.astimezone(tz).date()
    last = (end - timedelta(seconds=1)).astimezone(tz).date()
    return Period(start, end, first, last, problem)


@dataclass(frozen=True)
class Bar:
    """One count of a breakdown, with its share of the whole (a <progress> bar)."""

    label: str
    n: int
    total: int

    @property
    def share(self) -> str:
        return f"{100 * self.n / self.total:.0f}%" if self.total else "—"


@dataclass(frozen=True)
class Breakdown:
    title: str
    bars: list[Bar]


@dataclass(frozen=True)
class StatsView:
    title: Markup
    total: int
    breakdowns: list[Breakdown]
    lines: list[str]  # first response, in time, satisfaction: the /stats sentences


def _bars(counts: Mapping[str, int], labels: Mapping[str, str], total: int) -> list[Bar]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [Bar(labels.get(key, key), n, total) for key, n in ordered if n]


@dataclass(frozen=True)
class IndicesView:
    """The units' indices as a table (admins): its header, a row per unit, the total row."""

    header: list[str]
    rows: list[list[str]]
    total: list[str]


def indices_view(
    lang: Language, settings: Settings, by_unit: Mapping[str, indices.Counts]
) -> IndicesView | None:
    """The table of :mod:`bot.core.indices` for the period (None without units)."""
    if not settings.units and not by_unit:
        return None
    return IndicesView(
        header=indices.header(lang),
        rows=[
            [tasks.unit_name(settings, lang, unit_id), *indices.cells(counts)]
            for unit_id, counts in indices.ordered(settings, by_unit)
        ],
        total=[t(lang, "indices.all"), *indices.cells(indices.overall(by_unit))],
    )


def stats_view(lang: Language, settings: Settings, stats: Stats) -> StatsView:
    """The /stats figures (:func:`bot.core.reports.compose_stats` says them in a chat)."""
    tz = settings.campaign.tz
    total = stats.total
    title = tn(
        lang,
        "stats.title",
        total,
        start=local_date(stats.start, tz),
        end=local_date(stats.end - timedelta(seconds=1), tz),
        total=total,
    )
    kinds = {k.value: kind_label(lang, k) for k in Kind}
    statuses = {s.value: status_label(lang, s) for s in Status}
    topics = {tp.id: topic_label(lang, settings, tp.id) for tp in settings.topics}
    rated = sum(stats.satisfaction.values())
    breakdowns = [
        Breakdown(
            t(lang, "web.reports.by_kind"),
            _bars({k.value: n for k, n in stats.by_kind.items()}, kinds, total),
        ),
        Breakdown(
            t(lang, "web.reports.by_status"),
            # In the order of the life cycle, not by size: where the items stand.
            [
                Bar(statuses[s.value], stats.by_status[s], total)
                for s in Status
                if stats.by_status.get(s)
            ],
        ),
        Breakdown(t(lang, "web.reports.by_topic"), _bars(stats.by_topic, topics, total)),
        Breakdown(
            t(lang, "web.reports.identity"),
            [
                Bar(t(lang, "web.named"), total - stats.anonymous, total),
                Bar(t(lang, "summary.anonymous"), stats.anonymous, total),
            ]
            if total
            else [],
        ),
        Breakdown(
            t(lang, "web.reports.satisfaction"),
            [Bar(t(lang, f"rating.{r}"), stats.satisfaction.get(r, 0), rated) for r in RATINGS]
            if rated
            else [],
        ),
    ]
    median = stats.median_first_response_hours
    lines = [t(lang, "stats.first_response", hours="—" if median is None else f"{median:.1f}")]
    if stats.answered_with_deadline:
        share = 100 * stats.answered_in_time / stats.answered_with_deadline
        lines.append(
            t(lang, "stats.in_time", share=f"{share:.0f}%", n=stats.answered_with_deadline)
        )
    # The catalogue's title is Telegram HTML (<b>) around dates and a number.
    return StatsView(Markup(title), total, [b for b in breakdowns if b.bars], lines)  # noqa: S704


def ledger_name(span: Period, kind: str) -> str:
    """The download's file name, as /export names its file."""
    return f"ledger-{span.first}-{span.last}.{kind}"
