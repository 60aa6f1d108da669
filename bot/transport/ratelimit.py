"""Flood control: keeps the bot inside Telegram's limits without bursts beyond them.

Telegram allows about 30 messages per second overall, one per second in a private chat and
20 per minute in a group. python-telegram-bot's ``AIORateLimiter`` uses leaky buckets whose
capacity equals the rate: after a quiet spell it lets a full bucket through at once and then
keeps going at the rate, so up to twice the limit can land inside one second (or minute),
and it has no per-private-chat limit at all. :class:`FloodLimiter` instead keeps, per scope,
the release times of the last ``max_rate`` requests and lets a request go only when that
many have not been released within the period (plus a safety margin for network jitter):
at no moment do more than ``max_rate`` requests fall inside any one period.

Scopes: every request addressed to a chat counts against the overall limit (as in PTB);
messages created in a group or channel (negative chat id or ``@username``) against that
chat's per-minute limit; messages created in a private chat against that chat's per-second
limit. Edits, chat actions and callback answers are not per-chat limited.

The per-private-chat limit holds back what the bot sends on its own initiative: the outbox
deliveries (notices, broadcasts), which run inside :func:`bulk_sending`. A direct answer in
a conversation is not delayed by it (Telegram tolerates short bursts in a private chat, and
a resident should not wait a second for each part of an answer), but it is counted: a notice
to that chat waits until a second after the last answer. Per-chat state is
dropped once the chat has been idle for a period, so memory stays bounded by the chats
active in the last minute.

On a ``RetryAfter`` (HTTP 429) for a request to a chat, that chat's requests wait the time
Telegram asked for, and no other chat's: one group's flood wait must not freeze every
resident's answers. Only a 429 to a request without a chat (Telegram's limit for the bot as
a whole) holds every request. A direct request is then retried up to ``max_retries`` times,
as PTB's limiter does; an outbox delivery (:func:`bulk_sending`) is not: the 429 is raised
at once, so the delivery run reschedules that message and goes on with the others, and
:meth:`FloodLimiter.chat_delay` reports the chat's wait so its next messages are left for a
later run too. Every wait is measured on the monotonic clock: a jump of the wall clock
neither stretches nor cuts one.

Several workers (``jindianzi run`` started N times on one database) share the limits without
a round trip per message: each holds ``1/N`` of the overall and of every group's limit
(:meth:`FloodLimiter.share`, N the live workers' heartbeats, :mod:`bot.leadership`), so
together they stay within Telegram's. The per-private-chat limit is not divided: it holds
back the outbox, which only the leader sends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]

# Periods are stretched by this fraction: what the limiter measures at release, Telegram
# measures at arrival, and two requests can arrive closer together than they were sent.
SAFETY_MARGIN = 0.1

# Methods that create messages in a chat (the ones the per-chat limits are about).
_MESSAGE_METHODS = frozenset({"copymessage", "copymessages", "forwardmessage", "forwardmessages"})


_BULK: ContextVar[bool] = ContextVar("jindianzi_bulk_sending", default=False)


@contextmanager
def bulk_sending() -> Iterator[None]:
    """Requests made inside (in this task) are held to the per-private-chat limit."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


def _is_group(chat: int | str) -> bool:
    return isinstance(chat, str) or chat < 0


def creates_message(endpoint: str) -> bool:
    name = endpoint.lower()
    return (name.startswith("send") and name != "sendchataction") or name in _MESSAGE_METHODS


