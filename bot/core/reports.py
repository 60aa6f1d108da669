"""What the office reads about the campaign as a whole: the daily digest, statistics and
the ledger (整改台账). Records filled by :mod:`storage.reports`, and pure functions that
turn them into messages and table rows. No Telegram here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.config import Language, Settings
from bot.core.phases import phase_line, phase_now
from bot.core.presenters import (
    kind_label,
    local_date,
    phase_label,
    place_label,
    status_label,
    topic_label,
)
from bot.core.records import RATINGS, Rating
from bot.core.workflow import Kind, Status, format_reference
from bot.i18n import t, tn
from bot.text import escape, shorten, split_message

TOP_TOPICS = 5
LISTED = 30  # items listed by reference in a digest section before "…"


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)


class OverdueItem(_Report):
    id: int
    owner: str | None  # the free-text owner of items assigned before units (#18)
    days: int
    unit_id: str | None = None


class DigestData(_Report):
    """What changed since the last digest, and what needs attention now."""

    since: datetime
    until: datetime
    new_by_kind: dict[Kind, int]
    new_by_topic: dict[str, int]
    awaiting_review: int
    forwarded: list[int]  # items with the leading group (the first ones, by number)
    forwarded_count: int = 0
    overdue: list[OverdueItem]
    published: int
    satisfaction: dict[Rating, int]
    top_topics_week: list[tuple[str, int]]
    # Places with an item in the seven days before ``until`` (the others are "silent").
    active_places: list[str] = []
    # The units' loop (#18): dispatched items not signed for in time (the first ones, by
    # number, and how many), and what waits for the office: 退单, 延期申请, 办结 to check.
    unrated: int = 0  # answers nobody rated in time (未评价), apart from the ratings
    unsigned: list[int] = []
    unsigned_count: int = 0
    returned: int = 0
    extensions: int = 0
    checks: int = 0

    @property
    def new_total(self) -> int:
        return sum(self.new_by_kind.values())

    @property
    def is_quiet(self) -> bool:
        return not (
            self.new_total
            or self.awaiting_review
            or self.forwarded
            or self.overdue
            or self.published
            or self.unsigned
            or self.returned
            or self.extensions
            or self.checks
        )


class Stats(_Report):
    """Totals for items created in [start, end)."""

    start: datetime
    end: datetime
    total: int
    by_kind: dict[Kind, int]
    by_status: dict[Status, int]
    by_topic: dict[str, int]
    anonymous: int
    median_first_response_hours: float | None
    answered_with_deadline: int
    answered_in_time: int
    satisfaction: dict[Rating, int]
    by_place: dict[str, int] = {}  # place id ('' = not said) -> items
    by_phase: dict[str, int] = {}  # phase id ('' = outside the phases) -> items


class LedgerRow(_Report):
    """One line of the rectification ledger; anonymous senders have no name here."""

    id: int
    created_at: datetime
    kind: Kind
    topic_id: str
    text: str
    sender_name: str | None  # None = anonymous
    status: Status
    owner: str | None
    deadline: datetime | None
    overdue_days: int
    instruction: str | None
    response: str | None
    published_at: datetime | None
    rating: Rating | None
    place_id: str | None = None
    phase_id: str | None = None
    # The units' loop (#18).
    unit_id: str | None = None
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    done_at: datetime | None = None
    # Each decided 延期申请: (the date asked for, approved).
    extensions: tuple[tuple[str, bool], ...] = ()
    reopen_count: int = 0
    # Each rating round (a round is each answer the sender got): rating, reason, words.
    rounds: tuple[tuple[str, str, str], ...] = ()
    source: str = "chat"  # where it came from (bot.core.entering.SOURCES)
    support: int = 0  # 附议: how many people said "me too"


# ---------------------------------------------------------------- digest
def _counts_line(lang: Language, counts: dict[str, int], label: dict[str, str]) -> str:
    """The most first; equal counts in the catalogue's order (``label``'s), not in the order
    the database grouped them (#24: PostgreSQL's hash aggregation has none)."""
    order = {key: i for i, key in enumerate(label)}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order)), kv[0]))
    parts = [f"{label.get(key, key)} {n}" for key, n in ranked]
    return ("、" if lang != "en" else ", ").join(parts)


