"""Three webhook workers on one PostgreSQL database, one killed with SIGKILL under load
(#24): ``jindianzi run --webhook`` three times as processes, 50 residents walking the guided
flow at once, every update POSTed round-robin to the three workers' ports by the test (as
nginx does in front of them: a worker that does not answer, the next one). What the intake
promises: no acknowledged submission lost or stored twice, no update answered 200 and never
handled (the dead worker's claims pass to a survivor when their lease runs out), each
resident's updates handled in their order. (Notifications to the office may still be sent
by more than one worker: the outbox's single sender is another branch's work.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bot.config import Settings
from tests.botapi_stub import FakeBotApi, FakeUser, JsonDict
from tests.databases import rows
from tests.processes import BotProcess
from tests.test_e2e_webhook import SECRET, URL, free_port

RESIDENTS = 50
STEPS = 6  # updates each resident sends
WORKERS = 3
LEASE = 3  # seconds (the default is 15: the test need not wait that long)


class Proxy:
    """nginx in front of the workers: each update the stand-in holds for the bot is POSTed
    to the next worker in turn; one that refuses the connection or does not answer 200 is
    skipped for the next (and Telegram would send it again): until a worker answers 200."""

    def __init__(self, stub: FakeBotApi, ports: list[int]) -> None:
        self.stub = stub
        self.ports = ports
        self.turn = 0
        self.acked: dict[int, int] = {}  # update_id -> the port that answered 200
        self.posted: dict[int, float] = {}  # update_id -> when it was first POSTed
        self.answered: dict[int, float] = {}  # update_id -> when it was answered 200
        self.refused = 0  # tries a worker did not answer with 200
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                for update in self.stub.take_pending():
                    task = asyncio.create_task(self.deliver(session, update))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                await asyncio.sleep(0.005)

    async def deliver(self, session: aiohttp.ClientSession, update: JsonDict) -> None:
        """POST ``update`` to the workers in turn until one answers 200."""
        data = json.dumps(update).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        self.posted[update["update_id"]] = time.monotonic()
        while True:
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}/jindianzi/updates", data=data, headers=headers
                ) as response:
                    if response.status == 200:
                        self.acked[update["update_id"]] = port
                        self.answered[update["update_id"]] = time.monotonic()
                        return
            except aiohttp.ClientConnectionError:  # (nginx: the next upstream at once)
                self.refused += 1
                continue
            self.refused += 1
            await asyncio.sleep(0.05)


def webhook_workers(
    stub: FakeBotApi, tmp_path: Path, ports: list[int], pg_url: str, **settings: str
) -> list[BotProcess]:
    """A ``jindianzi run --webhook`` worker on ``pg_url`` for each port, with one key file
    and the shared secret (and further ``settings``, as :class:`BotProcess` takes them)."""
    return [
        BotProcess(
            stub,
            tmp_path,
            args=("--webhook", URL, "--listen", f"127.0.0.1:{port}"),
            STORAGE__URL=pg_url,
            TELEGRAM__WEBHOOK_SECRET=SECRET,
            **settings,
        )
        for port in ports
    ]


async def stop_all(pump: asyncio.Task[None], workers: list[BotProcess]) -> None:
    """The end of a test, passed or failed: the POSTs stop, and no worker outlives it."""
    pump.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pump
    for worker in workers:
        worker.kill()


async def start_workers(workers: list[BotProcess]) -> None:
    """Start them one after another (the first creates the key file), each until it serves
    its webhook."""
    for worker in workers:
        await worker.start()
        await worker.logged("webhook:", timeout=60)


async def test_three_workers_one_killed_lose_no_acknowledged_update(
    stub: FakeBotApi, tmp_path: Path, pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(stub, storage={"url": pg_url})
    ports = [free_port() for _ in range(WORKERS)]
    workers = webhook_workers(stub, tmp_path, ports, pg_url, TELEGRAM__INBOX_LEASE=str(LEASE))
    residents = [FakeUser(id=7_100_000 + i, first_name=f"居民{i}") for i in range(RESIDENTS)]
    asked = [str(9000 + step) for step in range(STEPS)]
    sent: dict[int, tuple[int, str]] = {}  # update_id -> (resident, reference asked)
    proxy = Proxy(stub, ports)
    pump = asyncio.create_task(proxy.run())
    rng = random.Random(24)

    async def resident(user: FakeUser, pause: random.Random) -> None:
        """Asks in quick bursts, not waiting for the answers: consecutive updates of one
        sender reach different workers at about the same time."""
        for ref in asked:
            await asyncio.sleep(pause.random() * 0.3)
            sent[stub.send_text(user, f"/status {ref}")] = (user.id, ref)

    def answered(user: FakeUser) -> list[str]:
        """The references named in the answers to ``user``, in the order they came."""
        return [
            next(ref for ref in asked if ref in m.plain)
            for m in stub.messages_to(user.id)
            if any(ref in m.plain for ref in asked)
        ]

    try:
        await start_workers(workers)
        await stub.wait_until(lambda: stub.webhook is not None, timeout=60)
        began = time.monotonic()
        flows = [asyncio.create_task(resident(u, random.Random(rng.random()))) for u in residents]
        total = RESIDENTS * STEPS
        await stub.wait_until(lambda: len(proxy.acked) >= total // 3, timeout=60)
        killed = workers[1]
        assert await killed.stop(signal.SIGKILL) == -signal.SIGKILL
        acked_before_kill = len(proxy.acked)
        await asyncio.gather(*flows)
        await stub.wait_until(
            lambda: all(set(answered(u)) == set(asked) for u in residents), timeout=60
        )
        await stub.wait_idle(quiet=0.5, timeout=30)
        seconds = time.monotonic() - began
        for worker in (workers[0], workers[2]):
            assert await worker.stop(signal.SIGTERM) == 0, worker.logs[-1]
    finally:
        await stop_all(pump, workers)

    inbox = {
        row[0]: (row[1], row[2])
        for row in rows(settings, "SELECT update_id, body IS NULL, handled_at FROM inbox")
    }
    # Every update was answered 200 once by some worker, is in the inbox, and was handled.
    assert set(proxy.acked) == set(sent)
    assert set(sent) <= set(inbox)
    unhandled = [u for u in sent if not inbox[u][0]]
    assert unhandled == []
    # Each resident's updates were handled in their order: of two updates, the earlier one
    # stored (answered 200) before the later one was sent was answered first and marked
    # handled first. (One sent again after a worker died can be stored after a later one
    # of the same resident: no worker can order what it has not received yet.)
    repeated = checked = 0
    for user in residents:
        answers = answered(user)
        firsts = list(dict.fromkeys(answers))
        assert sorted(firsts) == asked, (user.id, answers)
        repeated += len(answers) - len(firsts)
        mine = sorted(u for u, (who, _) in sent.items() if who == user.id)
        for n, earlier in enumerate(mine):
            for later in mine[n + 1 :]:
                if proxy.answered[earlier] < proxy.posted[later]:
                    checked += 1
                    a, b = sent[earlier][1], sent[later][1]
                    assert firsts.index(a) < firsts.index(b), (user.id, a, b, answers)
                    assert inbox[earlier][1] < inbox[later][1], (user.id, earlier, later)
    # An answer sent twice can only be one the killed worker had sent before its mark was
    # written: handled again by the survivor (at least once, never lost).
    killed_port = ports[1]
    by_port = Counter(proxy.acked.values())
    assert repeated <= by_port[killed_port]
    taken = sum(
        int(n)
        for worker in (workers[0], workers[2])
        for n in re.findall(r"took over (\d+) updates", worker.logs[-1])
    )
    print(
        f"\n{WORKERS} workers, one SIGKILLed after {acked_before_kill} of {len(sent)} updates"
        f" were answered 200: {RESIDENTS} residents x {STEPS} updates;"
        f" answered 200 by worker 1, 2 (killed), 3:"
        f" {', '.join(str(by_port[p]) for p in ports)};"
        f" {proxy.refused} POSTs not answered 200 and sent to the next worker;"
        f" {len(unhandled)} answered 200 and never handled; {checked} pairs of one"
        f" resident's updates (the earlier stored before the later was sent) all in order;"
        f" taken over from the killed worker after its lease {taken};"
        f" answered twice {repeated}; in {seconds:.1f} s"
    )
