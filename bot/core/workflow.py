"""The submission life cycle: kinds, statuses and the state machine between them.

Pure domain code (no Telegram, no SQL). Every status change goes through
:func:`check_transition`, so illegal moves are refused with a reason everywhere.

    new ──► accepted ──► forwarded ──► in_progress ──► answered ──► published ──► closed
     │          │  └─────────────────────►┘  ▲              │
     │          └────────────────────────────┘              └──────────────────► closed
     ├──► rejected
     └──► duplicate

``closed`` is 销号: the ledger line is ticked off.
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
    PUBLISHED = "published"  # 已公开
    CLOSED = "closed"  # 已销号


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACCEPTED, Status.REJECTED, Status.DUPLICATE}),
    Status.ACCEPTED: frozenset({Status.FORWARDED, Status.IN_PROGRESS, Status.ANSWERED}),
    Status.FORWARDED: frozenset({Status.IN_PROGRESS, Status.ANSWERED}),
    Status.IN_PROGRESS: frozenset({Status.ANSWERED}),
    Status.ANSWERED: frozenset({Status.PUBLISHED, Status.CLOSED}),
    Status.PUBLISHED: frozenset({Status.CLOSED}),
    Status.REJECTED: frozenset(),
    Status.DUPLICATE: frozenset(),
    Status.CLOSED: frozenset(),
}

FINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


class IllegalTransition(ValueError):
    """A status change the state machine does not allow."""

    def __init__(self, current: Status, target: Status) -> None:
        self.current = current
        self.target = target
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final status)"
        super().__init__(f"cannot go from {current} to {target}; allowed: {allowed}")


def allowed_targets(current: Status) -> frozenset[Status]:
    return TRANSITIONS[current]


def check_transition(current: Status, target: Status) -> None:
    """Raise IllegalTransition unless ``current -> target`` is allowed."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def format_reference(submission_id: int) -> str:
    """The reference residents see and quote: ``#42``."""
    return f"#{submission_id}"
