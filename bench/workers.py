"""Webhook scaling (#24): ``jindianzi run --webhook`` as 1, 2 and 3 worker processes on one
PostgreSQL database, and as one process on SQLite, each fed the sustained walk of
:mod:`bench.sustained` through webhook POSTs spread over the workers' ports in turn (as an
nginx upstream does), against an echo process fed the same way.

Everything talks HTTP on loopback: the Bot API is served by this process (aiohttp, the
in-memory answers of :class:`bench.sustained.WalkingApi`), the residents post from this
process, and each worker is its own process. The PostgreSQL server is a throwaway cluster of
Debian's binaries (the tests' :class:`tests.pg_cluster.Cluster`), here with ``fsync`` and
synchronous commits on, as a production server has them; SQLite runs as the bot always
runs it (WAL, ``synchronous=NORMAL``).

Usage: ``python -m bench.workers [SECONDS]`` (also part of ``./scripts/bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.sustained import ACK, CONCURRENT, SECRET, Residents, Tally, WalkingApi, free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "4242:bench-workers"
HOOK_PATH = "hook"
# Form fields python-telegram-bot sends as JSON (everything that is not a string).
_JSON_FIELDS = ("reply_markup", "chat_id", "message_id", "allowed_updates", "commands", "scope")


class HttpBotApi:
    """:class:`WalkingApi` served over HTTP at ``/bot<token>/<method>``."""

    def __init__(self, api: WalkingApi) -> None:
        self.api = api
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and request.body_exists:
            params.update(await request.json())
        elif request.body_exists:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for name in _JSON_FIELDS:
            value = params.get(name)
            if isinstance(value, str) and value[:1] in "{[-0123456789":
                with contextlib.suppress(ValueError):
                    params[name] = json.loads(value)
        result = await self.api.answer(method, params)
        return web.json_response({"ok": True, "result": result})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class DurableCluster:
    """The tests' throwaway PostgreSQL cluster with durable commits (fsync on)."""

    def __init__(self) -> None:
        from tests.pg_cluster import Cluster

        self.cluster = Cluster()

    def __enter__(self) -> DurableCluster:
        cluster = self.cluster
        cluster._run(
            str(cluster.bin / "initdb"), "-D", str(cluster.data), "--locale=C.UTF-8",
            "-E", "UTF8", "-A", "trust", "-U", cluster.user,
        )  # fmt: skip
        options = f"-k {cluster.root} -c listen_addresses='' -c max_connections=200"
        cluster._run(
            str(cluster.bin / "pg_ctl"), "-D", str(cluster.data), "-o", options, "-l",
            str(cluster.root / "server.log"), "-w", "start",
        )  # fmt: skip
        cluster._started = True
        return self

    def database(self) -> str:
        """A new database without tables (the first worker migrates it)."""
        return self.cluster.empty_database()

    def __exit__(self, *exc: object) -> None:
        self.cluster.stop()


