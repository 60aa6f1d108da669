"""A full disk (issue 15.8), piece by piece: what counts as one, the state that says it
once and keeps what waits, the room the probe looks for and a batch SQLite undoes whole (end to end:
test_e2e_disk_full.py)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sqlite3
from pathlib import Path

import psycopg
import pytest

from bot.diskfull import DiskFull, is_disk_full
from bot.transport.diskspace import RESERVE
from storage.pg import conninfo
from storage.repository import Repository
from storage.space import ROOM_FILE, can_allocate
from tests.full_storage import fill_database, make_room, sqlite_full_error


def raised_while(first: Exception, later: Exception) -> Exception:
    """``later`` as raised while ``first`` was being handled (``from None``: only its
    context says what came first)."""
    try:
        try:
            raise first
        except Exception:
            raise later from None
    except Exception as caught:
        return caught
    raise AssertionError("not raised")


def test_what_counts_as_a_full_disk() -> None:
    full = sqlite_full_error()
    assert is_disk_full(full)
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    # Raised while handling one (a ROLLBACK TO after SQLite undid the transaction).
    later = raised_while(full, sqlite3.OperationalError("no such savepoint: tx"))
    assert later.__cause__ is None and later.__context__ is full
    assert is_disk_full(later)
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(RuntimeError("database or disk is full"))  # only what says so
    assert not is_disk_full(None)


@pytest.mark.parametrize(
    ("condition", "full"),
    [
        ("disk_full", True),  # 53100: "could not extend file ...: No space left on device"
        ("insufficient_resources", True),  # 53000, the class's own
        ("out_of_memory", False),  # 53200: not storage, no cleaning of the disk ends it
        ("too_many_connections", False),  # 53300
        ("configuration_limit_exceeded", False),  # 53400 (e.g. temp_file_limit)
        ("unique_violation", False),
    ],
)
def test_what_counts_as_a_full_disk_on_postgresql(pg_url: str, condition: str, full: bool) -> None:
    """psycopg's own exception, raised by the server with the condition's SQLSTATE (#24);
    also when it is the cause of what the caller sees (a ROLLBACK that failed after it)."""
    with psycopg.connect(**conninfo(pg_url), autocommit=True) as db:
        sql = f"DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '{condition}'; END $$"
        with pytest.raises(psycopg.Error) as raised:
            db.execute(sql.encode())
    error = raised.value
    assert type(error).__name__ == "".join(w.title() for w in condition.split("_"))
    assert is_disk_full(error) is full
    later = raised_while(error, psycopg.OperationalError("the connection is lost"))
    assert later.__context__ is error and is_disk_full(later) is full


def test_the_state_is_said_once_and_keeps_what_waits(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    disk = DiskFull("/srv/jindianzi.sqlite3", clock=lambda: now[0])
    began: list[bool] = []
    disk.on_full = lambda: began.append(True)
    assert not disk.noticed(sqlite3.OperationalError("database is locked"))
    assert not disk.full and disk.recovered() is None
    for _ in range(50):
        assert disk.noticed(sqlite_full_error())
    assert disk.full and began == [True] and disk.refused == 50
    [line] = caplog.records
    assert line.levelno == logging.ERROR and line.exc_info is None
    assert line.getMessage().startswith("storage full (OperationalError: database or disk is")
    assert "/srv/jindianzi.sqlite3" in line.getMessage()

    assert disk.first_answer(7) and not disk.first_answer(7) and disk.first_answer(8)
    disk.hold(9, "update 9")
    assert disk.is_held(9) and not disk.is_held(7)

    now[0] += 125
    caplog.clear()
    assert disk.recovered() == (125.0, 50, {9: "update 9"})
    assert not disk.full and not disk.held and not disk.is_held(9)
    assert [r.getMessage() for r in caplog.records] == [
        "storage has room again after 125 s (50 writes refused meanwhile); going on,"
        " 1 updates to handle again"
    ]
    # The next episode is a new one: said again, each sender told again.
    assert disk.noticed(OSError(errno.ENOSPC, "No space left on device"))
    assert began == [True, True] and disk.refused == 1 and disk.first_answer(7)


async def test_room_counts_sqlites_page_limit_and_what_the_disk_allocates(
    tmp_path: Path,
) -> None:
    repo = Repository(tmp_path / "db.sqlite3")
    await repo.connect()
    try:
        assert await repo.has_room(RESERVE)
        await fill_database(repo)
        assert await repo.page_room() == 0 and not await repo.has_room(RESERVE)
        await make_room(repo)
        assert await repo.page_room() > RESERVE and await repo.has_room(RESERVE)
        assert not [p for p in os.listdir(tmp_path) if p.startswith(ROOM_FILE)]  # gone
        await repo.probe_write()
        await repo.probe_write()  # one row, rewritten
        with sqlite3.connect(repo.path) as db:
            assert db.execute("SELECT COUNT(*) FROM storage_probe").fetchone() == (1,)
    finally:
        await repo.close()


def test_a_disk_that_cannot_allocate_has_no_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert can_allocate(tmp_path, RESERVE)
    for code in (errno.ENOSPC, errno.EDQUOT):  # a full disk, a used-up quota

        def refuse(fd: int, offset: int, size: int, code: int = code) -> None:
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(os, "posix_fallocate", refuse)
        assert not can_allocate(tmp_path, RESERVE)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


async def test_a_batch_sqlite_undoes_whole_fails_every_transaction_in_it(
    tmp_path: Path,
) -> None:
    """A write that needs a new page on a full database makes SQLite roll back the whole
    transaction, so the group commit's other transactions in that batch are undone too:
    each must fail with the full disk's error (not be told it committed, nor get "cannot
    commit - no transaction is active"), and the next write begins afresh."""
    repo = Repository(tmp_path / "db.sqlite3")
    await repo.connect()
    try:
        await fill_database(repo)

        async def small(update_id: int) -> str:
            await repo.admit_updates([(update_id, "short")])
            return "committed"

        async def big() -> str:
            await repo.admit_updates([(2, "x" * 9000)])
            return "committed"

        outcomes = await asyncio.gather(small(1), big(), small(3), return_exceptions=True)
        # 1 and 2 were in one batch, which SQLite undid; 3 waited and began the next one.
        assert [isinstance(o, BaseException) and is_disk_full(o) for o in outcomes[:2]] == [
            True,
            True,
        ]
        assert outcomes[2] == "committed"
        with sqlite3.connect(repo.path) as db:
            assert [row[0] for row in db.execute("SELECT update_id FROM inbox")] == [3]
        await make_room(repo)
        assert await repo.admit_updates([(2, "x" * 9000)]) == {2}
    finally:
        await repo.close()


async def test_a_stop_on_a_full_disk_closes_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The last handled marks cannot be written: the database is closed all the same (its
    threads would keep the process alive), and the updates are replayed after the restart."""
    repo = Repository(tmp_path / "db.sqlite3")
    await repo.connect()
    await repo.admit_updates([(5, "body")])
    repo.note_handled(5)

    async def full(db: object) -> None:
        raise sqlite_full_error()

    monkeypatch.setattr(repo, "_write_handled", full)
    caplog.clear()  # what the close logs (the start's lines are logged when INFO is on)
    await repo.close()
    assert not repo.connected and repo.disk.full
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["storage full"]
    monkeypatch.undo()
    repo = Repository(tmp_path / "db.sqlite3")
    await repo.connect()
    try:
        assert await repo.pending_updates() == [(5, "body")]
    finally:
        await repo.close()
