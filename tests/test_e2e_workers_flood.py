"""Telegram's flood limits held by three webhook workers together (#24), as real processes on
PostgreSQL: a burst of ``/help`` from many residents in their private chats and from many
members of one group, POSTed round-robin to the workers' ports, each answered by whichever
worker claims it, against a stand-in that answers 429 beyond the limits and records when
each send arrived. Each worker holds ``1/N`` of the overall and of each group's budget (N
from the live workers' heartbeats), so together they stay within them.

The group's window is Telegram's minute; here ``telegram.group_period`` makes it 10 s (and
the budgets lower: 15 messages a second overall, 6 per window per group), so that the
group's burst spans two windows in about 11 s."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.databases import rows
from tests.test_e2e_webhook import free_port
from tests.test_e2e_workers_faults import Proxy, start_workers, stop_all, webhook_workers

WORKERS = 3
RESIDENTS = 45  # each sends /help in their private chat
MEMBERS = 12  # each sends /help in the group
GROUP = -1_002_400_100
OVERALL = 15  # messages a second, for the whole bot
GROUP_RATE = 6  # messages per window in one group
# Seconds (Telegram's: 60). The limiter's safety margin is a tenth of it, and it must cover
# the jitter between a send's release in a worker and its arrival at the stand-in (up to
# half a second on a loaded machine): with 3 s windows the stand-in refused sends.
GROUP_PERIOD = 10.0


async def test_three_workers_together_keep_the_overall_and_group_limits(
    stub: FakeBotApi, tmp_path: Path, pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(stub, storage={"url": pg_url})
    flood = stub.enforce_flood_limits(
        overall_per_second=OVERALL, group_per_minute=GROUP_RATE, group_period=GROUP_PERIOD
    )
    ports = [free_port() for _ in range(WORKERS)]
    workers = webhook_workers(
        stub,
        tmp_path,
        ports,
        pg_url,
        TELEGRAM__OVERALL_MAX_RATE=str(OVERALL),
        TELEGRAM__GROUP_MAX_RATE=str(GROUP_RATE),
        TELEGRAM__GROUP_PERIOD=str(GROUP_PERIOD),
        # Each worker handles 4 at once, so a worker claims no more than 4 of the burst
        # and all three answer in the group (with 64, one claimed the whole group burst
        # and sent it at its third of the group's budget).
        TELEGRAM__CONCURRENT_UPDATES="4",
    )
    residents = [FakeUser(id=7_300_000 + n, first_name=f"居民{n}") for n in range(RESIDENTS)]
    members = [FakeUser(id=7_400_000 + n, first_name=f"组员{n}") for n in range(MEMBERS)]
    proxy = Proxy(stub, ports)
    pump = asyncio.create_task(proxy.run())
    try:
        await start_workers(workers)
        for worker in workers:  # each knows the three share the limits
            await worker.logged(f"{WORKERS} workers share the database", timeout=20)
        began = time.monotonic()
        in_group = [stub.send_group_text(member, GROUP, "/help") for member in members]
        for user in residents:
            stub.send_text(user, "/help")
        await stub.wait_until(
            lambda: (
                len(stub.messages_to(GROUP)) == MEMBERS
                and all(stub.messages_to(u.id) for u in residents)
            ),
            timeout=40,
        )
        took = time.monotonic() - began
        await stub.wait_idle(quiet=0.5, timeout=10)
        for worker in workers:
            assert await worker.stop(signal.SIGTERM) == 0, worker.logs[-1]
    finally:
        await stop_all(pump, workers)

    # Everything answered once, and the stand-in refused nothing.
    assert len(stub.messages_to(GROUP)) == MEMBERS
    assert all(len(stub.messages_to(u.id)) == 1 for u in residents)
    assert flood.refused == []
    overall = flood.max_in_window(1.0)
    group = flood.max_in_window(GROUP_PERIOD, GROUP)
    assert overall <= OVERALL
    assert group <= GROUP_RATE
    # The group's answers came from several workers (the limits held across them), and the
    # group's limit is what paced them: its burst spans several windows.
    claimed = rows(
        settings,
        "SELECT claimed_by, COUNT(*) FROM inbox WHERE update_id IN"
        f" ({', '.join('?' * len(in_group))}) GROUP BY claimed_by",
        in_group,
    )
    assert len(claimed) >= 2, claimed
    group_times = [at for at, chat in flood.accepted if chat == GROUP]
    spread = max(group_times) - min(group_times)
    assert spread >= (MEMBERS / GROUP_RATE - 1) * GROUP_PERIOD
    print(
        f"\n{WORKERS} workers, {RESIDENTS} residents and {MEMBERS} group members sending /help"
        f" at once: answered in {took:.1f} s; at most {overall} sends in any second (limit"
        f" {OVERALL}), at most {group} to the group in any {GROUP_PERIOD:.0f} s (limit"
        f" {GROUP_RATE}); the group's answers sent by {len(claimed)} workers"
        f" ({', '.join(str(n) for _, n in claimed)}) over {spread:.1f} s; refused by the"
        f" stand-in: {len(flood.refused)}"
    )