class SlidingWindow:
    """At most ``max_rate`` releases within any ``period`` seconds (a sliding-window log).

    Waiters are served in arrival order. ``max_rate`` may be fractional (0.5 per second is
    one per two seconds): the window then holds one release and the period is stretched.
    With ``spread`` the releases are evenly spaced as well, so not even ``max_rate`` of them
    leave at once.
    """

    __slots__ = (
        "_base_period",
        "_clock",
        "_gap",
        "_lock",
        "_period",
        "_released",
        "_size",
        "waiting",
    )

    def __init__(
        self,
        max_rate: float,
        period: float,
        *,
        spread: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rate <= 0 or period <= 0:
            raise ValueError("max_rate and period must be positive")
        self._base_period = period
        self._size = max(1, int(max_rate))
        # A fractional rate keeps the average: e.g. 1.5/s becomes 1 per 2/3 s.
        self._period = period * self._size / max_rate * (1 + SAFETY_MARGIN)
        # With ``spread``, releases are also at least period/max_rate apart: no burst at all.
        self._gap = self._period / self._size if spread else 0.0
        self._released: deque[float] = deque(maxlen=self._size)
        self._lock = asyncio.Lock()
        self._clock = clock
        self.waiting = 0

    @property
    def period(self) -> float:
        """The effective window length in seconds (with the safety margin)."""
        return self._period

    def idle(self, now: float) -> bool:
        """Nobody waits and the window is empty: forgetting this limiter changes nothing."""
        return self.waiting == 0 and (
            not self._released or now - self._released[-1] >= self._period
        )

    def delay(self) -> float:
        """Seconds an acquire now would wait, not counting the ones already waiting."""
        if not self._released:
            return 0.0
        now = self._clock()
        wait = self._released[-1] + self._gap - now
        if len(self._released) == self._size:
            wait = max(wait, self._released[0] + self._period - now)
        return max(wait, 0.0) + (self._period if self.waiting else 0.0)

    def resized(self, max_rate: float) -> SlidingWindow:
        """A window of another rate that remembers this one's recent releases."""
        window = SlidingWindow(
            max_rate, self._base_period, spread=bool(self._gap), clock=self._clock
        )
        window._released.extend(self._released)
        return window

    def note(self) -> None:
        """Count a release that did not wait (it still holds back the ones that do)."""
        self._released.append(self._clock())

    async def acquire(self) -> None:
        self.waiting += 1
        try:
            async with self._lock:
                while self._released:
                    now = self._clock()
                    wait = self._released[-1] + self._gap - now
                    if len(self._released) == self._size:
                        wait = max(wait, self._released[0] + self._period - now)
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                self._released.append(self._clock())
        finally:
            self.waiting -= 1


class FloodLimiter(BaseRateLimiter[int]):
    """The bot's rate limiter (see the module docstring). A rate of 0 turns a scope off.

    ``rate_limit_args`` of a call (PTB's ``rate_limit_args=``) overrides ``max_retries``.
    """

    def __init__(
        self,
        *,
        overall_max_rate: float = 30.0,
        private_max_rate: float = 1.0,
        group_max_rate: float = 20.0,
        group_time_period: float = 60.0,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._overall = (
            SlidingWindow(overall_max_rate, 1.0, spread=True, clock=clock)
            if overall_max_rate
            else None
        )
        self._overall_rate = overall_max_rate
        self._workers = 1
        self._private_rate = private_max_rate
        self._group_rate = group_max_rate
        self._group_period = group_time_period
        self._chats: dict[int | str, SlidingWindow] = {}
        self._last_sweep = clock()
        self._max_retries = max_retries
        # Until when (on ``clock``) Telegram asked to wait: per chat, and None for the bot.
        self._holds: dict[int | str | None, float] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    @property
    def tracked_chats(self) -> int:
        """How many per-chat windows are held (bounded: idle ones are dropped)."""
        return len(self._chats)

    @property
    def workers(self) -> int:
        """Among how many workers the overall and group limits are divided."""
        return self._workers

    def share(self, workers: int) -> None:
        """Hold ``1/workers`` of the overall and of each group's limit from now on (the
        releases already made still count)."""
        workers = max(1, workers)
        if workers == self._workers:
            return
        self._workers = workers
        if self._overall is not None:
            self._overall = self._overall.resized(self._overall_rate / workers)
        for chat, window in list(self._chats.items()):
            if _is_group(chat):
                self._chats[chat] = window.resized(self._group_rate / workers)

    def chat_delay(self, chat_id: int | str) -> float:
        """Seconds a new message to ``chat_id`` would now wait for that chat's own limit
        (the outbox leaves such a message for a later run instead of holding up the rest)."""
        window = self._chats.get(chat_id)
        delay = 0.0 if window is None else window.delay()
        return max(delay, self.held_for(chat_id), self.held_for(None))

    def held_for(self, chat: int | str | None) -> float:
        """Seconds left of the flood wait Telegram imposed on ``chat`` (None: the bot)."""
        until = self._holds.get(chat)
        return 0.0 if until is None else max(0.0, until - self._clock())

    def _hold(self, chat: int | str | None, seconds: float) -> None:
        until = self._clock() + seconds
        self._holds[chat] = max(until, self._holds.get(chat, until))

    async def _wait_hold(self, chat: int | str | None) -> None:
        """Wait out the flood wait on ``chat`` (None: the bot's), also one that grows."""
        wait = self.held_for(chat)
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self.held_for(chat)

    def _chat_window(self, chat: int | str) -> SlidingWindow | None:
        group = _is_group(chat)
        rate = self._group_rate / self._workers if group else self._private_rate
        if not rate:
            return None
        self._sweep()
        window = self._chats.get(chat)
        if window is None:
            period = self._group_period if group else 1.0
            window = SlidingWindow(rate, period, clock=self._clock)
            self._chats[chat] = window
        return window

    def _sweep(self) -> None:
        """Forget the windows of idle chats, at most once a second."""
        now = self._clock()
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        for key in [key for key, window in self._chats.items() if window.idle(now)]:
            del self._chats[key]
        for held in [held for held, until in self._holds.items() if until <= now]:
            del self._holds[held]

    async def _once(
        self,
        chat: int | str | None,
        per_chat: bool,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> Result:
        await self._wait_hold(None)
        if chat is not None:
            await self._wait_hold(chat)
            window = self._chat_window(chat) if per_chat else None
            if window is None:
                pass
            elif isinstance(chat, int) and chat > 0 and not _BULK.get():
                window.note()  # an answer in a conversation: counted, not delayed
            else:
                await window.acquire()
            if self._overall is not None:
                await self._overall.acquire()
            await self._wait_hold(chat)  # a 429 to this chat came while this one queued
        await self._wait_hold(None)
        return await callback(*args, **kwargs)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        chat: int | str | None = None
        raw = data.get("chat_id")
        if raw is not None:
            try:
                chat = int(raw)
            except (TypeError, ValueError):
                chat = str(raw)  # "@channelname"
        per_chat = creates_message(endpoint)
        for attempt in range(max_retries + 1):
            try:
                return await self._once(chat, per_chat, callback, args, kwargs)
            except RetryAfter as exc:
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                # That chat's requests wait (all of them, for a request without a chat).
                self._hold(chat, seconds + 0.1)
                if _BULK.get():
                    raise  # the outbox reschedules it and goes on with other chats
                if attempt == max_retries:
                    log.warning("flood control: giving up after %d retries", max_retries)
                    raise
                log.info(
                    "flood control: Telegram asked to wait %.1f s (%s)",
                    seconds,
                    "one chat" if chat is not None else "every chat",
                )
        raise AssertionError("unreachable")  # pragma: no cover