def _refs(ids: Sequence[int], total: int | None = None) -> str:
    shown = " ".join(format_reference(i) for i in ids[:LISTED])
    return shown + (" …" if max(total or 0, len(ids)) > LISTED else "")


def silent_places(lang: Language, settings: Settings, active: Sequence[str]) -> list[str]:
    """Which villages are silent this week: the places without an item (of their own or
    of a place under them) in the last seven days, grouped by their parent (HTML lines)."""
    if not settings.places:
        return []
    index = settings.place_index
    silent = index.silent(set(active))
    count = sum(len(group) for group in silent.values())
    if not count:
        return [t(lang, "digest.places_all_heard")]
    lines = [tn(lang, "digest.silent", count, n=count)]
    comma = "、" if lang != "en" else ", "
    shown = 0
    for parent, places in silent.items():
        if shown >= LISTED:
            lines.append("…")
            break
        names = comma.join(escape(p.name(lang)) for p in places[: LISTED - shown])
        names += " …" if len(places) > LISTED - shown else ""
        shown += len(places)
        if parent is None:
            lines.append(f"• {names}")
        else:
            group = escape(index.label(lang, parent))
            lines.append(f"• {group}：{names}" if lang != "en" else f"• {group}: {names}")
    return lines


def compose_digest(
    lang: Language, settings: Settings, data: DigestData, *, title_key: str = "digest.title"
) -> list[str]:
    """The digest as messages within Telegram's limit; a quiet day is one line (with the
    phase and the silent places, when there are phases and places)."""
    tz = settings.campaign.tz
    title = t(
        lang, title_key, campaign=escape(settings.campaign.name), date=local_date(data.until, tz)
    )
    phase = phase_line(lang, phase_now(settings, data.until))
    head = [title, *([phase] if phase else [])]
    if data.is_quiet:
        quiet = [*head, t(lang, "digest.quiet", since=local_date(data.since, tz))]
        return split_message("\n".join(quiet + silent_places(lang, settings, data.active_places)))
    topics = {tp.id: tp.name(lang) for tp in settings.topics}
    lines = list(head)
    kinds = {k.value: kind_label(lang, k) for k in Kind}
    lines.append(
        t(
            lang,
            "digest.new",
            n=data.new_total,
            kinds=_counts_line(lang, {k.value: n for k, n in data.new_by_kind.items()}, kinds),
        )
    )
    if data.new_by_topic:
        lines.append(
            t(lang, "digest.by_topic", topics=escape(_counts_line(lang, data.new_by_topic, topics)))
        )
    lines.append(t(lang, "digest.awaiting_review", n=data.awaiting_review))
    if data.forwarded:
        count = max(data.forwarded_count, len(data.forwarded))
        lines.append(t(lang, "digest.forwarded", n=count, refs=_refs(data.forwarded, count)))
    if data.overdue:
        lines.append(t(lang, "digest.overdue", n=len(data.overdue)))
        for item in data.overdue:
            lines.append(
                tn(
                    lang,
                    "digest.overdue_line",
                    item.days,
                    ref=format_reference(item.id),
                    owner=escape(
                        unit_label(lang, settings, item.unit_id)
                        if item.unit_id
                        else item.owner or "—"
                    ),
                    days=item.days,
                )
            )
    if data.unsigned:
        count = max(data.unsigned_count, len(data.unsigned))
        lines.append(t(lang, "digest.unsigned", n=count, refs=_refs(data.unsigned, count)))
    if data.returned or data.extensions or data.checks:
        lines.append(
            t(
                lang,
                "digest.office_decisions",
                returned=data.returned,
                extensions=data.extensions,
                checks=data.checks,
            )
        )
    if data.published:
        lines.append(t(lang, "digest.published", n=data.published))
    rated = sum(data.satisfaction.values())
    if rated:
        lines.append(t(lang, "digest.satisfaction", n=rated, **_rating_shares(data.satisfaction)))
    if data.unrated:
        lines.append(t(lang, "digest.unrated", n=data.unrated))
    if data.top_topics_week:
        week = _counts_line(lang, dict(data.top_topics_week), topics)
        lines.append(t(lang, "digest.top_topics", topics=escape(week)))
    lines += silent_places(lang, settings, data.active_places)
    return split_message("\n".join(lines))


