"""The core functions (bot/core) on their own, with a real repository and no Bot API
stand-in: who may do what, illegal moves refused with the reason, an action applied again
with its key changing nothing, the notices each action queues, and the card copies each
change refreshes (through the outbox, without plain ids of private chats)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import answering, copies, handling, reviewing, submitting
from bot.core.access import (
    OFFICE_ACTIONS,
    Action,
    Actor,
    Place,
    Role,
    available,
    identify,
    permitted,
    system,
)
from bot.core.copies import CopyKind, Origin
from bot.core.env import Env
from bot.core.records import Draft
from bot.core.results import Refusal
from bot.core.workflow import Kind, Status
from bot.i18n import t
from storage.repository import Repository
from tests.conftest import FrozenClock

ADMIN_ID = 1000001
RESIDENT_ID = 4242
OTHER_ID = 777
OFFICE = -1001234567
GROUP = -1009876543
CHANNEL = -1001111111


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def env(make_settings: Callable[..., Settings]) -> AsyncIterator[Env]:
    settings = make_settings(
        roles={
            "admin_ids": [ADMIN_ID],
            "office_chat_id": OFFICE,
            "leading_group_chat_id": GROUP,
            "channel_id": CHANNEL,
        },
        limits={"max_submissions_per_hour": 2},
    )
    secrets = Secrets.generate()
    clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    repository = Repository(settings.storage.path, clock=clock, secrets=secrets)
    await repository.connect()
    try:
        yield Env(repository, settings, secrets)
    finally:
        await repository.close()


def admin(env: Env, place: Place = Place.PRIVATE) -> Actor:
    return identify(env.settings, ADMIN_ID, place, language="zh-Hans", name="办公室 小王")


def resident(env: Env, user_id: int = RESIDENT_ID) -> Actor:
    return identify(env.settings, user_id, Place.PRIVATE, language="zh-Hans", name="李 秀英")


async def submitted(env: Env, *, anonymous: bool = True, user_id: int = RESIDENT_ID) -> int:
    draft = Draft(kind=Kind.PROBLEM, parts=["村口的路灯坏了一个星期"], anonymous=anonymous)
    await env.repository.save_draft(user_id, draft)
    result = await submitting.submit(env, resident(env, user_id), draft, chat_id=user_id, key=None)
    assert result.ok and result.item is not None, result
    return result.item.id


def rows(env: Env, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(env.settings.storage.path) as db:
        return list(db.execute(sql, params))


def outbox_count(env: Env) -> int:
    [(count,)] = rows(env, "SELECT COUNT(*) FROM outbox")
    assert isinstance(count, int)
    return count


# ---------------------------------------------------------------- who may do what
def test_roles_come_from_the_configuration_and_the_place(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(roles={"admin_ids": [ADMIN_ID], "leading_group_chat_id": GROUP})
    at = {place: identify(settings, ADMIN_ID, place, language="en") for place in Place}
    assert at[Place.PRIVATE].roles == {Role.ADMIN, Role.RESIDENT}  # also a resident there
    assert at[Place.OFFICE].roles == {Role.ADMIN}
    assert at[Place.WEB].roles == {Role.ADMIN}
    assert at[Place.LEADING_GROUP].roles == {Role.GROUP}  # not the office in that group
    assert at[Place.OTHER].roles == frozenset()
    assert identify(settings, OTHER_ID, Place.PRIVATE, language="en").roles == {Role.RESIDENT}
    assert identify(settings, OTHER_ID, Place.OFFICE, language="en").roles == frozenset()
    not_the_office = (Action.SUBMIT, Action.ANSWER, Action.RATE, Action.INSTRUCT)
    residents = (Action.SUPPORT, Action.SURVEY_ANSWER)
    for action in Action:
        assert permitted(at[Place.OFFICE], action) == (
            action not in (*not_the_office, *residents, Action.SETTLE_PUBLISHING)
        )
    assert permitted(at[Place.LEADING_GROUP], Action.INSTRUCT)
    assert not permitted(at[Place.LEADING_GROUP], Action.ACCEPT)
    assert permitted(system("zh-Hans"), Action.CLOSE)  # a job may act for the office
    assert not permitted(system("zh-Hans"), Action.RATE)
    # Only the outbox settles a publication on its channel post's outcome (#15.2); the
    # system also sends a phase's survey at its end (#20, survey = true).
    assert [a for a in Action if permitted(system("zh-Hans"), a) and a not in OFFICE_ACTIONS] == [
        Action.SURVEY,
        Action.SETTLE_PUBLISHING,
    ]


async def test_nobody_but_the_office_acts_on_items(env: Env) -> None:
    number = await submitted(env)
    queued = outbox_count(env)
    outsiders = [
        resident(env, OTHER_ID),
        identify(env.settings, OTHER_ID, Place.OFFICE, language="zh-Hans"),  # a member
        identify(env.settings, ADMIN_ID, Place.OTHER, language="zh-Hans"),  # another group
        identify(env.settings, OTHER_ID, Place.LEADING_GROUP, language="zh-Hans"),
    ]
    for who in outsiders:
        calls = [
            reviewing.accept(env, who, number, key=None),
            reviewing.reject(env, who, number, "垃圾信息", key=None),
            reviewing.mark_duplicate(env, who, number, number, key=None),
            reviewing.set_topic(env, who, number, "transport", key=None),
            handling.ask_sender(env, who, number, "在哪个村？", key=None),
            handling.assign(env, who, number, handling.Assignment("城建办"), key=None),
        ]
        for call in calls:
            result = await call
            assert not result.ok and result.refusal is Refusal.FORBIDDEN, who
        assert available(who, env.settings, (await env.repository.get_submission(number))) == []  # type: ignore[arg-type]
    item = await env.repository.get_submission(number)
    assert item is not None and item.status is Status.NEW and item.topic_id != "transport"
    assert outbox_count(env) == queued
    assert rows(env, "SELECT COUNT(*) FROM events") == [(0,)]


async def test_a_resident_rates_and_answers_only_their_own_item(env: Env) -> None:
    number = await submitted(env)
    await reviewing.accept(env, admin(env), number, key=None)
    assert (await handling.respond(env, admin(env), number, "已修好。", key=None)).ok
    stranger = await answering.rate(env, resident(env, OTHER_ID), number, "satisfied", key=None)
    assert stranger.refusal is Refusal.FORBIDDEN
    answer = await answering.answer_question(env, resident(env, OTHER_ID), number, "x", key=None)
    assert answer.refusal is Refusal.FORBIDDEN
    own = await answering.rate(env, resident(env), number, "satisfied", key=None)
    assert own.ok and own.item is not None and own.item.rating == "satisfied"
    assert [n.text for n in own.notices] == [
        zh("office.rating", ref=f"#{number}", rating=zh("rating.satisfied"))
    ]
    forged = await answering.rate(env, resident(env), number, "excellent", key=None)
    assert forged.refusal is Refusal.FORBIDDEN


async def test_the_leading_group_instructs_with_its_name(env: Env) -> None:
    number = await submitted(env)
    member = identify(env.settings, 555, Place.LEADING_GROUP, language="zh-Hans", name="张 书记")
    result = await answering.instruct(env, member, number, "请三天内修好", key=None)
    assert result.ok and result.message == zh("group.instruction.saved")
    assert rows(env, "SELECT actor, kind, body FROM events") == [
        ("group:555", "instruction", "张 书记|请三天内修好")
    ]
    refused = await answering.instruct(env, admin(env), number, "我来批示", key=None)
    assert refused.refusal is Refusal.FORBIDDEN


# ---------------------------------------------------------------- the state machine
async def test_an_illegal_move_is_refused_with_the_reason(env: Env) -> None:
    number = await submitted(env)
    queued = outbox_count(env)
    result = await handling.close(env, admin(env), number, key=None)
    assert not result.ok and result.refusal is Refusal.ILLEGAL
    assert result.message == zh(
        "admin.illegal",
        ref=f"#{number}",
        current=zh("status.new"),
        target=zh("status.closed"),
    )
    item = await env.repository.get_submission(number)
    assert item is not None and item.status is Status.NEW
    assert outbox_count(env) == queued
    assert Action.CLOSE not in available(admin(env), env.settings, item)


async def test_actions_needing_a_chat_are_refused_when_it_is_not_configured(
    make_settings: Callable[..., Settings], env: Env
) -> None:
    bare = Env(env.repository, make_settings(roles={"admin_ids": [ADMIN_ID]}), env.secrets)
    number = await submitted(env)
    await reviewing.accept(env, admin(env), number, key=None)
    result = await reviewing.forward(bare, admin(bare), number, key=None)
    assert result.refusal is Refusal.NOT_CONFIGURED and result.message == zh("admin.no_group")
    assert Action.FORWARD not in available(
        admin(bare),
        bare.settings,
        await env.repository.get_submission(number),  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------- once per key
async def test_an_action_applied_again_with_its_key_changes_nothing(env: Env) -> None:
    number = await submitted(env)
    first = await reviewing.accept(env, admin(env), number, key=101)
    assert first.ok and first.status is Status.ACCEPTED and not first.replayed
    assert len(first.notices) == 1  # the sender is told
    queued = outbox_count(env)
    again = await reviewing.accept(env, admin(env), number, key=101)
    assert again.ok and again.replayed and again.notices == () and again.refreshed == 0
    assert again.message == first.message  # acknowledged again
    assert outbox_count(env) == queued
    assert rows(env, "SELECT COUNT(*) FROM history WHERE to_status = 'accepted'") == [(1,)]
    asked = await handling.ask_sender(env, admin(env), number, "在哪个村？", key=102)
    asked_again = await handling.ask_sender(env, admin(env), number, "在哪个村？", key=102)
    assert asked.ok and asked_again.replayed
    assert rows(env, "SELECT COUNT(*) FROM events WHERE kind = 'question'") == [(1,)]


async def test_a_confirmation_replayed_after_a_crash_is_acknowledged_not_stored_again(
    env: Env,
) -> None:
    draft = Draft(kind=Kind.SUGGESTION, parts=["建议增设公交站"], anonymous=False)
    await env.repository.save_draft(RESIDENT_ID, draft)
    stored = await submitting.submit(env, resident(env), draft, chat_id=RESIDENT_ID, key=900)
    again = await submitting.submit(env, resident(env), None, chat_id=RESIDENT_ID, key=900)
    assert stored.item is not None and again.replayed and again.item is not None
    assert again.item.id == stored.item.id and again.message == stored.message
    gone = await submitting.submit(env, resident(env), None, chat_id=RESIDENT_ID, key=901)
    assert gone.refusal is Refusal.GONE


async def test_the_hourly_quota_keeps_the_draft(env: Env) -> None:
    await submitted(env)
    await submitted(env)
    draft = Draft(kind=Kind.PROBLEM, parts=["第三条"], anonymous=True)
    await env.repository.save_draft(RESIDENT_ID, draft)
    result = await submitting.submit(env, resident(env), draft, chat_id=RESIDENT_ID, key=None)
    assert result.refusal is Refusal.LIMIT
    assert await env.repository.get_draft(RESIDENT_ID) is not None


# ---------------------------------------------------------------- notices
async def test_each_action_queues_its_notices(env: Env) -> None:
    number = await submitted(env)  # anonymous: told through the encrypted route
    rejected = await reviewing.reject(env, admin(env), number, "重复<反映>", key=None)
    [notice] = rejected.notices
    assert env.secrets.decrypt_int(notice.chat_enc) == RESIDENT_ID
    assert "重复&lt;反映&gt;" in notice.text  # escaped
    other = await submitted(env)
    await reviewing.accept(env, admin(env), other, key=None)
    forwarded = await reviewing.forward(env, admin(env), other, key=None)
    assert [env.secrets.decrypt_int(n.chat_enc) for n in forwarded.notices] == [GROUP]
    assert forwarded.notices[0].purpose == "group_card" and forwarded.notices[0].card is not None
    answered = await handling.respond(env, admin(env), other, "已修好", key=None)
    assert answered.notices[0].buttons  # the rating buttons
    published = await handling.publish(env, admin(env), other, key=None)
    assert {env.secrets.decrypt_int(n.chat_enc) for n in published.notices} == {
        CHANNEL,
        RESIDENT_ID,
    }


async def test_a_duplicate_needs_another_existing_item(env: Env) -> None:
    first, second = await submitted(env), await submitted(env)
    for bad in (None, second, 99999):
        result = await reviewing.mark_duplicate(env, admin(env), second, bad, key=None)
        assert result.refusal is Refusal.INVALID and result.message == zh("admin.duplicate.bad")
    merged = await reviewing.mark_duplicate(env, admin(env), second, first, key=None)
    assert merged.ok and merged.status is Status.DUPLICATE
    assert await env.repository.followers(first)  # the sender follows the original


async def test_assigning_parses_owner_and_deadline(env: Env) -> None:
    assert handling.parse_assignment("城建办 10") == handling.Assignment("城建办", 10)
    assert handling.parse_assignment("城建办 2026-12-31").due.isoformat() == "2026-12-31"  # type: ignore[union-attr]
    assert handling.parse_assignment("城建办 2026-02-31") == handling.Assignment("城建办")
    assert handling.parse_assignment("   ") is None
    number = await submitted(env)
    result = await handling.assign(
        env, admin(env), number, handling.Assignment("城建办", 3), key=None
    )
    assert result.item is not None and result.item.owner == "城建办"
    assert result.item.deadline is not None
    assert (
        result.item.deadline.astimezone(env.settings.campaign.tz).date().isoformat() == "2026-11-05"
    )


# ---------------------------------------------------------------- card copies
async def test_every_copy_is_refreshed_and_a_private_chat_keeps_no_plain_ids(env: Env) -> None:
    number = await submitted(env)
    [announce] = [r for r in rows(env, "SELECT body FROM outbox WHERE submission_id = ?", number)]
    assert '"card": ["announce"' in str(announce[0])  # recorded as a copy once delivered
    await copies.record(env, number, CopyKind.SHOW, "zh-Hans", OFFICE, 31)
    await copies.record(env, number, CopyKind.REVIEW, "en", ADMIN_ID, 57)
    stored = rows(env, "SELECT place, chat_enc, message_id, message_enc FROM card_copies")
    group_row, private_row = stored
    assert group_row[0] == str(OFFICE) and group_row[2] == 31
    assert private_row[2] is None and str(ADMIN_ID) not in str(private_row[0])
    assert env.secrets.decrypt_int(str(private_row[3])) == 57  # encrypted, to be edited
    assert env.secrets.decrypt_int(str(private_row[1])) == ADMIN_ID

    accepted = await reviewing.accept(env, admin(env), number, key=None)
    assert accepted.refreshed == 2
    edits = rows(env, "SELECT copy_id, chat_enc, body FROM outbox WHERE copy_id IS NOT NULL")
    assert len(edits) == 2
    by_chat = {env.secrets.decrypt_int(str(chat)): str(body) for _, chat, body in edits}
    assert zh("status.accepted") in by_chat[OFFICE]
    assert t("en", "status.accepted") in by_chat[ADMIN_ID]  # in the copy's language
    assert "adm:next:" in by_chat[ADMIN_ID]  # a /review card keeps "next"
    # A newer change replaces the edits not yet sent: one pending edit per copy.
    await handling.start(env, admin(env), number, key=None)
    pending = rows(env, "SELECT copy_id, body FROM outbox WHERE copy_id IS NOT NULL")
    assert len(pending) == 2
    shown = {str(b) for _, b in pending}
    assert any(zh("status.in_progress") in b for b in shown)
    assert any(t("en", "status.in_progress") in b for b in shown)


async def test_a_refused_press_refreshes_the_card_it_came_from(env: Env) -> None:
    number = await submitted(env)
    await reviewing.reject(env, admin(env), number, "不属于本次活动", key=None)
    pressed = Origin(OFFICE, 88, "zh-Hans")  # an old card, never recorded
    result = await reviewing.accept(env, admin(env, Place.OFFICE), number, key=None, origin=pressed)
    assert result.refusal is Refusal.ILLEGAL and result.refreshed == 1
    [(body,)] = rows(env, "SELECT body FROM outbox WHERE copy_id IS NOT NULL")
    assert zh("status.rejected") in str(body)
    # No button left but the office's reopen (#18: a rejected item can come back).
    assert str(body).count("adm:") == 1 and f"adm:rop:{number}" in str(body)
