"""What a core function returns: a typed :class:`Result` that says whether the action took
effect, what it changed, what it queued for others, whether the item's cards were queued
for refreshing, and what to tell the actor (in their language). The caller only renders it:
a chat handler replies with ``message``, the web desk shows it, a job logs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.records import Outgoing, Submission
from bot.core.workflow import Status


class Refusal(StrEnum):
    """Why an action did not take effect."""

    FORBIDDEN = "forbidden"  # the actor's roles do not allow it (or it is not their item)
    NOT_FOUND = "not_found"  # no such item
    ILLEGAL = "illegal"  # the state machine does not allow it from the item's status
    NOT_CONFIGURED = "not_configured"  # it needs a chat that is not configured
    INVALID = "invalid"  # the input cannot be used (empty text, a bad reference, a topic)
    LIMIT = "limit"  # the hourly quota of submissions
    GONE = "gone"  # the draft it would act on is gone
    PHASE = "phase"  # the campaign's current phase does not collect this kind of item
    DONE = "done"  # it can be done once and was (a second rating of one answer)
    STALE = "stale"  # it acts on what was superseded (the rating buttons of an older answer)
    CLAIMED = "claimed"  # another clerk is working on the item (认领, bot.core.claiming)


@dataclass(frozen=True)
class Result:
    """The outcome of one core function call."""

    ok: bool
    message: str = ""  # what to tell the actor, HTML (user text escaped), their language
    item: Submission | None = None  # the item after the action (before it, if refused)
    refusal: Refusal | None = None
    status: Status | None = None  # the status the item moved to, if it moved
    notices: tuple[Outgoing, ...] = field(default=())  # queued for others with the change
    refreshed: int = 0  # card copies whose edits were queued
    replayed: bool = False  # the key's effect was stored before: nothing changed now
    # Buttons to offer with ``message``: rows of (label, callback data), e.g. 附议.
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()

    @property
    def queued(self) -> bool:
        """Whether anything waits in the outbox because of this call (deliver it soon)."""
        return bool(self.notices) or self.refreshed > 0


def refused(refusal: Refusal, message: str = "", item: Submission | None = None) -> Result:
    return Result(ok=False, message=message, item=item, refusal=refusal)
