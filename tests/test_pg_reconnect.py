"""storage/pg.py after a PostgreSQL restart (#24): the statement that met the lost
connection fails as an ordinary storage error; a later one opens the connection again."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from storage.repository import Repository
from tests.pg_cluster import Cluster


async def test_a_lost_connection_is_opened_again_after_a_restart(
    pg_cluster: Cluster, pg_url: str
) -> None:
    repo = Repository(pg_url)
    await repo.connect()
    try:
        assert await repo.take_lease("leader", "w", now=0.0, seconds=10.0)
        await asyncio.to_thread(pg_cluster.restart)
        with pytest.raises(psycopg.OperationalError):  # the write that met the loss
            await repo.take_lease("leader", "w", now=1.0, seconds=10.0)
        with pytest.raises(psycopg.OperationalError):  # the reader's too
            await repo.lease_holder("leader")
        for _ in range(50):  # then within the backoff (0.2 s, doubling) it works again
            try:
                assert await repo.take_lease("leader", "w", now=2.0, seconds=10.0)
                break
            except psycopg.OperationalError:
                await asyncio.sleep(0.1)
        assert await repo.lease_holder("leader") == ("w", 12.0)
    finally:
        await repo.close()
