"""The misbehaving Bot API of tests/test_e2e_delivery.py, with the bot as its own process
(``jindianzi run``, real clock, production timeouts: a 5 s read timeout) and SIGTERM
(issue #14).

Five residents, one chat misbehaving each way at once: answers that do not parse (the
message IS delivered), that are not JSON, that never come, a connection closed after the
request was read, and 500 forever. Each gets the office's notice at most twice; the four
whose outcome is unknown end as permanent failures, listed by /failed and told to the office
once each; the 500 one keeps being retried with backoff (nothing delivered, no warning yet).
Then SIGTERM while a notice to the hanging chat is being sent: the process ends within the
bound (15 s), cleanly (exit 0). The window is not a fixed 60 s here: it lasts until the four
failures are recorded (about 15 s: two hanging sends of 5 s) and 3 s more, then the counts
are checked; the in-process test runs the full 60 s (and more) of the bot's clock.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from bot.i18n import t
from bot.watchdog import STOP_WITHIN
from tests.botapi_stub import FakeBotApi, FakeUser, Misbehaviour
from tests.conftest import ADMIN, Chat
from tests.processes import BotProcess
from tests.test_e2e_office import OFFICE, office_card, submit

FAULTS: tuple[Misbehaviour, ...] = ("garbled", "not_json", "hang", "close", "error_500")
RESIDENTS = {f: FakeUser(id=600_000_001 + i, first_name=f"居民{i}") for i, f in enumerate(FAULTS)}


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def statuses(database: Path) -> dict[int, list[tuple[str, int]]]:
    """(status, attempts) of each item's messages other than its announcement (and the
    edits that keep its card copies current)."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT submission_id, status, attempts FROM outbox WHERE submission_id IS NOT NULL"
            " AND copy_id IS NULL"
            " AND id NOT IN (SELECT MIN(id) FROM outbox GROUP BY submission_id) ORDER BY id"
        ).fetchall()
    found: dict[int, list[tuple[str, int]]] = {}
    for number, status, attempts in rows:
        found.setdefault(number, []).append((status, attempts))
    return found


async def test_a_misbehaving_bot_api_as_a_process_then_sigterm(
    stub: FakeBotApi, tmp_path: Path
) -> None:
    bot = BotProcess(
        stub,
        tmp_path,
        ROLES__OFFICE_CHAT_ID=str(OFFICE),
        ROLES__ADMIN_IDS=f"[{ADMIN.id}]",
        TELEGRAM__OUTBOX_INTERVAL="0.5",
    )
    try:
        await bot.start(polling=True)
        numbers = dict(
            zip(
                FAULTS,
                await asyncio.gather(
                    *(
                        submit(Chat(stub, user), f"{fault}：村口路灯不亮，请修理", anonymous=False)
                        for fault, user in RESIDENTS.items()
                    )
                ),
                strict=True,
            )
        )
        cards = {f: await office_card(stub, n, timeout=10) for f, n in numbers.items()}
        mark = stub.mark()
        for fault, user in RESIDENTS.items():
            stub.misbehave(user.id, fault)
            stub.press_button(ADMIN, cards[fault], "受理")
        uncertain = [numbers[f] for f in FAULTS if f != "error_500"]

        def settled() -> bool:
            found = statuses(bot.database)
            return all(found.get(n) == [("failed", 2)] for n in uncertain)

        await stub.wait_until(settled, timeout=40)
        await asyncio.sleep(3.0)

        for fault, user in RESIDENTS.items():
            copies = [m for m in stub.messages_to(user.id) if m.seq > mark]
            expected = 0 if fault == "error_500" else 2
            assert len(copies) == expected, (fault, [m.plain[:20] for m in copies])
        found = statuses(bot.database)
        assert all(found[n] == [("failed", 2)] for n in uncertain), found
        [(status, attempts)] = found[numbers["error_500"]]
        assert status == "pending" and 2 <= attempts <= 6  # backoff 1-2, 2-4, 4-8, ... s
        warnings = [m for m in stub.messages_to(OFFICE) if m.seq > mark and m.plain.startswith("⚠")]
        assert sorted(int(m.plain.split("#")[1].split()[0]) for m in warnings) == sorted(uncertain)
        listed = await Chat(stub, ADMIN).send("/failed", expect="#")
        assert all(f"#{n}" in listed.plain for n in uncertain)
        assert f"#{numbers['error_500']}" not in listed.plain

        # SIGTERM while a notice to the chat that never answers is being sent.
        calls = len(stub.calls)
        refreshed = await stub.wait_for(
            OFFICE,
            predicate=lambda m: m.method == "editMessageText" and f"#{numbers['hang']}" in m.plain,
            timeout=5,
        )
        stub.press_button(ADMIN, refreshed, "开始办理")
        hang = RESIDENTS["hang"].id
        await stub.wait_until(
            lambda: any(
                c.params.get("chat_id") == hang and c.response.get("fault") == "hang"
                for c in stub.calls[calls:]
            ),
            timeout=10,
        )
        code, took = await bot.timed_stop(signal.SIGTERM)
        print(f"\nSIGTERM during a hanging send: exit {code} after {took:.1f} s")
        assert code == 0, bot.logs[-1][-3000:]
        assert took < STOP_WITHIN
    finally:
        bot.kill()