def _rating_shares(counts: dict[Rating, int]) -> dict[str, str]:
    total = sum(counts.values()) or 1
    return {
        r: f"{100 * counts.get(r, 0) / total:.0f}%"
        for r in ("satisfied", "basically", "unsatisfied")
    }


# ---------------------------------------------------------------- stats
def compose_stats(lang: Language, settings: Settings, stats: Stats) -> list[str]:
    tz = settings.campaign.tz
    lines = [
        tn(
            lang,
            "stats.title",
            stats.total,
            start=local_date(stats.start, tz),
            end=local_date(stats.end - timedelta(seconds=1), tz),
            total=stats.total,
        )
    ]
    if stats.total:
        kinds = {k.value: kind_label(lang, k) for k in Kind}
        statuses = {s.value: status_label(lang, s) for s in Status}
        topics = {tp.id: tp.name(lang) for tp in settings.topics}
        lines.append(
            t(
                lang,
                "stats.by_kind",
                value=_counts_line(lang, {k.value: n for k, n in stats.by_kind.items()}, kinds),
            )
        )
        lines.append(
            t(
                lang,
                "stats.by_status",
                value=_counts_line(
                    lang, {s.value: n for s, n in stats.by_status.items()}, statuses
                ),
            )
        )
        lines.append(
            t(lang, "stats.by_topic", value=escape(_counts_line(lang, stats.by_topic, topics)))
        )
        if settings.places or any(stats.by_place):
            ids = [*(p.id for p in settings.places), *sorted(stats.by_place)]  # configured first
            places = {p: place_label(lang, settings, p or None) for p in ids}
            value = escape(_counts_line(lang, stats.by_place, places))
            lines.append(t(lang, "stats.by_place", value=value))
        if settings.campaign.phases or any(stats.by_phase):
            ids = [*(p.id for p in settings.campaign.phases), *sorted(stats.by_phase)]
            phases = {p: phase_label(lang, settings, p or None) for p in ids}
            value = escape(_counts_line(lang, stats.by_phase, phases))
            lines.append(t(lang, "stats.by_phase", value=value))
        lines.append(
            t(
                lang,
                "stats.identity",
                named=stats.total - stats.anonymous,
                anonymous=stats.anonymous,
            )
        )
        median = stats.median_first_response_hours
        lines.append(
            t(lang, "stats.first_response", hours="—" if median is None else f"{median:.1f}")
        )
        if stats.answered_with_deadline:
            share = 100 * stats.answered_in_time / stats.answered_with_deadline
            lines.append(
                t(lang, "stats.in_time", share=f"{share:.0f}%", n=stats.answered_with_deadline)
            )
        rated = sum(stats.satisfaction.values())
        if rated:
            lines.append(
                tn(lang, "stats.satisfaction", rated, n=rated, **_rating_shares(stats.satisfaction))
            )
    return split_message("\n".join(lines))


