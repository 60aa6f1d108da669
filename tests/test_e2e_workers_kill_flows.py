"""Three webhook workers on one PostgreSQL database, the leader killed with SIGKILL while 50
residents walk the whole guided flow (#24): ``jindianzi run --webhook`` three times as
processes, each resident walking the seven steps of :mod:`bench.sustained` (``/start``,
提建议, the text, 下一步, 就是这个类别, 实名/匿名, 确认提交; the same walking code), every
update POSTed round-robin to the three workers' ports (as nginx does: a worker that does not
answer, the next one), new items announced in the office chat through the outbox.

What is counted and asserted: every acknowledged submission (``#N``) is stored, each finished
walk stored exactly one item, no update was answered 200 and never handled, no reply and no
office notice was sent more than twice (at most once more after an uncertain outcome, and a
reply twice only in a walk the kill interrupted), and a survivor leads (the scheduled jobs
and the outbox) after the kill. A walk the kill interrupted either finishes (its updates
taken over after the lease) or stays unfinished with its draft kept; both are counted."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.sustained import ACK, STEPS, Residents, WalkingApi
from bench.workers import HttpBotApi
from bot.config import Settings
from tests.botapi_stub import FakeBotApi
from tests.databases import rows
from tests.test_e2e_leader_faults import elected
from tests.test_e2e_webhook import free_port
from tests.test_e2e_workers_faults import Proxy, start_workers, webhook_workers

RESIDENTS = 50
WORKERS = 3
LEASE = 10  # seconds an inbox claim is held (the default is 15: the test need not wait so
# long; with 3 s, renewals delayed under load let live workers' claims be taken over)
OFFICE = -1_002_400_000  # the office chat, where every new item is announced
KILL_AFTER = 10  # acknowledged submissions
ACKNOWLEDGED = re.compile(r"编号 <b>#(\d+)</b>")
ANNOUNCED = re.compile(r"^<b>\S+ #(\d+)</b>", re.MULTILINE)


class RecordingApi(WalkingApi):
    """The benchmark's Bot API, also recording every message sent (chat, text, when)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[int, str, float]] = []

    async def answer(self, api_method: str, params: dict[str, Any]) -> Any:
        if api_method == "sendMessage":
            chat = int(str(params.get("chat_id", 0)))
            self.sent.append((chat, str(params.get("text", "")), time.monotonic()))
        return await super().answer(api_method, params)

    def texts_to(self, chat: int) -> list[str]:
        return [text for to, text, _ in self.sent if to == chat]


