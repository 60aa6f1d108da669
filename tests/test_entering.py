"""The office's entered items without Telegram (bot.core.entering): the fields as a clerk
types them in any language, who may enter, what is stored of a named and an anonymous
person, and the 回访 tasks that replace notices to a sender who has no Telegram account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import answering, entering, handling, reviewing
from bot.core.access import Place, identify
from bot.core.entering import Entry, parse_entry
from bot.core.env import Env
from bot.core.records import RATINGS
from bot.core.results import Refusal
from bot.core.workflow import Kind, Status
from bot.i18n import t
from storage.repository import Repository
from tests.conftest import FrozenClock

ADMIN_ID = 1000001
OFFICE = -1001234567
PLACES = [
    {"id": "chengguan", "names": {"zh-Hans": "城关镇", "en": "Chengguan"}},
    {"id": "dongcun", "names": {"zh-Hans": "东村", "en": "East Village"}, "parent": "chengguan"},
]


@pytest.fixture
async def env(make_settings: Callable[..., Settings]) -> AsyncIterator[Env]:
    settings = make_settings(
        roles={"admin_ids": [ADMIN_ID], "office_chat_id": OFFICE}, places=PLACES
    )
    secrets = Secrets.generate()
    clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    repository = Repository(settings.storage.path, clock=clock, secrets=secrets)
    await repository.connect()
    try:
        yield Env(repository, settings, secrets)
    finally:
        await repository.close()


def test_fields_in_any_language(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(places=PLACES)
    assert parse_entry(settings, "电话 问题 东村 张三 13800001111\n路灯坏了") == Entry(
        "phone", Kind.PROBLEM, "路灯坏了", "dongcun", "张三", "13800001111"
    )
    assert parse_entry(settings, "座談會 建議 匿名\n多辦講座") == Entry(
        "meeting", Kind.SUGGESTION, "多辦講座"
    )
    assert parse_entry(settings, "box suggestion East Village anonymous\nMore benches") == Entry(
        "box", Kind.SUGGESTION, "More benches", "dongcun"
    )
    assert parse_entry(settings, "visit problem - Zhang San\nline 1\nline 2") == Entry(
        "visit", Kind.PROBLEM, "line 1\nline 2", None, "Zhang San"
    )
    for text, key in {
        "": "enter.usage",
        "电话 问题": "enter.usage",
        "微信 问题 张三\nx": "enter.bad_source",
        "电话 表扬 张三\nx": "enter.bad_kind",
        "电话 问题 东村\nx": "enter.usage",
        "电话 问题 张三\n  ": "enter.no_text",
        "电话 问题 匿名 张三\nx": "enter.anonymous_contact",
        "电话 问题 张三 13800001111 13900002222\nx": "enter.bad_contact",
        f"电话 问题 {'张' * 65}\nx": "enter.bad_contact",
    }.items():
        assert parse_entry(settings, text) == key, text


async def test_only_the_office_enters_and_nothing_about_an_anonymous_person_is_kept(
    env: Env,
) -> None:
    resident = identify(env.settings, 4242, Place.PRIVATE, language="zh-Hans")
    slip = Entry("box", Kind.SUGGESTION, "建议多装长椅")
    refused = await entering.enter(env, resident, slip, chat_id=4242, key=None)
    assert refused.refusal is Refusal.FORBIDDEN
    clerk = identify(env.settings, ADMIN_ID, Place.OFFICE, language="zh-Hans")
    bad = Entry("box", Kind.SUGGESTION, "x", place_id="nowhere")
    assert (await entering.enter(env, clerk, bad, chat_id=OFFICE, key=None)).refusal is (
        Refusal.INVALID
    )
    result = await entering.enter(env, clerk, slip, chat_id=OFFICE, key=7)
    assert result.ok and result.item is not None
    item = result.item
    assert item.anonymous and item.entered and item.reply_route is None
    assert item.contact_name is None and item.sender is None
    assert len(result.notices) == 1  # the office's announcement
    # Nobody to tell: accepting it queues no notice, no 回访 task.
    accepted = await reviewing.accept(env, clerk, item.id, key=8)
    assert accepted.ok and accepted.notices == ()
    again = await entering.enter(env, clerk, slip, chat_id=OFFICE, key=7)  # a replay
    assert again.replayed and again.item is not None and again.item.id == item.id


async def test_a_named_items_notices_become_callback_tasks_and_the_result_its_rating(
    env: Env,
) -> None:
    clerk = identify(env.settings, ADMIN_ID, Place.PRIVATE, language="zh-Hans")
    call = Entry("phone", Kind.PROBLEM, "路灯坏了", "dongcun", "张三", "13800001111")
    item = (await entering.enter(env, clerk, call, chat_id=ADMIN_ID, key=None)).item
    assert item is not None and not item.anonymous and item.sender is None
    assert env.secrets.decrypt_int(item.reply_route or "") == ADMIN_ID  # the clerk's chat
    accepted = await reviewing.accept(env, clerk, item.id, key=None)
    [task] = accepted.notices
    assert env.secrets.decrypt_int(task.chat_enc) == ADMIN_ID
    assert "回访任务" in task.text and "张三 (13800001111)" in task.text
    assert task.purpose is None and task.buttons == ()
    responded = await handling.respond(env, clerk, item.id, "已修好", key=None)
    [task] = [n for n in responded.notices if "回访任务" in n.text]
    assert [data for row in task.buttons for _, data in row] == [
        f"cbr:{item.id}:1:{r}"
        for r in RATINGS  # the answer's rating round, as the sender's
    ]
    # The resident's own rating does not apply (there is none); the clerk's does.
    resident = identify(env.settings, ADMIN_ID, Place.PRIVATE, language="zh-Hans")
    assert not (await answering.rate(env, resident, item.id, "satisfied", key=None)).ok
    recorded = await answering.record_callback(env, clerk, item.id, "basically", round_=1, key=None)
    assert recorded.ok and recorded.item is not None
    assert recorded.item.rating == "basically" and recorded.item.status is Status.ANSWERED
    # Once per round, like the sender's own rating: a second result is refused as done.
    again = await answering.record_callback(env, clerk, item.id, "satisfied", round_=1, key=None)
    assert again.refusal is Refusal.DONE and again.message == t(
        "zh-Hans", "callback.already", ref=f"#{item.id}", rating=t("zh-Hans", "rating.basically")
    )
    # An older or a future round's buttons record nothing either.
    future = await answering.record_callback(env, clerk, item.id, "satisfied", round_=2, key=None)
    assert not future.ok and await env.repository.ratings(item.id) == [(1, "basically")]
    # A callback result is only for entered items: a chat item's sender rates it.
    assert not (await answering.record_callback(env, clerk, 999, "satisfied", key=None)).ok
