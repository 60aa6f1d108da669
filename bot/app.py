"""Application assembly: the one builder the CLI, the tests and the benchmarks all use.

Starting and stopping (within bounds) is :mod:`bot.lifecycle`'s.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets as secrets_module
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest

from bot.anonymity import Namespace, Secrets, load_or_create_secrets
from bot.clockjumps import ClockJumpGuard
from bot.config import Settings
from bot.context import CONTEXT_TYPES, BotData
from bot.i18n import catalogues, t
from bot.leadership import Leadership
from bot.learner import TopicLearner
from bot.services import Services
from bot.tagging import Tagger
from bot.transport import delivery, diskspace
from bot.transport.http import BotApiRequest
from bot.transport.inbox import DurableBot, Inbox, InboxQueue
from bot.transport.ordering import PerUserUpdateProcessor
from bot.transport.ratelimit import FloodLimiter
from handlers import (
    admin,
    admin_actions,
    bulk,
    entering,
    errors,
    fallback,
    guide,
    info,
    maintenance,
    replies,
    reports,
    resident,
    supporting,
    surveying,
    units,
    whoami,
)
from handlers import web as web_handlers
from storage.clamps import web_clamps
from storage.repository import Clock, Repository, utc_now

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, BotData, Any]
# Every message is HTML (user text escaped) and shows no link previews, unless a call says
# otherwise.
DEFAULTS = Defaults(
    parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
)

# Commands shown in the Telegram client's menu; each described by the key "cmd.<command>".
RESIDENT_COMMANDS = ("suggest", "report", "my", "status", "cancel", "lang", "privacy", "help")


@dataclass(frozen=True)
class Webhook:
    """Webhook mode: Telegram POSTs updates to ``url``; the bot's own HTTP server listens on
    ``listen:port`` (usually behind a reverse proxy that terminates TLS) at the same path."""

    url: str
    listen: str
    port: int
    secret: str = ""

    @property
    def url_path(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    def server_options(self) -> dict[str, Any]:
        """The arguments of python-telegram-bot's ``start_webhook`` / ``run_webhook``."""
        return {
            "listen": self.listen,
            "port": self.port,
            "url_path": self.url_path,
            "webhook_url": self.url,
            "secret_token": self.secret,
            "allowed_updates": Update.ALL_TYPES,
        }


def webhook_for(settings: Settings, url: str, listen: str, port: int) -> tuple[Webhook, bool]:
    """The webhook with the configured secret token, or a random one; also whether it was
    generated (the caller logs that, never the token)."""
    configured = settings.telegram.webhook_secret
    if configured is not None:
        return Webhook(url, listen, port, configured.get_secret_value()), False
    return Webhook(url, listen, port, secrets_module.token_urlsafe(32)), True


def build_application(
    settings: Settings,
    *,
    secrets: Secrets | None = None,
    clock: Clock = utc_now,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    worker: str | None = None,
) -> AnyApplication:
    """Build the bot from validated settings. Nothing is connected until it is started.
    ``worker`` names it among the workers sharing the database (default: this process,
    :func:`bot.worker.worker_id`; tests give several applications of one process names)."""
    catalogues()  # the translations are read here, not in the event loop's first update
    secrets = secrets or load_or_create_secrets(settings.anonymity)
    repository = Repository(settings.storage.target, clock=clock, secrets=secrets)
    web = settings.web
    repository.clamps = (
        *repository.clamps,
        *web_clamps(
            timedelta(seconds=web.session_max_age), timedelta(seconds=web.login_link_max_age)
        ),
    )
    tg = settings.telegram
    inbox = Inbox(
        repository,
        secrets,
        language=settings.campaign.language,
        lease=tg.inbox_lease,
        capacity=tg.concurrent_updates,
    )
    if worker is not None:  # (the inbox's claims are held in the worker's name too)
        inbox.worker = worker
    bot = DurableBot(
        token=tg.token.get_secret_value(),
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        request=request or BotApiRequest(connection_pool_size=256),
        get_updates_request=get_updates_request or BotApiRequest(connection_pool_size=1),
        rate_limiter=FloodLimiter(
            overall_max_rate=tg.overall_max_rate,
            private_max_rate=tg.private_max_rate,
            group_max_rate=tg.group_max_rate,
            group_time_period=tg.group_period,
            max_retries=3,
        ),
        defaults=DEFAULTS,
        inbox=inbox,
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(CONTEXT_TYPES)
        .update_queue(InboxQueue(inbox))
        .concurrent_updates(PerUserUpdateProcessor(tg.concurrent_updates, done=inbox.handled))
        .post_init(_post_init)
    )
    app = builder.build()
    app.bot_data.services = Services(
        settings=settings,
        repository=repository,
        tagger=Tagger(settings.topics),
        secrets=secrets,
        inbox=inbox,
        leadership=Leadership(repository, holder=worker),
    )
    if settings.web.enabled:
        from web.server import Desk, DeskServer

        services = app.bot_data.services

        def deliver_soon() -> None:  # after a desk action: the outbox now, not in 5 s
            delivery.wake(app.job_queue, services)

        services.web = DeskServer(
            Desk(
                settings=settings,
                repository=repository,
                secrets=secrets,
                bot=bot,
                clock=clock,
                learn=services.learn,
                deliver_soon=deliver_soon,
                propose=services.propose_topics,
                exports=services.export_lock,
            )
        )
    register_handlers(app)
    return app


