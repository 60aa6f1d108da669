"""The campaign's dated phases (``[[campaign.phases]]``): which one a moment falls in, what
it collects, and the sentences that say so (greeting, /help, the digest, a refusal).

A phase runs from its start to its end day, both included, in the campaign's time zone.
Outside every phase (before the first, between two, after the last) everything is
collected: a campaign office would rather have an item than turn it away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.config import Language, PhaseConfig, Settings
from bot.core.workflow import Kind
from bot.i18n import t
from bot.text import escape


@dataclass(frozen=True)
class PhaseNow:
    """Where a day lies among the phases: in ``current``, or before ``upcoming`` (and
    after ``previous``); all None when no phase is configured."""

    day: date
    current: PhaseConfig | None
    previous: PhaseConfig | None
    upcoming: PhaseConfig | None

    @property
    def configured(self) -> bool:
        return (self.current or self.previous or self.upcoming) is not None

    def collects(self, kind: Kind) -> bool:
        return self.current is None or self.current.collects(kind.value)


def phase_now(settings: Settings, now: datetime) -> PhaseNow:
    day = now.astimezone(settings.campaign.tz).date()
    phases = settings.campaign.phases
    current = settings.campaign.phase_on(day)
    previous = next((p for p in reversed(phases) if p.end < day), None)
    upcoming = next((p for p in phases if p.start > day), None)
    return PhaseNow(day=day, current=current, previous=previous, upcoming=upcoming)


def phase_id_at(settings: Settings, now: datetime) -> str | None:
    """The id of the phase an item arriving now belongs to (stored with it)."""
    phase = phase_now(settings, now).current
    return phase.id if phase is not None else None


def kinds_text(lang: Language, kinds: Sequence[str] | None) -> str:
    names = [t(lang, f"kind.{k}") for k in (kinds or [k.value for k in Kind])]
    return ("、" if lang != "en" else " and ").join(names)


def _period(phase: PhaseConfig) -> str:
    return f"{phase.start.isoformat()} – {phase.end.isoformat()}"


def phase_line(lang: Language, now: PhaseNow) -> str | None:
    """One line saying which phase it is (and what it collects), or None without phases."""
    if not now.configured:
        return None
    if now.current is not None:
        return t(
            lang,
            "phase.current",
            phase=escape(now.current.name(lang)),
            period=_period(now.current),
            kinds=kinds_text(lang, now.current.kinds),
        )
    if now.upcoming is not None:
        key = "phase.between" if now.previous is not None else "phase.before"
        return t(
            lang,
            key,
            phase=escape(now.upcoming.name(lang)),
            start=now.upcoming.start.isoformat(),
        )
    assert now.previous is not None
    return t(lang, "phase.ended", end=now.previous.end.isoformat())


def collected_again(
    settings: Settings, kind: Kind, phase: PhaseConfig
) -> tuple[date, PhaseConfig | None] | None:
    """From which day after ``phase`` an item of ``kind`` is taken again, and the phase that
    day lies in (None: between phases or after the last, when everything is taken)."""
    day = phase.end + timedelta(days=1)
    while True:
        current = settings.campaign.phase_on(day)
        if current is None or current.collects(kind.value):
            return day, current
        if current.end >= date.max - timedelta(days=1):
            return None
        day = current.end + timedelta(days=1)


def not_collected(lang: Language, settings: Settings, now: PhaseNow, kind: Kind) -> str:
    """Why an item of ``kind`` is not taken now, and when it will be (the draft stays)."""
    assert now.current is not None
    text = t(
        lang,
        "phase.not_collected",
        phase=escape(now.current.name(lang)),
        period=_period(now.current),
        kind=t(lang, f"kind.{kind.value}"),
        kinds=kinds_text(lang, now.current.kinds),
    )
    again = collected_again(settings, kind, now.current)
    if again is not None:
        day, phase = again
        values = {"start": day.isoformat(), "kind": t(lang, f"kind.{kind.value}")}
        if phase is not None:
            text += "\n" + t(lang, "phase.later", phase=escape(phase.name(lang)), **values)
        else:
            text += "\n" + t(lang, "phase.later_open", **values)
    return text


def collected_kinds(now: PhaseNow) -> tuple[Kind, ...]:
    """The kinds a resident may choose now (every kind outside a phase)."""
    return tuple(k for k in Kind if now.collects(k))
