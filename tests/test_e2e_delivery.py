"""The outbox against a Bot API that misbehaves for one chat (issue #14), through the real
Application: answers that do not parse while the message IS delivered, answers that are not
JSON, answers that never come, 500 forever, a connection closed after the request was read.

For each: the office accepts a resident's item (a notice to the resident's chat); over a
window of 60 s of the bot's clock (a frozen clock advanced in 10 s steps, the delivery job
running every 0.2 s, so the same decisions as 60 real seconds, in about 5) the resident gets
the notice at most twice (never more than one retry after an unknown outcome, and nothing
for a 500); the notice ends as a permanent failure listed by /failed, of which the office is
told exactly once; a stop while another notice to that chat is being sent ends within the
bound. The Bot API client's read timeout is 1 s here (5 s in production) so that a hanging
answer costs 1 s per send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.core.records import Outgoing
from bot.i18n import t
from bot.transport.http import BotApiRequest
from bot.transport.outcomes import MAX_ATTEMPTS
from bot.watchdog import STOP_WITHIN
from tests.botapi_stub import FakeBotApi, FakeUser, Misbehaviour, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.databases import both_backends, rows, some_on_postgresql, sqlite_only
from tests.test_e2e_office import OFFICE, office_card, submit

RESIDENT = FakeUser(id=555000222, first_name="赵", last_name="敏")
UNCERTAIN: tuple[Misbehaviour, ...] = ("garbled", "not_json", "hang", "close")
STEP = 10.0  # seconds of the bot's clock per step
WINDOW = 60.0

# The outbox's retries on SQLite and on PostgreSQL (#24): one of the unknown outcomes there (the
# four walk the same statements), 500 forever (backoff, jitter, the permanent failure); the
# job that raises stores nothing: SQLite only.
make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def office(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: FrozenClock
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        # The clock jumps 5 s per step: a sender's flood allowance (1 a second, in real
        # time) would hold the retries back across steps (it is tested elsewhere).
        telegram={"outbox_interval": 0.2, "private_max_rate": 0},
    )
    runner = BotRunner(
        settings, clock, request=BotApiRequest(connection_pool_size=64, read_timeout=1.0)
    )
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def advance(stub: FakeBotApi, clock: FrozenClock, seconds: float, step: float) -> None:
    """Move the bot's clock ``seconds`` ahead, ``step`` at a time, letting the delivery job
    run (every 0.2 s) and the outbox go quiet after each step."""
    for _ in range(round(seconds / step)):
        clock.advance(seconds=step)
        await asyncio.sleep(0.3)
        await stub.wait_idle(quiet=0.3, timeout=10)


async def first_send_to(stub: FakeBotApi, chat_id: int, calls: int) -> None:
    """Until the bot has tried to send to ``chat_id`` (after ``calls`` calls)."""
    await stub.wait_until(
        lambda: any(c.params.get("chat_id") == chat_id for c in stub.calls[calls:]), timeout=10
    )
    await stub.wait_idle(quiet=0.3, timeout=10)


def outbox_rows(runner: BotRunner, submission_id: int) -> list[Any]:
    """The outbox rows of the item's messages to the resident."""
    assert runner.app is not None
    secrets = runner.app.bot_data.services.secrets
    found = rows(
        runner.settings,
        "SELECT * FROM outbox WHERE submission_id = ? ORDER BY id",
        (submission_id,),
    )
    return [r for r in found if secrets.decrypt_int(r["chat_enc"]) == RESIDENT.id]


def warnings_about(stub: FakeBotApi, number: int, after: int) -> list[SentMessage]:
    sender = zh("recipient.sender")  # the warnings say whom the message was for (#15.2)
    prefix = zh("admin.delivery_failed", ref=f"#{number}", recipient=sender, error="")
    prefix = prefix.split("：")[0]
    unknown = zh("admin.delivery_unknown", ref=f"#{number}", recipient=sender, error="")
    unknown = unknown.split("（")[0]
    return [
        m
        for m in stub.messages_to(OFFICE)
        if m.seq > after and (m.plain.startswith(prefix) or m.plain.startswith(unknown))
    ]


async def stop_within_bound(runner: BotRunner) -> float:
    began = time.monotonic()
    await runner.stop()
    took = time.monotonic() - began
    assert took < STOP_WITHIN, took
    return took


