"""PostgreSQL restarted under load (#24): the bot's connections are opened again, what the
restart interrupted is handled again once the database is back (no apology, no flow
broken), every submission a resident was given a reference number for is stored, and the
bot answers again afterwards."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import BotRunner, Chat
from tests.databases import rows
from tests.pg_cluster import Cluster
from tests.test_e2e_resident import submit

log = logging.getLogger(__name__)
RESIDENTS = [FakeUser(id=8_100_000 + n, first_name=f"居民{n}") for n in range(8)]
LOAD_SECONDS = 8.0


async def test_a_postgresql_restart_mid_load_loses_no_acknowledged_submission(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    pg_cluster: Cluster,
    pg_url: str,
) -> None:
    settings = make_settings(stub, storage={"url": pg_url})
    runner = BotRunner(settings)
    await runner.start()
    acknowledged: list[int] = []
    failed = 0
    after_restart: list[int] = []
    restarted = asyncio.Event()
    deadline = time.monotonic() + LOAD_SECONDS
    give_up = deadline + 45  # (the bot never answering again fails the test, not hangs it)

    async def resident(user: FakeUser, n: int) -> None:
        nonlocal failed
        chat = Chat(stub, user)
        i = 0
        while time.monotonic() < deadline or (
            restarted.is_set() and not after_restart and time.monotonic() < give_up
        ):
            i += 1
            try:
                number = await asyncio.wait_for(
                    submit(chat, f"建议{n}号在小区第{i}排增设路灯和座椅", anonymous=i % 2 == 0),
                    timeout=15,
                )
            except (AssertionError, TimeoutError, LookupError, ValueError, IndexError):
                failed += 1
                await asyncio.sleep(0.5)
                continue
            acknowledged.append(number)
            if restarted.is_set():
                after_restart.append(number)

    async def restart() -> None:
        await asyncio.sleep(LOAD_SECONDS / 3)
        await asyncio.to_thread(pg_cluster.restart)
        restarted.set()

    try:
        await asyncio.gather(restart(), *(resident(u, n) for n, u in enumerate(RESIDENTS)))
    finally:
        await runner.stop()
    stored = {int(r[0]) for r in rows(settings, "SELECT id FROM submissions")}
    log.warning(
        "PostgreSQL restart: %d acknowledged, %d stored, %d flows broken, %d after restart",
        len(acknowledged), len(stored), failed, len(after_restart),
    )  # fmt: skip
    assert acknowledged and after_restart, (acknowledged, after_restart, failed)
    assert set(acknowledged) <= stored
    assert len(acknowledged) == len(set(acknowledged))
    # What the restart interrupted was handled again once the database was back: no flow
    # broke and nobody was sent the apology (bot.transport.retries).
    apology = t("zh-Hans", "error.apology")
    assert not [m for u in RESIDENTS for m in stub.messages_to(u.id) if apology in m.plain]
    assert failed == 0, failed


pytestmark = pytest.mark.e2e
