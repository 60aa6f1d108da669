"""Clock jumps, the stored half (issue 15.11): times written while the clock ran a day ahead
gate nothing for longer than their normal span once it is back, whether the bot restarts
in between or keeps running. The bot's clock (the repository's) is a frozen clock moved by
hand; the JobQueue's half is tests/test_clockjumps.py's.

Before: items created "tomorrow" counted in the resident's hourly quota until tomorrow, and
a notice whose retry was scheduled "tomorrow" waited a day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import BotRunner, Chat, FrozenClock
from tests.databases import both_backends, rows, some_on_postgresql
from tests.test_e2e_lifecycle import Office
from tests.test_e2e_office import submit

OFFICE = -1001234567
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
BACK_THEN = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LIMIT = 2

# On SQLite and on PostgreSQL (#24): the times are compared and brought back by SQL of each
# (at start-up, and while running: the quota's and the outbox's).
make_settings = both_backends()


async def try_to_submit(chat: Chat, text: str) -> SentMessage:
    """Compose and confirm an item; the bot's answer to the confirmation."""
    received = await chat.send("/suggest " + text)
    proposal = await chat.tap(received, t("en", "button.next").split()[0])
    who = await chat.tap(proposal, t("en", "topic.accept").split(" ", 1)[-1])
    summary = await chat.tap(who, t("en", "identity.named").split(" ", 1)[-1])
    return await chat.tap(summary, t("en", "button.confirm").split(" ", 1)[-1])


@pytest.mark.parametrize("restart", [True, False], ids=["across a restart", "running"])
async def test_the_hourly_limit_holds_an_hour_after_the_clock_came_back(
    stub: FakeBotApi, make_settings: Callable[..., Settings], restart: bool
) -> None:
    clock = FrozenClock(BACK_THEN + timedelta(days=1))  # the clock runs a day ahead
    settings = make_settings(
        stub, roles={"office_chat_id": OFFICE}, limits={"max_submissions_per_hour": LIMIT}
    )
    runner = BotRunner(settings, clock=clock)
    await runner.start()
    try:
        bob = Chat(stub, BOB)
        for i in range(LIMIT):
            await submit(bob, f"Suggestion {i + 1}: more benches along the river", anonymous=False)
        refused = await try_to_submit(bob, "Suggestion 3: a bus stop at the clinic")
        assert refused.plain == tn("en", "limit.reached", LIMIT, limit=LIMIT)

        clock.now = BACK_THEN  # set right (NTP, an operator)
        if restart:
            await runner.restart()
        # The two items were made "just now" as far as anyone can tell: they count for an
        # hour, the normal span, ...
        again = await bob.send("/suggest Suggestion 3: a bus stop at the clinic")
        summary = await bob.tap(again, t("en", "button.next").split()[0])
        summary = await bob.tap(summary, t("en", "topic.accept").split(" ", 1)[-1])
        summary = await bob.tap(summary, t("en", "identity.named").split(" ", 1)[-1])
        confirm = t("en", "button.confirm").split(" ", 1)[-1]
        refused = await bob.tap(summary, confirm)
        assert refused.plain == tn("en", "limit.reached", LIMIT, limit=LIMIT)
        # ... and not for the day until the clock reaches the time they were stored with.
        clock.advance(minutes=61)
        accepted = await bob.tap(summary, confirm, expect="#3")
        assert "#3" in accepted.plain
        created = [row[0] for row in rows(settings, "SELECT created_at FROM submissions")]
        assert all(datetime.fromisoformat(c) <= clock.now for c in created)
    finally:
        await runner.stop()


# Across a restart the clamps at start-up walk the statements of the limit's test above.
@some_on_postgresql("restart", [True, False], [False], ids=["across a restart", "running"])
async def test_a_retry_scheduled_while_the_clock_ran_ahead_comes_on_time(
    stub: FakeBotApi, make_settings: Callable[..., Settings], restart: bool
) -> None:
    clock = FrozenClock(BACK_THEN + timedelta(days=1))
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    runner = BotRunner(settings, clock=clock)
    await runner.start()
    try:
        number = await submit(Chat(stub, BOB), "The bridge railing is loose", anonymous=False)
        stub.fail_next("sendMessage", status=502, description="Bad Gateway", chat_id=BOB.id)
        mark = stub.mark()
        await Office(stub).press(number, "受理")

        def retry() -> tuple[int, str] | None:
            found = rows(
                settings,
                "SELECT attempts, next_attempt_at FROM outbox WHERE status = 'pending'"
                " AND attempts > 0",
            )
            return (found[0][0], found[0][1]) if found else None

        await stub.wait_until(lambda: retry() is not None, timeout=10)
        attempts, at = retry() or (0, "")
        assert attempts == 1 and datetime.fromisoformat(at) > clock.now  # a day out, soon

        clock.now = BACK_THEN
        if restart:
            await runner.restart()
        # Brought back (at start-up, or by the outbox's next look) to what its wait was: the
        # first retry's backoff, a few seconds, not a day.
        await stub.wait_until(
            lambda: (
                datetime.fromisoformat((retry() or (0, ""))[1]) < BACK_THEN + timedelta(minutes=1)
            )
        )
        clock.advance(seconds=3)
        notice = await stub.wait_for_text(BOB.id, "accepted", after=mark, timeout=10)
        assert f"#{number}" in notice.plain
    finally:
        await runner.stop()