def _errors(folder: Path) -> list[str]:
    """The error lines of the workers' logs in ``folder``."""
    return [
        line
        for log in sorted(folder.glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if " ERROR " in line or "Traceback" in line
    ]


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def _wait_for_port(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"a worker exited ({process.returncode}): {_tail(log)}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"a worker did not listen on {port}: {_tail(log)}")


@contextlib.asynccontextmanager
async def processes(
    kind: str, count: int, api: HttpBotApi, workdir: Path, storage: dict[str, str]
) -> AsyncIterator[list[int]]:
    """``count`` worker processes (``kind``: "bot" or "echo"); yields their ports."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JINDIANZI_")},
        "JINDIANZI_TELEGRAM__TOKEN": TOKEN,
        "JINDIANZI_TELEGRAM__BASE_URL": api.base_url,
        "JINDIANZI_TELEGRAM__WEBHOOK_SECRET": SECRET,
        "JINDIANZI_TELEGRAM__OVERALL_MAX_RATE": "1000000",
        "JINDIANZI_TELEGRAM__PRIVATE_MAX_RATE": "1000000",
        "JINDIANZI_TELEGRAM__GROUP_MAX_RATE": "1000000",
        "JINDIANZI_ANONYMITY__KEY_FILE": str(workdir / "bench.keys"),
        "JINDIANZI_LOGGING__LEVEL": "WARNING",
        **{f"JINDIANZI_STORAGE__{k.upper()}": v for k, v in storage.items()},
        "PYTHONPATH": str(ROOT),
    }
    ports = [free_port() for _ in range(count)]
    started: list[asyncio.subprocess.Process] = []
    try:
        for n, port in enumerate(ports):
            log = workdir / f"{kind}-{n}.log"
            if kind == "bot":
                command = [
                    "-m", "bot.cli", "run", "--config", str(ROOT / "config.example.toml"),
                    "--webhook", f"https://bench.example/{HOOK_PATH}",
                    "--listen", f"127.0.0.1:{port}",
                ]  # fmt: skip
            else:
                command = ["-m", "bench.echo_worker", str(port), api.base_url, TOKEN, SECRET]
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, *command, cwd=ROOT, env=env, stdout=out, stderr=out
                )
            started.append(process)
            await _wait_for_port(port, process, log)
        yield ports
    finally:
        for process in started:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _stored(storage: dict[str, str]) -> int:
    if "url" in storage:
        import psycopg

        from storage.pg import conninfo

        async with await psycopg.AsyncConnection.connect(**conninfo(storage["url"])) as db:
            row = await (await db.execute("SELECT COUNT(*) FROM submissions")).fetchone()
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(storage["path"])) as lite:
            row = lite.execute("SELECT COUNT(*) FROM submissions").fetchone()
    return int(row[0]) if row else 0


async def measure(
    kind: str, count: int, seconds: float, storage: dict[str, str], concurrent: int = CONCURRENT
) -> tuple[float, Tally]:
    """Steps answered per second walking for ``seconds`` against ``count`` processes, and
    the tally (with the items the bot stored)."""
    with tempfile.TemporaryDirectory() as tmp:
        api = WalkingApi()
        server = HttpBotApi(api)
        await server.start()
        if kind == "bot" and "url" not in storage:
            storage = {"path": str(Path(tmp) / "bench.sqlite3")}
        try:
            async with (
                processes(kind, count, server, Path(tmp), storage) as ports,
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40)) as client,
            ):
                targets = itertools.cycle(
                    [f"http://127.0.0.1:{port}/{HOOK_PATH}" for port in ports]
                )
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                refused: list[int] = []

                async def send(update: dict[str, Any]) -> None:
                    # As Telegram does: an update not answered 200 is posted again (here at
                    # once to the next worker, at most 5 times).
                    for _ in range(5):
                        async with client.post(next(targets), json=update, headers=headers) as r:
                            if r.status == 200:
                                return
                            refused.append(r.status)
                    raise RuntimeError(f"update {update['update_id']} refused 5 times")

                residents = Residents(api, send, concurrent, ACK if kind == "bot" else None)
                elapsed = await residents.run(seconds)
            residents.tally.refused = len(refused)
            errors = _errors(Path(tmp))
            if errors:
                print(f"  ({len(errors)} error lines in the workers' logs, e.g. {errors[0][:300]})")
            if kind == "bot":
                residents.tally.stored = await _stored(storage)
            return residents.tally.steps / elapsed, residents.tally
        finally:
            await server.stop()


CONFIGURATIONS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 3))


async def scaling(seconds: float) -> dict[str, tuple[float, Tally]]:
    """The echo process, then each configuration: name -> (steps per second, tally)."""
    figures = {"echo": await measure("echo", 1, seconds, {})}
    with DurableCluster() as cluster:
        for backend, count in CONFIGURATIONS:
            storage = {"url": cluster.database()} if backend == "postgresql" else {}
            figures[f"{backend}_{count}"] = await measure("bot", count, seconds, storage)
    return figures


def print_table(seconds: float, figures: dict[str, tuple[float, Tally]]) -> None:
    print(
        f"webhook workers: {seconds:.0f} s of walking through webhook POSTs spread over the"
        " workers (steps answered per second; processes on loopback)"
    )
    echo = figures["echo"][0]
    print(f"  echo, 1 process     {echo:8.0f}")
    for name, (rate, tally) in figures.items():
        if name == "echo":
            continue
        backend, count = name.split("_")
        print(
            f"  {backend:10} x{count}      {rate:8.0f}   ratio {rate / echo:.3f}"
            f"   ({tally.flows} flows, {tally.stored} stored, {tally.lost} lost,"
            f" {tally.refused} posts refused)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("seconds", nargs="?", type=float, default=60.0)
    seconds = parser.parse_args().seconds
    figures = asyncio.run(scaling(seconds))
    print_table(seconds, figures)


if __name__ == "__main__":
    main()