def compose_phases(
    lang: Language,
    settings: Settings,
    counts: Sequence[tuple[str | None, Kind, int]],
    now: datetime,
) -> list[str]:
    """The weekly summary's comparison of the phases: items per phase so far (by kind),
    for every phase that has begun, and those outside the phases. Empty without phases."""
    if not settings.campaign.phases:
        return []
    per: dict[str | None, dict[Kind, int]] = {}
    for phase_id, kind, n in counts:
        per.setdefault(phase_id, {}).setdefault(kind, 0)
        per[phase_id][kind] += n
    today = now.astimezone(settings.campaign.tz).date()
    kinds = {k.value: kind_label(lang, k) for k in Kind}
    lines = [t(lang, "phases.title")]
    rows: list[tuple[str, str, dict[Kind, int]]] = [
        (escape(p.name(lang)), f"{p.start.isoformat()} – {p.end.isoformat()}", per.get(p.id, {}))
        for p in settings.campaign.phases
        if p.start <= today or p.id in per
    ]
    known = {p.id for p in settings.campaign.phases}
    outside = sum(n for pid, by_kind in per.items() if pid not in known for n in by_kind.values())
    for name, period, by_kind in rows:
        total = sum(by_kind.values())
        detail = _counts_line(lang, {k.value: n for k, n in by_kind.items() if n}, kinds)
        lines.append(
            tn(lang, "phases.line", total, phase=name, period=period, n=total, kinds=detail or "—")
        )
    if outside:
        lines.append(tn(lang, "phases.outside", outside, n=outside))
    return split_message("\n".join(lines))


# ---------------------------------------------------------------- the survey
SurveyResults = dict[str, tuple[int, dict[str, dict[str, int]]]]


def compose_survey(lang: Language, settings: Settings, results: SurveyResults) -> list[str]:
    """/stats' section of the satisfaction survey: per round, how many were asked and each
    question's answers (counts only: nothing else is kept)."""
    if not results:
        return []
    lines = [t(lang, "stats.survey_title")]
    for round_id, (asked, counts) in results.items():
        phase = settings.campaign.phase(round_id)
        name = phase.name(lang) if phase is not None else settings.campaign.name
        lines.append(t(lang, "stats.survey_round", name=escape(name), asked=asked))
        for question in settings.survey.questions:
            answers = counts.get(question.id, {})
            shown = "、".join(f"{t(lang, f'rating.{r}')} {answers.get(r, 0)}" for r in RATINGS)
            lines.append(f"• {escape(question.name(lang))}：{shown}")
    return split_message("\n".join(lines))


SURVEY_COLUMNS = (
    "ledger.survey.round",
    "ledger.survey.asked",
    "ledger.survey.question",
    *(f"rating.{r}" for r in RATINGS),
    "ledger.survey.answered",
)


def survey_sheet(
    lang: Language, settings: Settings, results: SurveyResults
) -> tuple[list[str], list[list[str | int]]]:
    """The export's sheet of the survey: one row per round and question, with how many
    were asked and each answer's count (the same counts as /stats'; nothing else is kept)."""
    header = [t(lang, key) for key in SURVEY_COLUMNS]
    rows: list[list[str | int]] = []
    for round_id, (asked, counts) in results.items():
        phase = settings.campaign.phase(round_id)
        name = phase.name(lang) if phase is not None else settings.campaign.name
        for question in settings.survey.questions:
            answers = counts.get(question.id, {})
            row: list[str | int] = [name, asked, question.name(lang)]
            row += [answers.get(r, 0) for r in RATINGS]
            rows.append([*row, sum(answers.values())])
    return header, rows


# ---------------------------------------------------------------- ledger
LEDGER_COLUMNS = (
    "ledger.ref",
    "ledger.date",
    "ledger.kind",
    "ledger.topic",
    "ledger.place",
    "ledger.phase",
    "ledger.summary",
    "ledger.sender",
    "ledger.status",
    "ledger.owner",
    "ledger.deadline",
    "ledger.overdue",
    "ledger.instruction",
    "ledger.response",
    "ledger.published",
    "ledger.rating",
    "ledger.dispatched",
    "ledger.signed",
    "ledger.done",
    "ledger.extensions",
    "ledger.reopened",
    "ledger.rating_reason",
    "ledger.source",
    "ledger.support",
)
# Column widths in an XLSX file (characters).
LEDGER_WIDTHS = dict(
    zip(
        LEDGER_COLUMNS,
        (
            8,
            12,
            10,
            16,
            16,
            12,
            48,
            14,
            10,
            14,
            12,
            8,
            30,
            40,
            12,
            16,
            12,
            12,
            12,
            24,
            8,
            24,
            10,
            8,
        ),
        strict=True,
    )
)
SUMMARY_CHARS = 200


