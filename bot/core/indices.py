"""The rates campaign offices are judged by (#19), per unit and overall, over a period, and
the weekly 通报's league table. Definitions (also in the README, "Indices"): the items of a
unit in a period are those whose current round (its dispatch, or its latest 重办) was
dispatched to it in the period; "done" means the office approved the unit's 办结 in that
round.

- 签收及时率: signed for within the sign-for limit, over items signed or past the limit;
- 按时办结率: done by the deadline (an extension approved before the deadline moves it, one
  approved after it does not), over items done or past the deadline;
- 解决率: done and never reopened (重办), over done items;
- 满意率: 满意 + 基本满意 over rated items, each item's latest rated round (未评价 apart);
- 重办率: done items that were reopened at least once, over done items;
- 平均办理时长: days from the dispatch to the office's approval, over done items;
- 逾期: the unit's open items past their deadline now (whenever dispatched).

A rate with nothing to count is shown as —. The counts come from one SQL pass
(:meth:`storage.indices.IndexQueries.unit_counts_in`); the overall row is their sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import charts
from bot.config import Language, Settings
from bot.core import tasks
from bot.core.presenters import local_date
from bot.core.records import SubmissionSummary
from bot.export import Cell, Number
from bot.i18n import t
from bot.text import escape, split_message

if TYPE_CHECKING:
    from bot.core.env import Env

RATES = ("sign", "on_time", "solved", "satisfied", "redo")


@dataclass(frozen=True)
class Counts:
    """What the rates of one unit (or all) are ratios of."""

    items: int = 0
    sign_base: int = 0
    signed_in_time: int = 0
    done: int = 0
    due_base: int = 0
    done_in_time: int = 0
    solved: int = 0
    redone: int = 0
    done_days: float = 0.0
    rated: int = 0
    satisfied: int = 0
    overdue: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def with_overdue(self, overdue: int) -> Counts:
        return replace(self, overdue=overdue)

    def rate(self, name: str) -> float | None:
        """One of :data:`RATES` as a fraction (None: nothing to count)."""
        part, whole = {
            "sign": (self.signed_in_time, self.sign_base),
            "on_time": (self.done_in_time, self.due_base),
            "solved": (self.solved, self.done),
            "satisfied": (self.satisfied, self.rated),
            "redo": (self.redone, self.done),
        }[name]
        return part / whole if whole else None

    @property
    def average_days(self) -> float | None:
        return self.done_days / self.done if self.done else None


def overall(by_unit: Mapping[str, Counts]) -> Counts:
    return sum(by_unit.values(), Counts())


def with_overdue(
    by_unit: Mapping[str, Counts], open_counts: Mapping[str, tuple[int, int, int]]
) -> dict[str, Counts]:
    """The period's counts with each unit's items overdue now (from
    :meth:`storage.loop.LoopQueries.unit_counts`: open, overdue, unsigned)."""
    units = set(by_unit) | {u for u, (_, overdue, _) in open_counts.items() if overdue}
    return {
        u: by_unit.get(u, Counts()).with_overdue(open_counts.get(u, (0, 0, 0))[1]) for u in units
    }


def score(settings: Settings, counts: Counts) -> float | None:
    """The 通报's composite score: the configured weights of 按时办结率, 满意率, 签收及时率
    and 1 − 重办率 (a rate with nothing to count is left out, the others' weights scaled)."""
    weights = settings.indices
    redo = counts.rate("redo")
    parts = [
        (weights.on_time, counts.rate("on_time")),
        (weights.satisfied, counts.rate("satisfied")),
        (weights.sign, counts.rate("sign")),
        (weights.not_redone, None if redo is None else 1 - redo),
    ]
    known = [(w, v) for w, v in parts if v is not None and w > 0]
    total = sum(w for w, _ in known)
    return sum(w * v for w, v in known) / total if total else None


@dataclass(frozen=True)
class Ranked:
    unit_id: str
    score: float
    counts: Counts
    below: bool


def league(settings: Settings, by_unit: Mapping[str, Counts]) -> list[Ranked]:
    """The units with at least ``indices.min_items`` items in the period, best score first
    (ties by id); ``below`` the configured line."""
    ranked = []
    for unit_id, counts in by_unit.items():
        value = score(settings, counts)
        if counts.items >= settings.indices.min_items and value is not None:
            ranked.append(Ranked(unit_id, value, counts, value < settings.indices.line))
    return sorted(ranked, key=lambda r: (-r.score, r.unit_id))


PERCENT, DAYS = "0.0%", "0.0"  # the worksheet's formats of what percent() and days() write


def percent(value: float | None) -> str:
    return "—" if value is None else Number(value, PERCENT).text()


def days(value: float | None) -> str:
    return "—" if value is None else Number(value, DAYS).text()


def cells(counts: Counts) -> list[str]:
    """A row of the table: items, the five rates, average days, overdue now."""
    return [
        str(counts.items),
        *(percent(counts.rate(name)) for name in RATES),
        days(counts.average_days),
        str(counts.overdue),
    ]


def sheet_cells(counts: Counts) -> list[Cell]:
    """The same row for a worksheet: numbers (rates in a percent format, days to one
    decimal), an empty cell where a rate has nothing to count."""
    return [
        counts.items,
        *(_number(counts.rate(name), PERCENT) for name in RATES),
        _number(counts.average_days, DAYS),
        counts.overdue,
    ]


def _number(value: float | None, fmt: str) -> Number | None:
    return None if value is None else Number(value, fmt)


def header(lang: Language) -> list[str]:
    return [t(lang, "indices.col.unit"), t(lang, "indices.col.items")] + [
        t(lang, f"indices.col.{name}") for name in (*RATES, "days", "overdue")
    ]


def ordered(settings: Settings, by_unit: Mapping[str, Counts]) -> Sequence[tuple[str, Counts]]:
    """The configured units in their order (those with nothing counted too), then any unit
    id found in the items that the configuration no longer lists."""
    known = [u.id for u in settings.units]
    rest = sorted(set(by_unit) - set(known))
    return [(u, by_unit.get(u, Counts())) for u in (*known, *rest)]


# ---------------------------------------------------------------- what the office reads
async def by_unit(env: Env, start: datetime, end: datetime) -> dict[str, Counts]:
    """Each unit's counts for items dispatched in [start, end), with its items overdue now."""
    now = env.now()
    counts = await env.repository.unit_counts_in(start=start, end=end, now=now)
    return with_overdue(counts, await env.repository.unit_counts(now))


def _period(settings: Settings, start: datetime, end: datetime) -> dict[str, str]:
    tz = settings.campaign.tz
    return {
        "start": local_date(start, tz),
        "end": local_date(end - timedelta(seconds=1), tz),
    }


def _line(lang: Language, name: str, counts: Counts) -> str:
    items, sign, on_time, solved, satisfied, redo, avg, overdue = cells(counts)
    return t(
        lang,
        "indices.line",
        unit=escape(name),
        items=items,
        sign=sign,
        on_time=on_time,
        solved=solved,
        satisfied=satisfied,
        redo=redo,
        days=avg,
        overdue=overdue,
    )


def compose(
    lang: Language,
    settings: Settings,
    counts: Mapping[str, Counts],
    start: datetime,
    end: datetime,
) -> list[str]:
    """The indices per unit and overall (for /stats and the weekly summary); nothing
    without units."""
    if not settings.units and not counts:
        return []
    lines = [t(lang, "indices.title", **_period(settings, start, end))]
    for unit_id, unit_counts in ordered(settings, counts):
        lines.append(_line(lang, tasks.unit_name(settings, lang, unit_id), unit_counts))
    lines.append(_line(lang, t(lang, "indices.all"), overall(counts)))
    return split_message("\n".join(lines))


def compose_unit(
    lang: Language,
    settings: Settings,
    unit_id: str,
    counts: Counts,
    open_items: Sequence[SubmissionSummary],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[str]:
    """/stats unit <id>: the unit's indices over the period and its open items."""
    name = tasks.unit_name(settings, lang, unit_id)
    lines = [
        t(lang, "indices.unit.title", unit=escape(name), **_period(settings, start, end)),
        _line(lang, name, counts),
        "",
    ]
    if open_items:
        lines.append(t(lang, "indices.unit.open"))
        lines += tasks.task_lines(lang, settings, open_items, now)
    else:
        lines.append(t(lang, "indices.unit.none_open"))
    return split_message("\n".join(lines))


def compose_league(lang: Language, settings: Settings, counts: Mapping[str, Counts]) -> list[str]:
    """The weekly 通报: the ranked units and their scores, those below the line named."""
    config = settings.indices
    lines = [
        t(
            lang,
            "indices.league.title",
            on_time=f"{config.on_time:g}",
            satisfied=f"{config.satisfied:g}",
            sign=f"{config.sign:g}",
            not_redone=f"{config.not_redone:g}",
            min=str(config.min_items),
        )
    ]
    ranked = league(settings, counts)
    if not ranked:
        lines.append(t(lang, "indices.league.empty", min=str(config.min_items)))
        return split_message("\n".join(lines))
    for rank, row in enumerate(ranked, start=1):
        name = escape(tasks.unit_name(settings, lang, row.unit_id))
        mark = " ⚠️" if row.below else ""
        lines.append(
            t(lang, "indices.league.line", rank=str(rank), unit=name, score=percent(row.score))
            + mark
        )
    below = [escape(tasks.unit_name(settings, lang, r.unit_id)) for r in ranked if r.below]
    line = percent(config.line)
    if below:
        lines.append(t(lang, "indices.league.below", line=line, units="、".join(below)))
    else:
        lines.append(t(lang, "indices.league.none_below", line=line))
    return split_message("\n".join(lines))


def league_chart(
    lang: Language,
    settings: Settings,
    counts: Mapping[str, Counts],
    start: datetime,
    end: datetime,
) -> charts.RatesData | None:
    """The 通报's chart data: each ranked unit's rates (None: nobody ranked)."""
    ranked = league(settings, counts)
    if not ranked:
        return None
    shown = ("on_time", "satisfied", "sign", "solved")
    return charts.RatesData(
        title=t(lang, "indices.chart.title", **_period(settings, start, end)),
        units=[tasks.unit_name(settings, lang, r.unit_id) for r in ranked],
        rates={
            t(lang, f"indices.col.{name}"): [100 * (r.counts.rate(name) or 0.0) for r in ranked]
            for name in shown
        },
        line=100 * settings.indices.line,
    )
