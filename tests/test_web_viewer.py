"""Who may use the desk and what they see: administrators everything; a unit member (issue
18) only the items dispatched to their unit; anyone else no entry."""

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
    settings = load_settings(
        EXAMPLE_CONFIG,
        overrides={
            "roles": {"admin_ids": [11, 12]},
            "units": [
                {"id": "chengjian", "names": {"zh-Hans": "城建办"}, "member_ids": [21]},
                {"id": "huanbao", "names": {"zh-Hans": "环保所"}, "chat_id": -100500},
            ],
        },
    )
    assert role_of(settings, 11) == ("admin", None)
    assert role_of(settings, 21) == ("unit", "chengjian")
    assert role_of(settings, 13) is None  # in no unit's member_ids (a unit's group is no entry)


def test_an_administrator_sees_everything() -> None:
    admin = Viewer(user_id=11, role="admin", language="zh-Hans")
    assert admin.is_admin and admin.may_see(ITEM) and admin.queue_unit is None


def test_a_unit_member_is_scoped_to_their_unit() -> None:
    member = Viewer(user_id=21, role="unit", language="zh-Hans", unit_id="chengjian")
    assert not member.is_admin
    assert member.queue_unit == "chengjian"  # the queue is restricted to the unit
    assert not member.may_see(ITEM)  # not dispatched
    assert member.may_see(ITEM.model_copy(update={"unit_id": "chengjian"}))
    assert not member.may_see(ITEM.model_copy(update={"unit_id": "huanbao"}))
    assert not Viewer(user_id=22, role="unit", language="en").may_see(ITEM)
