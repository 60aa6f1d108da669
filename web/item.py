"""The item page's contents: the item's fields, its attachments (files fetched through
the desk, never a Telegram URL), its location as coordinates with map links, the leading
group's instructions, one time-ordered history of status changes and events, and similar
items. Plain values: the template escapes them; lines the catalogue formats for Telegram
(whose user values are already escaped) are marked safe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from bot.config import Language, Settings
from bot.core import cards
from bot.core.cards import event_text
from bot.core.presenters import (
    history_label,
    kind_label,
    local_date,
    local_time,
    status_label,
    topic_label,
)
from bot.core.records import Attachment, Event, HistoryEntry, Submission, SubmissionSummary
from bot.core.workflow import format_reference
from bot.i18n import t

# Telegram's getFile serves files up to 20 MB; bigger ones can only be opened in Telegram.
GETFILE_LIMIT = 20 * 1024 * 1024


@dataclass(frozen=True)
class FileView:
    position: int
    type: str
    label: str  # "照片" / "文件 a.pdf" ...
    size: str  # "1.2 MB" or ""
    photo: bool
    too_big: bool


@dataclass(frozen=True)
class PlaceView:
    latitude: str
    longitude: str
    osm: str
    amap: str
    geo: str


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    when: str
    text: Markup


@dataclass(frozen=True)
class SimilarView:
    id: int
    reference: str
    line: str


def file_size(size: int | None) -> str:
    if not size:
        return ""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def is_too_big(attachment: Attachment) -> bool:
    return attachment.file_size is not None and attachment.file_size > GETFILE_LIMIT


def files(lang: Language, item: Submission) -> list[FileView]:
    out = []
    for position, a in enumerate(item.attachments):
        if a.type == "location" or a.file_id is None:
            continue
        kind = t(lang, f"web.file.type.{a.type}")
        label = f"{kind} · {a.file_name}" if a.file_name else kind
        out.append(
            FileView(
                position=position,
                type=a.type,
                label=label,
                size=file_size(a.file_size),
                photo=a.type == "photo",
                too_big=is_too_big(a),
            )
        )
    return out


def places(item: Submission) -> list[PlaceView]:
    """Coordinates with links (a static map would need a tile server). Telegram's
    coordinates are WGS-84; Amap is told so (it converts to its own GCJ-02)."""
    out = []
    for a in item.attachments:
        if a.type != "location" or a.latitude is None or a.longitude is None:
            continue
        lat, lon = f"{a.latitude:.6f}", f"{a.longitude:.6f}"
        out.append(
            PlaceView(
                latitude=f"{a.latitude:.5f}",
                longitude=f"{a.longitude:.5f}",
                osm=f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}",
                amap=f"https://uri.amap.com/marker?position={lon},{lat}&coordinate=wgs84",
                geo=f"geo:{lat},{lon}",
            )
        )
    return out


def timeline(
    lang: Language,
    settings: Settings,
    history: Sequence[HistoryEntry],
    events: Sequence[Event],
) -> list[TimelineEntry]:
    """Status changes and events in one list, oldest first (a status change before an
    event of the same moment)."""
    tz = settings.campaign.tz
    entries: list[tuple[datetime, int, Markup]] = []
    for entry in history:
        text = Markup.escape(history_label(lang, entry))
        if entry.note:
            text += Markup(" — ") + Markup.escape(entry.note)
        entries.append((entry.at, 0, text))
    for event in events:
        # Telegram's HTML is a subset of HTML, and event_text escapes every user value.
        entries.append((event.at, 1, Markup(event_text(lang, settings, event))))  # noqa: S704
    entries.sort(key=lambda e: (e[0], e[1]))
    return [TimelineEntry(at=at, when=local_time(at, tz), text=text) for at, _, text in entries]


def instructions(lang: Language, settings: Settings, events: Sequence[Event]) -> list[Markup]:
    """The leading group's instructions (批示), oldest first."""
    tz = settings.campaign.tz
    return [
        Markup.escape(local_time(e.at, tz) + " ") + Markup(event_text(lang, settings, e))  # noqa: S704 (escaped, see timeline)
        for e in events
        if e.kind == "instruction"
    ]


def similar(
    lang: Language, settings: Settings, found: Sequence[SubmissionSummary]
) -> list[SimilarView]:
    tz = settings.campaign.tz
    return [
        SimilarView(
            id=s.id,
            reference=format_reference(s.id),
            line=" · ".join(
                (
                    kind_label(lang, s.kind),
                    topic_label(lang, settings, s.topic_id),
                    status_label(lang, s.status),
                    local_date(s.created_at, tz),
                )
            ),
        )
        for s in found
    ]


def sender(lang: Language, item: Submission, *, office: bool = True) -> str:
    """匿名 for anonymous items (nothing else is known of their sender); the name a named
    sender chose to give (or an entered item's contact), and to the office their username
    (a unit never sees it, #18)."""
    if not office and item.sender is not None:
        return item.sender.name
    return cards.sender_label(lang, item)
