"""The services shared by all handlers and jobs: the settings, the repository, the
anonymity secrets, the tagger and the topic model, the inbox, the outbox's delivery state,
and :attr:`Services.core`, what the core functions (:mod:`bot.core`) run with. Kept in the
application's ``bot_data`` (:class:`bot.context.BotData`) and read as
``context.services``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core.env import Env
from bot.core.records import OutboxEntry
from bot.learner import TopicLearner
from bot.tagging import Tagger, TopicMatch
from bot.transport.inbox import Inbox
from bot.transport.outcomes import Decision
from bot.transport.pacing import LogThrottle
from storage.repository import Repository

if TYPE_CHECKING:
    from bot.leadership import Leadership
    from web.server import DeskServer

log = logging.getLogger(__name__)


class SharedLock:
    """``async with``: one holder at a time among all the workers sharing the database (an
    asyncio lock in this process, then :meth:`storage.leases.LeaseQueries.try_lock`'s
    advisory lock on PostgreSQL, asked again every ``poll`` seconds while another worker
    holds it). A second caller waits for its turn, on this worker or another, as it did
    for the process's lock; a worker that dies holding it frees it with its connection."""

    def __init__(self, repository: Repository, name: str, *, poll: float = 0.5) -> None:
        self.repository = repository
        self.name = name
        self.poll = poll
        self._local = asyncio.Lock()

    def locked(self) -> bool:
        """Whether this worker holds it (or waits for the other workers' turn)."""
        return self._local.locked()

    async def __aenter__(self) -> None:
        await self._local.acquire()
        try:
            # (another process's lock: nothing in this one to wait on but the clock)
            while not await self.repository.try_lock(self.name):  # noqa: ASYNC110
                await asyncio.sleep(self.poll)
        except BaseException:
            self._local.release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.repository.unlock(self.name)
        except Exception as error:  # the connection is gone, and the lock with it
            log.info("the %s lock was not released: %s", self.name, type(error).__name__)
        finally:
            self._local.release()


@dataclass
class DeliveryState:
    """What the outbox's delivery job keeps between runs (bot/transport/delivery.py)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one run at a time
    run: asyncio.Task[None] | None = None  # the job's run in the background
    again: bool = False  # go round once more: messages were queued during the run
    # Decisions the database refused to record (a full disk), written before anything else.
    unrecorded: dict[int, tuple[OutboxEntry, Decision]] = field(default_factory=dict)
    throttle: LogThrottle = field(default_factory=LogThrottle)
    # Channel posts whose outcome is recorded but whose item is not settled yet (at
    # start-up, or settling failed): the next run settles them first (bot.core.handling).
    unsettled: bool = True


@dataclass
class Services:
    settings: Settings
    repository: Repository
    tagger: Tagger
    secrets: Secrets
    inbox: Inbox
    delivery: DeliveryState = field(default_factory=DeliveryState)
    # Whether this worker leads (runs the jobs, sends the outbox): bot.leadership.
    leadership: Leadership | None = None
    # One ledger export (/export, the desk's) at a time, across all the workers.
    export_lock: SharedLock = field(init=False)
    # The topic model beside the keyword rules; set up at start-up (bot.app._post_init).
    learner: TopicLearner | None = None
    # Keeps the JobQueue's jobs on time across wall-clock jumps (bot.clockjumps).
    clock_guard: asyncio.Task[None] | None = None
    # The web desk (``[web] enabled``), started and stopped with the application.
    web: DeskServer | None = None

    def __post_init__(self) -> None:
        self.export_lock = SharedLock(self.repository, "export")

    @cached_property
    def core(self) -> Env:
        """What the core functions work with (the topic model retrains after a label)."""
        return Env(self.repository, self.settings, self.secrets, learn=self.learn)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.roles.admin_ids

    async def propose_topics(self, text: str) -> list[TopicMatch]:
        """The topics to propose for a text: keyword rules, with the model when there is one."""
        if self.learner is None:
            return self.tagger.tag(text)
        return await self.learner.propose(self.tagger, text)

    def learn(self) -> None:
        """New labels were stored: retrain the model in the background (the leader does;
        another worker tells it)."""
        if self.leadership is not None and not self.leadership.leading:
            self.leadership.nudge("learn")
        elif self.learner is not None:
            self.learner.schedule_retrain()
