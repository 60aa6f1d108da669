"""Concurrent update processing that keeps each user's updates in order, once each.

Different residents are served at the same time, but one resident's messages are handled
one after another in the order Telegram sent them (a draft's parts stay in sequence and a
conversation never sees two of its own steps at once).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
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
        self,
        max_concurrent_updates: int,
        *,
        remember: int = 10_000,
        done: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        # Told each update id once its handlers finished (the durable inbox's mark).
        self._done = done
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        # Telegram may deliver an update again (e.g. after a lost getUpdates answer); the
        # last ``remember`` update ids are kept so none is handled twice.
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self._remember = remember

    def _first_time(self, update: object) -> bool:
        if not isinstance(update, Update):
            return True
        if update.update_id in self._seen:
            log.warning("update %s delivered again: ignored", update.update_id)
            return False
        self._seen.add(update.update_id)
        self._order.append(update.update_id)
        if len(self._order) > self._remember:
            self._seen.discard(self._order.popleft())
        return True

    def forget(self, update_ids: Iterable[int]) -> None:
        """Let these updates be handled once more (held while the storage was full, and
        put in the queue again now that there is room)."""
        for update_id in update_ids:
            self._seen.discard(update_id)

    @staticmethod
    def _key(update: object) -> int | None:
        return sender_of(update)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not self._first_time(update):
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # never awaited: close it quietly
            return
        token = CURRENT_UPDATE.set(update.update_id if isinstance(update, Update) else None)
        try:
            with remembering_drafts():
                await self._in_turn(update, coroutine)
            faults.point("update.handled")
        finally:
            CURRENT_UPDATE.reset(token)
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
    more (held while the storage was full, or met the database away for a moment): the
    processor forgets having seen them, else it would take them for repeats."""
    updates = list(updates)
    processor = app.update_processor
    if isinstance(processor, PerUserUpdateProcessor):
        processor.forget(u.update_id for u in updates if isinstance(u, Update))
    for update in updates:
        app.update_queue.put_nowait(update)  # (stored already: not put(), which stores)
