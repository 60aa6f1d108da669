"""Several workers on one database (#24): one leader runs the jobs and sends the outbox
(bot/leadership.py), another takes over when its lease is gone, and the flood limits are
shared by the live workers. On both backends."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core.records import Outgoing
from bot.leadership import LEADER, Leadership, dead_holder
from bot.transport import delivery
from bot.transport.ratelimit import FloodLimiter
from bot.worker import worker_id
from storage.outbox import enqueue
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi
from tests.conftest import BotRunner
from tests.databases import both_backends, rows

RESIDENT = 7_000_001


make_settings = both_backends()


# ------------------------------------------------------------------------ the lease itself
async def test_one_worker_leads_and_another_takes_over_after_the_lease_expires(
    repositories: tuple[Repository, Repository],
) -> None:
    a = Leadership(repositories[0], holder="hostA:1:a", lease=1.0, renew_every=0.2, margin=0.2)
    b = Leadership(repositories[1], holder="hostB:1:b", lease=1.0, renew_every=0.2, margin=0.2)
    assert await a.step()
    assert not await b.step()
    assert b.workers == 2 and a.leading
    # A keeps renewing: B never gets it.
    for _ in range(4):
        await asyncio.sleep(0.3)
        assert await a.step()
        assert not await b.step()
    # A stalls (no renewal): its own belief ends before the lease expires in the database,
    # and B takes over only after that.
    stalled = time.monotonic()
    while a.leading:
        assert not await b.step()
        await asyncio.sleep(0.05)
    assert time.monotonic() - stalled < 1.0
    took = None
    while took is None or not await b.step():
        took = time.monotonic()
        await asyncio.sleep(0.05)
    assert 0.2 <= time.monotonic() - stalled < 2.5
    # A comes back: the lease is B's now, and A does not lead.
    assert not await a.step()
    assert b.leading


async def test_a_failed_renewal_ends_the_lead_at_once(
    repositories: tuple[Repository, Repository],
) -> None:
    a = Leadership(repositories[0], holder="hostA:1:a")
    assert await a.step()
    await repositories[0].close()  # the database is unreachable for this worker
    assert not await a.step()
    assert not a.leading
    await repositories[0].connect()  # back: it takes its own lease again
    assert await a.step()


async def test_a_clean_stop_hands_the_lead_over_at_the_next_renewal(
    repositories: tuple[Repository, Repository],
) -> None:
    a = Leadership(repositories[0], holder="hostA:1:a")
    b = Leadership(repositories[1], holder="hostB:1:b")
    assert await a.step() and not await b.step()
    await a.stop()
    assert await b.step()
    assert await repositories[1].lease_holder(LEADER) is not None
    assert (await repositories[1].live_workers(now=time.time())) == 1


async def test_the_lease_of_a_dead_process_of_this_host_is_taken_at_once(
    repositories: tuple[Repository, Repository],
) -> None:
    host = worker_id().split(":")[0]
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    dead = f"{host}:{gone.pid}:dead"
    assert dead_holder(dead)
    assert not dead_holder(f"{host}:1:init")  # pid 1 runs
    assert not dead_holder(f"elsewhere:{gone.pid}:x")  # another host: wait for the lease
    assert await repositories[0].take_lease(LEADER, dead, now=time.time(), seconds=600)
    assert await Leadership(repositories[1]).step()


async def test_on_election_failing_means_not_elected(
    repositories: tuple[Repository, Repository],
) -> None:
    a = Leadership(repositories[0], holder="hostA:1:a")
    calls = 0

    async def fails() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database refused")

    a.on_elected = fails
    assert not await a.step()
    assert await a.step() and calls == 2
    assert await a.step() and calls == 2  # renewals do not elect again


# -------------------------------------------------------------------- the flood shares
def test_the_overall_and_group_limits_are_shared_by_the_live_workers() -> None:
    now = [0.0]
    limiter = FloodLimiter(overall_max_rate=30, group_max_rate=20, clock=lambda: now[0])
    group = limiter._chat_window(-100)
    assert group is not None
    for _ in range(5):
        group.note()
    limiter.share(2)
    assert limiter.workers == 2
    shared = limiter._chat_window(-100)
    assert shared is not None and shared is not group
    # 10 a minute now, and the 5 already sent still count: 5 more, then a wait.
    for _ in range(5):
        assert shared.delay() == 0.0
        shared.note()
    assert shared.delay() > 50
    overall = limiter._overall
    assert overall is not None
    assert overall.period == pytest.approx(1.1)  # 15 a second, spread
    assert limiter._chat_window(42) is not None  # a private chat's 1/s is not divided
    assert limiter._chat_window(42).period == pytest.approx(1.1)  # type: ignore[union-attr]


# ------------------------------------------------------------- two applications, one outbox
async def queue_notice(app_repo: Repository, secrets: Secrets, text: str) -> None:
    async with app_repo.transaction() as db:
        notice = Outgoing(chat_enc=secrets.encrypt_int(RESIDENT), text=text)
        await enqueue(db, [notice], submission_id=None, now=app_repo.clock())


def sent_texts(stub: FakeBotApi) -> list[str]:
    return [m.plain for m in stub.messages_to(RESIDENT) if m.method == "sendMessage"]


async def wait_until(condition: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_only_the_leader_sends_and_a_survivor_takes_over(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    storage_url: str | None,
) -> None:
    # A long periodic run: a prompt delivery is the wake-up's doing.
    settings = make_settings(stub, telegram={"outbox_interval": 20.0})
    first = BotRunner(settings, worker="hostA:1:first")
    second = BotRunner(settings, worker="hostB:2:second")
    await first.start()
    await second.start()
    try:
        assert first.app is not None and second.app is not None
        one, two = first.app.bot_data.services, second.app.bot_data.services
        assert one.leadership is not None and two.leadership is not None
        assert one.leadership.leading and not two.leadership.leading
        await wait_until(lambda: two.leadership is not None and two.leadership.workers == 2, 10)
        # A notice queued on the worker that does not lead: the leader sends it, once.
        await queue_notice(two.repository, two.secrets, "第一条通知")
        delivery.wake(second.app.job_queue, two)
        latency = await wait_until(lambda: "第一条通知" in sent_texts(stub), 25)
        logging.getLogger(__name__).warning("queued on a non-leader, sent in %.3f s", latency)
        if storage_url is not None:  # NOTIFY: at once, not at the next periodic run
            assert latency < 3.0, latency
        # Labels stored on the worker that does not lead: the leader trains, not it.
        two.learn()
        assert two.learner is not None and two.learner._task is None
        # The second worker's own runs send nothing even when called.
        await queue_notice(two.repository, two.secrets, "第二条通知")
        await delivery.deliver_due(second.app.bot, two)
        assert "第二条通知" not in sent_texts(stub)
        delivery.wake(first.app.job_queue, one)
        await wait_until(lambda: "第二条通知" in sent_texts(stub), 10)
        # A send the leader left under way, then the leader stops: the survivor takes over
        # within a renewal, records the interrupted send's outcome as unknown (sent once
        # more at most, later) and sends what is due.
        # (queued already under way, in one transaction: the leader, alive until then,
        # cannot have sent it normally in between)
        async with two.repository.transaction() as db:
            notice = Outgoing(chat_enc=two.secrets.encrypt_int(RESIDENT), text="发送中断的通知")
            await enqueue(db, [notice], submission_id=None, now=two.repository.clock())
            await db.execute(
                "UPDATE outbox SET attempt_started_at = ? WHERE status = 'pending'"
                " AND attempt_started_at IS NULL",
                ("2026-01-01T00:00:00+00:00",),
            )
        await first.stop()
        await queue_notice(two.repository, two.secrets, "接管后的通知")
        await wait_until(lambda: two.leadership is not None and two.leadership.leading, 5)
        await wait_until(lambda: "接管后的通知" in sent_texts(stub), 10)
    finally:
        await second.stop()
        await first.stop()
    texts = sent_texts(stub)
    for text in ("第一条通知", "第二条通知", "接管后的通知"):
        assert texts.count(text) == 1, (text, texts)
    interrupted = rows(
        settings,
        "SELECT status, attempts, uncertain, attempt_started_at FROM outbox"
        " WHERE json_extract(body, '$.text') = ?",
        ("发送中断的通知",),
    )
    assert [tuple(r) for r in interrupted] == [("pending", 1, 1, None)]


async def test_two_workers_answering_at_once_stay_within_the_overall_limit(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """Direct answers come from every worker: each holds its share of the 30 a second."""
    flood = stub.enforce_flood_limits()
    settings = make_settings(stub)
    runners = [BotRunner(settings, worker=f"host{n}:{n}:w") for n in (1, 2)]
    for runner in runners:
        await runner.start()
    try:
        apps = [r.app for r in runners]
        assert all(app is not None for app in apps)
        services = [app.bot_data.services for app in apps if app is not None]
        await wait_until(
            lambda: all(s.leadership is not None and s.leadership.workers == 2 for s in services),
            10,
        )
        start = stub.mark()

        async def answer(n: int, app_index: int) -> None:
            app = apps[app_index]
            assert app is not None
            await app.bot.send_message(RESIDENT + n, f"答复 {n}")

        await asyncio.gather(*(answer(n, n % 2) for n in range(90)))
    finally:
        for runner in runners:
            await runner.stop()
    assert len([m for m in stub.sent if m.seq > start]) == 90
    assert not flood.refused
    assert flood.max_in_window(1.0) <= 30
