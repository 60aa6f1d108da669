"""PostgreSQL refuses every statement of a transaction after one failed, and answers its
COMMIT with a silent rollback (#24): the group commit of ``storage/base.py`` never tells a
caller its write was committed when PostgreSQL rolled it back (on SQLite a failed statement
is undone alone, and the rest of the batch commits)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from storage.repository import Repository

LEASE = "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, 0)"


async def count(repo: Repository, name: str) -> int:
    row = await repo._fetchone("SELECT count(*) AS n FROM leases WHERE name = ?", (name,))
    assert row is not None
    return int(row["n"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
async def test_a_failed_statement_never_passes_a_rolled_back_batch_for_committed(
    storage_target: str,
) -> None:
    repo = Repository(storage_target)
    await repo.connect()
    try:
        await repo._write(LEASE, ("taken", "w"))

        async def mine() -> None:  # a caller's transaction, in the same batch
            async with repo.transaction() as db:
                await db.execute(LEASE, ("mine", "w"))

        told = await asyncio.gather(
            mine(), repo._write(LEASE, ("taken", "again")), return_exceptions=True
        )
        assert isinstance(told[1], Exception)  # the statement at fault fails
        committed = told[0] is None
        # Told committed means committed: the only wrong answer is a success not stored.
        assert committed == (await count(repo, "mine") == 1)
        if repo.url is None:
            assert committed  # SQLite undid the failed statement alone
        # Whatever failed, the connection takes the next write.
        await repo._write(LEASE, ("after", "w"))
        assert await count(repo, "after") == 1
    finally:
        await repo.close()


async def test_a_transaction_whose_block_caught_an_error_fails_alone(pg_url: str) -> None:
    repo = Repository(pg_url)
    await repo.connect()
    try:
        await repo._write(LEASE, ("taken", "w"))

        async def caught() -> None:
            async with repo.transaction() as db:
                await db.execute(LEASE, ("mine", "w"))
                with pytest.raises(psycopg.errors.UniqueViolation):
                    await db.execute(LEASE, ("taken", "again"))

        async def other() -> None:
            async with repo.transaction() as db:
                await db.execute(LEASE, ("other", "w"))

        told = await asyncio.gather(caught(), other(), return_exceptions=True)
        assert isinstance(told[0], Exception) and told[1] is None
        assert (await count(repo, "mine"), await count(repo, "other")) == (0, 1)
    finally:
        await repo.close()


async def test_the_commit_of_an_aborted_transaction_is_an_error(pg_url: str) -> None:
    repo = Repository(pg_url)
    await repo.connect()
    try:
        async with repo.reading() as db:
            await db.execute("BEGIN")
            await db.execute(LEASE, ("a", "w"))
            with pytest.raises(psycopg.errors.UniqueViolation):
                await db.execute(LEASE, ("a", "w"))
            with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                await db.execute("COMMIT")
            assert not db.in_transaction
        assert await count(repo, "a") == 0
    finally:
        await repo.close()
