"""The throwaway PostgreSQL cluster's reused database: a test that failed before undoing
what it added (a full disk's triggers) leaves the next test of the worker a usable one."""

from __future__ import annotations

import psycopg
import pytest

from storage.pg import conninfo
from storage.repository import Repository
from tests.full_storage import fill_database
from tests.pg_cluster import Cluster


async def test_a_database_left_full_is_reused_with_room(pg_cluster: Cluster) -> None:
    url = pg_cluster.reused()
    repo = Repository(url)
    await repo.connect()
    try:
        await fill_database(repo)  # and never make_room: the test "failed" here
    finally:
        await repo.close()
    with (
        psycopg.connect(**conninfo(url), autocommit=True) as db,
        pytest.raises(psycopg.errors.DiskFull),
    ):
        db.execute("INSERT INTO leases (name, holder, expires_at) VALUES ('x', 'y', 0)")
    again = pg_cluster.reused()
    assert again == url  # the same database, emptied, not a new copy
    with psycopg.connect(**conninfo(again), autocommit=True) as db:
        db.execute("INSERT INTO leases (name, holder, expires_at) VALUES ('x', 'y', 0)")
        assert db.execute("SELECT count(*) FROM leases").fetchone() == (1,)
