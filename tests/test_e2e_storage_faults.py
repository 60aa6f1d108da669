"""A database the bot cannot use ends the start within seconds, with one line and exit 1
(#15, point 7), with ``jindianzi run`` as its own process against the Bot API stand-in:
random bytes, a file cut in half, pages overwritten, a read-only mount. It used to log a
traceback and then neither serve nor exit (alive after 60 s; today's watchdog ended it
after 15 s with exit 3). ``check-config`` names the same problem (and exits the same way).

On PostgreSQL (#24) the same for a server that is not there; the damaged files are SQLite's
own (PostgreSQL's files are the server's to keep).

The read-only mount is made in a mount namespace of the bot's own (``unshare -m``, as root,
which CI is); where that is not allowed the case is skipped and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.watchdog import EXIT_FORCED
from storage.health import DatabaseUnusable, inspect_database
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi
from tests.processes import EXAMPLE_CONFIG, ROOT, bot_env
from tests.test_e2e_startup import free_port

PAGE = 4096


async def new_database(path: Path) -> None:
    """A database with the bot's schema (some 60 pages), closed cleanly (no -wal left)."""
    repository = Repository(path)
    await repository.connect()
    await repository.close()
    assert not path.with_name(path.name + "-wal").exists()


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def pages_overwritten(path: Path) -> None:
    """The header and the schema's page intact, every other page garbage."""
    data = path.read_bytes()
    path.write_bytes(data[:PAGE] + os.urandom(len(data) - PAGE))


def read_only_mount_allowed() -> str | None:
    """None if ``unshare -m`` may remount a folder read-only here, else why not."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind / /mnt && umount /mnt"],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if probe.returncode == 0 else f"unshare -m not allowed: {probe.stderr.strip()}"


def command(folder: Path, *args: str, read_only: bool) -> list[str]:
    """``python -m bot.cli ARGS``, in a mount namespace where ``folder`` is read-only."""
    cli = [sys.executable, "-m", "bot.cli", *args, "--config", str(EXAMPLE_CONFIG)]
    if not read_only:
        return cli
    remount = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", remount, str(folder), *cli]


CASES: dict[str, tuple[Callable[[Path], None] | None, str]] = {
    "random bytes": (random_bytes, "not an SQLite database"),
    "cut in half": (cut_in_half, "cut short: the file has"),
    "pages overwritten": (pages_overwritten, "cannot be used: database disk image is malformed"),
    "read-only mount": (None, "is on a read-only file system"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_an_unusable_database_ends_the_start_with_one_line(
    stub: FakeBotApi, tmp_path: Path, case: str
) -> None:
    damage, says = CASES[case]
    read_only = damage is None
    if read_only and (why := read_only_mount_allowed()) is not None:
        pytest.skip(why)
    folder = tmp_path / "data"
    folder.mkdir()
    database = folder / "bot.sqlite3"
    await new_database(database)
    if damage is not None:
        damage(database)
    env = bot_env(stub, database, tmp_path / "keys.json", TELEGRAM__POLL_TIMEOUT="1")

    problem, _ = await start_refused(folder, env, read_only=read_only)
    assert f"cannot start: database {database}: " in problem and says in problem
    assert stub.calls == []  # it neither polled nor even asked getMe
    assert not (tmp_path / "keys.json").exists()  # nor made keys for a database it cannot use

    await check_config_names_it(folder, env, str(database), says, read_only=read_only)


async def start_refused(
    folder: Path, env: dict[str, str], *, read_only: bool = False
) -> tuple[str, str]:
    """``jindianzi run`` ends within seconds with exit 1, one problem logged and no
    traceback: that line, and the whole log."""
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command(folder, "run", read_only=read_only),
        cwd=ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    took = time.monotonic() - began
    log = stderr.decode()
    # Refused by the start itself, not ended by the watchdog (which exits with EXIT_FORCED
    # after STOP_WITHIN seconds and says so); how fast is the benchmarks' business.
    assert process.returncode == 1 and EXIT_FORCED != 1, (log, took)
    assert "not stopped within" not in log
    problems = [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]
    assert len(problems) == 1, log
    assert "Traceback" not in log
    return problems[0], log


async def check_config_names_it(
    folder: Path, env: dict[str, str], database: str, says: str, *, read_only: bool = False
) -> None:
    """``check-config`` names the database's one problem and exits 1."""
    checking = await asyncio.create_subprocess_exec(
        *command(folder, "check-config", read_only=read_only),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = (b.decode() for b in await asyncio.wait_for(checking.communicate(), 60))
    assert checking.returncode == 1, err
    assert "cannot be used as it is (1 problem(s))" in out
    assert f"Problem: database {database}: " in err and says in err
    assert "Traceback" not in err


async def test_an_unreachable_postgresql_server_ends_the_start_with_one_line(
    stub: FakeBotApi, tmp_path: Path
) -> None:
    # Nothing listens on the port: the connection is refused (a database that does not exist
    # is told the same way, with the server's reason).
    url, says = f"postgresql://jindianzi@127.0.0.1:{free_port()}/campaign", "refused"
    env = bot_env(
        stub,
        tmp_path / "bot.sqlite3",
        tmp_path / "keys.json",
        TELEGRAM__POLL_TIMEOUT="1",
        STORAGE__URL=url,
    )
    problem, log = await start_refused(tmp_path, env)
    assert f"cannot start: database {url}: cannot be used: " in problem, log
    assert says in log  # (the server's reason may go on on the next line)
    assert stub.calls == []
    assert not (tmp_path / "keys.json").exists() and not (tmp_path / "bot.sqlite3").exists()

    await check_config_names_it(tmp_path, env, url, says)


def test_check_config_runs_sqlite_s_quick_check_of_every_page(tmp_path: Path) -> None:
    """A page damaged deep inside a table is found by check-config (quick_check reads every
    page), even where the start-up's cheaper checks, which read each table's first page,
    pass."""
    database = tmp_path / "bot.sqlite3"
    asyncio.run(new_database(database))
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany(
            "INSERT INTO labelled_examples"
            " (text_hash, text, topic_id, source, weight, created_at, updated_at)"
            " VALUES (?, ?, 'roads', 'import', 1.0, '2026-01-01', '2026-01-01')",
            [(f"h{i}", f"第{i}条路灯坏了" * 20) for i in range(400)],
        )
        root = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'labelled_examples'"
        ).fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    assert not database.with_name(database.name + "-wal").exists()  # all in the file
    db_bytes = bytearray(database.read_bytes())
    victim = pages - 2  # a leaf page of the table, not its root
    assert victim != root
    db_bytes[(victim - 1) * PAGE : victim * PAGE] = os.urandom(PAGE)
    database.write_bytes(bytes(db_bytes))

    inspect_database(database)  # the start-up's checks: header, size, first pages, a write
    with pytest.raises(DatabaseUnusable, match="damaged"):
        inspect_database(database, write=False, thorough=True)
