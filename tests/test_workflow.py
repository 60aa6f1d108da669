"""The submission life cycle: the state machine between statuses, and references."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from bot.core.workflow import (
    FINAL_STATUSES,
    SYSTEM_TRANSITIONS,
    IllegalTransition,
    Status,
    allowed_targets,
    check_transition,
    format_reference,
    office_targets,
)

S = Status
LEGAL = {
    (S.NEW, S.ACCEPTED),
    (S.NEW, S.REJECTED),
    (S.NEW, S.DUPLICATE),
    (S.ACCEPTED, S.FORWARDED),
    (S.ACCEPTED, S.IN_PROGRESS),
    (S.ACCEPTED, S.ANSWERED),
    (S.FORWARDED, S.IN_PROGRESS),
    (S.FORWARDED, S.ANSWERED),
    (S.IN_PROGRESS, S.ANSWERED),
    (S.ANSWERED, S.PUBLISHING),
    (S.ANSWERED, S.CLOSED),
    (S.PUBLISHED, S.CLOSED),
}
# The outbox's: the channel post was delivered, or failed for good (#15.2).
SYSTEM = {(S.PUBLISHING, S.PUBLISHED), (S.PUBLISHING, S.ANSWERED)}


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
    assert isinstance(IllegalTransition(S.NEW, S.CLOSED), ValueError)


def test_final_statuses() -> None:
    assert {S.REJECTED, S.DUPLICATE, S.CLOSED} == FINAL_STATUSES


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


def test_no_way_back() -> None:
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
