"""The flood limiter (bot/transport/ratelimit.py): no more than the limit inside any window,
per-chat limits for private chats and groups, retries on RetryAfter, idle chats forgotten."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.transport.ratelimit import FloodLimiter, SlidingWindow, bulk_sending, creates_message


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


# ---------------------------------------------------------------- flood waits (issue 15.10)
class FloodedChat:
    """A request callback whose calls to ``chat`` are answered 429 ``retry_after`` the first
    ``times`` times; every call is noted with its time."""

    def __init__(self, chat: int | None, retry_after: float, times: int = 1) -> None:
        self.chat, self.retry_after, self.left = chat, retry_after, times
        self.calls: list[tuple[float, Any]] = []

    async def __call__(self, chat_id: Any) -> bool:
        self.calls.append((time.monotonic(), chat_id))
        if chat_id == self.chat and self.left:
            self.left -= 1
            raise RetryAfter(self.retry_after)  # type: ignore[arg-type]
        return True


async def request(
    limiter: FloodLimiter, api: FloodedChat, chat_id: int | None, endpoint: str = "sendMessage"
) -> float:
    """Make the request; the seconds it took."""
    started = time.monotonic()
    data = {} if chat_id is None else {"chat_id": chat_id, "text": "x"}
    await limiter.process_request(api, (chat_id,), {}, endpoint, data, None)
    return time.monotonic() - started


async def test_a_flood_wait_holds_only_its_own_chat() -> None:
    limiter = FloodLimiter(overall_max_rate=100)
    api = FloodedChat(-100123, retry_after=2)
    office = asyncio.create_task(request(limiter, api, -100123))
    await asyncio.sleep(0.05)  # the group's 429 has come back
    assert limiter.held_for(-100123) > 1.5 and limiter.held_for(None) == 0
    others = [await request(limiter, api, chat) for chat in (11, 12, -100456)]
    assert max(others) < 0.3  # residents and other groups are answered at once
    edit = await request(limiter, api, 13, "editMessageText")
    assert edit < 0.3
    assert await office >= 2.0  # the group's own message waited as asked, then went
    assert [c for _, c in api.calls].count(-100123) == 2


async def test_a_message_to_a_held_chat_waits_too() -> None:
    limiter = FloodLimiter(overall_max_rate=100)
    api = FloodedChat(-100123, retry_after=1)
    first = asyncio.create_task(request(limiter, api, -100123))
    await asyncio.sleep(0.05)
    second = await request(limiter, api, -100123, "editMessageText")
    assert second >= 0.9  # sent into the wait: held as well
    await first


async def test_a_flood_wait_without_a_chat_holds_every_chat() -> None:
    limiter = FloodLimiter(overall_max_rate=100)
    api = FloodedChat(None, retry_after=1)
    bot_wide = asyncio.create_task(request(limiter, api, None, "setMyCommands"))
    await asyncio.sleep(0.05)
    assert limiter.held_for(None) > 0.8
    assert await request(limiter, api, 11) >= 0.9
    await bot_wide


async def test_an_outbox_delivery_is_not_held_up_by_a_flood_wait() -> None:
    """In bulk sending the 429 comes back at once (the outbox reschedules that message),
    and the chat's delay tells the outbox to leave its next messages for later."""
    limiter = FloodLimiter(overall_max_rate=100)
    api = FloodedChat(-100123, retry_after=20)
    with bulk_sending():
        started = time.monotonic()
        with pytest.raises(RetryAfter):
            await request(limiter, api, -100123)
        assert time.monotonic() - started < 0.5
        assert 19 < limiter.chat_delay(-100123) <= 20.1
        assert limiter.chat_delay(11) == 0.0
        assert await request(limiter, api, 11) < 0.3


async def test_flood_waits_run_on_the_monotonic_clock() -> None:
    """A flood wait is measured on the limiter's clock (monotonic by default): the wall
    clock jumping a day either way neither stretches nor ends it (issue 15.11)."""
    now = [1000.0]
    limiter = FloodLimiter(overall_max_rate=100, clock=lambda: now[0])
    api = FloodedChat(-100123, retry_after=30)
    with bulk_sending(), pytest.raises(RetryAfter):
        await request(limiter, api, -100123)
    with pytest.MonkeyPatch.context() as patch:
        for jump in (86_400.0, -86_400.0):
            patch.setattr(time, "time", lambda jump=jump: 1_800_000_000.0 + jump)
            assert limiter.held_for(-100123) == pytest.approx(30.1)
    now[0] += 30.2
    assert limiter.held_for(-100123) == 0.0
    assert limiter.chat_delay(-100123) == 0.0
