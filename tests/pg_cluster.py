"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary
directory, a unix socket in it, no TCP port.

One cluster per pytest process (each pytest-xdist worker has its own), started at the
first test that asks for it and stopped when the process ends. ``initdb`` refuses to run
as root (CI runs as root): the server then runs as the ``postgres`` user that Debian's
package creates, in a directory owned by it. The cluster is created with
``--locale=C.UTF-8 -E UTF8``: pg_trgm counts CJK characters as word characters only under a
UTF-8 LC_CTYPE. Each test gets a database with the schema and no rows (the last test's,
emptied, or a copy of a template migrated once).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from storage.dialect import IDENTITY_TABLES
from storage.repository import Repository

SERVER_USER = "postgres"
# Functions a test adds to a database (with their triggers) are named so; a reused database
# loses them before the next test.
TEST_OBJECTS = "jindianzi_test_"


def server_bin() -> Path | None:
    """Debian's newest installed server binaries (``/usr/lib/postgresql/<version>/bin``)."""
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


class Cluster:
    """One running server; :meth:`database` gives a fresh database's URL."""

    def __init__(self) -> None:
        found = server_bin()
        if found is None:
            raise RuntimeError("no PostgreSQL server: ./scripts/test installs Debian's postgresql")
        self.bin: Path = found
        self.root = Path(tempfile.mkdtemp(prefix="jdz-pg-"))
        self.data = self.root / "data"
        self._as: list[str] = []
        self.user = pwd.getpwuid(os.getuid()).pw_name
        if os.getuid() == 0:
            self._as = ["runuser", "-u", SERVER_USER, "--"]
            self.user = SERVER_USER
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        os.chmod(self.root, 0o755)
        self._numbers = itertools.count(1)
        self._started = False
        self._template_ready = False
        self._reusable: str | None = None

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "--locale=C.UTF-8", "-E", "UTF8",
            "-A", "trust", "-U", self.user, "--no-sync",
        )  # fmt: skip
        # fsync off (the machine does not crash under a test), but commits synchronous: a
        # test that restarts the server with -m immediate (a crash of PostgreSQL alone)
        # must find every transaction it was told was committed.
        options = (
            f"-k {self.root} -c listen_addresses='' -c fsync=off"
            " -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
            str(self.root / "server.log"), "-w", "start",
        )  # fmt: skip
        self._started = True

    def restart(self) -> None:
        """Stop the server as a crash would (``-m immediate``: every connection cut) and start
        it again with the same options."""
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "restart"
        )

    def stop(self) -> None:
        if self._started:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, name: str) -> str:
        return f"postgresql://{self.user}@/{name}?host={self.root}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(
            dbname="postgres", user=self.user, host=str(self.root), autocommit=True
        ) as db:
            db.execute(sql.encode())

    def reused(self) -> str:
        """A database with the schema and no rows: the one the last test used, emptied
        (every row deleted, the identities restarted: some ms, where a new copy of the
        template takes half a second), or a new copy when that cannot be done at once (a
        connection of the last test still holds a lock)."""
        if self._reusable is not None:
            url = self._reusable
            name = urlsplit(url).path.strip("/")
            try:
                with psycopg.connect(
                    dbname=name, user=self.user, host=str(self.root), autocommit=True
                ) as db:
                    db.execute("SET lock_timeout = '2s'")
                    tables = [
                        str(r[0])
                        for r in db.execute(
                            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                            " AND tablename <> 'schema_migrations'"
                        )
                    ]
                    # What a test added to the schema goes with its triggers (a test that
                    # failed before undoing it, e.g. tests.full_storage's full disk, must
                    # not leave every later test of this worker failing).
                    added = [
                        f"DROP FUNCTION {r[0]}() CASCADE"
                        for r in db.execute(
                            "SELECT proname FROM pg_proc WHERE proname LIKE %s",
                            (TEST_OBJECTS + "%",),
                        )
                    ]
                    # (DELETE: TRUNCATE makes new files for every table, some 0.5 s in all;
                    # as replica: the append-only triggers and foreign keys stay quiet)
                    statements = (
                        added
                        + [f"DELETE FROM {t}" for t in tables]
                        + [f"ALTER TABLE {t} ALTER COLUMN id RESTART" for t in IDENTITY_TABLES]
                    )
                    db.execute(
                        "BEGIN; SET LOCAL session_replication_role = replica;"
                        f" {'; '.join(statements)}; COMMIT".encode()
                    )
                return url
            except psycopg.Error:
                pass
        self._reusable = self.database()
        return self._reusable

    def database(self) -> str:
        """A new, empty-of-rows database with the schema (a copy of the template)."""
        if not self._template_ready:
            self._admin("CREATE DATABASE jdz_template")
            # (in a thread of its own: the caller may be inside a running event loop)
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _migrate(self.url("jdz_template"))).result()
            self._template_ready = True
        name = f"jdz_{next(self._numbers)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE jdz_template STRATEGY FILE_COPY")
        return self.url(name)

    def empty_database(self) -> str:
        """A new database without any table (a target for ``jindianzi migrate``)."""
        name = f"jdz_{next(self._numbers)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url(name)


async def _migrate(url: str) -> None:
    repository = Repository(url)
    await repository.connect()
    await repository.close()
