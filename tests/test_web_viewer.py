"""Who may use the desk and what they see: administrators everything; a unit member (issue
18) only their unit's items, which until items carry a unit is nothing; anyone else no
entry."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import load_settings
from bot.core.records import Submission
from bot.core.workflow import Kind, Status
from tests.processes import EXAMPLE_CONFIG
from web.viewer import Viewer, role_of

ITEM = Submission(
    id=7,
    kind=Kind.PROBLEM,
    text="路灯坏了",
    topic_id="other",
    suggested_topic_id="other",
    evidence=(),
    anonymous=True,
    sender=None,
    language="zh-Hans",
    status=Status.NEW,
    created_at=datetime(2026, 11, 1, tzinfo=UTC),
    updated_at=datetime(2026, 11, 1, tzinfo=UTC),
)


def test_roles_come_from_the_configuration() -> None:
    settings = load_settings(EXAMPLE_CONFIG, overrides={"roles": {"admin_ids": [11, 12]}})
    assert role_of(settings, 11) == ("admin", None)
    assert role_of(settings, 13) is None


def test_an_administrator_sees_everything() -> None:
    admin = Viewer(user_id=11, role="admin", language="zh-Hans")
    assert admin.is_admin and admin.may_see(ITEM) and admin.queue_unit is None


def test_a_unit_member_is_scoped_to_their_unit() -> None:
    member = Viewer(user_id=21, role="unit", language="zh-Hans", unit_id="chengjian")
    assert not member.is_admin
    assert member.queue_unit == "chengjian"  # the queue is restricted to the unit
    assert not member.may_see(ITEM)  # no item has a unit yet
