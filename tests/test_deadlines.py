"""Deadline arithmetic (#18, #19): working days of the official calendar, the fallback
beyond its years, the sign-for limit, and the deadline parser (property-based)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.core import deadlines
from bot.core.deadlines import BadDeadline, add_workdays, is_workday, parse_deadline

TODAY = date(2026, 9, 30)  # a Wednesday; the National Day holiday follows


def settings(**office: object) -> Settings:
    return Settings(
        topics=[{"id": "other", "names": {"zh-Hans": "其他"}, "fallback": True}], office=office
    )


def test_official_holidays_and_make_up_days() -> None:
    assert not is_workday(date(2026, 10, 1))  # National Day
    assert not is_workday(date(2026, 2, 17))  # Spring Festival
    assert is_workday(date(2026, 12, 7))  # an ordinary Monday
    assert not is_workday(date(2026, 12, 6))  # an ordinary Sunday
    # The make-up working days around the 2026 National Day holiday are Saturdays or Sundays
    # the calendar marks as working.
    make_up = [
        d
        for d in (date(2026, 9, 20) + timedelta(n) for n in range(30))
        if d.weekday() >= 5 and is_workday(d)
    ]
    assert make_up, "the package knows 2026's make-up working days"


def test_one_working_day_before_the_holiday_skips_it() -> None:
    after = add_workdays(TODAY, 1)
    assert after == date(2026, 10, 8)
    # The Mid-Autumn Festival fell on a Friday, and 2026-09-20 (a Sunday) was worked.
    assert add_workdays(date(2026, 9, 24), 1) == date(2026, 9, 28)
    assert add_workdays(date(2026, 9, 19), 1) == date(2026, 9, 20)
    assert all(not is_workday(TODAY + timedelta(n)) for n in range(1, (after - TODAY).days))


def test_beyond_the_known_years_monday_to_friday_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadlines, "_fallback_logged", False)
    is_workday.cache_clear()
    with caplog.at_level(logging.WARNING, logger="bot.core.deadlines"):
        assert add_workdays(date(2099, 1, 2), 1) == date(2099, 1, 5)  # Friday -> Monday
        assert add_workdays(date(2099, 1, 5), 5) == date(2099, 1, 12)
    warnings = [r for r in caplog.records if "does not know" in r.getMessage()]
    assert len(warnings) == 1


def test_deadline_unit_days_or_workdays() -> None:
    now = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
    plain = deadlines.deadline_in(settings(deadline_unit="days"), now, 3)
    working = deadlines.deadline_in(settings(), now, 3)
    assert plain.date() == date(2026, 10, 3)
    assert working.date() >= date(2026, 10, 10)
    assert deadlines.workdays_between(TODAY, working.date()) == 3
    assert (working.hour, working.minute) == (23, 59)


def test_sign_for_limit_is_one_working_day_by_default() -> None:
    friday = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
    due = deadlines.sign_due(settings(), friday)
    assert due.date() == date(2026, 12, 7) and due.hour == 10  # Monday, same time
    assert deadlines.sign_due(settings(sign_days=2), friday).date() == date(2026, 12, 8)


# ----------------------------------------------------------------- the parser
@given(st.integers(min_value=1, max_value=365), st.booleans())
def test_days_count_from_today(count: int, workdays: bool) -> None:
    for text in (str(count), f"{count}天", f" {count} "):
        due = parse_deadline(text, today=TODAY, workdays=workdays)
        assert isinstance(due, date) and due > TODAY
        if workdays:
            assert deadlines.workdays_between(TODAY, due) == count and is_workday(due)
        else:
            assert due == TODAY + timedelta(days=count)


@given(st.dates(min_value=TODAY, max_value=TODAY + timedelta(days=730)))
def test_a_date_today_or_later_is_taken_as_it_is(day: date) -> None:
    for text in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
    ):
        assert parse_deadline(text, today=TODAY, workdays=True) == day


@given(st.dates(min_value=date(2000, 1, 1), max_value=TODAY - timedelta(days=1)))
def test_a_past_date_is_refused_with_the_reason(day: date) -> None:
    assert parse_deadline(day.isoformat(), today=TODAY, workdays=True) == BadDeadline("past")


@given(st.text(max_size=30))
def test_anything_else_is_refused_never_replaced(text: str) -> None:
    result = parse_deadline(text, today=TODAY, workdays=True)
    assert isinstance(result, (date, BadDeadline))
    if isinstance(result, date):
        assert result >= TODAY


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "bad"),
        ("366", "too_far"),
        ("2026-02-30", "bad"),
        ("明天", "bad"),
        ("2030-01-01", "too_far"),
        ("", "bad"),
        ("10 days later", "bad"),
    ],
)
def test_bad_deadlines(text: str, reason: str) -> None:
    assert parse_deadline(text, today=TODAY, workdays=True) == BadDeadline(reason)