def freeze_start_up_objects() -> None:
    """Collect the garbage of start-up, then take everything still alive (modules, settings,
    the tagger's tables, the handlers: some 130,000 objects that live as long as the
    process) out of the cyclic garbage collector's sight (:func:`gc.freeze`). Each full
    collection used to walk them all, a pause of about 30 ms for every update in flight
    (the latency benchmark's p99). What is allocated later is collected as before.

    For ``jindianzi run``, after :func:`build_application`; not for processes that build
    many applications (tests), where the cycles of finished ones would never be freed."""
    gc.collect()
    gc.freeze()


def register_handlers(app: AnyApplication) -> None:
    settings = app.bot_data.services.settings
    app.add_handlers(fallback.build_guards(), group=fallback.GUARD_GROUP)
    app.add_handlers(units.build_handlers(settings), group=units.UNIT_GROUP)
    app.add_handlers(
        admin_actions.build_typed_prompt_handlers(settings),
        group=admin_actions.PROMPT_TYPED_GROUP,
    )
    app.add_handlers(replies.build_reply_handlers(settings), group=replies.REPLY_GROUP)
    app.add_handlers(
        admin_actions.build_prompt_handlers(settings), group=admin_actions.PROMPT_GROUP
    )
    conversation = resident.build_conversation()
    app.add_handler(resident.build_state_loader(conversation), group=resident.STATE_GROUP)
    app.add_handler(conversation)
    app.add_handlers(admin.build_handlers(settings))
    app.add_handlers(reports.build_handlers(settings))
    app.add_handlers(admin_actions.build_handlers(settings))
    app.add_handlers(bulk.build_handlers())
    app.add_handlers(entering.build_handlers(settings))
    app.add_handlers(supporting.build_handlers())
    app.add_handlers(surveying.build_handlers(settings))
    app.add_handlers(web_handlers.build_handlers(settings))
    app.add_handlers(whoami.build_handlers())
    app.add_handlers(replies.build_handlers())
    app.add_handlers(guide.build_handlers())
    app.add_handlers(info.build_handlers())
    app.add_handlers(fallback.build_handlers())
    app.add_error_handler(errors.on_error)


