"""Start-up, unit by unit (#21): waiting for the Bot API (a rejected token is final, a
network that is down is retried with backoff and logged once a minute, measured on a clock
the test moves), and the summary's warning for each role nobody fills."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import pytest
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot import summary
from bot.config import Settings
from bot.startup import EXIT_CONFIG
from bot.transport.botapi import MAX_DELAY, TokenRejected, wait_for_bot_api

URL = "https://api.telegram.org/bot"


class FlakyBot:
    """``initialize`` (getMe) fails with ``errors`` one after another, then succeeds."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def initialize(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


class Clock:
    """Monotonic time that only the fake sleep moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Timed(logging.Handler):
    """Each warning of bot.transport.botapi with the fake clock's time when it was logged."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(logging.WARNING)
        self.clock = clock
        self.lines: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((self.clock.now, record.getMessage()))


async def test_a_network_that_is_down_is_retried_with_backoff_and_logged_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors: list[Exception] = [NetworkError("httpx.ConnectError: All connection attempts failed")]
    errors += [TimedOut("Timed out")] * 40  # about six minutes of tries at most 10 s apart
    bot, clock = FlakyBot(list(errors)), Clock()
    caplog.set_level(logging.INFO, logger="bot.transport.botapi")
    timed = Timed(clock)
    logging.getLogger("bot.transport.botapi").addHandler(timed)
    try:
        tries = await wait_for_bot_api(bot, URL, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    finally:
        logging.getLogger("bot.transport.botapi").removeHandler(timed)
    assert tries == bot.calls == len(errors) + 1
    # Backoff: 1 s doubling (less up to 20 % jitter), never more than MAX_DELAY.
    assert 0.8 <= clock.sleeps[0] <= 1.0 and 1.6 <= clock.sleeps[1] <= 2.0
    assert all(0.8 * MAX_DELAY <= s <= MAX_DELAY for s in clock.sleeps[5:])
    # One line at the first failure, then one a minute (at the first try a minute or more
    # after the last line), whatever the number of tries in between.
    times = [at for at, _ in timed.lines]
    assert times[0] == 0
    assert all(60 <= b - a < 60 + MAX_DELAY for a, b in itertools.pairwise(times))
    assert clock.now - times[-1] < 60 + MAX_DELAY
    assert 5 <= len(times) <= 7 < len(errors)
    lines = [line for _, line in timed.lines]
    assert lines[0] == (
        f"cannot reach the Bot API at {URL}: "
        "httpx.ConnectError: All connection attempts failed; retrying"
    )
    assert all(
        line.startswith(f"cannot reach the Bot API at {URL}: Timed out; retrying")
        for line in lines[1:]
    )
    assert "more like it in the last 60 s" in lines[1]
    assert any(
        f"the Bot API at {URL} answers (after {tries} tries)" == r.getMessage()
        for r in caplog.records
    )


def rejection(description: str) -> InvalidToken:
    """What python-telegram-bot's Bot.initialize raises for a 401 or 404 to getMe (the
    token in its message, the Bot API's description in its cause)."""
    try:
        try:
            raise InvalidToken(description)
        except InvalidToken as inner:
            raise InvalidToken("The token `123:SECRET` was rejected by the server.") from inner
    except InvalidToken as outer:
        return outer


@pytest.mark.parametrize(
    ("description", "code"),
    [("Unauthorized", "401 Unauthorized"), ("Not Found", "404 Not Found")],
)
async def test_a_rejected_token_ends_the_start_at_once(description: str, code: str) -> None:
    bot, clock = FlakyBot([rejection(description)]), Clock()
    with pytest.raises(TokenRejected) as info:
        await wait_for_bot_api(bot, URL, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert bot.calls == 1 and clock.sleeps == []
    assert info.value.status == EXIT_CONFIG
    line = str(info.value)
    assert f"the Bot API at {URL} rejected the bot token ({code} from getMe)" in line
    assert "telegram.token" in line and "SECRET" not in line and "\n" not in line


ALL_ROLES: dict[str, Any] = {
    "admin_ids": [1001],
    "office_chat_id": -1001,
    "leading_group_chat_id": -1002,
    "channel_id": -1003,
}


def test_every_role_filled_gives_no_warning(make_settings: Callable[..., Settings]) -> None:
    assert summary.role_warnings(make_settings(roles=ALL_ROLES)) == []


@pytest.mark.parametrize(
    ("key", "unset", "says"),
    [
        ("admin_ids", [], "nobody can review"),
        ("office_chat_id", 0, "new items are not announced"),
        ("leading_group_chat_id", 0, "cannot be passed to the leading group"),
        ("channel_id", 0, "responses cannot be published"),
    ],
)
def test_each_missing_role_has_its_warning(
    make_settings: Callable[..., Settings], key: str, unset: object, says: str
) -> None:
    settings = make_settings(roles={**ALL_ROLES, key: unset})
    [warning] = summary.role_warnings(settings)
    assert f"(roles.{key})" in warning and says in warning


def test_one_chat_for_office_and_leading_group_is_a_warning(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(roles={**ALL_ROLES, "leading_group_chat_id": -1001})
    [warning] = summary.role_warnings(settings)
    assert "same chat" in warning


def test_the_units_checks_add_their_lines(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook the units issue fills: each unit with nobody to reach is a warning."""
    monkeypatch.setattr(summary, "UNIT_CHECKS", [lambda settings: ["unit 城建办: nobody to reach"]])
    assert summary.role_warnings(make_settings(roles=ALL_ROLES)) == ["unit 城建办: nobody to reach"]


def test_the_summary_names_the_roles_found(make_settings: Callable[..., Settings]) -> None:
    lines = summary.summary_lines(make_settings(roles=ALL_ROLES), config=None)
    assert "administrators: 1 (1001)" in lines
    assert "office chat: -1001" in lines and "leading group: -1002" in lines
    assert "channel: -1003" in lines
    assert "configuration: none (defaults)" in lines
