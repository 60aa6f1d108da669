"""The submission life cycle: kinds, statuses and the state machine between them.

Pure domain code (no Telegram, no SQL). Every status change goes through
:func:`check_transition`, so illegal moves are refused with a reason everywhere.

    new ──► accepted ──► forwarded ──► in_progress ──► answered ────────────────────► closed
     │          │  └─────────────────────►┘  ▲              │  ▲                         ▲
     │          └────────────────────────────┘              ▼  ║ post failed for good    │
     ├──► rejected                                      publishing ══► published ────────┘
     └──► duplicate                                              post delivered

``closed`` is 销号: the ledger line is ticked off. ``publishing`` is the time between the
office's "publish" and the channel post's delivery: the outbox completes it (``published``)
when Telegram took the post, or reverts it (to the status before, the reason in the
history) when the post failed for good. Those two moves (══ above) are the outbox's alone
(:data:`SYSTEM_TRANSITIONS`): no office action makes them.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    SUGGESTION = "suggestion"  # 建议 / 金点子
    PROBLEM = "problem"  # 问题反映


class Status(StrEnum):
    NEW = "new"  # 待审核
    ACCEPTED = "accepted"  # 已受理
    REJECTED = "rejected"  # 不予受理
    DUPLICATE = "duplicate"  # 重复
    FORWARDED = "forwarded"  # 已转领导小组
    IN_PROGRESS = "in_progress"  # 办理中
    ANSWERED = "answered"  # 已答复
    PUBLISHING = "publishing"  # 公开中: the channel post is on its way
    PUBLISHED = "published"  # 已公开
    CLOSED = "closed"  # 已销号


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACCEPTED, Status.REJECTED, Status.DUPLICATE}),
    Status.ACCEPTED: frozenset({Status.FORWARDED, Status.IN_PROGRESS, Status.ANSWERED}),
    Status.FORWARDED: frozenset({Status.IN_PROGRESS, Status.ANSWERED}),
    Status.IN_PROGRESS: frozenset({Status.ANSWERED}),
    Status.ANSWERED: frozenset({Status.PUBLISHING, Status.CLOSED}),
    Status.PUBLISHING: frozenset({Status.PUBLISHED, Status.ANSWERED}),
    Status.PUBLISHED: frozenset({Status.CLOSED}),
    Status.REJECTED: frozenset(),
    Status.DUPLICATE: frozenset(),
    Status.CLOSED: frozenset(),
}

FINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
# Moves only the system makes (the outbox, on the channel post's outcome), never the office.
SYSTEM_TRANSITIONS = frozenset(
    {(Status.PUBLISHING, Status.PUBLISHED), (Status.PUBLISHING, Status.ANSWERED)}
)


class IllegalTransition(ValueError):
    """A status change the state machine does not allow."""

    def __init__(self, current: Status, target: Status, *, system_only: bool = False) -> None:
        self.current = current
        self.target = target
        if system_only:
            reason = "made by the bot when the channel post's outcome is known, not by hand"
        else:
            allowed = ", ".join(sorted(office_targets(current))) or "none"
            reason = f"allowed: {allowed}" if TRANSITIONS[current] else "none (final status)"
        super().__init__(f"cannot go from {current} to {target}; {reason}")


def allowed_targets(current: Status) -> frozenset[Status]:
    return TRANSITIONS[current]


def office_targets(current: Status) -> frozenset[Status]:
    """The statuses the office may move an item to from ``current`` (by its actions)."""
    return frozenset(t for t in TRANSITIONS[current] if (current, t) not in SYSTEM_TRANSITIONS)


def check_transition(current: Status, target: Status, *, system: bool = False) -> None:
    """Raise IllegalTransition unless ``current -> target`` is allowed (a move of
    :data:`SYSTEM_TRANSITIONS` only with ``system``)."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    if (current, target) in SYSTEM_TRANSITIONS and not system:
        raise IllegalTransition(current, target, system_only=True)


def format_reference(submission_id: int) -> str:
    """The reference residents see and quote: ``#42``."""
    return f"#{submission_id}"
