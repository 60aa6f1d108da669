"""End to end: items the office enters on residents' behalf (#20, ``/enter``) through the
real Application and the stand-in: heard on the phone or at a meeting, found in a box;
named (a name and a phone number, kept only for named items) or anonymous (nothing kept);
they walk the same workflow, and what their sender would be told reaches the clerk as a
回访 (call-back) task whose buttons record the person's satisfaction as the rating."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import openpyxl
import pytest

from bot.config import Settings
from bot.i18n import t
from tests import databases
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.test_e2e_export import document_after
from tests.test_e2e_lifecycle import Office

OFFICE = -1001234567
CHANNEL = -1003000000
BOB = FakeUser(id=555000111, first_name="王", last_name="小明")
PLACES = [
    {"id": "chengguan", "names": {"zh-Hans": "城关镇", "en": "Chengguan"}},
    {"id": "dongcun", "names": {"zh-Hans": "东村", "en": "East Village"}, "parent": "chengguan"},
]


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def rows(settings: Settings, sql: str, *params: object) -> list[Any]:
    """The rows of ``sql`` in the bot's database, SQLite's or PostgreSQL's (by name)."""
    return databases.rows(settings, sql, params)


# The tests here run on SQLite and on PostgreSQL (#24), but the refusals: they store nothing.
make_settings = databases.both_backends()


@pytest.fixture
async def office(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    stub.channels.add(CHANNEL)
    settings = make_settings(
        stub, roles={"office_chat_id": OFFICE, "channel_id": CHANNEL}, places=PLACES
    )
    runner = BotRunner(settings)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def number_in(message: SentMessage) -> int:
    found = re.search(r"#(\d+)", message.plain)
    assert found is not None, message.plain
    return int(found[1])


async def card_of(admin: Chat, number: int) -> SentMessage:
    return await admin.send(f"/show {number}", expect=f"#{number}")


async def test_a_named_phone_call_walks_the_workflow_with_callback_tasks(
    stub: FakeBotApi, office: BotRunner
) -> None:
    admin = Chat(stub, ADMIN)
    mark = stub.mark()
    done = await admin.send(
        "/enter 电话 问题 东村 张三 13800001111\n村口的路灯坏了一个星期，晚上很黑", expect="#"
    )
    number = number_in(done)
    assert done.plain == zh("enter.done", ref=f"#{number}", source="电话").replace(
        "<b>", ""
    ).replace("</b>", "")
    [item] = rows(office.settings, "SELECT * FROM submissions")
    assert (item["source"], item["contact_name"], item["contact_phone"]) == (
        "phone",
        "张三",
        "13800001111",
    )
    assert item["anonymous"] == 0 and item["sender_user_id"] is None
    assert item["owner_tag"] is None and item["place_id"] == "dongcun"
    assert item["topic_id"] == item["suggested_topic_id"]  # the tagger's proposal
    [first] = rows(office.settings, "SELECT actor FROM history WHERE submission_id = ?", number)
    assert first["actor"] == f"admin:{ADMIN.id}"  # the clerk, not a sender

    # Announced to the office like any item, with the source and who to call.
    card = await stub.wait_for(
        OFFICE, after=mark, predicate=lambda m: f"#{number}" in m.plain and bool(m.buttons)
    )
    assert zh("field.source", value="电话") in card.plain
    assert "张三 (13800001111)" in card.plain and "城关镇 / 东村" in card.plain

    # Accepted: what the sender would be told is a 回访 task in the clerk's chat.
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    task = await stub.wait_for_text(ADMIN.id, "回访任务", after=mark)
    assert "张三 (13800001111)" in task.plain and f"#{number}" in task.plain
    assert "已受理" in task.plain
    assert task.buttons == []  # nothing to record yet

    # The response: the task carries the rating buttons; the clerk records what was said.
    prompt = await admin.tap(await card_of(admin, number), "答复")
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, "路灯已于周三修好。")
    task = await stub.wait_for(
        ADMIN.id, after=mark, predicate=lambda m: "回访任务" in m.plain and bool(m.buttons)
    )
    assert "路灯已于周三修好。" in task.plain
    assert all(data.startswith(f"cbr:{number}:") for _, data in task.buttons)
    mark = stub.mark()
    stub.press_button(ADMIN, task, zh("rating.satisfied"))
    await stub.wait_for_text(
        ADMIN.id,
        zh("callback.recorded", ref=f"#{number}", rating=zh("rating.satisfied")),
        after=mark,
    )
    await stub.wait_for_text(OFFICE, "回访结果", after=mark)
    [item] = rows(office.settings, "SELECT rating, status FROM submissions")
    assert (item["rating"], item["status"]) == ("satisfied", "answered")
    [event] = rows(office.settings, "SELECT actor, kind, body FROM events WHERE kind = 'rating'")
    assert (event["actor"], event["body"]) == (f"admin:{ADMIN.id}", "satisfied")

    # Published: the channel thanks the person by the name they gave, never the phone.
    mark = stub.mark()
    await Office(stub).publish(number, await card_of(admin, number))
    post = await stub.wait_for_text(CHANNEL, "路灯已于周三修好", after=mark)
    assert "张三" in post.plain and "13800001111" not in post.plain

    # The ledger: the source is a column; the name is the person's.
    mark = stub.mark()
    stub.send_text(ADMIN, "/export")
    upload = await document_after(stub, mark)
    sheet = openpyxl.load_workbook(io.BytesIO(upload.content), read_only=True).active
    header, line = list(sheet.iter_rows(values_only=True))[:2]
    assert line[header.index(zh("ledger.source"))] == "电话"
    assert line[header.index(zh("ledger.sender"))] == "张三"
    assert stub.errors == []


