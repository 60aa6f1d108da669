"""Concurrent update processing that keeps each user's updates in order, once each.

Different residents are served at the same time, but one resident's messages are handled
one after another in the order Telegram sent them (a draft's parts stay in sequence and a
conversation never sees two of its own steps at once).

Repeats are the inbox's to drop, not this processor's (#24): an update reaches the queue
only once the inbox stored it for the first time (:meth:`bot.transport.inbox.Inbox.admit`),
by the replay of what a stop left unhandled, by a claim, or to be handled again
(:func:`handle_again`). The processor used to keep the last 10,000 update ids it had seen
and drop them forever after; with several workers that was wrong, not merely redundant: an
update whose lease ran out (the database away longer than the lease) may come back to this
worker by a later claim, after another worker's claim lapsed too, and was then dropped
without its handled mark, its claim renewed by this worker forever and its sender's later
updates held behind it. What is left is per process and cannot be wrong across workers:
a second copy of an update this worker is handling *now* is dropped, since the handling
under way gives it its mark (or, held or retried, queues it again after it has ended).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot import faults
from bot.logs import CURRENT_UPDATE
from storage.residents import remembering_drafts

log = logging.getLogger(__name__)


def sender_of(update: object) -> int | None:
    """Whose update this is for ordering: its user, else its chat (None: nobody's)."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Up to ``max_concurrent_updates`` at once; one at a time per user (else per chat)."""

    def __init__(
        self, max_concurrent_updates: int, *, done: Callable[[int], None] | None = None
    ) -> None:
        super().__init__(max_concurrent_updates)
        # Told each update id once its handlers finished (the durable inbox's mark).
        self._done = done
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        # The updates being handled here now (waiting for their sender's turn included).
        self._running: set[int] = set()

    @staticmethod
    def _key(update: object) -> int | None:
        return sender_of(update)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        if update_id is not None and update_id in self._running:
            # Claimed again while this worker still handles it (its lease ran out while the
            # database was away): the handling under way gives the mark.
            log.info("update %s is being handled here already: not twice at once", update_id)
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # never awaited: close it quietly
            return
        if update_id is not None:
            self._running.add(update_id)
        token = CURRENT_UPDATE.set(update_id)
        try:
            with remembering_drafts():
                await self._in_turn(update, coroutine)
            faults.point("update.handled")
        finally:
            CURRENT_UPDATE.reset(token)
            if update_id is not None:
                self._running.discard(update_id)
            # Handled, whether the handlers succeeded or the error handler took over: an
            # update that fails every time must not be replayed forever.
            if self._done is not None and isinstance(update, Update):
                self._done(update.update_id)

    async def _in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def handle_again(app: Any, updates: Iterable[object]) -> None:
    """Put updates already stored in the inbox back into ``app``'s queue to be handled once
    more (held while the storage was full, or met the database away for a moment)."""
    for update in updates:
        app.update_queue.put_nowait(update)  # (stored already: not put(), which stores)