async def test_guided_flows_over_three_workers_survive_the_leader_killed(
    stub: FakeBotApi, tmp_path: Path, pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(stub, storage={"url": pg_url})
    api = RecordingApi()
    server = HttpBotApi(api)
    await server.start()
    ports = [free_port() for _ in range(WORKERS)]
    workers = webhook_workers(
        stub,
        tmp_path,
        ports,
        pg_url,
        TELEGRAM__BASE_URL=server.base_url,
        TELEGRAM__INBOX_LEASE=str(LEASE),
        TELEGRAM__OUTBOX_INTERVAL="1",
        # The flood limits hold across the workers (test_e2e_workers_flood); here they
        # would only make the walk slower.
        TELEGRAM__OVERALL_MAX_RATE="100000",
        TELEGRAM__GROUP_MAX_RATE="100000",
        TELEGRAM__PRIVATE_MAX_RATE="0",
        ROLES__OFFICE_CHAT_ID=str(OFFICE),
    )
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40))
    proxy = Proxy(stub, ports)
    senders: dict[int, int] = {}  # update_id -> its sender

    async def send(update: dict[str, Any]) -> None:
        body = update.get("message") or update["callback_query"]
        senders[update["update_id"]] = body["from"]["id"]
        await proxy.deliver(session, update)

    residents = Residents(api, send, RESIDENTS, ACK)
    users = [500_000 + n for n in range(RESIDENTS)]  # (the ids Residents walks with)

    def acknowledged() -> set[int]:
        """The references of the submissions acknowledged to the residents so far."""
        return {int(r) for u in users for t in api.texts_to(u) for r in ACKNOWLEDGED.findall(t)}

    try:
        await start_workers(workers)
        leader = await elected(workers)
        began = time.monotonic()
        walks = asyncio.gather(*(residents.walk(anonymous=n % 3 == 0) for n in range(RESIDENTS)))
        # The leader is killed once the first residents are acknowledged: walks are at
        # every step, and the leader's outbox is announcing the first items.
        await stub.wait_until(lambda: len(acknowledged()) >= KILL_AFTER, timeout=60)
        acked_before_kill = len(proxy.acked)
        assert await leader.stop(signal.SIGKILL) == -signal.SIGKILL
        killed_at = time.monotonic()
        assert leader.process is not None
        held = rows(  # what the killed worker had claimed and not finished (or not marked)
            settings,
            "SELECT update_id FROM inbox WHERE body IS NOT NULL AND claimed_by LIKE ?",
            (f"%:{leader.process.pid}:%",),
        )
        survivors = [w for w in workers if w is not leader]
        successor = await elected(survivors)
        took_over = time.monotonic() - killed_at
        await walks
        walked = time.monotonic() - began
        acked = acknowledged()
        await stub.wait_until(
            lambda: acked <= {int(r) for t in api.texts_to(OFFICE) for r in ANNOUNCED.findall(t)},
            timeout=30,
        )
        await asyncio.sleep(1.5)  # (a notice sent twice would come by now)
        for worker in survivors:
            assert await worker.stop(signal.SIGTERM) == 0, worker.logs[-1]
    finally:
        await session.close()
        for worker in workers:
            worker.kill()
        await server.stop()

    killed_port = ports[workers.index(leader)]
    stored = {row[0] for row in rows(settings, "SELECT id FROM submissions")}
    handled = dict(rows(settings, "SELECT update_id, body IS NULL FROM inbox"))
    drafts = rows(settings, "SELECT COUNT(*) FROM drafts")[0][0]
    # Every acknowledged submission is stored, and each finished walk stored one item.
    assert acked <= stored, sorted(acked - stored)
    per_user = {user: set(ACKNOWLEDGED.findall("".join(api.texts_to(user)))) for user in users}
    assert all(len(refs) <= 1 for refs in per_user.values()), per_user
    finished = {user for user, refs in per_user.items() if refs}
    assert len(finished) == residents.tally.flows
    assert len(stored) == len(finished), (len(stored), len(finished))
    # Every update answered 200 was handled (the dead worker's by a survivor).
    never_handled = [u for u in proxy.acked if not handled.get(u)]
    assert never_handled == []

    # The walks the kill interrupted (a step held by the killed worker, unfinished or its
    # mark not written): each either finished (the step taken over after the lease), or
    # stays unfinished with its draft kept.
    interrupted = {senders[update_id] for (update_id,) in held}
    assert interrupted, "the kill interrupted no walk: nothing was taken over"
    unfinished = set(users) - finished
    assert unfinished <= interrupted, sorted(unfinished - interrupted)
    assert drafts >= len(unfinished)
    # No reply sent more than twice, and twice only in a walk the kill interrupted; each new
    # item announced to the office once, or twice after an uncertain send (the leader's).
    repeated: Counter[int] = Counter()
    for user in users:
        counts = Counter(api.texts_to(user))
        assert max(counts.values()) <= 2, (user, counts.most_common(2))
        repeated[user] = sum(n - 1 for n in counts.values())
    twice = {user for user, n in repeated.items() if n}
    assert twice <= interrupted, {
        user: [text[:40] for text, n in Counter(api.texts_to(user)).items() if n > 1]
        for user in sorted(twice - interrupted)[:3]
    }
    # The outbox moved to the survivor that leads: it announced what was left, each once.
    after_kill = sum(1 for chat, _, at in api.sent if chat == OFFICE and at > killed_at)
    assert after_kill > 0
    announced = Counter(int(r) for t in api.texts_to(OFFICE) for r in ANNOUNCED.findall(t))
    assert set(announced) == stored
    assert max(announced.values()) <= 2, announced.most_common(3)
    taken = sum(
        int(n) for w in survivors for n in re.findall(r"took over (\d+) updates", w.logs[-1])
    )
    by_port = Counter(proxy.acked.values())
    print(
        f"\n{WORKERS} workers, the leader SIGKILLed after {acked_before_kill} of"
        f" {len(proxy.acked)} updates were answered 200; {RESIDENTS} residents walking"
        f" {len(STEPS)} steps; answered 200 by each worker (killed: port {killed_port}):"
        f" {', '.join(str(by_port[p]) for p in ports)}; {proxy.refused} POSTs not answered"
        f" 200 and sent to the next worker; acknowledged {len(acked)}, stored {len(stored)},"
        f" lost {len(acked - stored)}; finished walks {len(finished)}; answered 200 and never"
        f" handled {len(never_handled)}; held by the killed worker {len(held)}, taken over"
        f" after the lease {taken} (the survivors' logs); walks interrupted"
        f" by the kill {len(interrupted)}: finished {len(interrupted & finished)}, unfinished"
        f" {len(interrupted - finished)} (drafts kept {drafts}); replies sent twice"
        f" {sum(repeated.values())}; office notices sent twice"
        f" {sum(n - 1 for n in announced.values())}, sent after the kill"
        f" {after_kill}; a survivor led {took_over:.1f} s after the kill; walked in {walked:.1f} s"
    )
    assert successor is not leader