async def _post_init(app: AnyApplication) -> None:
    svc = app.bot_data.services
    await svc.repository.connect()
    # A full disk from here on is told to the office once and waited out (#15.8).
    diskspace.watch(app, svc)
    # Times written while the clock ran ahead gate nothing longer than their normal span.
    await svc.repository.clamp_future_times()
    # The jobs and the outbox are the leader's; a lone process leads from here on.
    leadership = svc.leadership
    if leadership is not None:
        leadership.on_elected = lambda: _take_over(app)
        leadership.on_notified = lambda payload: _notified(app, payload)
        limiter = app.bot.rate_limiter
        if isinstance(limiter, FloodLimiter):
            leadership.on_workers = limiter.share
        await leadership.step()
        leadership.start()
    # Only the leader trains (another worker waits for its model: bot.learner).
    svc.learner = TopicLearner(
        svc.repository,
        svc.settings.topics,
        leads=lambda: leadership is None or leadership.leading,
    )
    await svc.learner.load()
    # Before polling starts: what a crash left unhandled is handled first, in order.
    await svc.inbox.replay(app.update_queue, app.bot)
    # The default list is Simplified Chinese; English clients get English descriptions.
    for lang, code in (("zh-Hans", None), ("en", "en")):
        commands = [BotCommand(cmd, t(lang, f"cmd.{cmd}")) for cmd in RESIDENT_COMMANDS]
        await app.bot.set_my_commands(commands, language_code=code)
    # Administrators also see the office's commands in their private chat with the bot.
    lang = svc.settings.campaign.language
    office = [
        BotCommand(c, t(lang, f"cmd.{c}"))
        for c in (*guide.office_commands(web=svc.web is not None), *RESIDENT_COMMANDS)
    ]
    for admin_id in svc.settings.roles.admin_ids:
        try:
            await app.bot.set_my_commands(office, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            log.info("an admin's command menu not set: %s", exc)  # (no ids in logs)
    if svc.web is not None:
        await svc.web.start()
        await web_handlers.set_up_menu(app)
    if app.job_queue is not None:
        guard = ClockJumpGuard(
            app.job_queue.scheduler,
            on_back=lambda: app.create_task(svc.repository.clamp_future_times()),
        )
        svc.clock_guard = asyncio.get_running_loop().create_task(guard.run())
        delivery.schedule(app.job_queue, svc.settings.telegram.outbox_interval)
        maintenance.schedule(app.job_queue, svc.settings)
        if svc.settings.office.scheduled_reports:
            reports.schedule(app.job_queue, svc.settings)


async def _take_over(app: AnyApplication) -> None:
    """This worker has just become the leader, before it acts as one: the sends the previous
    leader left under way have an unknown outcome (its lease is gone, so it sends no more);
    then the outbox now and the reports whose time passed meanwhile."""
    svc = app.bot_data.services
    # After this worker's own run, if one is still going (it stops at its next message):
    # what is left under way then was interrupted elsewhere (or by a crash).
    async with svc.delivery.lock:
        await delivery.recover_interrupted(svc)
    if app.job_queue is not None:
        app.job_queue.run_once(delivery.deliver, 0)
        if svc.settings.office.scheduled_reports:
            await reports.catch_up(app.job_queue, svc)


def _notified(app: AnyApplication, payload: str) -> None:
    """The leader was woken by another worker: new labels, or messages in the outbox."""
    svc = app.bot_data.services
    if payload == "learn":
        if svc.learner is not None:
            svc.learner.schedule_retrain()
    elif app.job_queue is not None:
        app.job_queue.run_once(delivery.deliver, 0)


def admit_on_arrival(app: AnyApplication) -> None:
    """Webhook mode: each update is stored in the inbox before Telegram is answered (long
    polling stores each fetched batch in :class:`DurableBot` instead)."""
    queue = app.update_queue
    assert isinstance(queue, InboxQueue), "built by build_application"
    queue.admitting = True


async def register_webhook(app: AnyApplication, webhook: Webhook) -> bool:
    """Record this webhook (its URL and a keyed digest of its secret, never the secret) as
    this worker's to set, when several workers share the database; returns whether it was
    recorded (False: another worker recorded the same registration: then setWebhook is not
    called again). A single worker (SQLite) sets it at every start, as before, and records
    nothing."""
    svc = app.bot_data.services
    if not svc.inbox.shared:
        return False  # (nothing recorded: setWebhook at every start)
    digest = svc.secrets.tag(Namespace.INBOX, "webhook", webhook.url, webhook.secret)
    ours = await svc.repository.register_webhook(webhook.url, digest, svc.inbox.worker)
    bot = app.bot
    assert isinstance(bot, DurableBot), "built by build_application"
    bot.registered_elsewhere(not ours)
    return ours


def start_claiming(app: AnyApplication) -> None:
    """Several workers: updates reach the handlers by claims on the inbox."""
    svc = app.bot_data.services
    if svc.inbox.shared:
        svc.inbox.start_claiming(app.update_queue, app.bot)
