"""The database away for a moment (#24): an update whose handlers met a lost connection or
a deadlock is handled again shortly, not answered with an apology; one that keeps failing
is given up after the last try (bot/transport/retries.py)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from bot.i18n import t
from bot.transport import retries
from storage.pg import is_transient
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi
from tests.conftest import BotRunner, Chat
from tests.databases import rows
from tests.test_e2e_resident import ALICE, submit

APOLOGY = t("zh-Hans", "error.apology")


def test_what_counts_as_the_database_away_for_a_moment() -> None:
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    assert is_transient(lost)
    assert is_transient(errors.AdminShutdown("terminating connection"))  # 57P01
    assert is_transient(errors.DeadlockDetected("deadlock detected"))  # 40P01
    assert is_transient(errors.SerializationFailure("could not serialize"))  # 40001
    wrapped = RuntimeError("while storing")
    wrapped.__cause__ = lost
    assert is_transient(wrapped)
    assert not is_transient(errors.DiskFull("no space left"))  # a full disk: bot.diskfull
    assert not is_transient(errors.UndefinedTable("no such table"))  # a bug, not a moment
    assert not is_transient(errors.UniqueViolation("duplicate key"))
    assert not is_transient(ValueError("no"))
    assert not is_transient(None)


def failing(times: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make storing a submission meet a lost connection ``times`` times; counts the calls."""
    calls: list[int] = []
    original = Repository.create_submission

    async def create_submission(self: Repository, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) <= times:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return await original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Repository, "create_submission", create_submission)
    return calls


async def test_an_update_that_met_a_lost_connection_is_handled_again(
    stub: FakeBotApi, runner: BotRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = failing(2, monkeypatch)
    number = await submit(Chat(stub, ALICE), "建议在村口增设路灯，晚上太黑了", anonymous=False)
    assert number == 1 and len(calls) == 3  # twice refused, then stored
    assert len(rows(runner.settings, "SELECT id FROM submissions")) == 1
    assert not [m for m in stub.messages_to(ALICE.id) if APOLOGY in m.plain]
    # Handled in the end: marked so, not replayed after a restart.
    await runner.stop()
    await runner.start()
    assert rows(runner.settings, "SELECT update_id FROM inbox WHERE handled_at IS NULL") == []
    assert len(rows(runner.settings, "SELECT id FROM submissions")) == 1


async def test_an_update_that_keeps_failing_is_given_up_with_the_apology(
    stub: FakeBotApi, runner: BotRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retries, "DELAYS", (0.05, 0.05))
    calls = failing(100, monkeypatch)
    chat = Chat(stub, ALICE)
    with pytest.raises(AssertionError):  # never acknowledged
        await submit(chat, "建议在村口增设路灯，晚上太黑了", anonymous=False)
    apology = await stub.wait_for(ALICE.id, predicate=lambda m: APOLOGY in m.plain)
    assert APOLOGY in apology.plain
    assert len(calls) == 3  # the first try and the two again
    assert rows(runner.settings, "SELECT id FROM submissions") == []
