"""All deadline arithmetic, in one place: working days, deadlines, the sign-for limit, and
the parser of a deadline as the office types it.

Working days (工作日) follow the official Chinese calendar of holidays and make-up working
days from the maintained ``chinese-calendar`` package (not a hand-made list). A date beyond
the years the package knows falls back to Monday–Friday, and the log says so once.
``office.deadline_unit`` chooses whether deadlines and the sign-for limit count working
days (default) or plain days. Every date is a day of the campaign's time zone; a deadline
is due at the end of its day.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.config import Settings
from bot.core.records import Submission

log = logging.getLogger(__name__)

MAX_DAYS = 365
_fallback_logged = False


def in_time(item: Submission, now: datetime) -> bool:
    """Whether a deadline moved ``now`` (an approved extension, the office's own new date)
    also moves the one 按时办结率 judges ``item`` by: only before that has passed (moved
    after it, the round stays late)."""
    judged = item.judged_deadline or item.deadline
    return judged is None or now <= judged


@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    """Whether ``day`` is an official working day (make-up Saturdays included)."""
    global _fallback_logged
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if not _fallback_logged:
            _fallback_logged = True
            log.warning(
                "the holiday calendar does not know %s: counting Monday to Friday as working"
                " days beyond the years it knows (update chinese-calendar)",
                day.year,
            )
        return day.weekday() < 5


def add_workdays(start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself for 0)."""
    day = start
    left = count
    while left > 0:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def workdays_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``."""
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(start + timedelta(n)))


def add(settings: Settings, start: date, count: int) -> date:
    """``count`` days after ``start`` in the configured unit (working days or days)."""
    if settings.office.deadline_unit == "days":
        return start + timedelta(days=count)
    return add_workdays(start, count)


def end_of(day: date, tz: ZoneInfo) -> datetime:
    """A deadline on ``day``: the end of that day, campaign time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def today(settings: Settings, now: datetime) -> date:
    return now.astimezone(settings.campaign.tz).date()


def deadline_in(settings: Settings, now: datetime, count: int) -> datetime:
    """The deadline ``count`` (working) days from today."""
    return end_of(add(settings, today(settings, now), count), settings.campaign.tz)


def sign_due(settings: Settings, dispatched: datetime) -> datetime:
    """When a unit must have signed for an item dispatched at ``dispatched``: the same time
    of day ``office.sign_days`` (working) days later."""
    tz = settings.campaign.tz
    local = dispatched.astimezone(tz)
    day = add(settings, local.date(), settings.office.sign_days)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)


@dataclass(frozen=True)
class BadDeadline:
    """Why a typed deadline cannot be used: ``reason`` is ``bad`` (neither days nor a
    date), ``past`` or ``too_far`` (more than a year)."""

    reason: str


_DAYS = re.compile(r"^(\d{1,4})\s*(?:天|日|个工作日|個工作日|工作日|d|days?|workdays?)?$", re.I)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_deadline(text: str, *, today: date, workdays: bool) -> date | BadDeadline:
    """A deadline typed as a number of days (``10``, ``10天``) counted from ``today`` in
    working days or days, or as a date (``2026-12-31``, ``2026/12/31``, ``2026年12月31日``).
    A date before today, a date that does not exist, 0 days or more than a year is refused
    with the reason; nothing is silently replaced."""
    value = text.strip()
    if match := _DAYS.match(value):
        count = int(match[1])
        if count < 1:
            return BadDeadline("bad")
        if count > MAX_DAYS:
            return BadDeadline("too_far")
        return add_workdays(today, count) if workdays else today + timedelta(days=count)
    if match := _DATE.match(value):
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return BadDeadline("bad")
        if day < today:
            return BadDeadline("past")
        if (day - today).days > 2 * MAX_DAYS:
            return BadDeadline("too_far")
        return day
    return BadDeadline("bad")
