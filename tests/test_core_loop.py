"""The units' loop in the core (#18), with a real repository and no Bot API stand-in: who
may take each step on which item, refusals with the reason, one history row per step, the
notices each step queues (and for whom), and a step applied again with its key (an update
replayed after a restart) changing nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import deadlines, handling, loop, reviewing, submitting
from bot.core.access import Action, Actor, Place, Role, identify, unit_actions
from bot.core.env import Env
from bot.core.handling import Assignment
from bot.core.records import Draft
from bot.core.reports import ledger_cells, ledger_header
from bot.core.results import Refusal
from bot.core.workflow import Kind, Status
from bot.i18n import t
from storage.repository import Repository
from tests.conftest import FrozenClock

ADMIN_ID = 1000001
RESIDENT_ID = 4242
CLERK = 4001  # cjb, in its group
MEMBER = 4002  # hbs, individually
OFFICE = -1001234567
CJB_GROUP = -1009000


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def env(make_settings: Callable[..., Settings]) -> AsyncIterator[Env]:
    settings = make_settings(
        roles={"admin_ids": [ADMIN_ID], "office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        units=[
            {"id": "cjb", "names": {"zh-Hans": "城建办"}, "chat_id": CJB_GROUP},
            {"id": "hbs", "names": {"zh-Hans": "环保所"}, "member_ids": [MEMBER]},
        ],
    )
    secrets = Secrets.generate()
    clock = FrozenClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))  # Monday 09:00 Shanghai
    repository = Repository(settings.storage.path, clock=clock, secrets=secrets)
    await repository.connect()
    try:
        yield Env(repository, settings, secrets)
    finally:
        await repository.close()


def admin(env: Env) -> Actor:
    return identify(env.settings, ADMIN_ID, Place.OFFICE, language="zh-Hans", chat_id=OFFICE)


def clerk(env: Env, user_id: int = CLERK) -> Actor:
    return identify(env.settings, user_id, Place.UNIT, language="zh-Hans", chat_id=CJB_GROUP)


def member(env: Env) -> Actor:
    return identify(env.settings, MEMBER, Place.PRIVATE, language="zh-Hans", chat_id=MEMBER)


def rows(env: Env, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(env.settings.storage.path) as db:
        return list(db.execute(sql, params))


def outbox_to(env: Env, chat: int) -> list[str]:
    found = rows(env, "SELECT chat_enc, body FROM outbox WHERE copy_id IS NULL ORDER BY id")
    return [
        json.loads(str(body))["text"]
        for chat_enc, body in found
        if env.secrets.decrypt_int(str(chat_enc)) == chat
    ]


async def accepted(env: Env, *, anonymous: bool = True) -> int:
    draft = Draft(kind=Kind.PROBLEM, parts=["河道里有人倾倒垃圾"], anonymous=anonymous)
    await env.repository.save_draft(RESIDENT_ID, draft)
    who = identify(env.settings, RESIDENT_ID, Place.PRIVATE, language="zh-Hans", name="李 秀英")
    result = await submitting.submit(env, who, draft, chat_id=RESIDENT_ID, key=None)
    assert result.item is not None
    await reviewing.accept(env, admin(env), result.item.id, key=None)
    return result.item.id


def test_unit_roles_come_from_the_configuration(env: Env) -> None:
    assert clerk(env).roles == {Role.UNIT} and clerk(env).unit_id == "cjb"
    assert member(env).roles == {Role.RESIDENT, Role.UNIT} and member(env).unit_id == "hbs"
    # In the group, anyone is the unit when it lists no members; elsewhere nobody.
    elsewhere = identify(env.settings, CLERK, Place.OTHER, language="zh-Hans", chat_id=-5)
    assert elsewhere.roles == frozenset() and elsewhere.unit_id is None
    private = identify(env.settings, CLERK, Place.PRIVATE, language="zh-Hans", chat_id=CLERK)
    assert private.unit_id is None  # not a listed member: only in the group


async def test_dispatch_then_sign_each_one_history_row_and_the_notices(env: Env) -> None:
    number = await accepted(env)
    result = await loop.dispatch(env, admin(env), number, "cjb", instruction="请核实", key=11)
    assert result.ok and result.status is Status.DISPATCHED
    item = result.item
    assert item is not None and item.unit_id == "cjb" and item.dispatch_note == "请核实"
    # The default deadline of a problem: 15 working days, end of day; sign for in one.
    due = deadlines.add_workdays(datetime(2026, 11, 2).date(), 15)
    assert (
        item.deadline is not None
        and item.deadline.astimezone(env.settings.campaign.tz).date() == due
    )
    assert item.sign_due is not None and item.sign_due - env.now() == timedelta(days=1)
    [card] = outbox_to(env, CJB_GROUP)
    assert "河道里有人倾倒垃圾" in card and zh("summary.anonymous") in card
    assert any("城建办" in text for text in outbox_to(env, RESIDENT_ID))
    # Applied again with its key (an update replayed after a restart): nothing twice.
    before = len(rows(env, "SELECT 1 FROM outbox"))
    again = await loop.dispatch(env, admin(env), number, "cjb", instruction="请核实", key=11)
    assert again.replayed and again.notices == ()
    assert len(rows(env, "SELECT 1 FROM outbox")) == before
    # Only the unit signs; another unit's member and the resident cannot.
    for other in (
        member(env),
        identify(env.settings, RESIDENT_ID, Place.PRIVATE, language="zh-Hans"),
    ):
        refused = await loop.sign(env, other, number, key=None)
        assert refused.refusal is Refusal.FORBIDDEN
    signed = await loop.sign(env, clerk(env), number, key=12)
    assert signed.ok and signed.status is Status.SIGNED
    steps = rows(
        env, "SELECT step, actor FROM history WHERE submission_id = ? AND step IS NOT NULL", number
    )
    assert steps == [("dispatch", f"admin:{ADMIN_ID}"), ("sign", f"unit:cjb:{CLERK}")]


async def test_unsigned_past_the_limit(env: Env) -> None:
    number = await accepted(env)
    await loop.dispatch(env, admin(env), number, "hbs", key=None)
    item = await env.repository.get_submission(number)
    assert item is not None and not item.unsigned(env.now())
    assert item.unsigned(env.now() + timedelta(days=1, minutes=1))
    counts = await env.repository.unit_counts(env.now() + timedelta(days=2))
    assert counts == {"hbs": (1, 0, 1)}


@pytest.mark.parametrize(
    ("typed", "reason"), [("昨天", "bad"), ("2026-10-01", "past"), ("0", "bad"), ("400", "too_far")]
)
async def test_a_bad_deadline_is_refused_never_replaced(env: Env, typed: str, reason: str) -> None:
    number = await accepted(env)
    result = await loop.dispatch(env, admin(env), number, "cjb", deadline=typed, key=None)
    assert result.refusal is Refusal.INVALID
    assert result.message == zh(f"loop.deadline.{reason}", value=typed)
    item = await env.repository.get_submission(number)
    assert item is not None and item.status is Status.ACCEPTED and item.deadline is None


async def test_a_second_bounce_shows_the_office_both_reasons(env: Env) -> None:
    number = await accepted(env)
    await loop.dispatch(env, admin(env), number, "cjb", key=None)
    first = await loop.bounce(env, clerk(env), number, "不归我们管", key=None)
    assert first.status is Status.RETURNED
    await loop.dispatch(env, admin(env), number, "hbs", key=None)
    await loop.sign(env, member(env), number, key=None)
    await loop.bounce(env, member(env), number, "应由水利站办理", key=None)
    office = outbox_to(env, OFFICE)
    assert "不归我们管" in office[-1] and "应由水利站办理" in office[-1]
    taken = await loop.take_back(env, admin(env), number, key=None)
    assert (
        taken.status is Status.IN_PROGRESS and taken.item is not None and taken.item.unit_id is None
    )


async def test_extension_needs_a_later_date_and_moves_only_on_approval(env: Env) -> None:
    number = await accepted(env, anonymous=False)
    await loop.dispatch(env, admin(env), number, "hbs", deadline="5", key=None)
    await loop.sign(env, member(env), number, key=None)
    item = await env.repository.get_submission(number)
    assert item is not None and item.deadline is not None
    early = await loop.request_extension(env, member(env), number, "2 太忙", key=None)
    assert early.refusal is Refusal.INVALID and "期限" in early.message
    no_reason = await loop.request_extension(env, member(env), number, "20", key=None)
    assert no_reason.refusal is Refusal.INVALID
    asked = await loop.request_extension(env, member(env), number, "20 需要协调", key=None)
    assert asked.status is Status.EXTENSION_REQUESTED
    after = await env.repository.get_submission(number)
    assert after is not None and after.deadline == item.deadline and after.requested_deadline
    approved = await loop.decide_extension(env, admin(env), number, True, key=None)
    assert approved.item is not None and approved.item.deadline == after.requested_deadline
    assert any("调整为" in text for text in outbox_to(env, RESIDENT_ID))
    # A unit cannot decide its own request.
    await loop.request_extension(env, member(env), number, "60 还要等", key=None)
    mine = await loop.decide_extension(env, member(env), number, True, key=None)
    assert mine.refusal is Refusal.FORBIDDEN


async def test_the_office_moving_the_deadline_moves_the_judged_one_only_in_time(
    env: Env,
) -> None:
    """The office's own owner-and-deadline step (负责 …) follows the extension's rule: before
    the judged deadline has passed it moves that too; after, the round stays late."""
    clock = env.repository.clock
    assert isinstance(clock, FrozenClock)
    early, late = await accepted(env), await accepted(env)
    for number in (early, late):
        await loop.dispatch(env, admin(env), number, "cjb", deadline="5", key=None)
    first = await env.repository.get_submission(late)
    assert first is not None and first.judged_deadline == first.deadline is not None
    moved = await handling.assign(env, admin(env), early, Assignment("城建办", days=20), key=None)
    assert moved.item is not None and moved.item.deadline is not None
    assert moved.item.judged_deadline == moved.item.deadline > first.deadline
    clock.now = first.deadline + timedelta(days=1)
    still = await handling.assign(env, admin(env), late, Assignment("城建办", days=20), key=None)
    assert still.item is not None and still.item.deadline is not None
    assert still.item.deadline > first.deadline and still.item.judged_deadline == first.deadline


async def test_notes_only_once_signed_and_done_goes_through_the_check(env: Env) -> None:
    number = await accepted(env)
    await loop.dispatch(env, admin(env), number, "cjb", key=None)
    early = await loop.note(env, clerk(env), number, "已到现场", key=None)
    assert early.refusal is Refusal.ILLEGAL
    await loop.sign(env, clerk(env), number, key=None)
    noted = await loop.note(env, clerk(env), number, "已到现场", key=None)
    assert noted.ok and noted.status is None  # a note moves nothing
    # cjb tells the sender its name once (tell_sender defaults to true).
    told = [text for text in outbox_to(env, RESIDENT_ID) if "正由城建办办理" in text]
    await loop.note(env, clerk(env), number, "清理了一半", key=None)
    assert len(told) == 1 == len([x for x in outbox_to(env, RESIDENT_ID) if "正由城建办办理" in x])
    done = await loop.finish(env, clerk(env), number, "已清运完毕", key=None)
    assert done.status is Status.DONE_PENDING
    # Not the unit's to approve.
    assert (await loop.approve_done(env, clerk(env), number, key=None)).refusal is Refusal.FORBIDDEN
    returned = await loop.return_done(env, admin(env), number, "请附照片", key=None)
    assert returned.status is Status.SIGNED and returned.item is not None
    assert returned.item.unit_answer is None
    assert any("请附照片" in text for text in outbox_to(env, CJB_GROUP))
    await loop.finish(env, clerk(env), number, "已清运完毕，照片见附件", key=None)
    approved = await loop.approve_done(env, admin(env), number, key=None)
    assert approved.status is Status.ANSWERED and approved.item is not None
    assert approved.item.response == "已清运完毕，照片见附件" and approved.item.done_at
    assert any("已清运完毕，照片见附件" in text for text in outbox_to(env, RESIDENT_ID))


async def test_the_office_reopens_a_rejected_item_with_a_reason(env: Env) -> None:
    draft = Draft(kind=Kind.SUGGESTION, parts=["建议增加公交班次"], anonymous=True)
    await env.repository.save_draft(RESIDENT_ID, draft)
    who = identify(env.settings, RESIDENT_ID, Place.PRIVATE, language="zh-Hans")
    number = (await submitting.submit(env, who, draft, chat_id=RESIDENT_ID, key=None)).item.id  # type: ignore[union-attr]
    await reviewing.reject(env, admin(env), number, "广告", key=None)
    empty = await loop.reopen(env, admin(env), number, " ", key=None)
    assert empty.refusal is Refusal.INVALID
    reopened = await loop.reopen(env, admin(env), number, "误判为广告", key=None)
    assert reopened.status is Status.REOPENED
    assert any("误判为广告" in text for text in outbox_to(env, RESIDENT_ID))
    assert (await reviewing.accept(env, admin(env), number, key=None)).status is Status.ACCEPTED


def test_the_unit_buttons_follow_the_status(env: Env) -> None:
    from bot.core.records import Submission

    base = Submission.model_validate(
        {
            "id": 1,
            "kind": "problem",
            "text": "x",
            "topic_id": "other",
            "suggested_topic_id": "other",
            "evidence": (),
            "anonymous": True,
            "sender": None,
            "language": "zh-Hans",
            "status": "dispatched",
            "created_at": env.now(),
            "updated_at": env.now(),
        }
    )
    shown = {
        s: unit_actions(base.model_copy(update={"status": s}))
        for s in (Status.DISPATCHED, Status.SIGNED, Status.EXTENSION_REQUESTED, Status.DONE_PENDING)
    }
    assert shown[Status.DISPATCHED] == [Action.SIGN, Action.BOUNCE]
    assert shown[Status.SIGNED] == [
        Action.NOTE,
        Action.BOUNCE,
        Action.REQUEST_EXTENSION,
        Action.FINISH,
    ]
    assert shown[Status.EXTENSION_REQUESTED] == [Action.NOTE, Action.FINISH]
    assert shown[Status.DONE_PENDING] == []


async def test_the_ledger_has_the_loop_columns(env: Env) -> None:
    number = await accepted(env, anonymous=False)
    await loop.dispatch(env, admin(env), number, "hbs", deadline="5", key=None)
    await loop.sign(env, member(env), number, key=None)
    await loop.request_extension(env, member(env), number, "20 需要协调", key=None)
    await loop.decide_extension(env, admin(env), number, False, key=None)
    await loop.request_extension(env, member(env), number, "2027-06-30 等待审批", key=None)
    await loop.decide_extension(env, admin(env), number, True, key=None)
    await loop.finish(env, member(env), number, "已处理", key=None)
    await loop.approve_done(env, admin(env), number, key=None)
    start = env.now() - timedelta(days=1)
    end = env.now() + timedelta(days=1)
    [line] = [r async for r in env.repository.ledger(start=start, end=end, now=env.now())]
    header = ledger_header("zh-Hans", env.settings)
    cells = dict(zip(header, ledger_cells("zh-Hans", env.settings, line), strict=True))
    assert cells["承办单位"] == "环保所"
    assert cells["派单日期"] == cells["签收日期"] == cells["办结日期"] == "2026-11-02"
    twenty = deadlines.add_workdays(datetime(2026, 11, 2).date(), 20).isoformat()
    assert cells["延期"] == f"{twenty}（未同意）；2027-06-30（同意）"
    assert cells["办结期限"] == "2027-06-30" and cells["重办次数"] == ""
