"""A full disk with several workers (#24): two Applications built by ``build_application``
share one PostgreSQL database in webhook mode, and the server refuses every write with
SQLSTATE 53100, as on a full disk (:mod:`tests.full_storage`). Both workers find it full;
the office is told once that the storage is full and once that it has room again (the
worker holding the ``disk-full`` advisory lock tells, bot/transport/diskspace.py). The
update whose handler met the full disk stays unhandled in the inbox: it is handled once
when there is room, by the worker that held it if it still holds it, else by the worker
that claimed it after the lease ran out, also when the holding worker is gone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import psycopg
import pytest

from bot.app import Webhook, build_application
from bot.config import Settings
from bot.i18n import t
from bot.lifecycle import running
from bot.transport import diskspace
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.databases import on_backend, rows
from tests.full_storage import fill_database, make_room
from tests.test_e2e_webhook import free_port, post, post_when_listening
from tests.test_e2e_workers_state import SECRET, URL, Worker

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("backend", ["postgresql"])]

OFFICE = -1001234567
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
# telegram.inbox_lease: short, so that it runs out during the full disk, yet longer than the
# event loop's stalls on a loaded machine (2.3 s seen: a lease lapsed while its update was
# handled is the lease's own risk of an update handled twice, not the full disk's)
LEASE = 5.0


@pytest.fixture
def make_settings(
    make_settings: Callable[..., Settings], storage_url: str | None
) -> Callable[..., Settings]:
    return on_backend(make_settings, storage_url)


@pytest.fixture(autouse=True)
def quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diskspace, "PROBE_EVERY", 0.5)


class Running:
    """Two workers behind one webhook URL, each stoppable on its own."""

    def __init__(self, stub: FakeBotApi) -> None:
        self.stub = stub
        self.workers: list[Worker] = []
        self.stacks: list[AsyncExitStack] = []

    async def start(self, settings: Settings) -> None:
        for name in ("A", "B"):
            app = build_application(settings, worker=f"host{name}:1:{name}")
            port = free_port()
            stack = AsyncExitStack()
            await stack.enter_async_context(
                running(app, webhook=Webhook(URL, "127.0.0.1", port, SECRET))
            )
            self.stacks.append(stack)
            self.workers.append(Worker(name, app, port))
        for worker in self.workers:
            assert await post_when_listening(worker.port, {}, "wrong-secret") == 403

    async def stop(self, index: int) -> None:
        await self.stacks[index].aclose()

    def services(self, index: int) -> Any:
        return self.workers[index].app.bot_data.services


@pytest.fixture
async def two(
    stub: FakeBotApi, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Running, Settings]]:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__WEBHOOK_SECRET", SECRET)
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        telegram={"inbox_lease": LEASE},
    )
    workers = Running(stub)
    try:
        await workers.start(settings)
        # The disk fills between the inbox and the draft, on whichever worker claims it.
        filled: list[bool] = []
        for index in range(2):
            repo = workers.services(index).repository
            save = repo.save_draft

            async def fills_first(user_id: int, draft: object, save: Any = save) -> None:
                if not filled:
                    filled.append(True)
                    await fill_database(workers.services(0).repository)
                await save(user_id, draft)

            monkeypatch.setattr(repo, "save_draft", fills_first)
        yield workers, settings
    finally:
        with contextlib.suppress(psycopg.Error):  # (a test that failed on a full disk)
            await make_room(workers.services(0).repository)
        for stack in reversed(workers.stacks):
            await stack.aclose()


def sent(stub: FakeBotApi, chat_id: int, mark: int) -> list[str]:
    return [
        m.plain for m in stub.messages_to(chat_id) if m.seq > mark and m.method.startswith("send")
    ]


def noted(stub: FakeBotApi, mark: int) -> list[str]:
    """The answers to Bob's /suggest with a text: noted, with the Next button."""
    return [
        m.plain
        for m in stub.messages_to(BOB.id)
        if m.seq > mark and "draft:next" in [data for _, data in m.buttons]
    ]


