"""The submission life cycle: kinds, statuses and the state machine between them.

Pure domain code (no Telegram, no SQL). The machine is a table of moves: each
:class:`Move` (an action that changes an item's status) goes from some statuses to one
target. Every status change goes through :func:`advance` (or, for the office's
original moves, :func:`check_transition`), so illegal moves are refused with a reason
everywhere.

The office's part::

    new ──► accepted ──► forwarded ──► in_progress ──► answered ────────────────────► closed
     │          │  └─────────────────────►┘  ▲              │  ▲                         ▲
     │          └────────────────────────────┘              ▼  ║ post failed for good    │
     ├──► rejected ──┐                                  publishing ══► published ────────┘
     └──► duplicate ─┴──► reopened (the office            post delivered
                          reopens it, with a reason)

``publishing`` is the time between the office's "publish" and the channel post's delivery:
the outbox completes it (``published``) when Telegram took the post, or reverts it (to the
status before, the reason in the history) when the post failed for good. Those two moves
(══ above) are the outbox's alone (:data:`SYSTEM_MOVES`): no office action makes them.

The units' loop (issue 18; 派单 → 签收 → 办理 → 办结 → 审核)::

    accepted / forwarded / in_progress / returned / reopened
        ──dispatch──► dispatched ──sign──► signed ──finish──► done_pending ──approve──► answered
                         │                  │  ▲  ▲                  │
                         │ bounce           │  │  └────return_done───┘
                         ▼                  │  └──approve/refuse_extension──┐
                      returned ◄──bounce────┘──request_extension──► extension_requested
                         └──take_back──► in_progress             (finish from there too)

The sender's rating (回访/评价, one per round; a round is each answer the sender gets)::

    answered / published ──不满意: redo──► dispatched (the same unit, 重办)
                        ──不满意: redo_office──► in_progress (answered by the office)
    answered / published ──expire (unrated within office.rating_days)──► closed (未评价)

``closed`` is 销号: the ledger line is ticked off. ``rejected``, ``duplicate`` and
``closed`` are the ended statuses (:data:`FINAL_STATUSES`: no work is due on them, an
anonymous sender's link is deleted some days after); only the office's reopen leaves
``rejected`` or ``duplicate``.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    DISPATCHED = "dispatched"  # 已派单 (awaiting the unit's 签收)
    SIGNED = "signed"  # 已签收 (the unit handles it)
    RETURNED = "returned"  # 已退单 (the office decides)
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请中
    DONE_PENDING = "done_pending"  # 办结待审核
    REOPENED = "reopened"  # 已重开 / 重办
    ANSWERED = "answered"  # 已答复
    PUBLISHING = "publishing"  # 公开中: the channel post is on its way
    PUBLISHED = "published"  # 已公开
    CLOSED = "closed"  # 已销号


class Move(StrEnum):
    """Every status-changing action, by the name the history and the tests use."""

    ACCEPT = "accept"
    REJECT = "reject"
    DUPLICATE = "duplicate"
    FORWARD = "forward"
    START = "start"
    RESPOND = "respond"
    PUBLISH = "publish"  # to publishing: the channel post is queued
    POSTED = "posted"  # the outbox: the channel post was delivered
    POST_FAILED = "post_failed"  # the outbox: the channel post failed for good
    CLOSE = "close"
    REOPEN = "reopen"  # the office reopens a rejected or merged item
    DISPATCH = "dispatch"  # 派单 (or re-dispatch)
    SIGN = "sign"  # 签收
    BOUNCE = "bounce"  # 退单
    TAKE_BACK = "take_back"  # the office takes a returned item back
    REQUEST_EXTENSION = "request_extension"  # 延期申请
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    FINISH = "finish"  # 办结 (to the office's check)
    APPROVE_DONE = "approve_done"  # 审核通过: the unit's answer is the response
    RETURN_DONE = "return_done"  # 审核退回: back to the unit with a note
    REDO = "redo"  # 重办: the sender's 不满意 sends the unit's answer back to the unit
    REDO_OFFICE = "redo_office"  # 重办 of an answer the office gave itself
    EXPIRE = "expire"  # 未评价: nobody rated the answer within office.rating_days


S = Status
_HANDLED_BY_OFFICE = (S.ACCEPTED, S.FORWARDED, S.IN_PROGRESS)
# Each move: the statuses it may start from, and where it goes.
MOVES: dict[Move, tuple[frozenset[Status], Status]] = {
    Move.ACCEPT: (frozenset({S.NEW, S.REOPENED}), S.ACCEPTED),
    Move.REJECT: (frozenset({S.NEW, S.REOPENED}), S.REJECTED),
    Move.DUPLICATE: (frozenset({S.NEW, S.REOPENED}), S.DUPLICATE),
    Move.FORWARD: (frozenset({S.ACCEPTED}), S.FORWARDED),
    Move.START: (frozenset({S.ACCEPTED, S.FORWARDED}), S.IN_PROGRESS),
    Move.RESPOND: (frozenset({*_HANDLED_BY_OFFICE}), S.ANSWERED),
    Move.PUBLISH: (frozenset({S.ANSWERED}), S.PUBLISHING),
    Move.POSTED: (frozenset({S.PUBLISHING}), S.PUBLISHED),
    Move.POST_FAILED: (frozenset({S.PUBLISHING}), S.ANSWERED),
    Move.CLOSE: (frozenset({S.ANSWERED, S.PUBLISHED}), S.CLOSED),
    Move.REOPEN: (frozenset({S.REJECTED, S.DUPLICATE}), S.REOPENED),
    Move.DISPATCH: (frozenset({*_HANDLED_BY_OFFICE, S.RETURNED, S.REOPENED}), S.DISPATCHED),
    Move.SIGN: (frozenset({S.DISPATCHED}), S.SIGNED),
    Move.BOUNCE: (frozenset({S.DISPATCHED, S.SIGNED}), S.RETURNED),
    Move.TAKE_BACK: (frozenset({S.RETURNED}), S.IN_PROGRESS),
    Move.REQUEST_EXTENSION: (frozenset({S.SIGNED}), S.EXTENSION_REQUESTED),
    Move.APPROVE_EXTENSION: (frozenset({S.EXTENSION_REQUESTED}), S.SIGNED),
    Move.REFUSE_EXTENSION: (frozenset({S.EXTENSION_REQUESTED}), S.SIGNED),
    Move.FINISH: (frozenset({S.SIGNED, S.EXTENSION_REQUESTED}), S.DONE_PENDING),
    Move.APPROVE_DONE: (frozenset({S.DONE_PENDING}), S.ANSWERED),
    Move.RETURN_DONE: (frozenset({S.DONE_PENDING}), S.SIGNED),
    Move.REDO: (frozenset({S.ANSWERED, S.PUBLISHED}), S.DISPATCHED),
    Move.REDO_OFFICE: (frozenset({S.ANSWERED, S.PUBLISHED}), S.IN_PROGRESS),
    Move.EXPIRE: (frozenset({S.ANSWERED, S.PUBLISHED}), S.CLOSED),
}
del S


def _transitions(
    moves: Mapping[Move, tuple[frozenset[Status], Status]],
) -> dict[Status, frozenset[Status]]:
    targets: dict[Status, set[Status]] = {s: set() for s in Status}
    for sources, target in moves.values():
        for source in sources:
            targets[source].add(target)
    return {s: frozenset(t) for s, t in targets.items()}


# Moves that are never a status change of the office's choosing: the sender's 重办 and the
# job's 未评价 (so that "start handling" is not offered on an answered item).
SENDER_MOVES = frozenset({Move.REDO, Move.REDO_OFFICE, Move.EXPIRE})
# Moves only the system makes (the outbox, on the channel post's outcome), never the office.
SYSTEM_MOVES = frozenset({Move.POSTED, Move.POST_FAILED})
SYSTEM_TRANSITIONS = frozenset(
    (source, MOVES[move][1]) for move in SYSTEM_MOVES for source in MOVES[move][0]
)
# The status changes made as such (the office's, and the outbox's system ones).
TRANSITIONS: dict[Status, frozenset[Status]] = _transitions(
    {m: v for m, v in MOVES.items() if m not in SENDER_MOVES}
)
# The ended statuses: no work is due (reopening is the office's exception).
FINAL_STATUSES = frozenset({Status.REJECTED, Status.DUPLICATE, Status.CLOSED})
# Statuses in which the item is with a unit (it appears in the unit's /tasks).
UNIT_STATUSES = frozenset(
    {Status.DISPATCHED, Status.SIGNED, Status.EXTENSION_REQUESTED, Status.DONE_PENDING}
)
# Those in which the unit holds the item and is chased (催办, #19): a 办结 awaiting the
# office's check is the office's to move.
CHASED_STATUSES = UNIT_STATUSES - {Status.DONE_PENDING}


class IllegalTransition(ValueError):
    """A status change the state machine does not allow."""

    def __init__(
        self,
        current: Status,
        target: Status,
        move: Move | None = None,
        *,
        system_only: bool = False,
    ) -> None:
        self.current = current
        self.target = target
        self.move = move
        if move is not None:
            moves = ", ".join(sorted(m for m in Move if current in MOVES[m][0])) or "none"
            super().__init__(f"cannot {move} from {current}; allowed moves: {moves}")
            return
        if system_only:
            reason = "made by the bot when the channel post's outcome is known, not by hand"
        else:
            allowed = ", ".join(sorted(office_targets(current))) or "none"
            reason = f"allowed: {allowed}" if TRANSITIONS[current] else "none (final status)"
        super().__init__(f"cannot go from {current} to {target}; {reason}")


def allowed_targets(current: Status) -> frozenset[Status]:
    return TRANSITIONS[current]


def allowed_moves(current: Status) -> frozenset[Move]:
    return frozenset(m for m, (sources, _) in MOVES.items() if current in sources)


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


def advance(current: Status, move: Move) -> Status:
    """The status ``move`` leads to from ``current``; IllegalTransition if it may not be
    made from there."""
    sources, target = MOVES[move]
    if current not in sources:
        raise IllegalTransition(current, target, move)
    return target


def format_reference(submission_id: int) -> str:
    """The reference residents see and quote: ``#42``."""
    return f"#{submission_id}"
