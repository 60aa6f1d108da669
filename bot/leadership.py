"""One worker leads: it runs the scheduled jobs (digest, weekly summary, reminders and
escalation, the phase surveys, maintenance and purges, the model's training) and sends the
outbox. Several ``jindianzi run`` processes may share one database; a single process is
simply always the leader, by the same code, on SQLite and on PostgreSQL.

The lease ``leader`` in the database (:mod:`storage.leases`) says who leads and until when.
Every worker tries to take it, and the leader renews it, every :data:`RENEW_EVERY` seconds
with one conditional upsert; it is another worker's to take once it has expired
(:data:`LEASE_SECONDS` after its last renewal). A worker believes it leads only until
``LEASE_SECONDS - MARGIN`` after the renewal was *sent* (measured on the monotonic clock),
so its belief ends before the lease expires in the database even if the answer came late;
a renewal that fails (the database refused, or the lease is someone else's) ends its
leadership at once. A lease held by a process of this host that no longer exists (the
previous run of a crashed bot) is taken at once instead of after it expires.

Why 15 s and 3 s: a PostgreSQL restart or a busy moment of a few seconds costs the leader
its role only while the database is really unreachable (the renewal is retried every 3 s
and the holder renews its own lease whenever it reaches the database again); a dead
leader's jobs move to a survivor within 15 + 3 s; the writes (one small upsert per worker
every 3 s, in the group commit) are negligible.

On election, before it sends anything, the new leader records the sends its predecessor
left under way as uncertain (:func:`bot.transport.delivery.recover_interrupted`: sent once
more at most), and then catches up on what is overdue (the reports; reminders catch up by
design). Every worker also keeps a heartbeat lease ``worker:<id>``; the number of live ones
divides the flood limits between the workers (:meth:`bot.transport.ratelimit.FloodLimiter.share`).

On PostgreSQL the leader LISTENs on ``jindianzi_outbox``: a worker that queued messages
without leading NOTIFYs it (after its commit), so they leave at once, not at the next
periodic run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.worker import worker_id
from storage.leases import WORKER_PREFIX
from storage.repository import Repository

log = logging.getLogger(__name__)

LEADER = "leader"
LEASE_SECONDS = 15.0
RENEW_EVERY = 3.0
# The leader's belief ends this long before its lease expires (clock skew between hosts,
# and the time the renewal's answer took on the way back).
MARGIN = 2.0
# A heartbeat expired this long ago is deleted (the worker is gone).
FORGET_AFTER = 600.0
CHANNEL = "jindianzi_outbox"

Callback = Callable[[], Awaitable[None]]


def dead_holder(holder: str) -> bool:
    """Whether ``holder`` (``host:pid:random``, :func:`bot.worker.worker_id`) names a
    process of this host that no longer runs: its lease need not be waited out."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname().split(".")[0][:40] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return holder != worker_id()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # (alive, someone else's)
        return False
    return False