async def held_by_one(workers: Running, update_id: int) -> int:
    """The index of the worker holding the update for want of space (after its sender was
    told), once both workers found the disk full."""
    stub = workers.stub
    await stub.wait_for(BOB.id, predicate=lambda m: m.plain == t("en", "storage.full"))
    disks = [workers.services(i).repository.disk for i in range(2)]
    await stub.wait_until(lambda: any(update_id in d.held for d in disks), timeout=5)
    # The other finds it at its next write (the leader's lease, a heartbeat: every 3 s).
    await stub.wait_until(lambda: all(d.full for d in disks), timeout=15)
    [holder] = [i for i, d in enumerate(disks) if update_id in d.held]
    return holder


def inbox_row(settings: Settings, update_id: int) -> tuple[Any, ...]:
    [row] = rows(
        settings,
        "SELECT CASE WHEN body IS NOT NULL THEN 1 ELSE 0 END, claimed_by, lease_until"
        " FROM inbox WHERE update_id = ?",
        (update_id,),
    )
    return tuple(row)


async def submit(workers: Running) -> tuple[int, int]:
    """Bob's long message, POSTed to the first worker: stored, then held for want of space
    by whichever worker claimed it. Returns its update id and the holder's index."""
    stub = workers.stub
    update_id = stub.send_text(BOB, "/suggest " + "The railing of the bridge is broken. " * 30)
    assert await post(workers.workers[0].port, stub.delivered(update_id), SECRET) == 200
    return update_id, await held_by_one(workers, update_id)


async def handled_once(stub: FakeBotApi, settings: Settings, update_id: int, mark: int) -> None:
    """After the room was made at ``mark``: the update is answered once and marked handled,
    and the office is told once that there is room again."""
    await stub.wait_until(lambda: bool(noted(stub, mark)), timeout=LEASE + 15)
    await stub.wait_until(lambda: inbox_row(settings, update_id)[0] == 0, timeout=10)
    # Through the outbox: sent once a leader is elected again (no lease could be renewed
    # on the full disk), within a renewal or two.
    room = t("zh-Hans", "storage.recovered.office", minutes=1)
    await stub.wait_until(lambda: room in sent(stub, OFFICE, mark), timeout=20)
    await stub.wait_idle(quiet=1.5, timeout=15)
    assert len(noted(stub, mark)) == 1  # handled once, by one worker
    assert sent(stub, OFFICE, mark) == [room]


async def test_both_workers_find_the_disk_full_the_office_is_told_once_and_the_update_handled_once(
    stub: FakeBotApi, two: tuple[Running, Settings]
) -> None:
    workers, settings = two
    mark = stub.mark()
    update_id, holder = await submit(workers)
    # The holder's lease cannot be renewed: it runs out while the disk is full.
    await asyncio.sleep(LEASE + 0.5)
    present, claimed_by, lease_until = inbox_row(settings, update_id)
    assert present == 1 and claimed_by == workers.services(holder).inbox.worker
    assert lease_until < time.time() * 1000
    await asyncio.sleep(1.0)
    assert sent(stub, OFFICE, mark) == [t("zh-Hans", "storage.full.office")]

    mark = stub.mark()
    await make_room(workers.services(0).repository)
    # The other worker looks for claimable updates first (its poll may come before the
    # holder's renewal): it claims the update whose lease ran out.
    workers.services(1 - holder).inbox.wake()
    await handled_once(stub, settings, update_id, mark)
    disks = [workers.services(i).repository.disk for i in range(2)]
    await stub.wait_until(lambda: not any(d.full for d in disks), timeout=10)


async def test_an_update_held_by_a_worker_that_stops_is_handled_by_the_other(
    stub: FakeBotApi, two: tuple[Running, Settings]
) -> None:
    workers, settings = two
    mark = stub.mark()
    update_id, holder = await submit(workers)
    survivor = 1 - holder
    # The holding worker stops while nothing can be written: it cannot release its claim
    # (nor its advisory lock's duty: that goes with its connection).
    await workers.stop(holder)
    assert inbox_row(settings, update_id)[0] == 1  # still in the inbox, unhandled
    assert sent(stub, OFFICE, mark) == [t("zh-Hans", "storage.full.office")]

    mark = stub.mark()
    await make_room(workers.services(survivor).repository)
    await handled_once(stub, settings, update_id, mark)
