"""What the office reads about the campaign as a whole: the daily digest, statistics and
the ledger (整改台账). Records filled by :mod:`storage.reports`, and pure functions that
turn them into messages and table rows. No Telegram here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.config import Language, Settings
from bot.core.presenters import kind_label, local_date, status_label, topic_label
from bot.core.records import Rating
from bot.core.workflow import Kind, Status, format_reference
from bot.i18n import t, tn
from bot.text import escape, shorten, split_message

TOP_TOPICS = 5
LISTED = 30  # items listed by reference in a digest section before "…"


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)


class OverdueItem(_Report):
    id: int
    owner: str | None
    days: int


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


# ---------------------------------------------------------------- digest
def _counts_line(lang: Language, counts: dict[str, int], label: dict[str, str]) -> str:
    parts = [
        f"{label.get(key, key)} {n}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    return ("、" if lang != "en" else ", ").join(parts)


def _refs(ids: Sequence[int], total: int | None = None) -> str:
    shown = " ".join(format_reference(i) for i in ids[:LISTED])
    return shown + (" …" if max(total or 0, len(ids)) > LISTED else "")


def compose_digest(
    lang: Language, settings: Settings, data: DigestData, *, title_key: str = "digest.title"
) -> list[str]:
    """The digest as messages within Telegram's limit; a quiet day is one line."""
    tz = settings.campaign.tz
    title = t(
        lang, title_key, campaign=escape(settings.campaign.name), date=local_date(data.until, tz)
    )
    if data.is_quiet:
        return [title + "\n" + t(lang, "digest.quiet", since=local_date(data.since, tz))]
    topics = {tp.id: tp.name(lang) for tp in settings.topics}
    lines = [title]
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
                    owner=escape(item.owner or "—"),
                    days=item.days,
                )
            )
    if data.published:
        lines.append(t(lang, "digest.published", n=data.published))
    rated = sum(data.satisfaction.values())
    if rated:
        lines.append(t(lang, "digest.satisfaction", n=rated, **_rating_shares(data.satisfaction)))
    if data.top_topics_week:
        week = _counts_line(lang, dict(data.top_topics_week), topics)
        lines.append(t(lang, "digest.top_topics", topics=escape(week)))
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


# ---------------------------------------------------------------- ledger
LEDGER_COLUMNS = (
    "ledger.ref",
    "ledger.date",
    "ledger.kind",
    "ledger.topic",
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
)
SUMMARY_CHARS = 200


def ledger_header(lang: Language) -> list[str]:
    return [t(lang, key) for key in LEDGER_COLUMNS]


def ledger_cells(lang: Language, settings: Settings, row: LedgerRow) -> list[str | int]:
    """One ledger line as plain cells (no HTML): what an XLSX or CSV file holds."""
    tz = settings.campaign.tz

    def day(value: datetime | None) -> str:
        return local_date(value, tz) if value else ""

    return [
        format_reference(row.id),
        day(row.created_at),
        kind_label(lang, row.kind),
        topic_label(lang, settings, row.topic_id),
        shorten(" ".join(row.text.split()), SUMMARY_CHARS),
        row.sender_name if row.sender_name is not None else t(lang, "ledger.anonymous"),
        status_label(lang, row.status),
        row.owner or "",
        day(row.deadline),
        row.overdue_days or "",
        row.instruction or "",
        row.response or "",
        day(row.published_at),
        t(lang, f"rating.{row.rating}") if row.rating else "",
    ]


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
