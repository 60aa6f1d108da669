"""The inbox as a claim queue (#24), on SQLite and on PostgreSQL: a worker claims the oldest
unhandled updates whose sender has no earlier unhandled update and none held by a worker;
a lease that ran out makes an update claimable by another; a clean stop releases them; on
PostgreSQL workers claiming at the same time never claim the same update; a worker claims
no more than its free capacity."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime

import pytest
from telegram import Update
from telegram.ext import ExtBot

from bot.anonymity import Secrets
from bot.transport.inbox import Inbox
from storage.inbox import Claim
from storage.repository import Repository

SECRETS = Secrets.generate()
NOW = 1_800_000_000_000  # milliseconds since the epoch
LEASE = 15_000
FREE = Claim(None, 0)


def clock() -> datetime:
    return datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
async def repo(storage_target: str) -> AsyncIterator[Repository]:
    repository = Repository(storage_target, clock=clock, secrets=SECRETS)
    await repository.connect()
    try:
        yield repository
    finally:
        await repository.close()


async def admit(repo: Repository, senders: Mapping[int, str | None], claim: Claim = FREE) -> None:
    stored = [(update_id, f"body-{update_id}") for update_id in senders]
    assert await repo.admit_updates(stored, senders=senders, claim=claim) == set(senders)


async def claim(repo: Repository, worker: str, now: int = NOW) -> list[int]:
    claimed = await repo.claim_updates(worker, now_ms=now, lease_until=now + LEASE)
    return [update_id for update_id, _, _ in claimed]


async def handled(repo: Repository, *update_ids: int) -> None:
    for update_id in update_ids:
        repo.note_handled(update_id)
    await repo.write_handled()


async def test_each_senders_updates_are_claimed_one_at_a_time_in_order(repo: Repository) -> None:
    await admit(repo, {1: "alice", 2: "bob", 3: "alice", 4: None, 5: "bob", 6: "alice"})
    # The oldest of each sender (updates without a sender are not ordered).
    assert await claim(repo, "w1") == [1, 2, 4]
    assert await claim(repo, "w2") == []  # alice's 3 waits for 1, bob's 5 for 2
    await handled(repo, 1, 4)
    assert await claim(repo, "w2") == [3]
    await handled(repo, 2)
    assert await claim(repo, "w1") == [5]
    await handled(repo, 3)
    assert await claim(repo, "w1") == [6]
    await handled(repo, 5, 6)
    assert await repo.pending_updates() == []


async def test_an_earlier_update_arriving_late_waits_for_the_one_held(repo: Repository) -> None:
    """A held update of the sender blocks the others even when they are older: never two of
    one sender's updates at once."""
    await admit(repo, {5: "alice"})
    assert await claim(repo, "w1") == [5]
    await admit(repo, {4: "alice"})
    assert await claim(repo, "w2") == []
    await handled(repo, 5)
    assert await claim(repo, "w2") == [4]


async def test_a_dead_workers_updates_are_claimed_when_its_lease_ran_out(
    repo: Repository,
) -> None:
    await admit(repo, {1: "alice", 2: "alice", 3: "bob"})
    assert await claim(repo, "dead") == [1, 3]
    assert await claim(repo, "alive", now=NOW + LEASE - 1) == []  # still held
    # The lease renewed by a live worker holds; a dead one's runs out.
    assert await repo.renew_claims("dead", lease_until=NOW + 2 * LEASE) == 2
    assert await claim(repo, "alive", now=NOW + LEASE + 1) == []
    taken = await repo.claim_updates("alive", now_ms=NOW + 2 * LEASE + 1, lease_until=NOW * 2)
    assert [(u, held) for u, _, held in taken] == [(1, "dead"), (3, "dead")]
    await handled(repo, 1)
    assert await claim(repo, "alive", now=NOW + 2 * LEASE + 2) == [2]


async def test_a_clean_stop_releases_at_once_and_a_single_worker_takes_over(
    repo: Repository,
) -> None:
    await admit(repo, {1: "alice", 2: "bob"})
    assert await claim(repo, "stopping") == [1, 2]
    assert await repo.release_claims("stopping") == 2
    assert await claim(repo, "other") == [1, 2]
    # A single worker admits what it holds, and at its start takes over everything left.
    await admit(repo, {3: "carol"}, Claim("single", NOW + LEASE))
    assert await claim(repo, "other") == []
    assert await repo.take_over_updates("single", lease_until=NOW + LEASE) == 3
    held = await repo._fetchall("SELECT DISTINCT claimed_by FROM inbox WHERE body IS NOT NULL")
    assert [row["claimed_by"] for row in held] == ["single"]


