"""The outbox's delivery semantics (bot/transport/outcomes.py, bot/transport/delivery.py),
unit by unit: the decision for every outcome, the outcome of every kind of exception a send
can raise, and, with a bot that raises each of them, that no exception can make the outbox send a
message twice in a run, or again before its retry time, or again while its last outcome
could not be recorded."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import copies
from bot.core.records import OutboxEntry, Outgoing, Recipient
from bot.i18n import t
from bot.services import Services
from bot.tagging import Tagger
from bot.transport import delivery
from bot.transport.inbox import Inbox
from bot.transport.outcomes import (
    MAX_ATTEMPTS,
    MAX_BACKOFF,
    Delivered,
    FailedForGood,
    Outcome,
    RetryLater,
    SendResult,
    backoff,
    decide,
)
from storage.repository import Repository
from tests.conftest import FrozenClock

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
OFFICE = -100555
RESIDENT = 4242


def caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


R = httpx.Request("POST", "http://127.0.0.1/bot/sendMessage")
UNSURE, REFUSED, REJECTED = Outcome.UNCERTAIN, Outcome.REFUSED, Outcome.REJECTED
EXCEPTIONS: list[tuple[str, BaseException, Outcome]] = [
    ("garbled answer", TypeError("'str' object cannot be interpreted as an integer"), UNSURE),
    ("missing field", KeyError("date"), UNSURE),
    ("value", ValueError("bad"), UNSURE),
    ("attribute", AttributeError("x"), UNSURE),
    ("runtime", RuntimeError("x"), UNSURE),
    ("os", OSError("x"), UNSURE),
    ("timeout", TimeoutError(), UNSURE),
    ("zero", ZeroDivisionError(), UNSURE),
    ("not json", TelegramError("Invalid server response"), UNSURE),
    ("read timeout", caused(TimedOut(), httpx.ReadTimeout("t", request=R)), UNSURE),
    ("write timeout", caused(TimedOut(), httpx.WriteTimeout("t", request=R)), UNSURE),
    ("closed after the request",
     caused(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("x", request=R)),
     UNSURE),
    ("read error", caused(NetworkError("httpx.ReadError"), httpx.ReadError("x", request=R)),
     UNSURE),
    ("unknown http error", caused(NetworkError("Unknown error"), RuntimeError("x")), UNSURE),
    ("timed out, no cause", TimedOut(), UNSURE),
    ("connect error",
     caused(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused", request=R)), REFUSED),
    ("connect timeout", caused(TimedOut(), httpx.ConnectTimeout("t", request=R)), REFUSED),
    ("pool timeout", caused(TimedOut(), httpx.PoolTimeout("t", request=R)), REFUSED),
    ("500", NetworkError("Internal Server Error"), REFUSED),
    ("502 not json", caused(NetworkError("Bad Gateway (502)"), TelegramError("Invalid")), REFUSED),
    ("429", RetryAfter(30), REFUSED),
    ("401", InvalidToken("Unauthorized"), REFUSED),
    ("409", Conflict("terminated by other getUpdates"), REFUSED),
    ("400", BadRequest("Chat not found"), REJECTED),
    ("403", Forbidden("Forbidden: bot was blocked by the user"), REJECTED),
    ("migrated", ChatMigrated(-1001), REJECTED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("exc", "outcome"), [(e, o) for _, e, o in EXCEPTIONS], ids=[n for n, _, _ in EXCEPTIONS]
)
def test_every_exception_has_an_outcome(exc: BaseException, outcome: Outcome) -> None:
    result = delivery.classify(exc)
    assert result.outcome is outcome
    if isinstance(exc, RetryAfter):
        assert result.retry_after == 30


def test_decisions() -> None:
    rng = random.Random(1)

    def after(result: SendResult, attempts: int = 0, uncertain: int = 0) -> object:
        return decide(result, attempts=attempts, uncertain=uncertain, now=NOW, rng=rng)

    assert after(SendResult(Outcome.DELIVERED, message_id=7)) == Delivered(7)
    rejected = after(SendResult(Outcome.REJECTED, "Forbidden"))
    assert rejected == FailedForGood("Forbidden", maybe_delivered=False, uncertain=False)
    # An unknown outcome: one more send, whatever the count of refusals before it...
    first = after(SendResult(Outcome.UNCERTAIN, "TypeError"), attempts=MAX_ATTEMPTS + 3)
    assert isinstance(first, RetryLater) and first.uncertain
    # ... and never another one: a second unknown outcome ends it, even after refusals.
    second = after(SendResult(Outcome.UNCERTAIN, "TimedOut"), attempts=4, uncertain=1)
    assert isinstance(second, FailedForGood) and second.maybe_delivered and second.uncertain
    # A refusal between the two does not count as a copy.
    refused = after(SendResult(Outcome.REFUSED, "500"), attempts=2, uncertain=1)
    assert isinstance(refused, RetryLater) and not refused.uncertain
    # Refusals: retried until MAX_ATTEMPTS sends in all, then a failure that says so.
    last = after(SendResult(Outcome.REFUSED, "500"), attempts=MAX_ATTEMPTS - 1, uncertain=1)
    assert isinstance(last, FailedForGood) and last.maybe_delivered
    assert f"after {MAX_ATTEMPTS} attempts" in last.error
    # 429: Telegram's wait, plus at most a tenth, not the backoff.
    flood = after(SendResult(Outcome.REFUSED, "429", retry_after=20), attempts=9)
    assert isinstance(flood, RetryLater)
    assert timedelta(seconds=20) <= flood.at - NOW <= timedelta(seconds=22)


def test_backoff_doubles_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(7)
    for retry in range(30):
        full = min(timedelta(seconds=2 * 2**retry), MAX_BACKOFF) if retry < 20 else MAX_BACKOFF
        waits = {backoff(retry, rng) for _ in range(20)}
        assert all(max(full / 2, timedelta(seconds=1)) <= w <= full for w in waits)
        assert len(waits) > 1  # jitter: not two messages in step
    assert backoff(0, rng) >= timedelta(seconds=1)


class FakeBot:
    """Answers each send with the next of ``outcomes`` (an exception is raised)."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.sends: list[int] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:
        self.sends.append(chat_id)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome

        class Sent:
            message_id = len(self.sends)

        return Sent()


