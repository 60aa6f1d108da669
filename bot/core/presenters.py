"""What residents read: topic proposals, draft summaries, lists and histories (HTML text).

Pure functions: they take records and settings and return HTML strings in which every piece
of user text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Language, Settings
from bot.core.records import EXCERPT_CHARS, Draft, HistoryEntry, Submission, SubmissionSummary
from bot.core.workflow import Kind, Status, format_reference
from bot.i18n import t, tn
from bot.text import escape, shorten

SUMMARY_TEXT_CHARS = 1500


def local_time(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def local_date(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d")


def kind_label(lang: Language, kind: Kind) -> str:
    return t(lang, f"kind.{kind.value}")


def status_label(lang: Language, status: Status) -> str:
    return t(lang, f"status.{status.value}")


def history_label(lang: Language, entry: HistoryEntry) -> str:
    """A status change of the record as the office reads it (plain text): the status, or
    for the outbox's revert of a publication that failed, that it failed."""
    if entry.from_status is Status.PUBLISHING and entry.to_status is not Status.PUBLISHED:
        return t(lang, "history.publish_failed", status=status_label(lang, entry.to_status))
    return status_label(lang, entry.to_status)


def resident_history(history: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """What a sender sees of the record: publication attempts only once they succeeded
    (not "publishing", nor its revert with a Bot API error)."""
    return [
        e
        for e in history
        if (e.to_status is not Status.PUBLISHING and e.from_status is not Status.PUBLISHING)
        or e.to_status is Status.PUBLISHED
    ]


def topic_label(lang: Language, settings: Settings, topic_id: str) -> str:
    topic = settings.topic(topic_id)
    return topic.name(lang) if topic else topic_id


def place_label(lang: Language, settings: Settings, place_id: str | None) -> str:
    """The place with its parents (``城关镇 / 东村``), or "未注明" when none was said (plain
    text: escape it for HTML)."""
    if place_id is None:
        return t(lang, "place.none")
    return settings.place_index.label(lang, place_id)


def phase_label(lang: Language, settings: Settings, phase_id: str | None) -> str:
    """The phase's name, or "—" outside the phases (plain text)."""
    if phase_id is None:
        return "—"
    phase = settings.campaign.phase(phase_id)
    return phase.name(lang) if phase else phase_id


def place_lines(
    lang: Language, settings: Settings, place_id: str | None, phase_id: str | None = None
) -> list[str]:
    """The place line (with places configured, or a place stored) and the phase line (when
    the item has one), as HTML."""
    lines = []
    if settings.places or place_id is not None:
        lines.append(t(lang, "field.place", value=escape(place_label(lang, settings, place_id))))
    if phase_id is not None:
        lines.append(t(lang, "field.phase", value=escape(phase_label(lang, settings, phase_id))))
    return lines


def topic_proposal(lang: Language, draft: Draft, settings: Settings) -> str:
    assert draft.topic_id is not None
    name = escape(topic_label(lang, settings, draft.topic_id))
    best = draft.evidence[0] if draft.evidence else None
    if best is not None and best.source == "model":
        ngrams = "、".join(f"“{escape(g)}”" for g in best.keywords) or "—"
        return t(
            lang, "topic.proposal.model", topic=name, percent=round(best.score * 100), ngrams=ngrams
        )
    if best is None or not best.keywords:
        return t(lang, "topic.proposal.fallback", topic=name)
    keywords = "、".join(escape(k) for k in best.keywords)
    return t(lang, "topic.proposal", topic=name, keywords=keywords)


def draft_summary(lang: Language, draft: Draft, settings: Settings, *, sender_name: str) -> str:
    assert draft.kind is not None and draft.topic_id is not None
    who = (
        t(lang, "summary.anonymous")
        if draft.anonymous
        else t(lang, "summary.named", name=escape(sender_name))
    )
    lines = [
        t(lang, "summary.title"),
        t(lang, "field.kind", value=kind_label(lang, draft.kind)),
        t(lang, "field.topic", value=escape(topic_label(lang, settings, draft.topic_id))),
        *place_lines(lang, settings, draft.place_id if draft.place_asked else None),
        t(lang, "field.identity", value=who),
    ]
    if draft.attachments:
        lines.append(attachments_line(lang, draft.attachments))
    if draft.parts:
        lines += ["", escape(shorten(draft.text, SUMMARY_TEXT_CHARS))]
    lines += ["", t(lang, "summary.confirm_hint")]
    return "\n".join(lines)


def attachments_line(lang: Language, attachments: Sequence[object]) -> str:
    counts: dict[str, int] = {}
    for a in attachments:
        kind = getattr(a, "type", "document")
        counts[kind] = counts.get(kind, 0) + 1
    parts = [tn(lang, f"attachment.{k}", n, n=n) for k, n in counts.items()]
    return t(
        lang, "field.attachments", value="、".join(parts) if lang != "en" else ", ".join(parts)
    )


def excerpt(item: SubmissionSummary) -> str:
    """The start of an item's text on one line, escaped: what tells list lines apart."""
    return escape(shorten(" ".join(item.excerpt.split()), EXCERPT_CHARS))


def my_list(
    lang: Language,
    settings: Settings,
    items: Sequence[SubmissionSummary],
    *,
    total: int,
    offset: int,
) -> str:
    if total == 0:
        return t(lang, "my.empty")
    tz = settings.campaign.tz
    lines = [t(lang, "my.title", first=offset + 1, last=offset + len(items), total=total)]
    for item in items:
        lines.append(
            t(
                lang,
                "my.line",
                ref=format_reference(item.id),
                kind=kind_label(lang, item.kind),
                topic=escape(topic_label(lang, settings, item.topic_id)),
                status=status_label(lang, item.status),
                date=local_date(item.created_at, tz),
            )
            + f"\n　{excerpt(item)}"
        )
    lines.append(t(lang, "my.hint"))
    return "\n".join(lines)


def submission_detail(
    lang: Language, settings: Settings, sub: Submission, history: Sequence[HistoryEntry]
) -> str:
    tz = settings.campaign.tz
    who = (
        t(lang, "summary.anonymous")
        if sub.sender is None
        else t(lang, "summary.named", name=escape(sub.sender.name))
    )
    lines = [
        t(lang, "detail.title", ref=format_reference(sub.id)),
        t(lang, "field.kind", value=kind_label(lang, sub.kind)),
        t(lang, "field.topic", value=escape(topic_label(lang, settings, sub.topic_id))),
        t(lang, "field.status", value=status_label(lang, sub.status)),
        *place_lines(lang, settings, sub.place_id),
        t(lang, "field.identity", value=who),
        t(lang, "field.date", value=local_time(sub.created_at, tz)),
    ]
    if sub.attachments:
        lines.append(attachments_line(lang, sub.attachments))
    lines += ["", escape(sub.text)]
    if sub.response:
        lines += ["", t(lang, "field.response", value=escape(sub.response))]
    if sub.rating:
        lines.append(t(lang, "field.rating", value=t(lang, f"rating.{sub.rating}")))
    lines += ["", t(lang, "detail.history")]
    for entry in resident_history(history):
        note = f" — {escape(entry.note)}" if entry.note else ""
        lines.append(f"{local_time(entry.at, tz)}  {status_label(lang, entry.to_status)}{note}")
    return "\n".join(lines)


def public_detail(
    lang: Language, settings: Settings, sub: Submission, history: Sequence[HistoryEntry]
) -> str:
    """An item as the senders of its merged duplicates see it: its public state and the
    official response, not its sender, its text or the office's notes."""
    tz = settings.campaign.tz
    lines = [
        t(lang, "detail.title", ref=format_reference(sub.id)),
        t(lang, "detail.followed"),
        t(lang, "field.kind", value=kind_label(lang, sub.kind)),
        t(lang, "field.topic", value=escape(topic_label(lang, settings, sub.topic_id))),
        t(lang, "field.status", value=status_label(lang, sub.status)),
        t(lang, "field.date", value=local_time(sub.created_at, tz)),
    ]
    if sub.response:
        lines += ["", t(lang, "field.response", value=escape(sub.response))]
    lines += ["", t(lang, "detail.history")]
    lines += [f"{local_time(e.at, tz)}  {status_label(lang, e.to_status)}" for e in history]
    return "\n".join(lines)


# Telegram's common refusals, as its error texts say them, and the key that explains each.
TELEGRAM_ERRORS = (
    ("bot was blocked by the user", "blocked"),
    ("user is deactivated", "deactivated"),
    ("chat not found", "chat_not_found"),
    ("bot was kicked", "kicked"),
    ("not a member", "kicked"),
    ("is too long", "too_long"),
)


def telegram_error(lang: Language, error: str) -> str:
    """A delivery error for the office, escaped: the common ones in its language (the log
    keeps Telegram's words); any other as Telegram said it, shortened."""
    lowered = error.lower()
    for needle, name in TELEGRAM_ERRORS:
        if needle in lowered:
            return t(lang, f"telegram.error.{name}")
    return escape(shorten(error, 200))