async def test_workers_claiming_at_once_never_claim_the_same_update(
    storage_target: str,
) -> None:
    """Four workers (their own connections) claim 200 updates of 20 senders at the same
    time, each finishing what it claimed: every update is claimed exactly once, and each
    sender's in order."""
    workers = [Repository(storage_target, clock=clock, secrets=SECRETS) for _ in range(4)]
    for repository in workers:
        await repository.connect()
    try:
        senders = {update_id: f"sender-{update_id % 20}" for update_id in range(1, 201)}
        await admit(workers[0], senders)
        order: list[int] = []

        async def work(repository: Repository, name: str) -> None:
            idle = 0
            while idle < 20:
                claimed = await claim(repository, name)
                idle = 0 if claimed else idle + 1
                for update_id in claimed:
                    order.append(update_id)
                    await asyncio.sleep(0)
                    await handled(repository, update_id)
                await asyncio.sleep(0.005)

        await asyncio.gather(*(work(r, f"w{i}") for i, r in enumerate(workers)))
        assert sorted(order) == list(senders)  # each once
        for sender in set(senders.values()):
            mine = [u for u in order if senders[u] == sender]
            assert mine == sorted(mine)
    finally:
        for repository in workers:
            await repository.close()


async def test_a_worker_claims_no_more_than_its_free_capacity(storage_target: str) -> None:
    """A claim takes at most what the worker can start handling now (its capacity less what
    it holds), so that under a burst the other workers get their share: before, one claim
    took up to 64 updates whatever the worker could handle."""
    repositories = [Repository(storage_target, clock=clock, secrets=SECRETS) for _ in range(2)]
    inboxes = [
        Inbox(repository, SECRETS, capacity=capacity)
        for repository, capacity in zip(repositories, (3, 4), strict=True)
    ]
    queues: list[asyncio.Queue[object]] = [asyncio.Queue(), asyncio.Queue()]
    bot = ExtBot(token="123:claims")
    try:
        for n, inbox in enumerate(inboxes):
            await inbox.repository.connect()
            inbox.shared = True
            inbox.worker = f"w{n}"
        senders = {update_id: f"sender-{update_id}" for update_id in range(1, 13)}
        stored = [
            (u, SECRETS.encrypt(json.dumps({"update_id": u, "message": message(u)})))
            for u in senders
        ]
        await repositories[0].admit_updates(stored, senders=senders, claim=FREE)
        inboxes[0].start_claiming(queues[0], bot)
        await wait_until(lambda: queues[0].qsize() == 3)
        inboxes[1].start_claiming(queues[1], bot)
        await wait_until(lambda: queues[1].qsize() == 4)
        await asyncio.sleep(1.5)  # more than a poll: nothing more is claimed by either
        assert [q.qsize() for q in queues] == [3, 4]
        assert inboxes[0].holding == {1, 2, 3} and inboxes[1].holding == {4, 5, 6, 7}
        held = await repositories[0]._fetchall(
            "SELECT claimed_by, COUNT(*) AS n FROM inbox WHERE claimed_by IS NOT NULL"
            " GROUP BY claimed_by ORDER BY claimed_by"
        )
        assert [(row["claimed_by"], row["n"]) for row in held] == [("w0", 3), ("w1", 4)]
        # One finished: room for exactly one more.
        first = queues[0].get_nowait()
        assert isinstance(first, Update) and first.update_id == 1
        inboxes[0].handled(1)
        await wait_until(lambda: queues[0].qsize() == 3)
        await asyncio.sleep(1.5)
        assert queues[0].qsize() == 3 and inboxes[0].holding == {2, 3, 8}
        assert queues[1].qsize() == 4
    finally:
        for inbox in inboxes:
            await inbox.stop_claiming()
            await inbox.close()
            await inbox.repository.close()


def message(update_id: int) -> dict[str, object]:
    user = 9_000 + update_id
    return {
        "message_id": update_id,
        "date": 1_800_000_000,
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "居民"},
        "text": "路灯坏了",
    }


async def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
