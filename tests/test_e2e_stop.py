"""SIGTERM and SIGINT always end ``jindianzi run`` within the bound (15 s), issue #14, with
the bot as its own process and the fault injection (bot/faults.py) making a part stick:

- a training of the topic model whose child process never finishes: the stop waits a
  moment for it, then kills it; the bot exits cleanly (0) and leaves no child behind;
- a stop whose flush blocks the event loop for good: the watchdog ends the process at the
  bound (exit 3, one line saying so); a second signal ends it at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

from bot.watchdog import EXIT_FORCED, STOP_WITHIN
from tests.botapi_stub import FakeBotApi
from tests.processes import BotProcess


def training_processes(database: Path) -> list[int]:
    """Pids of ``python -m bot.train_model`` processes working on ``database``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"bot.train_model" in args and str(database).encode() in args:
            found.append(int(entry.name))
    return found


def labels(database: Path) -> None:
    """Labelled examples of two topics: the bot trains a model at start-up."""
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO labelled_examples (text_hash, text, topic_id, source, weight,"
            " created_at, updated_at) VALUES (?, ?, ?, 'import', 1.0, '2025-01-01T00:00:00+00:00',"
            " '2025-01-01T00:00:00+00:00')",
            [
                (f"h{i}", text, topic)
                for i, (text, topic) in enumerate(
                    [("公交车太少", "transport"), ("垃圾没人清", "environment")] * 3
                )
            ],
        )


async def test_sigterm_during_a_training_that_never_ends(stub: FakeBotApi, tmp_path: Path) -> None:
    bot = BotProcess(stub, tmp_path)
    try:
        await bot.start(polling=True)  # creates the database
        assert await bot.stop(signal.SIGTERM) == 0
        labels(bot.database)
        await bot.start(polling=True, fault="train.start@1=hang")
        await stub.wait_until(lambda: bool(training_processes(bot.database)), timeout=20)
        code, took = await bot.timed_stop(signal.SIGTERM)
        print(f"\nSIGTERM during a training that hangs: exit {code} after {took:.1f} s")
        assert code == 0, bot.logs[-1][-2000:]
        assert took < STOP_WITHIN
        assert "training not finished: its process is stopped" in bot.logs[-1]
        await asyncio.sleep(0.2)
        assert training_processes(bot.database) == []
    finally:
        bot.kill()
        for pid in training_processes(bot.database):
            os.kill(pid, signal.SIGKILL)


async def test_a_stop_that_sticks_is_ended_by_the_watchdog_or_a_second_signal(
    stub: FakeBotApi, tmp_path: Path
) -> None:
    bot = BotProcess(stub, tmp_path)
    try:
        await bot.start(polling=True, fault="stop.flush@1=hang")
        code, took = await bot.timed_stop(signal.SIGTERM, timeout=STOP_WITHIN + 10)
        print(f"\nSIGTERM, then the event loop blocked: exit {code} after {took:.1f} s")
        assert code == EXIT_FORCED
        assert STOP_WITHIN - 1 < took < STOP_WITHIN + 1.5
        assert f"not stopped within {STOP_WITHIN:.0f} s; exiting now" in bot.logs[-1]

        await bot.start(polling=True, fault="stop.flush@1=hang")
        assert bot.process is not None
        bot.process.send_signal(signal.SIGINT)
        await asyncio.sleep(1.0)
        code, took = await bot.timed_stop(signal.SIGINT, timeout=5)
        assert code == EXIT_FORCED and took < 1.0
        assert "second stop signal: exiting now" in bot.logs[-1]
    finally:
        bot.kill()
