"""Several workers (#24), as real processes on PostgreSQL: the leader is killed with SIGKILL
and a survivor becomes the leader within the lease time, records the send the dead leader
left under way as uncertain (sent once more at most) and sends what is due, once."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

from bot.anonymity import existing_secrets
from bot.config import AnonymitySettings
from bot.core.records import Outgoing
from bot.leadership import LEASE_SECONDS, RENEW_EVERY
from storage.outbox import enqueue
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi
from tests.processes import BotProcess

log = logging.getLogger(__name__)
RESIDENT = 7_200_001
ELECTED = "this worker leads now"


async def test_the_jobs_move_to_a_survivor_when_the_leader_is_killed(
    stub: FakeBotApi, tmp_path: Path, pg_url: str
) -> None:
    workers = [
        BotProcess(stub, tmp_path, STORAGE__URL=pg_url, TELEGRAM__OUTBOX_INTERVAL="1")
        for _ in range(3)
    ]
    try:
        await workers[0].start(polling=True)
        await workers[0].logged(ELECTED)
        await asyncio.gather(*(w.start(polling=True) for w in workers[1:]))
        secrets = existing_secrets(AnonymitySettings(key_file=tmp_path / "keys.json"))
        assert secrets is not None
        repo = Repository(pg_url, secrets=secrets)
        await repo.connect()
        try:

            async def queue(text: str) -> None:
                async with repo.transaction() as db:
                    notice = Outgoing(chat_enc=secrets.encrypt_int(RESIDENT), text=text)
                    await enqueue(db, [notice], submission_id=None, now=repo.clock())

            await queue("领导进程发送的通知")
            await stub.wait_until(lambda: len(stub.messages_to(RESIDENT)) == 1, timeout=20)
            # A send under way in the leader when it dies (recorded, outcome unknown).
            await queue("发送途中的通知")
            async with repo.transaction() as db:
                await db.execute(
                    "UPDATE outbox SET attempt_started_at = '2026-01-01T00:00:00+00:00'"
                    " WHERE status = 'pending'"
                )
            workers[0].kill()
            killed = time.monotonic()
            await workers[0].ended()
            await queue("接管以后的通知")
            survivor = await elected(workers[1:])
            took = time.monotonic() - killed
            assert took < LEASE_SECONDS + RENEW_EVERY, took
            log.warning("a survivor leads %.1f s after the leader was killed", took)
            await stub.wait_until(
                lambda: any("接管以后的通知" in m.plain for m in stub.messages_to(RESIDENT)),
                timeout=20,
            )
        finally:
            await repo.close()
        # The others first: the survivor stays the only one that ever led after the kill.
        for worker in sorted(workers[1:], key=lambda w: w is survivor):
            await worker.stop(signal.SIGTERM)
    finally:
        for worker in workers:
            worker.kill()
    texts = [m.plain for m in stub.messages_to(RESIDENT)]
    assert texts.count("领导进程发送的通知") == 1
    assert texts.count("接管以后的通知") == 1
    assert texts.count("发送途中的通知") <= 1  # (one retry after an uncertain outcome, later)
    log.warning("sent: %s", texts)
    others = [w for w in workers[1:] if w is not survivor]
    assert all(ELECTED not in log for w in others for log in w.logs)
    assert any("sends were interrupted by the stop" in log for log in survivor.logs)


async def elected(candidates: list[BotProcess]) -> BotProcess:
    """The one of ``candidates`` that logged it leads in its run under way, within a lease's
    time."""
    deadline = time.monotonic() + LEASE_SECONDS + RENEW_EVERY + 5
    while time.monotonic() < deadline:
        for worker in candidates:
            if any(ELECTED in line for line in worker.lines):
                return worker
        await asyncio.sleep(0.1)
    raise AssertionError("no survivor took over")
