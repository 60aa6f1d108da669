"""End to end: an item's whole life through the office, the leading group and the channel,
for a named and an anonymous sender; duplicates; questions to the sender; overdue flags."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends, rows, sqlite_only
from tests.test_e2e_office import submit

OFFICE = -1001234567
GROUP = -1002000000
CHANNEL = -1003000000
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
SECRETARY = FakeUser(id=700000001, first_name="张", last_name="书记")

# The duplicates (followers) and the overdue listing on SQLite and on PostgreSQL (#24); the two
# lives walk the statements of the office's, loop's and publishing's tests there, and the
# anonymous one reads SQLite's files: SQLite only.
make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def row(settings: Settings, number: int) -> Any:
    """Item ``number``'s row, by name, on either backend."""
    [found] = rows(settings, "SELECT * FROM submissions WHERE id = ?", (number,))
    return found


@pytest.fixture
async def campaign(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    stub.channels.add(CHANNEL)
    roles = {"office_chat_id": OFFICE, "leading_group_chat_id": GROUP, "channel_id": CHANNEL}
    runner = BotRunner(make_settings(stub, roles=roles))
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


class Office:
    """The clerk working from a private chat with the bot."""

    def __init__(self, stub: FakeBotApi) -> None:
        self.stub = stub
        self.chat = Chat(stub, ADMIN)

    async def card(self, number: int) -> SentMessage:
        return await self.chat.send(f"/show {number}", expect=f"#{number}")

    async def press(self, number: int, label: str) -> SentMessage:
        """Press a button on a fresh card; the bot's next message."""
        card = await self.card(number)
        return await self.chat.tap(card, label)

    async def publish(self, number: int, card: SentMessage | None = None) -> SentMessage:
        """公开 on a fresh card (or ``card``): the preview (#17), then 确认发布 on it; the
        bot's next message."""
        card = card or await self.card(number)
        mark = self.stub.mark()
        self.stub.press_button(ADMIN, card, "公开")
        note = await self.stub.wait_for(
            ADMIN.id,
            after=mark,
            predicate=lambda m: any(d.startswith(f"adm:pok:{number}:") for _, d in m.buttons),
        )
        return await self.chat.tap(note, "确认发布")

    async def answer(self, number: int, label: str, text: str) -> SentMessage:
        """Press a button that asks a question, reply to it, and return the bot's answer."""
        prompt = await self.press(number, label)
        assert f"#{number}" in prompt.plain
        mark = self.stub.mark()
        self.stub.send_reply(ADMIN, prompt, text)
        # (not an edit: the item's cards are refreshed too)
        return await self.stub.wait_for(
            ADMIN.id, after=mark, predicate=lambda m: m.method == "sendMessage"
        )


@sqlite_only
async def test_named_item_from_submission_to_closing(stub: FakeBotApi, campaign: BotRunner) -> None:
    office = Office(stub)
    number = await submit(
        Chat(stub, BOB), "The bridge railing on River Road is broken", anonymous=False
    )

    mark = stub.mark()
    await office.press(number, "受理")
    await stub.wait_for_text(BOB.id, "accepted", after=mark)

    # Forwarded: the leading group gets a copy of the card, and answers by replying to it.
    mark = stub.mark()
    await office.press(number, "转领导小组")
    copy = await stub.wait_for_text(GROUP, f"#{number}", after=mark)
    assert copy.method == "sendMessage"  # copied, never forwarded
    assert "Bob" in copy.plain  # a named sender chose to be known
    mark = stub.mark()
    stub.send_reply(SECRETARY, copy, "请城建办三天内修好，注意安全")
    await stub.wait_for_text(GROUP, zh("group.instruction.saved"), after=mark)
    told = await stub.wait_for_text(OFFICE, "三天内修好", after=mark)
    assert "张 书记" in told.plain
    assert row(campaign.settings, number)["status"] == "forwarded"

    # Assigned with a deadline in days.
    done = await office.answer(number, "指定承办", "城建办 3")
    assert "城建办" in done.plain
    item = row(campaign.settings, number)
    assert item["owner"] == "城建办" and item["deadline"] is not None

    # Responded: the sender gets the response in English with rating buttons.
    mark = stub.mark()
    await office.answer(number, "答复", "栏杆已于本周修复。Railing repaired this week.")
    response = await stub.wait_for_text(BOB.id, "has a response", after=mark)
    assert "Railing repaired" in response.plain
    assert [label for label, _ in response.buttons] == [
        t("en", "rating.satisfied"),
        t("en", "rating.basically"),
        t("en", "rating.unsatisfied"),
    ]
    # Someone else cannot rate it, even with the right button data.
    alice = Chat(stub, ALICE)
    intruder = await alice.tap_data(await alice.send("/help"), response.buttons[2][1])
    assert intruder.plain == zh("button.stale")
    thanks = await Chat(stub, BOB).tap(response, t("en", "rating.satisfied"))
    own = await Chat(stub, BOB).send(f"/status {number}", expect="Railing repaired")
    assert t("en", "rating.satisfied") in own.plain
    assert thanks.plain == t("en", "rate.thanks", rating=t("en", "rating.satisfied"))
    assert row(campaign.settings, number)["rating"] == "satisfied"

    # Published to the channel, with thanks by name; the post is linked from the item.
    mark = stub.mark()
    await office.publish(number)
    post = await stub.wait_for_text(CHANNEL, f"#{number}", after=mark)
    assert "Railing repaired" in post.plain and "Bob" in post.plain
    await stub.wait_for_text(BOB.id, "published", after=mark)
    # The admin hears it was published once the post is out (#15.2).
    await stub.wait_for_text(ADMIN.id, zh("admin.published", ref=f"#{number}"), after=mark)
    await stub.wait_until(lambda: row(campaign.settings, number)["channel_message_id"] is not None)
    assert row(campaign.settings, number)["channel_message_id"] == post.message_id
    linked = await office.card(number)
    assert f"https://t.me/c/3000000/{post.message_id}" in linked.text  # type: ignore[operator]

    # Closed (销号); the history shows every step.
    mark = stub.mark()
    await office.press(number, "销号")
    await stub.wait_for_text(BOB.id, "closed", after=mark)
    detail = await office.card(number)
    for status in ("accepted", "forwarded", "answered", "published", "closed"):
        assert zh(f"status.{status}") in detail.plain
    assert "三天内修好" in detail.plain and "城建办" in detail.plain
    assert detail.buttons == []  # nothing more to do
    assert stub.errors == []


@sqlite_only
async def test_anonymous_item_life_cycle_never_reveals_the_sender(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    alice = Chat(stub, ALICE)
    number = await submit(alice, "村干部办事推诿，群众意见很大", anonymous=True)
    await office.press(number, "受理")

    # The office asks a question; the anonymous sender's answer is attached.
    mark = stub.mark()
    await office.answer(number, "请提交人补充", "是哪个村？大概什么时候？")
    question = await stub.wait_for_text(ALICE.id, "什么时候", after=mark)
    mark = stub.mark()
    stub.send_reply(ALICE, question, "东村，上个月")
    await stub.wait_for_text(ALICE.id, zh("notify.answer_saved", ref=f"#{number}"), after=mark)
    told = await stub.wait_for_text(OFFICE, "东村", after=mark)
    assert "李" not in told.plain

    mark = stub.mark()
    await office.press(number, "转领导小组")
    copy = await stub.wait_for_text(GROUP, f"#{number}", after=mark)
    stub.send_reply(SECRETARY, copy, "纪委介入核查")
    instruction = await stub.wait_for_text(OFFICE, "纪委介入核查", after=mark)
    await office.answer(number, "指定承办", "纪检组")
    await office.answer(number, "答复", "已约谈相关村干部并通报批评。")
    response = await stub.wait_for_text(ALICE.id, "约谈", after=mark)
    await alice.tap(response, zh("rating.basically"))
    mark = stub.mark()
    await office.publish(number)
    post = await stub.wait_for_text(CHANNEL, f"#{number}", after=mark)
    await stub.wait_for_text(ADMIN.id, zh("admin.published", ref=f"#{number}"), after=mark)

    mark = stub.mark()
    await office.press(number, "销号")
    await stub.wait_for_text(ALICE.id, "销号", after=mark)
    assert row(campaign.settings, number)["status"] == "closed"
    for message in (copy, post, told, instruction):
        for identity in ("987654321", "秀英", "li_xiuying"):
            assert identity not in message.plain
    assert "感谢" not in post.plain  # an anonymous sender is not thanked by name
    path = campaign.settings.storage.path
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for file in path.parent.iterdir():
        if file.name.startswith(path.name):
            assert b"987654321" not in file.read_bytes()


async def test_duplicates_are_merged_and_both_senders_told(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    original = await submit(Chat(stub, BOB), "Streetlight at the east gate is out", anonymous=False)
    duplicate = await submit(Chat(stub, ALICE), "东门的路灯不亮了", anonymous=True)

    mark = stub.mark()
    bad = await office.answer(duplicate, "重复", f"#{duplicate}")
    assert bad.plain == zh("admin.duplicate.bad")
    await office.answer(duplicate, "重复", f"#{original}")
    await stub.wait_for_text(ALICE.id, f"#{original}", after=mark)
    await stub.wait_for_text(BOB.id, "same as your", after=mark)
    assert row(campaign.settings, duplicate)["status"] == "duplicate"
    assert row(campaign.settings, duplicate)["duplicate_of"] == original

    # The duplicate's sender follows the original.
    mark = stub.mark()
    await office.press(original, "受理")
    follow = await stub.wait_for(
        ALICE.id, after=mark, predicate=lambda m: f"#{original}" in m.plain
    )
    assert "受理" in follow.plain


async def test_overdue_items_are_flagged(stub: FakeBotApi, campaign: BotRunner) -> None:
    office = Office(stub)
    number = await submit(Chat(stub, BOB), "Potholes on the school road", anonymous=False)
    await office.press(number, "受理")
    past = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    await office.answer(number, "指定承办", f"交通办 {past}")
    card = await office.card(number)
    assert "逾期" in card.plain
    listing = await office.chat.send("/queue accepted", expect=f"#{number}")
    assert "逾期" in listing.plain
