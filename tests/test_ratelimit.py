"""The flood limiter (bot/ratelimit.py): no more than the limit inside any window, per-chat
limits for private chats and groups, retries on RetryAfter, idle chats forgotten."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import FloodLimiter, SlidingWindow, bulk_sending, creates_message


def most_in_window(times: list[float], period: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= period:
            start += 1
        best = max(best, end - start + 1)
    return best


class Recorder:
    """A stand-in for PTB's request callback that notes when each request went out."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, Any]] = []

    async def __call__(self, chat_id: Any) -> bool:
        self.sent.append((time.monotonic(), chat_id))
        return True


async def send(limiter: FloodLimiter, recorder: Recorder, chat_id: Any, endpoint: str) -> None:
    await limiter.process_request(
        recorder, (chat_id,), {}, endpoint, {"chat_id": chat_id, "text": "x"}, None
    )


def test_only_message_creating_methods_are_limited_per_chat() -> None:
    assert creates_message("sendMessage")
    assert creates_message("sendMediaGroup")
    assert creates_message("copyMessage")
    assert not creates_message("sendChatAction")
    assert not creates_message("editMessageText")
    assert not creates_message("answerCallbackQuery")


async def test_a_window_never_holds_more_than_the_rate_even_after_a_quiet_spell() -> None:
    window = SlidingWindow(5, 0.2)
    released: list[float] = []

    async def take() -> None:
        await window.acquire()
        released.append(time.monotonic())

    await asyncio.gather(*(take() for _ in range(17)))
    assert len(released) == 17
    assert most_in_window(released, 0.2) <= 5


async def test_a_spread_window_spaces_releases_evenly() -> None:
    window = SlidingWindow(10, 0.5, spread=True)
    released: list[float] = []
    for _ in range(6):
        await window.acquire()
        released.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(released)]
    assert min(gaps) >= 0.05  # 0.5 s / 10: nothing leaves as a burst


def test_a_window_refuses_nonsense_rates() -> None:
    with pytest.raises(ValueError):
        SlidingWindow(0, 1)


async def test_bulk_sends_to_a_private_chat_keep_its_rate_while_others_proceed() -> None:
    limiter = FloodLimiter(overall_max_rate=1000, private_max_rate=4, group_max_rate=20)
    recorder = Recorder()
    with bulk_sending():
        await asyncio.gather(
            *(send(limiter, recorder, 42, "sendMessage") for _ in range(9)),
            *(send(limiter, recorder, 43 + n, "sendMessage") for n in range(20)),
        )
    to_42 = [t for t, chat in recorder.sent if chat == 42]
    assert len(to_42) == 9
    assert most_in_window(to_42, 1.0) <= 4
    others = [t for t, chat in recorder.sent if chat != 42]
    assert len(others) == 20


async def test_answers_in_a_conversation_are_counted_but_not_delayed() -> None:
    limiter = FloodLimiter(overall_max_rate=1000, private_max_rate=1, group_max_rate=20)
    recorder = Recorder()
    for _ in range(3):  # a handler's answer in several messages goes out at once
        await send(limiter, recorder, 42, "sendMessage")
    with bulk_sending():  # a notice right after them waits for the chat's window
        await send(limiter, recorder, 42, "sendMessage")
    times = [t for t, _ in recorder.sent]
    assert times[2] - times[0] < 1.0
    assert times[3] - times[2] >= 1.0


async def test_edits_in_a_private_chat_are_not_held_back_by_its_message_limit() -> None:
    limiter = FloodLimiter(overall_max_rate=1000, private_max_rate=1, group_max_rate=20)
    recorder = Recorder()
    started = time.monotonic()
    with bulk_sending():
        await send(limiter, recorder, 42, "sendMessage")
        for _ in range(3):
            await send(limiter, recorder, 42, "editMessageText")
    assert len(recorder.sent) == 4
    assert time.monotonic() - started < 1.0  # three edits did not wait for the 1/s window


async def test_groups_allow_their_per_minute_budget_then_hold_back() -> None:
    limiter = FloodLimiter(overall_max_rate=1000, group_max_rate=3, group_time_period=0.5)
    recorder = Recorder()
    await asyncio.gather(*(send(limiter, recorder, -100123, "sendMessage") for _ in range(7)))
    times = [t for t, _ in recorder.sent]
    assert len(times) == 7
    assert most_in_window(times, 0.5) <= 3


async def test_the_overall_limit_covers_every_chat() -> None:
    limiter = FloodLimiter(overall_max_rate=10, private_max_rate=0, group_max_rate=20)
    recorder = Recorder()
    await asyncio.gather(*(send(limiter, recorder, 100 + n, "sendMessage") for n in range(25)))
    assert most_in_window([t for t, _ in recorder.sent], 1.0) <= 10


async def test_retry_after_waits_and_retries() -> None:
    limiter = FloodLimiter(overall_max_rate=100, max_retries=2)
    calls: list[float] = []

    async def flaky() -> bool:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RetryAfter(1)
        return True

    result = await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 5}, None)
    assert result is True
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 1.0  # Telegram's retry_after was honoured


async def test_retry_after_gives_up_after_max_retries() -> None:
    limiter = FloodLimiter(overall_max_rate=100, max_retries=0)

    async def refused() -> bool:
        raise RetryAfter(0)

    with pytest.raises(RetryAfter):
        await limiter.process_request(refused, (), {}, "sendMessage", {"chat_id": 5}, None)


async def test_idle_chats_are_forgotten() -> None:
    now = [0.0]
    limiter = FloodLimiter(overall_max_rate=0, private_max_rate=1, clock=lambda: now[0])
    recorder = Recorder()
    with bulk_sending():
        for chat in range(1, 1001):
            await send(limiter, recorder, chat, "sendMessage")
        assert limiter.tracked_chats == 1000
        now[0] += 5.0  # every chat idle for longer than its window
        await send(limiter, recorder, 5000, "sendMessage")
    assert limiter.tracked_chats == 1
    assert len(recorder.sent) == 1001


async def test_requests_without_a_chat_are_not_limited() -> None:
    limiter = FloodLimiter(overall_max_rate=1)
    calls = 0

    async def answer() -> bool:
        nonlocal calls
        calls += 1
        return True

    started = time.monotonic()
    for _ in range(5):
        await limiter.process_request(answer, (), {}, "answerCallbackQuery", {}, None)
    assert calls == 5
    assert time.monotonic() - started < 1.0