@pytest.fixture
async def svc(make_settings: Callable[..., Settings]) -> AsyncIterator[Services]:
    settings = make_settings(roles={"office_chat_id": OFFICE})
    clock = FrozenClock(NOW)
    repository = Repository(settings.storage.path, clock=clock)
    await repository.connect()
    secrets = Secrets.generate()
    services = Services(
        settings=settings,
        repository=repository,
        tagger=Tagger(settings.topics),
        secrets=secrets,
        inbox=Inbox(repository, secrets),
    )
    try:
        yield services
    finally:
        await repository.close()


async def queue(svc: Services, chat_id: int = RESIDENT) -> None:
    await svc.repository.queue_messages(
        [Outgoing(chat_enc=svc.secrets.encrypt_int(chat_id), text="通知")], submission_id=None
    )


def rows(svc: Services) -> list[sqlite3.Row]:
    with sqlite3.connect(svc.settings.storage.path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM outbox ORDER BY id").fetchall()


async def run(svc: Services, bot: FakeBot, times: int = 3) -> None:
    for _ in range(times):
        await delivery.deliver_due(cast(Bot, bot), svc)


@pytest.mark.parametrize("exc", [e for _, e, _ in EXCEPTIONS], ids=[n for n, _, _ in EXCEPTIONS])
async def test_no_exception_makes_the_outbox_send_again_before_its_time(
    svc: Services, exc: BaseException
) -> None:
    await queue(svc)
    bot = FakeBot(exc, exc, exc)
    await run(svc, bot)  # three runs at the same moment
    assert len(bot.sends) == 1
    [row] = rows(svc)
    assert row["attempt_started_at"] is None
    if row["status"] == "pending":
        assert row["next_attempt_at"] >= (NOW + timedelta(seconds=1)).isoformat()
    else:
        assert row["status"] == "failed"
    clock = cast(FrozenClock, svc.repository.clock)
    clock.advance(hours=3)
    await run(svc, bot)
    assert len(bot.sends) <= 2  # one retry at most before more time passes


async def test_an_unknown_outcome_twice_fails_for_good_and_the_office_is_told_once(
    svc: Services,
) -> None:
    await svc.repository.queue_messages(
        [Outgoing(chat_enc=svc.secrets.encrypt_int(RESIDENT), text="通知")], submission_id=None
    )
    async with svc.repository.transaction() as db:  # the message is about item 1
        await db.execute(
            "INSERT INTO submissions (id, kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, owner_tag, language, status, created_at, updated_at) VALUES (1,"
            " 'suggestion', 'x', 'other', 'other', '[]', 1, 'h', 'zh-Hans', 'new', '2026',"
            " '2026')"
        )
        await db.execute("UPDATE outbox SET submission_id = 1")
    bot = FakeBot(TypeError("garbled"), TelegramError("Invalid server response"))
    clock = cast(FrozenClock, svc.repository.clock)
    for _ in range(5):
        await run(svc, bot, times=1)
        clock.advance(minutes=10)
    assert bot.sends.count(RESIDENT) == 2
    assert bot.sends.count(OFFICE) == 1  # the warning, once
    resident, warning = rows(svc)
    assert (resident["status"], resident["attempts"], resident["uncertain"]) == ("failed", 2, 2)
    assert warning["status"] == "sent"


async def test_a_database_that_refuses_writes_stops_the_run_before_anything_is_sent(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue(svc)
    await queue(svc, RESIDENT + 1)

    async def failing(*args: Any, **kwargs: Any) -> Any:  # (a full disk: the next test)
        raise sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(svc.repository, "start_attempt", failing)
        bot = FakeBot()
        await run(svc, bot)
        assert bot.sends == []  # nothing sent that could not be recorded first

    # The send goes out, but its outcome cannot be written: never sent again meanwhile.
    with monkeypatch.context() as patch:
        patch.setattr(svc.repository, "record_outcome", failing)
        await run(svc, bot)
        assert bot.sends == [RESIDENT]  # the run stopped at the first refused write
        cast(FrozenClock, svc.repository.clock).advance(hours=1)
        await run(svc, bot)
        assert bot.sends == [RESIDENT]
    await run(svc, bot, times=1)  # the disk has room again: the outcome first, then the rest
    assert bot.sends == [RESIDENT, RESIDENT + 1]
    assert [r["status"] for r in rows(svc)] == ["sent", "sent"]
    first = rows(svc)[0]  # its outcome recorded (a resident's message id is not kept: #13)
    assert first["sent_at"] is not None and first["message_id"] is None


async def test_while_the_storage_is_full_nothing_is_sent_until_there_is_room(
    svc: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk (#15.8): the outcome of the send under way is kept, and nothing more is
    sent (nothing could be recorded) until the state ends; then that outcome first."""
    await queue(svc)
    await queue(svc, RESIDENT + 1)

    async def full(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    bot = FakeBot()
    with monkeypatch.context() as patch:
        patch.setattr(svc.repository, "record_outcome", full)
        await run(svc, bot)
        assert bot.sends == [RESIDENT] and svc.repository.disk.full
    cast(FrozenClock, svc.repository.clock).advance(hours=1)
    await run(svc, bot)  # writes would work now, but the state says full until the probe
    assert bot.sends == [RESIDENT]
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["storage full"]
    svc.repository.disk.recovered()  # what the probe does when there is room
    await run(svc, bot, times=1)
    assert bot.sends == [RESIDENT, RESIDENT + 1]
    assert [r["status"] for r in rows(svc)] == ["sent", "sent"]


async def test_a_send_cut_short_is_an_unknown_outcome_at_the_next_start(svc: Services) -> None:
    await queue(svc)
    bot = FakeBot(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await run(svc, bot, times=1)
    [row] = rows(svc)
    assert row["attempt_started_at"] is not None  # in flight when "the process died"
    await run(svc, bot)
    assert len(bot.sends) == 1  # a message being sent is not picked up again in-process
    assert await delivery.recover_interrupted(svc) == 1
    [row] = rows(svc)
    assert (row["status"], row["uncertain"], row["attempt_started_at"]) == ("pending", 1, None)
    cast(FrozenClock, svc.repository.clock).advance(seconds=5)
    await run(svc, bot, times=1)
    assert len(bot.sends) == 2 and rows(svc)[0]["status"] == "sent"


GROUP, CHANNEL, ADMIN_ID = -100777, -100888, 31337


@pytest.mark.parametrize(
    ("recipient", "chat", "purpose", "named"),
    [
        (Recipient.SENDER, RESIDENT, None, Recipient.SENDER),
        (Recipient.FOLLOWER, RESIDENT, None, Recipient.FOLLOWER),
        (Recipient.GROUP, GROUP, "group_card", Recipient.GROUP),
        (Recipient.CHANNEL, CHANNEL, "channel_post", Recipient.CHANNEL),
        (Recipient.ADMIN, ADMIN_ID, None, Recipient.ADMIN),
        # Queued before migration 0016: told from the chat the message was for.
        (None, RESIDENT, None, Recipient.SENDER),
        (None, GROUP, None, Recipient.GROUP),
        (None, CHANNEL, "channel_post", Recipient.CHANNEL),
        (None, ADMIN_ID, None, Recipient.ADMIN),
    ],
)
def test_the_office_warning_names_whom_the_message_was_for(
    make_settings: Callable[..., Settings],
    recipient: Recipient | None,
    chat: int,
    purpose: str | None,
    named: Recipient,
) -> None:
    """A failed channel post was reported as a message to the sender (#15.2)."""
    settings = make_settings(
        roles={
            "office_chat_id": OFFICE,
            "leading_group_chat_id": GROUP,
            "channel_id": CHANNEL,
            "admin_ids": [ADMIN_ID],
        }
    )
    secrets = Secrets.generate()
    svc = cast(Services, SimpleNamespace(settings=settings, secrets=secrets))
    entry = OutboxEntry(
        id=1,
        submission_id=13,
        chat_enc=secrets.encrypt_int(chat),
        text="…",
        buttons=(),
        attempts=0,
        status="pending",
        purpose=purpose,
        recipient=recipient,
    )
    for maybe in (False, True):
        failure = FailedForGood("Forbidden", maybe_delivered=maybe, uncertain=maybe)
        [warning] = delivery._office_warning(svc, entry, failure)
        assert secrets.decrypt_int(warning.chat_enc) == OFFICE
        assert warning.recipient is Recipient.OFFICE
        if named is Recipient.CHANNEL:
            key = "admin.publish_unknown" if maybe else "admin.publish_failed"
            assert warning.text == t("zh-Hans", key, ref="#13", error="Forbidden")
        else:
            key = "admin.delivery_unknown" if maybe else "admin.delivery_failed"
            label = t("zh-Hans", f"recipient.{named.value}")
            assert warning.text == t("zh-Hans", key, ref="#13", recipient=label, error="Forbidden")
    # Never about a message to the office itself.
    to_office = entry.model_copy(update={"chat_enc": secrets.encrypt_int(OFFICE)})
    assert delivery._office_warning(svc, to_office, failure) == []


class EditingBot(FakeBot):
    """Answers each edit of a card copy with the next of ``outcomes``."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        super().__init__(*outcomes)
        self.edits: list[tuple[int, int]] = []

    async def edit_message_text(
        self, text: str, *, chat_id: int, message_id: int, **kwargs: Any
    ) -> Any:
        self.edits.append((chat_id, message_id))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return True


async def test_card_copies_are_edited_and_forgotten_when_they_cannot_be(svc: Services) -> None:
    """An edit of a card copy: "not modified" is done; one Telegram refuses for good (the
    message is gone) forgets the copy, without a failure for /failed or the office."""
    with sqlite3.connect(svc.settings.storage.path) as db:
        db.execute(
            "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, sender_user_id, sender_chat_id, sender_name, language, status,"
            " created_at, updated_at) VALUES ('problem', '路灯坏了', 'other', 'other', '[]',"
            " 0, 5, 5, '李', 'zh-Hans', 'new', ?, ?)",
            (NOW.isoformat(), NOW.isoformat()),
        )
    await copies.record(svc.core, 1, copies.CopyKind.SHOW, "zh-Hans", RESIDENT, 77)
    assert await copies.refresh(svc.core, 1) == 1
    bot = EditingBot(BadRequest("Message is not modified: specified new message content"))
    await run(svc, bot)
    assert bot.edits == [(RESIDENT, 77)] and bot.sends == []
    assert [r["status"] for r in rows(svc)] == ["sent"]
    assert await svc.repository.card_copies(1)  # kept
    assert await copies.refresh(svc.core, 1) == 1
    bot = EditingBot(BadRequest("Message to edit not found"))
    await run(svc, bot)
    assert bot.edits == [(RESIDENT, 77)]
    last = rows(svc)[-1]
    assert last["status"] == "sent" and "copy forgotten" in last["last_error"]
    assert await svc.repository.card_copies(1) == []
    assert await svc.repository.failed_messages() == [] and len(rows(svc)) == 2
    assert await copies.refresh(svc.core, 1) == 0  # nothing left to edit
