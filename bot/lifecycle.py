"""Starting and stopping the bot, and stopping it always within a bound (#14).

:func:`running` starts the application the way python-telegram-bot's ``run_polling`` and
``run_webhook`` do (initialize, post_init, polling or the webhook server, start) once the
Bot API answers (:func:`bot.transport.botapi.wait_for_bot_api`), without owning the event loop, and
stops it in steps, each with its own time limit and all within
:data:`STOP_BUDGET` seconds, whatever the Bot API, the network, the outbox, the learner's
child process or the database is doing. A step that fails or runs out of time is logged and
the next one runs; what it did not finish is picked up after the restart:

1. ``polling``: stop fetching updates (:data:`STEPS`);
2. ``handlers``: let running handlers and jobs finish (updates not finished are replayed
   from the inbox after the restart);
3. ``flush``: send what the outbox holds (a send cut short counts as an uncertain outcome
   at the restart: sent once more at most);
4. ``shutdown``: write the conversation states, close the HTTP clients;
5. ``close``: let a training under way save its model, else kill its child process; write
   the handled marks; close the database.


:func:`serve` is ``jindianzi run``: the bot until SIGTERM or SIGINT. The first signal also
arms the :class:`~bot.watchdog.Watchdog`, which ends the process if it is still alive
:data:`~bot.watchdog.STOP_WITHIN` (15) seconds later; a second signal ends it at once.
Either way nothing is lost: ``kill -9`` is safe (see the README).

Why the process used to hang (a stand-in answering garbage): the flush at shutdown raised
(an answer python-telegram-bot could not parse), so ``run_polling`` skipped the steps after
it; the database was never closed, and its connection threads (not daemon threads) kept the
interpreter waiting for them at exit, forever. Every step now catches what it raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import FrameType

from telegram import Update

from bot import faults
from bot.app import AnyApplication, Webhook, admit_on_arrival, register_webhook, start_claiming
from bot.transport import delivery
from bot.transport.botapi import wait_for_bot_api
from bot.watchdog import EXIT_FORCED, STOP_WITHIN, Watchdog, say

log = logging.getLogger(__name__)

STOP_BUDGET = 12.0  # seconds the orderly stop may take (the watchdog allows STOP_WITHIN)
LEARNER_GRACE = 3.0  # seconds a training under way may take to finish before it is stopped


@dataclass(frozen=True)
class StepLimit:
    seconds: float  # the most this step may take
    reserve: float  # seconds it leaves to the steps after it


STEPS = {
    "polling": StepLimit(3.0, 8.0),
    "handlers": StepLimit(4.0, 5.0),
    "flush": StepLimit(10.0, 3.0),
    "shutdown": StepLimit(2.0, 1.0),
    "close": StepLimit(STOP_BUDGET, 0.0),
}


@contextlib.asynccontextmanager
async def running(
    app: AnyApplication, *, poll_timeout: float | None = None, webhook: Webhook | None = None
) -> AsyncIterator[AnyApplication]:
    """Start polling (or the webhook server) and yield; on the way out (normally, on an
    exception, or cancelled while starting), :func:`stop` within :data:`STOP_BUDGET`."""
    telegram = app.bot_data.services.settings.telegram
    timeout = telegram.poll_timeout if poll_timeout is None else poll_timeout
    # Nothing is started yet: a rejected token ends here, a network that is down is waited
    # for (bot.transport.botapi), and a stop signal meanwhile has nothing to stop.
    await wait_for_bot_api(app.bot, telegram.base_url)
    svc = app.bot_data.services
    # Webhook workers on PostgreSQL may be several: the inbox is their claim queue.
    svc.inbox.shared = webhook is not None and svc.repository.postgresql
    try:
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        if webhook is not None:
            admit_on_arrival(app)
            start_claiming(app)
            ours = await register_webhook(app, webhook)
            try:
                await app.updater.start_webhook(**webhook.server_options())
            except BaseException:
                if ours:  # not registered after all: the next start tries again
                    await svc.repository.forget_webhook(svc.inbox.worker)
                raise
        else:
            if svc.repository.postgresql:  # start_polling deletes any webhook
                await svc.repository.forget_webhook()
            await app.updater.start_polling(
                poll_interval=0, timeout=int(timeout), allowed_updates=Update.ALL_TYPES
            )
        await app.start()
        yield app
    finally:
        await stop(app)


async def stop(app: AnyApplication, *, budget: float = STOP_BUDGET) -> None:
    """Stop whatever of the application is running, step by step (see the module's
    docstring); never raises an ``Exception`` and returns within ``budget`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    svc = app.bot_data.services

    async def polling() -> None:
        await svc.inbox.stop_claiming()
        if app.updater is not None and app.updater.running:
            await app.updater.stop()

    async def handlers() -> None:
        if svc.web is not None:  # the desk takes no new requests; those under way finish
            await svc.web.stop()
        if app.running:
            await app.stop()

    async def flush() -> None:
        if svc.repository.connected:
            await delivery.deliver_due(app.bot, svc)

    async def shutdown() -> None:
        await app.shutdown()

    async def close() -> None:
        if svc.clock_guard is not None:
            svc.clock_guard.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await svc.clock_guard
        if svc.leadership is not None:  # a survivor leads at once, not after the lease
            await svc.leadership.stop()
        if svc.learner is not None:
            await svc.learner.stop(min(LEARNER_GRACE, max(0.0, deadline - loop.time() - 1.0)))
        await svc.inbox.close()
        await svc.repository.close()

    steps: dict[str, Callable[[], Awaitable[None]]] = {
        "polling": polling,
        "handlers": handlers,
        "flush": flush,
        "shutdown": shutdown,
        "close": close,
    }
    for name, step in steps.items():
        limit = STEPS[name]
        allowed = min(limit.seconds, deadline - loop.time() - limit.reserve)
        faults.point(f"stop.{name}")
        await _bounded(name, step, max(allowed, 0.1))


async def _bounded(name: str, step: Callable[[], Awaitable[None]], seconds: float) -> None:
    """Run a step for at most ``seconds``: on time-out it is cancelled and left behind (not
    waited for: a task that ignores the cancellation must not hold up the stop)."""
    task = asyncio.ensure_future(step())
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        log.warning("stop: %s did not finish within %.1f s; going on", name, seconds)
        return
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("stop: %s failed (%s); going on", name, exc, exc_info=exc)


async def serve(
    app: AnyApplication, *, webhook: Webhook | None = None, watchdog: Watchdog | None = None
) -> None:
    """Run the bot until SIGTERM or SIGINT, then stop it (:func:`running`); a signal that
    comes while it is still starting cancels the start-up. The signal handlers are plain
    ``signal`` handlers, run between two bytecodes of the main thread, so they also work
    when the event loop is blocked."""
    watchdog = watchdog or Watchdog()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    stopping = asyncio.Event()
    started = False

    def request_stop(signum: int) -> None:
        log.info("%s received: stopping (within %.0f s)", signal.Signals(signum).name, STOP_WITHIN)
        stopping.set()
        if not started and main is not None:
            main.cancel()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        if not watchdog.arm():
            say("jindianzi: second stop signal: exiting now\n")
            os._exit(EXIT_FORCED)
        loop.call_soon_threadsafe(request_stop, signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        async with running(app, webhook=webhook):
            started = True
            await stopping.wait()
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
        log.info("stopped while starting")
    log.info("stopped")
