"""Running ``jindianzi run`` as its own process against the Bot API stand-in: its
environment (the caller's without any ``JINDIANZI_*`` setting of its own, plus the
stand-in's token and URLs, the database and key file, and any further settings), the
process itself, from the repository root with the example configuration, and
:class:`BotProcess` to start, stop, kill and restart it keeping its log."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.botapi_stub import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent
FAULT_INJECTION = "JINDIANZI_FAULT_INJECTION"
EXAMPLE_CONFIG = ROOT / "config.example.toml"


def bot_env(stub: FakeBotApi, database: Path, keys: Path, **settings: str) -> dict[str, str]:
    """``settings`` are environment names without the prefix, e.g.
    ``TELEGRAM__POLL_TIMEOUT="1"`` for ``JINDIANZI_TELEGRAM__POLL_TIMEOUT``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("JINDIANZI_")},
        "JINDIANZI_TELEGRAM__TOKEN": stub.token,
        "JINDIANZI_TELEGRAM__BASE_URL": stub.base_url,
        "JINDIANZI_TELEGRAM__BASE_FILE_URL": stub.base_file_url,
        "JINDIANZI_STORAGE__PATH": str(database),
        "JINDIANZI_ANONYMITY__KEY_FILE": str(keys),
        **{f"JINDIANZI_{name}": value for name, value in settings.items()},
    }


async def start_bot(
    env: dict[str, str],
    *args: str,
    stderr: int = asyncio.subprocess.PIPE,
    config: Path = EXAMPLE_CONFIG,
    cwd: Path = ROOT,
    prefix: Sequence[str] = (),
) -> asyncio.subprocess.Process:
    """``jindianzi run --config config.example.toml [args]`` with ``env`` (another
    ``config`` file, or another working directory ``cwd``, if given); ``prefix`` is a
    command that runs it (e.g. in a mount namespace of its own) by exec, in the same
    process."""
    return await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        *args,
        cwd=cwd,
        env=env,
        stderr=stderr,
    )


def polls_since(stub: FakeBotApi, calls: int) -> bool:
    """Whether a run started after ``stub.calls[:calls]`` polls: a getUpdates answered
    after its getMe. The stand-in records a call when it answers it, so a long poll of the
    run stopped before can be recorded after ``calls``: it is no sign of the new run."""
    methods = [call.method for call in stub.calls[calls:]]
    return "getMe" in methods and "getUpdates" in methods[methods.index("getMe") :]


class BotProcess:
    """``jindianzi run`` against the stand-in, started and stopped as often as needed, with
    the log of each run kept (:attr:`logs`, one entry per run)."""

    def __init__(
        self,
        stub: FakeBotApi,
        tmp_path: Path,
        *,
        prefix: Sequence[str] = (),
        args: Sequence[str] = (),
        **settings: str,
    ) -> None:
        self.env = bot_env(
            stub,
            tmp_path / "bot.sqlite3",
            tmp_path / "keys.json",
            **{
                "TELEGRAM__POLL_TIMEOUT": "1",
                "OFFICE__SCHEDULED_REPORTS": "false",
                # Residents in a test send faster than any person; the limit is tested
                # elsewhere.
                "LIMITS__MAX_SUBMISSIONS_PER_HOUR": "0",
                **settings,
            },
        )
        self.stub = stub
        self.prefix = prefix  # start_bot's
        self.args = args  # jindianzi run's, e.g. --webhook URL --listen HOST:PORT
        self.database = tmp_path / "bot.sqlite3"
        self.logs: list[str] = []
        self.lines: list[str] = []  # the log of the run under way, line by line as it comes
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, *, fault: str | None = None, polling: bool = False) -> None:
        """Start a run, with ``fault`` armed for this run only (bot/faults.py's syntax). With
        ``polling``, until the bot asks the stand-in for updates (start-up done)."""
        calls = len(self.stub.calls)
        extra = {FAULT_INJECTION: fault} if fault else {}
        self.process = await start_bot({**self.env, **extra}, *self.args, prefix=self.prefix)
        self._reader = asyncio.create_task(self._read(self.process))
        if polling:
            await self.stub.wait_until(lambda: polls_since(self.stub, calls), timeout=60)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        self.lines = chunks = []
        while line := await process.stderr.readline():
            chunks.append(line.decode(errors="replace"))
        self.logs.append("".join(chunks))

    async def logged(self, text: str, *, timeout: float = 30.0) -> None:
        """Wait until the run under way has logged a line containing ``text``."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not logged: {text!r}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """Whatever happened in the test, leave no bot process behind."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    async def stop(self, sig: int, *, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the process (and its log) to end; its exit status."""
        assert self.process is not None
        self.process.send_signal(sig)
        return await self.ended(timeout=timeout)

    async def ended(self, *, timeout: float = 30.0) -> int:
        """Wait for the process to end by itself (e.g. killed by the fault injection)."""
        assert self.process is not None and self._reader is not None
        code = await asyncio.wait_for(self.process.wait(), timeout=timeout)
        await self._reader
        return code

    async def timed_stop(self, sig: int, *, timeout: float = 30.0) -> tuple[int, float]:
        """:meth:`stop`, and how many seconds the process took to end."""
        began = time.monotonic()
        code = await self.stop(sig, timeout=timeout)
        return code, time.monotonic() - began
