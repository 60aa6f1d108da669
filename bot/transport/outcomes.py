"""What a send's outcome means for an outbox message: the delivery semantics (#14).

Every send of an outbox message ends in one of four outcomes (:class:`Outcome`):

``DELIVERED``
    Telegram answered with the message; it is marked sent (with its message id).
``REFUSED``
    Definitely not delivered, but it may work later: 429 flood control (its
    ``retry_after`` is honoured), a 5xx answer, a connection that could not be opened (the
    request never left). Retried with exponential backoff and jitter: the n-th retry waits
    between half and all of ``BACKOFF_BASE * 2**n``, at most ``MAX_BACKOFF``; after
    ``MAX_ATTEMPTS`` sends in all it is a permanent failure.
``REJECTED``
    Telegram will never deliver it (400 bad request or chat not found, 403 blocked or
    kicked, a destination that cannot be decrypted): a permanent failure at once.
``UNCERTAIN``
    The request may have reached Telegram, but no usable answer came back: a read timeout,
    a connection closed after the request was written, an answer that is not JSON
    (``TelegramError("Invalid server response")``) or one python-telegram-bot cannot build
    into a message, any other exception; and a send that was under way when the bot stopped
    (crash, ``kill -9``, a stop that could not wait for it), found at the next start because
    each attempt is recorded before it is made. The Bot API has no idempotent send, so such
    a message is sent **at most once more, ever**: if that send's outcome is uncertain too,
    it is a permanent failure. A definite refusal in between delivers nothing and does not
    count. Hence at most two copies of any message ever reach a chat.

A permanent failure is listed by ``/failed`` and told to the office once, in the transaction
that marks it failed (never about a message to the office itself). The decision is a pure
function of the outcome and the message's history (:func:`decide`): one state machine for
the delivery job, the flush at shutdown and the recovery at start-up. Every decision moves
``next_attempt_at`` at least a second ahead or ends the message, so no outcome can make the
outbox send in a tight loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.records import CopyPlacement

MAX_ATTEMPTS = 12  # sends of one message in all (32 to 64 minutes of definite refusals)
BACKOFF_BASE = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=30)
# The most an uncertain outcome is followed by (one more send), and the error then recorded.
UNCERTAIN_RETRIES = 1
STOPPED_DURING_SEND = "the bot stopped during the send; outcome unknown"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    REFUSED = "refused"
    REJECTED = "rejected"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class SendResult:
    """One send's outcome. ``detail`` describes the error (Telegram's description or the
    exception's type and message), never the message's content."""

    outcome: Outcome
    detail: str = ""
    message_id: int | None = None
    retry_after: float | None = None  # seconds Telegram asked to wait (429)


@dataclass(frozen=True)
class Delivered:
    message_id: int | None
    # In a private chat, instead of the plain id: its keyed hash, if a reply to the message
    # must be matched (see bot.anonymity.message_reference).
    message_key: str | None = None
    # A card: where the copy is, to record it (see bot.anonymity.copy_placement).
    copy: CopyPlacement | None = None


@dataclass(frozen=True)
class RetryLater:
    at: datetime
    error: str
    uncertain: bool  # this send's outcome is unknown (the one more send it allows follows)


@dataclass(frozen=True)
class FailedForGood:
    error: str
    # Whether one of its sends had an unknown outcome: it may have arrived after all.
    maybe_delivered: bool
    uncertain: bool  # this send's outcome is unknown


Decision = Delivered | RetryLater | FailedForGood


def backoff(retry: int, rng: random.Random | None = None) -> timedelta:
    """The wait before retry number ``retry`` (0 for the first): between half and all of
    ``BACKOFF_BASE * 2**retry``, capped at ``MAX_BACKOFF`` (never less than a second)."""
    full: timedelta = min(BACKOFF_BASE * 2 ** min(retry, 20), MAX_BACKOFF)
    share = (rng or random).uniform(0.5, 1.0)
    return max(full * share, timedelta(seconds=1))


def decide(
    result: SendResult,
    *,
    attempts: int,
    uncertain: int,
    now: datetime,
    rng: random.Random | None = None,
) -> Decision:
    """What to do with a message after a send: ``attempts`` sends were made before this
    one, ``uncertain`` of them with an unknown outcome."""
    detail = result.detail or result.outcome.value
    if result.outcome is Outcome.DELIVERED:
        return Delivered(result.message_id)
    if result.outcome is Outcome.REJECTED:
        return FailedForGood(detail, maybe_delivered=uncertain > 0, uncertain=False)
    if result.outcome is Outcome.UNCERTAIN:
        if uncertain >= UNCERTAIN_RETRIES:
            return FailedForGood(
                f"outcome unknown again: {detail}", maybe_delivered=True, uncertain=True
            )
        return RetryLater(now + backoff(attempts, rng), detail, uncertain=True)
    if attempts + 1 >= MAX_ATTEMPTS:
        return FailedForGood(
            f"gave up after {attempts + 1} attempts: {detail}",
            maybe_delivered=uncertain > 0,
            uncertain=False,
        )
    wait = backoff(attempts, rng)
    if result.retry_after is not None:  # Telegram said when: that, plus a little jitter
        asked = timedelta(seconds=max(result.retry_after, 1.0))
        wait = asked * (rng or random).uniform(1.0, 1.1)
    return RetryLater(now + wait, detail, uncertain=False)
