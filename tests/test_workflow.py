"""The submission life cycle: the state machine between statuses (every pair of status and
move, legal or not, issue 18), and references."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from bot.core.workflow import (
    FINAL_STATUSES,
    SYSTEM_TRANSITIONS,
    IllegalTransition,
    Move,
    Status,
    advance,
    allowed_moves,
    allowed_targets,
    check_transition,
    format_reference,
    office_targets,
)

S = Status
M = Move
# Written out by hand (not derived from the module): every legal (status, move) and where
# it leads. Every other pair is refused.
EXPECTED: dict[tuple[Status, Move], Status] = {
    (S.NEW, M.ACCEPT): S.ACCEPTED,
    (S.NEW, M.REJECT): S.REJECTED,
    (S.NEW, M.DUPLICATE): S.DUPLICATE,
    (S.REOPENED, M.ACCEPT): S.ACCEPTED,
    (S.REOPENED, M.REJECT): S.REJECTED,
    (S.REOPENED, M.DUPLICATE): S.DUPLICATE,
    (S.ACCEPTED, M.FORWARD): S.FORWARDED,
    (S.ACCEPTED, M.START): S.IN_PROGRESS,
    (S.FORWARDED, M.START): S.IN_PROGRESS,
    (S.ACCEPTED, M.RESPOND): S.ANSWERED,
    (S.FORWARDED, M.RESPOND): S.ANSWERED,
    (S.IN_PROGRESS, M.RESPOND): S.ANSWERED,
    (S.ANSWERED, M.PUBLISH): S.PUBLISHING,
    # The outbox's: the channel post was delivered, or failed for good (#15.2).
    (S.PUBLISHING, M.POSTED): S.PUBLISHED,
    (S.PUBLISHING, M.POST_FAILED): S.ANSWERED,
    (S.ANSWERED, M.CLOSE): S.CLOSED,
    (S.PUBLISHED, M.CLOSE): S.CLOSED,
    # The office reopens what was rejected or merged by mistake.
    (S.REJECTED, M.REOPEN): S.REOPENED,
    (S.DUPLICATE, M.REOPEN): S.REOPENED,
    # 派单, also again after a 退单 or a reopening.
    (S.ACCEPTED, M.DISPATCH): S.DISPATCHED,
    (S.FORWARDED, M.DISPATCH): S.DISPATCHED,
    (S.IN_PROGRESS, M.DISPATCH): S.DISPATCHED,
    (S.RETURNED, M.DISPATCH): S.DISPATCHED,
    (S.REOPENED, M.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, M.SIGN): S.SIGNED,
    (S.DISPATCHED, M.BOUNCE): S.RETURNED,
    (S.SIGNED, M.BOUNCE): S.RETURNED,
    (S.RETURNED, M.TAKE_BACK): S.IN_PROGRESS,
    (S.SIGNED, M.REQUEST_EXTENSION): S.EXTENSION_REQUESTED,
    (S.EXTENSION_REQUESTED, M.APPROVE_EXTENSION): S.SIGNED,
    (S.EXTENSION_REQUESTED, M.REFUSE_EXTENSION): S.SIGNED,
    (S.SIGNED, M.FINISH): S.DONE_PENDING,
    (S.EXTENSION_REQUESTED, M.FINISH): S.DONE_PENDING,
    # 不满意 sends the answer back (重办): to the unit that gave it, or to the office.
    (S.ANSWERED, M.REDO): S.DISPATCHED,
    (S.PUBLISHED, M.REDO): S.DISPATCHED,
    (S.ANSWERED, M.REDO_OFFICE): S.IN_PROGRESS,
    (S.PUBLISHED, M.REDO_OFFICE): S.IN_PROGRESS,
    # An answer nobody rated in time closes as 未评价.
    (S.ANSWERED, M.EXPIRE): S.CLOSED,
    (S.PUBLISHED, M.EXPIRE): S.CLOSED,
    (S.DONE_PENDING, M.APPROVE_DONE): S.ANSWERED,
    (S.DONE_PENDING, M.RETURN_DONE): S.SIGNED,
}
# The status changes the office may make (the sender's 重办 and the job's 未评价 are moves of
# their own, never offered as a status change; the outbox's are the system's alone).
LEGAL = {
    (current, target)
    for (current, move), target in EXPECTED.items()
    if move not in {M.REDO, M.REDO_OFFICE, M.EXPIRE, M.POSTED, M.POST_FAILED}
}
SYSTEM = {(S.PUBLISHING, S.PUBLISHED), (S.PUBLISHING, S.ANSWERED)}


@pytest.mark.parametrize(("current", "move"), sorted(itertools.product(Status, Move)))
def test_every_pair_of_status_and_move(current: Status, move: Move) -> None:
    expected = EXPECTED.get((current, move))
    if expected is not None:
        assert advance(current, move) is expected
        assert move in allowed_moves(current)
        return
    with pytest.raises(IllegalTransition) as info:
        advance(current, move)
    assert info.value.current is current and info.value.move is move
    assert f"cannot {move.value} from {current.value}" in str(info.value)
    assert move not in allowed_moves(current)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transitions(current: Status, target: Status) -> None:
    check_transition(current, target)  # does not raise
    check_transition(current, target, system=True)  # the system may do what the office may
    assert target in allowed_targets(current) and target in office_targets(current)


@pytest.mark.parametrize(("current", "target"), sorted(SYSTEM))
def test_system_transitions_are_the_outboxs_alone(current: Status, target: Status) -> None:
    check_transition(current, target, system=True)  # does not raise
    assert target in allowed_targets(current) and target not in office_targets(current)
    with pytest.raises(IllegalTransition, match="not by hand") as info:
        check_transition(current, target)
    assert info.value.current is current and info.value.target is target
    assert SYSTEM == SYSTEM_TRANSITIONS


def test_publishing_has_no_office_action() -> None:
    """While the post is on its way nothing can be done to the item by hand (publishing
    again, closing): the outcome of the post decides."""
    assert office_targets(S.PUBLISHING) == frozenset()
    with pytest.raises(IllegalTransition, match=r"allowed: none"):
        check_transition(S.PUBLISHING, S.CLOSED)
    with pytest.raises(IllegalTransition):
        check_transition(S.ANSWERED, S.PUBLISHED)  # only through publishing


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(Status, Status)) - LEGAL - SYSTEM),
)
def test_every_other_transition_is_refused(current: Status, target: Status) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target, system=True)
    assert info.value.current is current and info.value.target is target
    message = str(info.value)
    assert f"from {current.value} to {target.value}" in message
    assert target not in allowed_targets(current)


def test_refusal_lists_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition, match="allowed: accepted, duplicate, rejected"):
        check_transition(S.NEW, S.CLOSED)
    with pytest.raises(IllegalTransition, match=r"none \(final status\)"):
        check_transition(S.CLOSED, S.NEW)
    with pytest.raises(IllegalTransition, match="allowed moves: dispatch, take_back"):
        # (sorted) what a returned item allows: the office re-dispatches or takes it back
        advance(S.RETURNED, M.SIGN)
    assert isinstance(IllegalTransition(S.NEW, S.CLOSED), ValueError)


def test_start_is_not_offered_on_an_answer() -> None:
    # 重办 leads from an answer back to in_progress, but only through the sender's 不满意.
    assert S.IN_PROGRESS not in allowed_targets(S.ANSWERED)
    assert advance(S.ANSWERED, M.REDO_OFFICE) is S.IN_PROGRESS


def test_final_statuses() -> None:
    # Ended: rejected and merged items can only be reopened by the office.
    assert {S.REJECTED, S.DUPLICATE, S.CLOSED} == FINAL_STATUSES
    assert allowed_moves(S.CLOSED) == frozenset()
    assert allowed_moves(S.REJECTED) == {M.REOPEN} == allowed_moves(S.DUPLICATE)


def test_every_status_is_reachable_and_every_open_item_can_be_closed() -> None:
    reachable, queue = {S.NEW}, deque([S.NEW])
    while queue:
        for target in allowed_targets(queue.popleft()):
            if target not in reachable:
                reachable.add(target)
                queue.append(target)
    assert reachable == set(Status)
    for status in set(Status) - FINAL_STATUSES:
        seen, todo = set(), [status]
        while todo:
            current = todo.pop()
            seen.add(current)
            todo += [t for t in allowed_targets(current) if t not in seen]
        assert seen & FINAL_STATUSES, f"{status} can never end"


def test_no_way_back_on_the_office_path_but_the_senders_redo() -> None:
    order = [
        S.NEW, S.ACCEPTED, S.FORWARDED, S.IN_PROGRESS, S.ANSWERED, S.PUBLISHING, S.PUBLISHED,
        S.CLOSED,
    ]  # fmt: skip
    for current, target in LEGAL:
        if current in order and target in order:
            assert order.index(target) > order.index(current)


@pytest.mark.parametrize(("number", "text"), [(1, "#1"), (42, "#42"), (10**9, "#1000000000")])
def test_format_reference(number: int, text: str) -> None:
    assert format_reference(number) == text
