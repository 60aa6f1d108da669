"""One ledger export at a time across all the workers (#24): ``Services.export_lock`` is a
:class:`bot.services.SharedLock`, an asyncio lock in the process and PostgreSQL's session
advisory lock between processes (:meth:`storage.leases.LeaseQueries.try_lock`). The second
requester waits for its turn and then gets its export, as with the process's lock before;
a worker that dies holding it frees it with its connection."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from bot.services import SharedLock
from storage.repository import Repository
from tests.processes import ROOT


async def take_turns(first: SharedLock, second: SharedLock) -> list[str]:
    """Two exports asked at once: what each did, in the order it happened."""
    events: list[str] = []
    started = asyncio.Event()

    async def export(lock: SharedLock, name: str, signal_start: bool) -> None:
        async with lock:
            events.append(f"{name} begins")
            if signal_start:
                started.set()
            await asyncio.sleep(0.6)  # writing the file
            events.append(f"{name} ends")

    one = asyncio.create_task(export(first, "one", True))
    await started.wait()
    two = asyncio.create_task(export(second, "two", False))
    await asyncio.gather(one, two)
    return events


async def test_a_second_export_on_the_same_worker_waits_for_the_first(
    repositories: tuple[Repository, Repository],
) -> None:
    lock = SharedLock(repositories[0], "export", poll=0.05)
    assert await take_turns(lock, lock) == ["one begins", "one ends", "two begins", "two ends"]
    assert not lock.locked()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_second_export_on_another_worker_waits_for_the_first(
    repositories: tuple[Repository, Repository],
) -> None:
    """Several workers share PostgreSQL only (a SQLite database is one process's)."""
    first = SharedLock(repositories[0], "export", poll=0.05)
    second = SharedLock(repositories[1], "export", poll=0.05)
    assert await take_turns(first, second) == ["one begins", "one ends", "two begins", "two ends"]
    # Released on both: either worker takes it again at once.
    for lock in (second, first):
        async with asyncio.timeout(1):
            async with lock:
                pass


HOLDER = """
import asyncio, sys
from storage.repository import Repository

async def main() -> None:
    repository = Repository(sys.argv[1])
    await repository.connect()
    assert await repository.try_lock("export")
    print("held", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_worker_that_dies_during_an_export_frees_the_lock(
    repositories: tuple[Repository, Repository], storage_target: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        storage_target,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 60) == b"held\n"
        waiting = SharedLock(repositories[1], "export", poll=0.05)
        entered = asyncio.Event()

        async def export() -> None:
            async with waiting:
                entered.set()

        task = asyncio.create_task(export())
        await asyncio.sleep(0.5)
        assert not entered.is_set()  # the other worker's export is under way
        process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(10):
            await task  # its connection gone, the lock with it: no lease to wait out
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