class Leadership:
    """This worker's part: whether it leads now (:attr:`leading`), the renewal loop, the
    heartbeat and the number of live workers (:attr:`workers`)."""

    def __init__(
        self,
        repository: Repository,
        *,
        holder: str | None = None,
        lease: float = LEASE_SECONDS,
        renew_every: float = RENEW_EVERY,
        margin: float = MARGIN,
    ) -> None:
        self.repository = repository
        self.holder = holder or worker_id()
        self.lease = lease
        self.renew_every = renew_every
        self.margin = min(margin, lease / 2)
        self.workers = 1
        # Run when this worker becomes the leader, before it acts as one (a failure: not
        # elected this time, tried again at the next renewal).
        self.on_elected: Callback | None = None
        # Run with every change of the number of live workers.
        self.on_workers: Callable[[int], None] | None = None
        # Run on the leader for every NOTIFY on the channel (PostgreSQL), with its payload
        # ("" for the outbox, "learn" for new labels); "" once when it starts listening.
        self.on_notified: Callable[[str], None] | None = None
        self._valid_until = 0.0
        self._previous: str | None = None  # who held the lease before this worker took it
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._nudges: set[asyncio.Task[None]] = set()

    @property
    def leading(self) -> bool:
        return time.monotonic() < self._valid_until

    async def step(self) -> bool:
        """One renewal (or attempt to take the lead) and heartbeat; returns :attr:`leading`."""
        sent = time.monotonic()
        now = time.time()
        was = self.leading
        try:
            taken = await self._take(now)
        except Exception as exc:
            taken = False
            if was and not self.repository.disk.noticed(exc):  # (a full disk is said once)
                log.warning("leader lease not renewed (%s): no longer leading", type(exc).__name__)
            was = False
        if taken and not was:
            try:
                if self.on_elected is not None:
                    await self.on_elected()
            except Exception as exc:
                log.error("taking over as the leader failed (%s); trying again", exc)
                with contextlib.suppress(Exception):
                    await self.repository.release_lease(LEADER, self.holder)
                taken = False
            else:
                # Said when it first leads (or takes over from another worker), not again
                # each time its own lease lapsed for a moment (a full disk, a restart).
                (log.info if self._previous != self.holder else log.debug)(
                    "this worker leads now (scheduled jobs, the outbox)"
                )
        if taken:
            self._valid_until = sent + self.lease - self.margin
        else:
            if was:
                log.warning("leader lease lost to another worker: no longer leading")
            self._valid_until = 0.0
        self._listen(self.leading)
        await self._heartbeat(now)
        return self.leading

    async def _take(self, now: float) -> bool:
        repo = self.repository
        if not self.leading:
            current = await repo.lease_holder(LEADER)
            self._previous = None if current is None else current[0]
        if await repo.take_lease(LEADER, self.holder, now=now, seconds=self.lease):
            return True
        current = await repo.lease_holder(LEADER)
        if current is not None and dead_holder(current[0]):
            log.info("the previous leader's process is gone: taking over at once")
            return await repo.take_lease(
                LEADER, self.holder, now=now, seconds=self.lease, steal=current[0]
            )
        return False

    async def _heartbeat(self, now: float) -> None:
        repo = self.repository
        try:
            await repo.take_lease(
                WORKER_PREFIX + self.holder, self.holder, now=now, seconds=self.lease
            )
            workers = max(1, await repo.live_workers(now=now))
            if self.leading:
                await repo.forget_dead_workers(before=now - FORGET_AFTER)
        except Exception as exc:  # the lease's own renewal says what matters
            log.debug("heartbeat not written: %s", exc)
            return
        if workers != self.workers:
            log.info("%d workers share the database", workers)
            self.workers = workers
            if self.on_workers is not None:
                self.on_workers(workers)

    def start(self) -> None:
        """Renew in the background from now on (after a first :meth:`step`)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await self.step()
            except Exception:  # never let the renewal loop die
                log.exception("leader lease renewal failed")
                self._valid_until = 0.0

    async def stop(self) -> None:
        """Stop renewing and give the lead (and the heartbeat) up at once: a survivor takes
        over at its next renewal instead of after the lease expires."""
        for task in (self._task, self._listener, *self._nudges):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._listener = None
        was = self._valid_until > 0
        self._valid_until = 0.0
        with contextlib.suppress(Exception):
            if was:
                await self.repository.release_lease(LEADER, self.holder)
            await self.repository.release_lease(WORKER_PREFIX + self.holder, self.holder)

    # ---------------------------------------------------------------- the outbox's wake-up
    def nudge(self, payload: str = "") -> None:
        """Not leading: tell the leader that messages were queued, or with ``"learn"`` that
        labels were stored (NOTIFY, PostgreSQL)."""
        task = asyncio.get_running_loop().create_task(self._notify(payload))
        self._nudges.add(task)
        task.add_done_callback(self._nudges.discard)

    async def _notify(self, payload: str) -> None:
        try:
            await self.repository.notify_leader(payload)
        except Exception as exc:  # the leader's periodic run sends them anyway
            log.info("the leader was not woken (%s): its next run sends the messages", exc)

    def _listen(self, leading: bool) -> None:
        url = self.repository.url
        if url is None:
            return
        running = self._listener is not None and not self._listener.done()
        if leading and not running:
            self._listener = asyncio.get_running_loop().create_task(self._listen_to(url))
        elif not leading and self._listener is not None:
            self._listener.cancel()
            self._listener = None

    async def _listen_to(self, url: str) -> None:
        import psycopg

        from storage.pg import conninfo

        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(**conninfo(url), autocommit=True)
                async with connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    if self.on_notified is not None:
                        self.on_notified("")  # (what was notified before LISTEN)
                    async for notify in connection.notifies():
                        if self.on_notified is not None:
                            self.on_notified(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("outbox listener reconnects (%s)", type(exc).__name__)
            await asyncio.sleep(self.renew_every)


JobCallback = Callable[[Any], Coroutine[Any, Any, None]]


def leader_only(callback: JobCallback) -> JobCallback:
    """A JobQueue callback that runs only on the leader (on the others it returns at once)."""

    @functools.wraps(callback)
    async def job(context: Any) -> None:
        leadership: Leadership | None = context.services.leadership
        if leadership is None or leadership.leading:
            await callback(context)

    return job