@some_on_postgresql("fault", UNCERTAIN, postgresql=["close"])
async def test_an_unknown_outcome_is_retried_once_then_failed_and_told_once(
    stub: FakeBotApi, office: BotRunner, clock: FrozenClock, fault: Misbehaviour
) -> None:
    admin = Chat(stub, ADMIN)
    number = await submit(Chat(stub, RESIDENT), "希望在村委会门口加装路灯", anonymous=False)
    card = await office_card(stub, number)
    stub.misbehave(RESIDENT.id, fault)
    mark, calls = stub.mark(), len(stub.calls)
    stub.press_button(ADMIN, card, "受理")
    refreshed = await stub.wait_for(
        OFFICE,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == card.message_id,
        timeout=5,
    )
    await first_send_to(stub, RESIDENT.id, calls)
    await advance(stub, clock, WINDOW, STEP)

    notices = [m for m in stub.messages_to(RESIDENT.id) if m.seq > mark]
    assert len(notices) == 2, [m.plain[:30] for m in notices]  # the send and one retry
    assert {m.plain for m in notices} == {notices[0].plain}
    [row] = outbox_rows(office, number)
    assert (row["status"], row["attempts"], row["uncertain"]) == ("failed", 2, 2)
    [warning] = warnings_about(stub, number, mark)
    unknown = zh(
        "admin.delivery_unknown", ref=f"#{number}", recipient=zh("recipient.sender"), error=""
    )
    assert warning.plain.startswith(unknown.split("（")[0])
    listed = await admin.send("/failed", expect=f"#{number}")
    assert "outcome unknown" in listed.plain

    # More of the same window changes nothing: no third copy, no second warning.
    await advance(stub, clock, WINDOW, STEP * 3)
    assert len([m for m in stub.messages_to(RESIDENT.id) if m.seq > mark]) == 2
    assert len(warnings_about(stub, number, mark)) == 1

    # A stop while the next notice to that chat is being sent (or is due) ends in time.
    calls = len(stub.calls)
    stub.press_button(ADMIN, refreshed, "开始办理")
    await stub.wait_until(
        lambda: (
            any(c.params.get("chat_id") == RESIDENT.id for c in stub.calls[calls:])
            or stub._in_flight > 0
        ),
        timeout=5,
    )
    await stop_within_bound(office)


async def test_500_forever_is_retried_with_backoff_and_jitter_then_failed_once(
    stub: FakeBotApi, office: BotRunner, clock: FrozenClock
) -> None:
    admin = Chat(stub, ADMIN)
    number = await submit(Chat(stub, RESIDENT), "希望在村委会门口加装路灯", anonymous=False)
    card = await office_card(stub, number)
    stub.misbehave(RESIDENT.id, "error_500")
    mark = stub.mark()
    calls = len(stub.calls)
    stub.press_button(ADMIN, card, "受理")
    refreshed = await stub.wait_for(
        OFFICE,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == card.message_id,
        timeout=5,
    )
    stub.press_button(ADMIN, refreshed, "开始办理")  # a second notice, queued a moment later
    await stub.wait_until(lambda: len(outbox_rows(office, number)) == 2)
    await first_send_to(stub, RESIDENT.id, calls)
    await advance(stub, clock, WINDOW, STEP)

    def sends_to_resident() -> int:
        return sum(
            1
            for c in stub.calls[calls:]
            if c.method == "sendMessage" and c.params.get("chat_id") == RESIDENT.id
        )

    # Within 60 s: backoff 1-2, 2-4, 4-8, 8-16, 16-32 s: at most 6 sends of each.
    assert 2 * 4 <= sends_to_resident() <= 2 * 6
    rows = outbox_rows(office, number)
    assert [r["status"] for r in rows] == ["pending", "pending"]
    # Jitter: the two notices, failing at the same moments, are not retried in step.
    assert rows[0]["next_attempt_at"] != rows[1]["next_attempt_at"]

    for _ in range(40):  # about an hour of definite refusals, then a permanent failure
        if all(r["status"] == "failed" for r in outbox_rows(office, number)):
            break
        await advance(stub, clock, 600, 600)
    rows = outbox_rows(office, number)
    assert [(r["status"], r["attempts"], r["uncertain"]) for r in rows] == [
        ("failed", MAX_ATTEMPTS, 0)
    ] * 2
    assert sends_to_resident() == 2 * MAX_ATTEMPTS
    assert [m for m in stub.messages_to(RESIDENT.id) if m.seq > mark] == []
    warnings = warnings_about(stub, number, mark)
    assert len(warnings) == 2  # one per notice, each told once
    assert all("Internal Server Error" in w.plain for w in warnings)
    listed = await admin.send("/failed", expect=f"#{number}")
    assert listed.plain.count(f"#{number}") == 2
    await stop_within_bound(office)


@sqlite_only
async def test_a_job_that_raises_is_logged_by_name_and_the_scheduler_goes_on(
    stub: FakeBotApi, office: BotRunner, caplog: pytest.LogCaptureFixture
) -> None:
    app = office.app
    assert app is not None and app.job_queue is not None
    runs: list[int] = []

    async def broken(context: object) -> None:
        runs.append(1)
        raise KeyError("date")  # what an unreadable answer raises

    app.job_queue.run_repeating(broken, interval=0.2, first=0, name="broken")

    def logged() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "error in job broken"]

    # A run's line is written after its exception has left the job: wait for the lines, not
    # the runs (the third run could have started while its line was still to come).
    await stub.wait_until(lambda: len(logged()) >= 3, timeout=5)
    lines = logged()
    assert len(runs) >= 3 and len(lines) >= 3 and all(r.exc_info for r in lines)
    svc = app.bot_data.services
    await svc.repository.queue_messages(
        [Outgoing(chat_enc=svc.secrets.encrypt_int(RESIDENT.id), text="通知照常发出")]
    )
    await stub.wait_for_text(RESIDENT.id, "通知照常发出", timeout=5)  # the outbox goes on