def ledger_columns(settings: Settings) -> list[str]:
    """The ledger's columns: the place with places configured, the phase with phases."""
    skip = set()
    if not settings.places:
        skip.add("ledger.place")
    if not settings.campaign.phases:
        skip.add("ledger.phase")
    return [key for key in LEDGER_COLUMNS if key not in skip]


def ledger_header(lang: Language, settings: Settings) -> list[str]:
    return [t(lang, key) for key in ledger_columns(settings)]


def ledger_widths(settings: Settings) -> list[int]:
    return [LEDGER_WIDTHS[key] for key in ledger_columns(settings)]


def ledger_cells(lang: Language, settings: Settings, row: LedgerRow) -> list[str | int]:
    """One ledger line as plain cells (no HTML): what an XLSX or CSV file holds."""
    tz = settings.campaign.tz

    def day(value: datetime | None) -> str:
        return local_date(value, tz) if value else ""

    place = [place_label(lang, settings, row.place_id) if row.place_id else ""]
    phase = [phase_label(lang, settings, row.phase_id) if row.phase_id else ""]
    return [
        format_reference(row.id),
        day(row.created_at),
        kind_label(lang, row.kind),
        topic_label(lang, settings, row.topic_id),
        *(place if settings.places else []),
        *(phase if settings.campaign.phases else []),
        shorten(" ".join(row.text.split()), SUMMARY_CHARS),
        row.sender_name if row.sender_name is not None else t(lang, "ledger.anonymous"),
        status_label(lang, row.status),
        _owner(lang, settings, row),
        day(row.deadline),
        row.overdue_days or "",
        row.instruction or "",
        row.response or "",
        day(row.published_at),
        _ratings(lang, row),
        day(row.dispatched_at),
        day(row.signed_at),
        day(row.done_at),
        "；".join(
            t(lang, "ledger.extension.approved" if ok else "ledger.extension.refused", date=when)
            for when, ok in row.extensions
        ),
        row.reopen_count or "",
        "；".join(
            t(lang, f"rating.reason.{reason}") + (f"：{words}" if words else "")
            for rating, reason, words in row.rounds
            if rating == "unsatisfied" and reason
        ),
        t(lang, f"source.{row.source}"),
        row.support,
    ]


def _owner(lang: Language, settings: Settings, row: LedgerRow) -> str:
    """The unit the item is dispatched to; the owner typed by the office where no units
    are configured; where they are, the owner typed before (#18), marked as such."""
    if row.unit_id is not None:
        return unit_label(lang, settings, row.unit_id)
    if not row.owner:
        return ""
    return t(lang, "ledger.owner_text", owner=row.owner) if settings.units else row.owner


def _ratings(lang: Language, row: LedgerRow) -> str:
    """Every round's rating in order (未评价 included), else the one rating stored."""
    if row.rounds:
        return " → ".join(t(lang, f"rating.{rating}") for rating, _, _ in row.rounds)
    return t(lang, f"rating.{row.rating}") if row.rating else ""


def unit_label(lang: Language, settings: Settings, unit_id: str | None) -> str:
    """A unit's name (its id if it is no longer configured); "" for none."""
    if unit_id is None:
        return ""
    unit = settings.unit(unit_id)
    return unit.name(lang) if unit is not None else unit_id


# The days a report or export may name: wide enough for any campaign, narrow enough that
# no conversion (local day to UTC instant, the day after the last) leaves what datetime holds.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY
