"""The durable inbox: no update is lost to a crash, none is handled twice.

Telegram forgets an update once the next ``getUpdates`` call confirms it, and
python-telegram-bot confirms a batch as soon as it is queued, before its handlers ran. So
:class:`DurableBot` writes every fetched batch (encrypted, in one transaction) to SQLite
before returning it, i.e. before the confirmation can happen; updates already seen are
dropped there (Telegram may deliver one again). :class:`Inbox` marks updates handled in
small batches once their handlers finished, and after a crash :meth:`Inbox.replay` queues
the ones still pending before polling starts. The marks ride on the next transaction, so
after a crash the replay holds only updates that no later committed change of the same
resident followed (their handlers run one at a time). Handlers make such a replay
harmless: a draft remembers the last update applied to it, and a submission the update
that confirmed it. In webhook mode :class:`InboxQueue` admits each update before Telegram
is answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.anonymity import Secrets
from storage.repository import Repository

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours; ids older than this cannot come back.
FORGET_AFTER = timedelta(hours=48)


class Inbox:
    """Admission, completion and replay of updates, over the repository."""

    def __init__(self, repository: Repository, secrets: Secrets, *, flush_delay: float = 0.2):
        self.repository = repository
        self.secrets = secrets
        self.flush_delay = flush_delay
        self._flush_task: asyncio.Task[None] | None = None

    async def admit(self, updates: Sequence[Update]) -> list[Update]:
        """Store a fetched batch durably; returns the updates not seen before, in order."""
        if not updates:
            return []
        bodies = [(u.update_id, self.secrets.encrypt(u.to_json())) for u in updates]
        fresh = await self.repository.admit_updates(bodies)
        kept: list[Update] = []
        for update in updates:
            if update.update_id in fresh:
                fresh.discard(update.update_id)  # a batch may hold the same update twice
                kept.append(update)
            else:
                log.warning("update %s delivered again: ignored", update.update_id)
        return kept

    def handled(self, update_id: int) -> None:
        """Note that an update's handlers finished. The mark is written with the next
        transaction of anyone, so a later update's committed effects imply the marks of
        all updates finished before it; when all is quiet, within ``flush_delay``."""
        self.repository.note_handled(update_id)
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_delay)
        await self.flush()

    async def close(self) -> None:
        """At shutdown: write the handled marks now and leave no timer behind."""
        task, self._flush_task = self._flush_task, None
        if task is not None and not task.done():
            task.cancel()
        await self.flush()

    async def flush(self) -> None:
        """Write the handled marks now."""
        try:
            await self.repository.write_handled()
        except Exception:  # the database is gone: the replay after a restart covers these
            log.exception("could not mark updates handled")

    async def replay(self, queue: asyncio.Queue[object], bot: ExtBot[Any]) -> int:
        """Queue the updates a crash left unhandled; returns how many. Also forgets old
        handled ids."""
        await self.repository.purge_inbox(self.repository.clock() - FORGET_AFTER)
        count = 0
        for update_id, body in await self.repository.pending_updates():
            plain = self.secrets.decrypt(body)
            if plain is None:  # written under another key: cannot be read, say so
                log.error("update %s in the inbox cannot be decrypted: skipped", update_id)
                self.handled(update_id)
                continue
            update = Update.de_json(json.loads(plain), bot)
            queue.put_nowait(update)  # not put(): an InboxQueue would admit it again
            count += 1
        if count:
            log.warning("replaying %d updates received before an unclean stop", count)
        return count


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue. In webhook mode (``admitting``) ``put`` stores the
    update in the inbox first, so before python-telegram-bot's webhook server answers
    Telegram 200, and drops a repeat; if the database fails, the server answers 500 and
    Telegram sends the update again. Long polling admits whole batches in
    :class:`DurableBot` instead."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox
        self.admitting = False

    async def put(self, item: object) -> None:
        if self.admitting and isinstance(item, Update) and not await self.inbox.admit([item]):
            return
        await super().put(item)


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class DurableBot(ExtBot[Any]):
    """The bot, with ``getUpdates`` answered only after the batch is in the inbox."""

    def __init__(self, *args: Any, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = inbox
        # The offset that confirms everything admitted so far: python-telegram-bot computes
        # its own from the updates it was given, which leaves out repeats dropped here.
        self._next_offset = 0

    async def send_html(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """``sendMessage`` with HTML and no link previews, for a reply whose sent message
        nobody reads: the same request as :meth:`send_message`, through the same rate
        limiter and errors, except that Telegram's answer is not built into a
        :class:`~telegram.Message` (which costs about as much as the rest of a reply)."""
        await self._post(
            "sendMessage",
            {
                "chat_id": chat_id,
                "text": text,
                "parse_mode": ParseMode.HTML,
                "reply_markup": reply_markup,
                "link_preview_options": NO_PREVIEW,
            },
        )

    async def get_updates(
        self, offset: int | None = None, *args: Any, **kwargs: Any
    ) -> tuple[Update, ...]:
        offset = max(offset or 0, self._next_offset) or None
        updates = await super().get_updates(offset, *args, **kwargs)
        if not updates:
            return updates
        kept = await self._inbox.admit(updates)
        self._next_offset = max(self._next_offset, max(u.update_id for u in updates) + 1)
        return tuple(kept)
