"""Shared fixtures: settings for a temporary database, the Bot API stand-in, and a running bot.

End-to-end tests build the bot with :func:`bot.app.build_application`, the same builder the
CLI uses, pointed at :class:`tests.botapi_stub.FakeBotApi` on 127.0.0.1.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from bot.anonymity import existing_secrets
from bot.app import AnyApplication, build_application
from bot.config import AnonymitySettings, Settings, load_settings
from bot.lifecycle import running
from storage.repository import Clock, Repository, utc_now
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.pg_cluster import Cluster
from tests.processes import EXAMPLE_CONFIG

# Property tests: "ci" replays a fixed sequence so a clean clone passes or fails the same way
# every time; "dev" (the default) draws fresh examples on each run; "thorough" is for
# hunting, e.g. HYPOTHESIS_PROFILE=thorough ./scripts/test tests/test_text.py
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
hypothesis_settings.register_profile("thorough", max_examples=5000, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ADMIN = FakeUser(id=1000001, first_name="办公室", last_name="小王", language_code="zh-hans")

# End-to-end tests run the real Application (or `jindianzi run`, or the benchmarks) against
# the Bot API stand-in: every test of a test_e2e_* module, of the benchmark smoke test, and
# any test that uses the stand-in or a running bot. The rest are unit tests:
# `pytest -m "not e2e"` is the fast loop (README, Development).
E2E_MODULES = ("test_e2e_", "test_bench_smoke")
E2E_FIXTURES = {"stub", "runner"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") or item.get_closest_marker("unit"):
            continue
        e2e = item.path.name.startswith(E2E_MODULES) or bool(
            E2E_FIXTURES & set(getattr(item, "fixturenames", ()))
        )
        item.add_marker(pytest.mark.e2e if e2e else pytest.mark.unit)


_session_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _session_status
    _session_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A test that fails before closing its database leaves aiosqlite's worker threads
    running, and the interpreter would wait for them forever: CI would hang until its
    timeout instead of failing. Say so and leave with pytest's status (1 if it was 0: a
    connection left open is a bug of its own)."""
    left = [
        t
        for t in threading.enumerate()
        if t.is_alive() and not t.daemon and "_connection_worker_thread" in t.name
    ]
    if left:
        sys.stdout.flush()
        sys.stderr.write(f"\n{len(left)} database thread(s) left running by a test: exiting\n")
        sys.stderr.flush()
        os._exit(_session_status or 1)


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Commands call configure_logging, which replaces the root logger's handlers: put
    them back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_operator_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not pick up a developer's JINDIANZI_* variables."""
    import os

    for name in list(os.environ):
        if name.startswith("JINDIANZI_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """This pytest process's own PostgreSQL server (tests/pg_cluster.py)."""
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A PostgreSQL database with the schema and no rows, for one test (the worker's one,
    emptied between tests)."""
    return pg_cluster.reused()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test on each storage backend; ``storage_target`` gives its database."""
    return str(request.param)


@pytest.fixture
def storage_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The database of a test run on both backends: a SQLite file, or a PostgreSQL URL."""
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "db" / "test.sqlite3")


@pytest.fixture
async def repositories(storage_target: str) -> AsyncIterator[tuple[Repository, Repository]]:
    """Two connections to one database of a test run on both backends, as two workers have."""
    first, second = Repository(storage_target), Repository(storage_target)
    await first.connect()
    await second.connect()
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


@pytest.fixture
def storage_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """``storage.url`` of an end-to-end test run on both backends (None: SQLite's file). A
    module runs its tests on both with ``make_settings = tests.databases.both_backends()``."""
    return str(request.getfixturevalue("pg_url")) if backend == "postgresql" else None


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings from config.example.toml with a temporary database and key file."""

    def make(stub: FakeBotApi | None = None, **overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "storage": {"path": str(tmp_path / "jindianzi.sqlite3")},
            "anonymity": {"key_file": str(tmp_path / "jindianzi.keys")},
            "roles": {"admin_ids": [ADMIN.id]},
            # Scheduled reports would land in the office chat at start-up (catch-up);
            # the tests of reports turn them on.
            "office": {"scheduled_reports": False},
            "telegram": {
                "token": "123456:TEST-TOKEN",
                "persistence_interval": 0.2,
                "outbox_interval": 0.3,
            },
        }
        if stub is not None:
            base["telegram"].update(
                token=stub.token, base_url=stub.base_url, base_file_url=stub.base_file_url
            )
        return load_settings(EXAMPLE_CONFIG, overrides=merge(base, overrides))

    return make


@pytest.fixture
async def stub() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


class BotRunner:
    """Starts, stops and restarts the real application against the stand-in."""

    def __init__(self, settings: Settings, clock: Clock = utc_now, **build: Any) -> None:
        self.settings = settings
        self.clock = clock
        self.build = build  # more arguments of build_application (e.g. request=)
        self.app: AnyApplication | None = None
        self._running: AbstractAsyncContextManager[AnyApplication] | None = None

    async def start(self) -> AnyApplication:
        self.app = build_application(self.settings, clock=self.clock, **self.build)
        self._running = running(self.app, poll_timeout=1)
        await self._running.__aenter__()
        return self.app

    async def stop(self) -> None:
        if self._running is not None:
            await self._running.__aexit__(None, None, None)
            self._running = None

    async def restart(self) -> AnyApplication:
        await self.stop()
        return await self.start()


@pytest.fixture
async def client(desk: BotRunner) -> AsyncIterator[Any]:
    """aiohttp's test client over the web desk of the test module's ``desk`` fixture (the
    bot, running with its desk on)."""
    from tests.webdesk import client_for  # (it imports this module)

    async with client_for(desk) as http:
        yield http


@pytest.fixture
async def runner(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    bot_runner = BotRunner(make_settings(stub))
    await bot_runner.start()
    try:
        yield bot_runner
    finally:
        await bot_runner.stop()


class Chat:
    """A resident's private chat with the bot, seen from the phone."""

    def __init__(self, stub: FakeBotApi, user: FakeUser) -> None:
        self.stub = stub
        self.user = user

    async def send(self, text: str, *, expect: str | None = None) -> SentMessage:
        """Send a message and return the bot's next message (containing ``expect``)."""
        mark = self.stub.mark()
        self.stub.send_text(self.user, text)
        return await self._next(mark, expect)

    async def tap(
        self, message: SentMessage, label: str, *, expect: str | None = None
    ) -> SentMessage:
        """Press the button whose label contains ``label`` and return the next message."""
        mark = self.stub.mark()
        self.stub.press_button(self.user, message, label)
        return await self._next(mark, expect)

    async def tap_data(
        self, message: SentMessage, data: str, *, expect: str | None = None
    ) -> SentMessage:
        mark = self.stub.mark()
        self.stub.press(self.user, message, data)
        return await self._next(mark, expect)

    async def _next(self, mark: int, expect: str | None) -> SentMessage:
        def new_message(m: SentMessage) -> bool:
            if not m.method.startswith("send"):
                return False
            return expect is None or expect in m.plain

        return await self.stub.wait_for(self.user.id, after=mark, predicate=new_message)

    def messages(self) -> list[SentMessage]:
        return self.stub.messages_to(self.user.id)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock the test moves by hand, starting now (a module may define its own)."""
    return FrozenClock(datetime.now(UTC))


class FrozenClock:
    """A clock tests set by hand (timezone-aware UTC)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def stored_drafts(db: Path | Settings, keys: Path) -> list[str]:
    """The JSON of the drafts stored in ``db`` (a file, or the database of settings),
    decrypted with the key file ``keys`` (the bodies are sealed: without the keys they say
    nothing)."""
    from tests.databases import rows

    secrets = existing_secrets(AnonymitySettings(key_file=keys))
    assert secrets is not None, "no key file"
    if isinstance(db, Settings):
        bodies = [row[0] for row in rows(db, "SELECT body FROM drafts")]
    else:
        with sqlite3.connect(db) as conn:
            bodies = [row[0] for row in conn.execute("SELECT body FROM drafts")]
    plain = [secrets.unseal(body) for body in bodies]
    assert None not in plain, "a draft sealed under other keys"
    return [p for p in plain if p is not None]


def drafts_of(settings: Settings) -> list[str]:
    return stored_drafts(settings, settings.anonymity.key_file)
