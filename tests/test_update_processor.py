"""The update processor's own guard against repeats (#24, bot/transport/ordering.py): the
inbox drops repeats; the processor drops only a second copy of an update it is handling
now, whose handling under way gives the mark. An update that comes back to a worker after
its handling there ended (claimed again once the leases ran out) is handled and marked:
the old guard, the last 10,000 ids seen, dropped it without a mark, and the worker then
renewed its claim forever, holding the sender's later updates behind it."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.transport.ordering import PerUserUpdateProcessor
from storage.inbox import Claim
from storage.repository import Repository
from tests.botapi_stub import FakeUser

RESIDENT = FakeUser(id=31415926, first_name="钱")


def an_update(update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_765_000_000,
                "chat": {"id": RESIDENT.id, "type": "private"},
                "from": {"id": RESIDENT.id, "is_bot": False, "first_name": RESIDENT.first_name},
                "text": "路灯坏了",
            },
        },
        None,
    )


class Handling:
    """A processor whose handlers record each run, and the handled marks it gives."""

    def __init__(self) -> None:
        self.marks: list[int] = []
        self.runs: list[int] = []
        self.release = asyncio.Event()
        self.release.set()
        self.processor = PerUserUpdateProcessor(8, done=self.marks.append)

    async def handler(self, update: Update) -> None:
        self.runs.append(update.update_id)
        await self.release.wait()

    async def process(self, update: Update) -> None:
        await self.processor.process_update(update, self.handler(update))


async def test_an_update_claimed_again_by_the_worker_that_began_it_is_handled_and_marked(
    repositories: tuple[Repository, Repository],
) -> None:
    a, b = repositories
    await a.admit_updates([(7001, "body")], senders={7001: "sender"}, claim=Claim(None, 0))
    # A claims it and handles it; its mark is not written (the database went away, longer
    # than the lease), so the update is claimable again once A's lease has run out.
    [(claimed, _, _)] = await a.claim_updates("A", now_ms=1_000, lease_until=2_000)
    worker_a = Handling()
    await worker_a.process(an_update(claimed))
    # B claims it after A's lease, and B dies before it is done; A claims it back.
    assert [u for u, _, _ in await b.claim_updates("B", now_ms=3_000, lease_until=4_000)] == [7001]
    assert [u for u, _, _ in await a.claim_updates("A", now_ms=5_000, lease_until=6_000)] == [7001]
    await worker_a.process(an_update(7001))
    # Handled again and marked: the mark lets the sender's next update be claimed.
    assert worker_a.runs == [7001, 7001]
    assert worker_a.marks == [7001, 7001]


async def test_a_second_copy_of_an_update_being_handled_is_dropped_and_marked_once() -> None:
    worker = Handling()
    worker.release.clear()  # the first copy's handler is still running
    first = asyncio.create_task(worker.process(an_update(8001)))
    await asyncio.sleep(0.05)
    await worker.process(an_update(8001))  # claimed again meanwhile
    assert worker.runs == [8001] and worker.marks == []
    worker.release.set()
    await first
    assert worker.runs == [8001] and worker.marks == [8001]
    # Once that handling has ended, the update may come again (held, retried): handled.
    await worker.process(an_update(8001))
    assert worker.runs == [8001, 8001] and worker.marks == [8001, 8001]