async def test_an_anonymous_box_slip_in_the_office_group_keeps_nothing_about_anyone(
    stub: FakeBotApi, office: BotRunner
) -> None:
    """Typed in the office group (privacy mode: the bot sees the command with its lines);
    nobody to call back, nothing that could identify anyone."""
    mark = stub.mark()
    stub.send_group_text(ADMIN, OFFICE, "/enter 意见箱 建议 匿名\n建议在广场边多装几把长椅")
    done = await stub.wait_for_text(OFFICE, "✅", after=mark)
    number = number_in(done)
    [item] = rows(office.settings, "SELECT * FROM submissions")
    assert item["anonymous"] == 1 and item["source"] == "box"
    assert item["contact_name"] is None and item["contact_phone"] is None
    assert item["reply_route"] is None and item["sender_user_id"] is None
    assert item["owner_tag"]  # random: no pseudonym of anyone matches it
    card = await stub.wait_for(
        OFFICE, after=mark, predicate=lambda m: f"#{number}" in m.plain and bool(m.buttons)
    )
    assert zh("summary.anonymous") in card.plain
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    await stub.wait_for_text(OFFICE, zh("status.accepted"), after=mark)
    await stub.wait_idle(quiet=1.0)  # (the outbox sends every 0.3 s)
    assert not any("回访" in m.plain for m in stub.sent if m.seq > mark)


@databases.sqlite_only
async def test_bad_entries_are_explained_and_store_nothing(
    stub: FakeBotApi, office: BotRunner
) -> None:
    admin = Chat(stub, ADMIN)
    usage = await admin.send("/enter")
    assert "/enter" in usage.plain and "座谈会" in usage.plain
    checks = {
        "/enter 微信 问题 张三\n内容": "enter.bad_source",
        "/enter 电话 表扬 张三\n内容": "enter.bad_kind",
        "/enter 电话 问题 张三 13800001111": "enter.no_text",
        "/enter 电话 问题 匿名 13800001111\n内容": "enter.anonymous_contact",
        "/enter 电话 问题 张三 13800001111 13900002222\n内容": "enter.bad_contact",
    }
    for text, key in checks.items():
        answer = await admin.send(text)
        assert answer.plain == zh(key), text
    # Not an administrator: the command is not the office's (answered as unknown).
    await Chat(stub, BOB).send("/enter 电话 问题 张三\n内容")
    assert rows(office.settings, "SELECT id FROM submissions") == []


async def test_an_entered_item_is_stored_once_when_its_update_is_replayed(
    stub: FakeBotApi, office: BotRunner
) -> None:
    """The same update twice (Telegram resends it after a lost answer): one item."""
    update_id = stub.send_text(ADMIN, "/enter 座谈会 建议 - 匿名\n希望多办几场法律讲座")
    await stub.wait_for_text(ADMIN.id, "✅")
    await stub.wait_processed(update_id)
    stub.deliver_again(update_id)
    await stub.wait_idle(quiet=1.0)
    assert len(rows(office.settings, "SELECT id FROM submissions")) == 1
