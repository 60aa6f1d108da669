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
harmless: a draft remembers the last update applied to it, a submission the update that
confirmed it, and every other effect its update (:mod:`storage.effects`). In webhook mode
:class:`InboxQueue` admits each update before Telegram is answered.

Polling never spins (:meth:`DurableBot.get_updates`): python-telegram-bot's loop asks again
at once after any error that is not a ``TelegramError`` (and the bot polls with
``poll_interval=0``), so the bot's ``get_updates`` handles every failure itself: while
fetching or storing fails, at most one ``getUpdates`` a second and one log line a minute;
the updates stay unconfirmed at Telegram and come again (a full disk loses nothing). Each
update of a batch is read on its own: one that python-telegram-bot cannot read is stored
encrypted in ``dead_letters`` for the operator, its sender (in a private chat) is asked to
send it again, and it is confirmed like the others, so it neither blocks the batch nor
comes back.

Several workers (``jindianzi run --webhook`` started N times on one PostgreSQL database,
:attr:`Inbox.shared`): the inbox is a claim queue. A worker stores what it admits unclaimed,
with a keyed digest of its sender, and whichever worker claims it handles it
(:meth:`storage.inbox.InboxQueries.claim_updates`: a sender's next update only once the
earlier ones are handled, so each sender's updates are handled in their order). A worker
holds what it claimed for :attr:`Inbox.lease` seconds and renews that every third of it; a
dead worker's updates are claimed by a survivor once the lease ran out, and a clean stop
releases them at once. Idle workers look for work every :data:`CLAIM_POLL` seconds, and at
once after they admitted an update or finished one. A worker claims no more than its free
capacity (:attr:`Inbox.capacity`, the updates it handles at once, less those it holds), so
that under a burst the others get their share instead of one worker taking everything
while another idles. A single worker (SQLite, or long
polling) holds everything it admits from the start, and at its start takes over what an
earlier run left unhandled (the replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from telegram import InlineKeyboardMarkup, Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.anonymity import Namespace, Secrets
from bot.config import Language
from bot.core.records import Outgoing, Recipient
from bot.i18n import resolve_language, t
from bot.transport.ordering import sender_of
from bot.transport.pacing import LogThrottle, Pacer
from bot.worker import worker_id
from storage.inbox import Claim, DeadLetter
from storage.repository import Repository

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours; ids older than this cannot come back.
FORGET_AFTER = timedelta(hours=48)
# Unreadable updates are kept this long for the operator (jindianzi dead-letters).
KEEP_DEAD_LETTERS = timedelta(days=30)
# Several workers: seconds an idle worker waits before it looks for claimable updates again
# (a dead worker's, once their lease ran out; it looks at once after its own admissions and
# completions). One short indexed query a second per worker.
CLAIM_POLL = 1.0
# Updates claimed in one transaction at most (at most one per sender, and no more than the
# worker's free capacity).
CLAIM_BATCH = 64
# Updates recently finished here remembered, so that one claimed again before its mark was
# written (its lease ran out while the database was away) is marked, not counted as held.
REMEMBER_FINISHED = 1024
# Updates admitted here remembered for the claim, so that this worker, claiming its own,
# need not decrypt them again.
REMEMBER_ADMITTED = 1024


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch: leases are compared between processes."""
    return int(time.time() * 1000)


class Unreadable(NamedTuple):
    """An update python-telegram-bot could not read."""

    update_id: int | None  # None if even that was missing
    text: str  # the raw JSON
    error: str  # the exception's type
    chat_id: int | None  # the private chat it came from, to apologise to, if known


@dataclass
class Batch:
    """A getUpdates answer read update by update."""

    updates: list[Update] = field(default_factory=list)
    bodies: dict[int, str] = field(default_factory=dict)  # update_id -> the raw JSON
    unreadable: list[Unreadable] = field(default_factory=list)
    next_offset: int = 0  # confirms every update of the batch, readable or not


def read_batch(raw: object, bot: ExtBot[Any]) -> Batch:
    """Read each update of a getUpdates result on its own (ValueError if the result is not
    a list: then nothing can be skipped)."""
    if not isinstance(raw, list):
        raise ValueError(f"getUpdates answered {type(raw).__name__}, not a list of updates")
    batch = Batch()
    for item in raw:
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            update_id = None
        else:
            batch.next_offset = max(batch.next_offset, update_id + 1)
        text = json.dumps(item, ensure_ascii=False)
        try:
            update = Update.de_json(item, bot) if update_id is not None else None
            if update is None:
                raise ValueError("no update_id")
            bot.insert_callback_data(update)
        except Exception as exc:
            batch.unreadable.append(
                Unreadable(update_id, text, type(exc).__name__, _private_chat(item))
            )
            continue
        batch.updates.append(update)
        batch.bodies[update.update_id] = text
    return batch


def _private_chat(item: object) -> int | None:
    """The private chat an unreadable update came from, if that much can be read."""
    if not isinstance(item, dict):
        return None
    for value in item.values():
        chat = value.get("chat") if isinstance(value, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if isinstance(chat_id, int) and not isinstance(chat_id, bool) and chat_id > 0:
            return chat_id
    return None


class Inbox:
    """Admission, completion and replay of updates, over the repository."""

    def __init__(
        self,
        repository: Repository,
        secrets: Secrets,
        *,
        flush_delay: float = 0.2,
        language: Language = "zh-Hans",
        lease: float = 15.0,
        capacity: int = CLAIM_BATCH,
    ):
        self.repository = repository
        self.secrets = secrets
        self.flush_delay = flush_delay
        # Several workers share the database (set by bot.lifecycle before the start).
        self.shared = False
        self.lease = lease
        self.worker = worker_id()
        # Several workers: the updates this worker handles at once (the update processor's
        # limit), and those it claimed and has not finished.
        self.capacity = capacity
        self.holding: set[int] = set()
        self._finished: OrderedDict[int, None] = OrderedDict()
        self._admitted: OrderedDict[int, Update] = OrderedDict()
        # Updates whose handlers met the database away for a moment (bot.transport.retries):
        # how many times, and those waiting to be handled again (not marked handled).
        self.retrying: dict[int, int] = {}
        self.waiting: set[int] = set()
        self.retry_tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Of the apology for an update that cannot be read, and of what its sender is told
        # while the storage is full, when nothing says theirs.
        self.language = language
        self._flush_task: asyncio.Task[None] | None = None
        self.throttle = LogThrottle()

    async def admit(
        self,
        updates: Sequence[Update],
        *,
        bodies: Mapping[int, str] | None = None,
        unreadable: Sequence[Unreadable] = (),
    ) -> list[Update]:
        """Store a fetched batch durably (``bodies``: the updates' JSON as received, else
        rebuilt), with its unreadable updates (:class:`Batch`); returns the updates not seen
        before, in order."""
        if not updates and not unreadable:
            return []
        stored = [
            (u.update_id, self.secrets.encrypt(bodies[u.update_id] if bodies else u.to_json()))
            for u in updates
        ]
        dead = [self._dead_letter(item) for item in unreadable]
        senders = {u.update_id: self.sender_key(u) for u in updates}
        # A single worker holds what it admits; several leave it for whoever claims it.
        claim = Claim(None, 0) if self.shared else Claim(self.worker, self._lease_end())
        fresh = await self.repository.admit_updates(stored, dead, senders=senders, claim=claim)
        for item in unreadable:
            self.throttle.log(
                log,
                logging.WARNING,
                "unreadable",
                "update %s cannot be read (%s): kept encrypted in dead_letters, skipped",
                item.update_id,
                item.error,
            )
        kept: list[Update] = []
        for update in updates:
            if update.update_id in fresh:
                fresh.discard(update.update_id)  # a batch may hold the same update twice
                kept.append(update)
            else:
                log.warning("update %s delivered again: ignored", update.update_id)
        if self.shared:  # handled by whoever claims it (this worker, most likely)
            for update in kept:
                self._admitted[update.update_id] = update
            while len(self._admitted) > REMEMBER_ADMITTED:
                self._admitted.popitem(last=False)
            self.wake()
            return []
        return kept

    def sender_key(self, update: Update) -> str | None:
        """The keyed digest of an update's sender (user, else chat) that orders the claims:
        never the id itself (anonymity)."""
        sender = sender_of(update)
        return None if sender is None else self.secrets.tag(Namespace.INBOX, sender)

    def _lease_end(self) -> int:
        return now_ms() + int(self.lease * 1000)

    def wake(self) -> None:
        """Look for claimable updates now (several workers)."""
        if self._wake is not None:
            self._wake.set()

    def start_claiming(self, queue: asyncio.Queue[object], bot: ExtBot[Any]) -> None:
        """Several workers: claim updates into ``queue`` and renew the leases held, until
        :meth:`stop_claiming`."""
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._tasks = [
            loop.create_task(self._claim(queue, bot)),
            loop.create_task(self._renew()),
        ]

    async def stop_claiming(self) -> None:
        """Claim nothing more (what is claimed is still handled and renewed until
        :meth:`close`)."""
        if self._tasks:
            claimer = self._tasks[0]
            claimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claimer

    @property
    def free(self) -> int:
        """How many more updates this worker can start handling now (claimed at most)."""
        return max(0, min(CLAIM_BATCH, self.capacity - len(self.holding)))

    async def _claim(self, queue: asyncio.Queue[object], bot: ExtBot[Any]) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            claimed: list[tuple[int, str, str | None]] = []
            try:
                now = now_ms()
                if limit := self.free:  # (full: woken again when one is finished)
                    claimed = await self.repository.claim_updates(
                        self.worker,
                        now_ms=now,
                        lease_until=now + int(self.lease * 1000),
                        limit=limit,
                    )
                self.throttle.clear("claim")
            except Exception as exc:  # the database is away: try again after the poll
                if not self.repository.disk.noticed(exc):
                    self.throttle.log(
                        log, logging.WARNING, "claim", "could not claim updates: %s", exc
                    )
            if taken := sum(1 for _, _, held in claimed if held is not None):
                log.warning("took over %d updates of a worker whose lease ran out", taken)
            for update_id, body, _ in claimed:
                update = self._admitted.pop(update_id, None)
                if update_id in self._finished:  # handled here, its mark not yet written
                    self.repository.note_handled(update_id)
                    continue
                self.holding.add(update_id)
                try:
                    if update is None:
                        update = await self._read(update_id, body, bot)
                except Exception as exc:  # (its burial failed) claimed again after the lease
                    self.holding.discard(update_id)
                    log.warning("claimed update %s not handled: %s", update_id, exc)
                    continue
                if update is None:  # (marked handled, or buried)
                    self.holding.discard(update_id)
                else:
                    queue.put_nowait(update)  # not put(): an InboxQueue would admit it again
            if claimed and len(claimed) == limit and self.free:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), CLAIM_POLL)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.repository.renew_claims(self.worker, lease_until=self._lease_end())
            except Exception as exc:
                if not self.repository.disk.noticed(exc):
                    self.throttle.log(
                        log, logging.WARNING, "renew", "could not renew the inbox leases: %s", exc
                    )

    def handled(self, update_id: int) -> None:
        """Note that an update's handlers finished. The mark is written with the next
        transaction of anyone, so a later update's committed effects imply the marks of
        all updates finished before it; when all is quiet, within ``flush_delay``. An update
        held for want of space (:meth:`bot.diskfull.DiskFull.hold`) is not marked: it is
        handled again when there is room (or replayed after a restart), and so is one
        waiting to be handled again after the database was away for a moment."""
        if self.repository.disk.is_held(update_id) or update_id in self.waiting:
            return
        self.retrying.pop(update_id, None)
        self.repository.note_handled(update_id)
        if update_id in self.holding:  # several workers: room for one more claim
            self.holding.discard(update_id)
            self._finished[update_id] = None
            while len(self._finished) > REMEMBER_FINISHED:
                self._finished.popitem(last=False)
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        # Several workers: the sender's next update waits for this mark, perhaps on another
        # worker, so it is written at once (and again while more marks came meanwhile).
        await asyncio.sleep(0 if self.shared else self.flush_delay)
        while await self.flush() and self.shared and self.repository.handled_pending:
            pass

    async def close(self) -> None:
        """At shutdown: write the handled marks now and leave no timer behind; several
        workers: release the updates this one claimed and did not finish, for the others."""
        tasks, self._tasks = [*self._tasks, *self.retry_tasks], []
        self.retry_tasks.clear()  # (what waited stays unhandled: replayed after a restart)
        task, self._flush_task = self._flush_task, None
        for running in (*tasks, task):
            if running is not None and not running.done():
                running.cancel()
        if self.repository.connected:
            await self.flush()
            if tasks:
                try:
                    released = await self.repository.release_claims(self.worker)
                except Exception as exc:  # they are claimed after the lease instead
                    log.warning("could not release the claimed updates: %s", exc)
                else:
                    if released:
                        log.info("released %d claimed updates to the other workers", released)

    async def flush(self) -> bool:
        """Write the handled marks now; whether that worked. Several workers: then look for
        the updates these marks made claimable."""
        try:
            await self.repository.write_handled()
        except Exception as exc:  # the marks ride on a later commit, or the replay after a
            if not self.repository.disk.noticed(exc):  # restart covers these
                log.exception("could not mark updates handled")
            return False
        self.wake()
        return True

    def _dead_letter(self, item: Unreadable) -> DeadLetter:
        notices = []
        if item.chat_id is not None:
            apology = t(self.language, "error.unreadable")
            notices.append(
                Outgoing(
                    chat_enc=self.secrets.encrypt_int(item.chat_id),
                    text=apology,
                    recipient=Recipient.SENDER,
                )
            )
        return DeadLetter(item.update_id, self.secrets.encrypt(item.text), item.error, notices)

    async def replay(self, queue: asyncio.Queue[object], bot: ExtBot[Any]) -> int:
        """Queue the updates a crash left unhandled; returns how many. Also forgets old
        handled ids, effects and dead letters."""
        now = self.repository.clock()
        await self.repository.purge_inbox(now - FORGET_AFTER)
        await self.repository.purge_update_effects(now - FORGET_AFTER)
        await self.repository.purge_dead_letters(now - KEEP_DEAD_LETTERS)
        if self.shared:  # the claims (start_claiming) take them, a dead worker's after its
            return 0  # lease, not those another worker is handling now
        pending = await self.repository.pending_updates()
        if pending:  # the only worker: what an earlier run left is this one's now
            await self.repository.take_over_updates(self.worker, lease_until=self._lease_end())
        count = 0
        for update_id, body in pending:
            update = await self._read(update_id, body, bot)
            if update is None:
                continue
            queue.put_nowait(update)  # not put(): an InboxQueue would admit it again
            count += 1
        if count:
            log.warning("replaying %d updates received before an unclean stop", count)
        return count

    async def _read(self, update_id: int, body: str, bot: ExtBot[Any]) -> Update | None:
        """An update stored in the inbox, read back; None if it cannot be (then marked
        handled, or moved to the dead letters)."""
        plain = self.secrets.decrypt(body)
        if plain is None:  # written under another key: cannot be read, say so
            log.error("update %s in the inbox cannot be decrypted: skipped", update_id)
            self.handled(update_id)
            return None
        try:
            update = Update.de_json(json.loads(plain), bot)
            if update is None:
                raise ValueError("empty update")
        except Exception as exc:  # e.g. read by an older python-telegram-bot
            log.error(
                "update %s in the inbox cannot be read (%s): moved to dead_letters",
                update_id,
                type(exc).__name__,
            )
            letter = DeadLetter(update_id, body, type(exc).__name__)
            await self.repository.bury_update(update_id, letter)
            return None
        return update


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
        if self.admitting and isinstance(item, Update) and not await self._admit(item):
            return
        await super().put(item)

    async def _admit(self, update: Update) -> bool:
        """Store ``update``; False if it was seen before. While the storage is full, its
        sender is told (once) that it waits, and Telegram is answered 503: it sends the
        update again later."""
        disk = self.inbox.repository.disk
        try:
            if not disk.full:
                return bool(await self.inbox.admit([update]))
        except Exception as exc:
            if not disk.noticed(exc):
                raise
        from tornado.web import HTTPError  # (the webhook server's, there only)

        bot = update.get_bot()
        if isinstance(bot, DurableBot):
            await bot.tell_storage_full(update)
        raise HTTPError(503, reason="storage full")


# What Telegram answers to answerCallbackQuery for a query it no longer takes.
STALE_QUERY = "query is too old and response timeout expired or query id is invalid"


class DurableBot(ExtBot[Any]):
    """The bot, with ``getUpdates`` answered only after the batch is in the inbox."""

    def __init__(self, *args: Any, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = inbox
        # The offset that confirms everything admitted so far: python-telegram-bot computes
        # its own from the updates it was given, which leaves out repeats dropped here.
        self._next_offset = 0
        self._pacer = Pacer()
        self._throttle = LogThrottle()
        # Several workers: another one registered this webhook already (bot.app).
        self._webhook_registered = False

    def registered_elsewhere(self, registered: bool) -> None:
        """Whether another worker registered this very webhook (then it is not set again)."""
        self._webhook_registered = registered

    async def set_webhook(self, *args: Any, **kwargs: Any) -> bool:
        """``setWebhook``, unless the same registration is recorded in the database by
        another worker (python-telegram-bot's webhook start always calls it)."""
        if self._webhook_registered:
            log.info("the webhook is registered already (same URL and secret): not set again")
            return True
        return await super().set_webhook(*args, **kwargs)

    async def send_html(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> int | None:
        """``sendMessage`` (HTML and no link previews: the application's ``Defaults``) for
        a reply: the same request as :meth:`send_message`, through the same rate limiter
        and errors, except that Telegram's answer is not built into a
        :class:`~telegram.Message` (which costs about as much as the rest of a reply); only
        its message id is read (None if the answer has none)."""
        sent = await self._post(
            "sendMessage",
            {
                "chat_id": chat_id,
                "text": text,
                "parse_mode": DEFAULT_NONE,
                "reply_markup": reply_markup,
                "link_preview_options": DEFAULT_NONE,
            },
        )
        message_id = sent.get("message_id") if isinstance(sent, dict) else None
        return message_id if isinstance(message_id, int) else None

    async def edit_html(
        self,
        chat_id: int,
        message_id: int,
        text: str | None,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """``editMessageText`` (HTML and no link previews, as :meth:`send_html`) or, when
        ``text`` is None, ``editMessageReplyMarkup`` of a message in a chat: the same
        request and errors as python-telegram-bot's, without building Telegram's answer
        into a :class:`~telegram.Message` that nobody reads."""
        params: JSONDict = {"chat_id": chat_id, "message_id": message_id}
        if text is None:
            await self._post("editMessageReplyMarkup", {**params, "reply_markup": reply_markup})
            return
        await self._post(
            "editMessageText",
            {
                **params,
                "text": text,
                "parse_mode": DEFAULT_NONE,
                "reply_markup": reply_markup,
                "link_preview_options": DEFAULT_NONE,
            },
        )

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        """``answerCallbackQuery``, where a query Telegram no longer takes (answered before,
        or too old: a press handled again after a restart or a full disk) is no error: the
        press is handled all the same. Returns whether the answer was taken."""
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as exc:
            if STALE_QUERY not in exc.message.lower():
                raise
            log.debug("a button press was answered too late: %s", exc.message)
            return False

    async def tell_storage_full(self, update: Update) -> None:
        """The storage is full: tell the sender of ``update`` that it waits for room (once
        per update): an alert for a button press (or, if the press was answered already, a
        message), a message in a private chat; nothing in groups (the office is told on its
        own). Best effort: never raises."""
        user, chat, query = update.effective_user, update.effective_chat, update.callback_query
        if user is None or chat is None:
            return
        if query is None and (update.message is None or chat.type != ChatType.PRIVATE):
            return
        repository = self._inbox.repository
        if not repository.disk.first_answer(update.update_id):
            return
        try:
            chosen = await repository.get_language(user.id)
            lang = resolve_language(chosen or user.language_code, self._inbox.language)
            if query is not None and await query.answer(
                t(lang, "storage.full.alert"), show_alert=True
            ):
                return
            if chat.type == ChatType.PRIVATE:
                await self.send_html(chat.id, t(lang, "storage.full"))
        except Exception as exc:  # TelegramError, or worse: the update is kept anyway
            log.info("a sender could not be told the storage is full: %s", type(exc).__name__)

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (python-telegram-bot's signature)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """``getUpdates``, each batch in the inbox before it is returned (see the module's
        docstring); never raises an ``Exception``: a failure returns no updates, after which
        the next call waits until a second after this one began."""
        await self._pacer.turn()
        began = time.monotonic()
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout or 0
        if isinstance(read_timeout, float | int) or read_timeout is None:
            base = read_timeout or 0
        else:
            base = self._request[0].read_timeout or 0
        data: JSONDict = {
            "offset": max(offset or 0, self._next_offset) or None,
            "limit": limit,
            "timeout": seconds,
            "allowed_updates": allowed_updates,
        }
        disk = self._inbox.repository.disk
        batch: Batch | None = None
        kept: list[Update] = []
        try:
            raw = await self._post(
                "getUpdates",
                data,
                read_timeout=base + seconds,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
            )
            batch = read_batch(raw, self)
            if not disk.full:
                kept = await self._inbox.admit(
                    batch.updates, bodies=batch.bodies, unreadable=batch.unreadable
                )
        except Exception as exc:
            if batch is None or not disk.noticed(exc):  # (a full disk is said by its state)
                self._pacer.failed()
                self._throttle.log(
                    log,
                    logging.WARNING,
                    "poll",
                    "getUpdates failed (%s: %s); the updates stay at Telegram, asked again in 1 s",
                    type(exc).__name__,
                    exc,
                )
                return ()
        assert batch is not None  # (returned above if it was not read)
        if disk.full:  # nothing stored, nothing confirmed: the batch comes again, and its
            # senders are told once that it waits; asked again a second after this try
            await asyncio.gather(*(self.tell_storage_full(u) for u in batch.updates))
            await asyncio.sleep(max(0.0, began + self._pacer.interval - time.monotonic()))
            return ()
        self._next_offset = max(self._next_offset, batch.next_offset)
        if failures := self._pacer.succeeded():
            self._throttle.clear("poll")
            log.warning("getUpdates works again after %d failed attempts", failures)
        if not raw and seconds:  # a long poll answered at once with nothing is not normal
            await asyncio.sleep(max(0.0, began + self._pacer.interval - time.monotonic()))
        return tuple(kept)
