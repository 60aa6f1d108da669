"""End to end: 附议 (me too, #20) through the real Application and the stand-in. Offered
under a published response in the channel and under the acknowledgement of an item very
like an open one; counted once per person (their support tag for that item: anonymous
senders included, nothing linking their items); supporters follow the item; the count
shows on the card, in /queue (sortable) and in the ledger."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable

import openpyxl
import pytest

from bot.config import Settings
from bot.i18n import tn
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends
from tests.test_e2e_entering import rows, zh
from tests.test_e2e_export import document_after
from tests.test_e2e_lifecycle import Office
from tests.test_e2e_office import submit

make_settings = both_backends()


OFFICE = -1001234567
CHANNEL = -1003000000
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="王", last_name="小明")
CAROL = FakeUser(id=555000222, first_name="张", last_name="红")


@pytest.fixture
async def campaign(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    stub.channels.add(CHANNEL)
    roles = {"office_chat_id": OFFICE, "channel_id": CHANNEL}
    runner = BotRunner(make_settings(stub, roles=roles, limits={"max_submissions_per_hour": 0}))
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def press(stub: FakeBotApi, user: FakeUser, message: SentMessage, data: str) -> str:
    """Press a button; the text of the notification the bot answered it with."""
    answered = len(stub.answered_callbacks)
    stub.press(user, message, data)
    await stub.wait_until(lambda: len(stub.answered_callbacks) > answered)
    return str(stub.answered_callbacks[answered].get("text"))


async def test_me_too_under_a_published_response_counts_once_per_person_and_follows(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    settings = campaign.settings
    text = "建议在幸福路口增设红绿灯，过马路太危险"
    number = await submit(Chat(stub, ALICE), text, anonymous=True)
    office = Office(stub)
    await office.press(number, "受理")
    await office.answer(number, "答复", "已联系交警大队，下月安装。")
    mark = stub.mark()
    await office.publish(number)
    post = await stub.wait_for(CHANNEL, after=mark, predicate=lambda m: bool(m.buttons))
    data = f"sup:{number}"
    assert [d for _, d in post.buttons] == [data]

    ref = f"#{number}"
    assert await press(stub, BOB, post, data) == zh("support.done", ref=ref, n=1)
    assert await press(stub, BOB, post, data) == zh("support.already", ref=ref, n=1)
    assert await press(stub, CAROL, post, data) == zh("support.done", ref=ref, n=2)
    # The anonymous sender is recognised by their item's tag, and cannot inflate it.
    assert await press(stub, ALICE, post, data) == zh("support.own", ref=ref)
    [item] = rows(settings, "SELECT support, owner_tag FROM submissions")
    assert item["support"] == 2
    tags = [r["tag"] for r in rows(settings, "SELECT tag FROM supporters")]
    assert len(set(tags)) == 2 and item["owner_tag"] not in tags
    everything = " ".join(str(v) for r in rows(settings, "SELECT * FROM supporters") for v in r)
    for plain in (str(BOB.id), str(CAROL.id), "王", "张"):
        assert plain not in everything

    # On the card, and the supporters hear of the item's closing like its sender.
    card = await office.card(number)
    assert tn("zh-Hans", "field.support", 2, n=2) in card.plain
    mark = stub.mark()
    await office.press(number, "销号")
    for user in (BOB, CAROL):
        notice = await stub.wait_for_text(user.id, ref, after=mark)
        assert "销号" in notice.plain

    # The ledger counts them.
    mark = stub.mark()
    stub.send_text(ADMIN, "/export")
    upload = await document_after(stub, mark)
    sheet = openpyxl.load_workbook(io.BytesIO(upload.content), read_only=True).active
    header, line = list(sheet.iter_rows(values_only=True))[:2]
    assert line[header.index(zh("ledger.support"))] == 2
    assert stub.errors == []


async def test_a_very_similar_item_offers_me_too_and_queue_sorts_by_support(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    settings = campaign.settings
    other = await submit(Chat(stub, CAROL), "建议在广场多装几把长椅", anonymous=False)
    first = await submit(Chat(stub, ALICE), "村口的路灯坏了一个星期，晚上很黑", anonymous=False)
    bob = Chat(stub, BOB)
    received = await bob.send("/suggest 村口的路灯坏了一个多星期了，晚上很黑")
    proposal = await bob.tap(received, zh("button.next").split()[0])
    who = await bob.tap(proposal, zh("topic.accept").split(" ", 1)[-1])
    summary = await bob.tap(who, zh("identity.named").split(" ", 1)[-1])
    ack = await bob.tap(summary, zh("button.confirm").split(" ", 1)[-1], expect="#")
    assert zh("ack.similar", ref=f"#{first}") in ack.plain
    assert [d for _, d in ack.buttons] == [f"sup:{first}"]
    assert await press(stub, BOB, ack, f"sup:{first}") == zh("support.done", ref=f"#{first}", n=1)
    support = {r["id"]: r["support"] for r in rows(settings, "SELECT id, support FROM submissions")}
    assert support[first] == 1 and support[other] == 0

    # Sorted by support in /queue, and shown there.
    admin = Chat(stub, ADMIN)
    listed = await admin.send("/queue new 附议", expect=f"#{first}")
    lines = [line for line in listed.plain.splitlines() if "#" in line]
    assert f"#{first} " in lines[0] and zh("admin.queue.support", n=1) in lines[0]
    assert f"#{other} " in lines[1] or f"#{other} " in lines[2]
    oldest_first = await admin.send("/queue new", expect=f"#{first}")
    assert f"#{other} " in next(ln for ln in oldest_first.plain.splitlines() if "#" in ln)

    # Bob follows #first: its response reaches him too.
    office = Office(stub)
    await office.press(first, "受理")
    mark = stub.mark()
    await office.answer(first, "答复", "路灯已于周三修好。")
    notice = await stub.wait_for_text(BOB.id, "路灯已于周三修好", after=mark)
    assert f"#{first}" in notice.plain


DAVE = FakeUser(id=555000333, first_name="赵", last_name="四")


async def test_the_channel_post_shows_the_count_and_a_burst_is_one_edit(
    stub: FakeBotApi, campaign: BotRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 附议 count on the post itself: the post is a copy of the item, edited through
    the outbox; three 附议 in a row are one edit (held for the window, showing the last
    count), a later one another edit."""
    monkeypatch.setattr("bot.core.supporting.EDIT_HOLD_SECONDS", 1.5)
    number = await submit(Chat(stub, ALICE), "建议在菜市场门口加装路灯", anonymous=False)
    office = Office(stub)
    await office.press(number, "受理")
    await office.answer(number, "答复", "已列入本月计划。")
    mark = stub.mark()
    await office.publish(number)  # the preview (#17), then 确认发布
    post = await stub.wait_for(CHANNEL, after=mark, predicate=lambda m: bool(m.buttons))
    assert [label for label, _ in post.buttons] == [zh("support.button")]
    data = f"sup:{number}"
    await stub.wait_until(
        lambda: bool(rows(campaign.settings, "SELECT 1 FROM card_copies WHERE kind = 'channel'"))
    )

    def edits(after: int) -> list[SentMessage]:
        return [
            m
            for m in stub.sent
            if m.seq > after
            and m.chat_id == CHANNEL
            and m.method == "editMessageText"
            and m.message_id == post.message_id
        ]

    mark = stub.mark()
    for user in (BOB, CAROL, DAVE):
        assert await press(stub, user, post, data) == zh(
            "support.done", ref=f"#{number}", n=[BOB, CAROL, DAVE].index(user) + 1
        )
    assert edits(mark) == []  # held: nothing yet
    edited = await stub.wait_for(
        CHANNEL,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == post.message_id,
    )
    three = tn("zh-Hans", "support.button_count", 3, n=3)
    assert [label for label, _ in edited.buttons] == [three]
    assert [d for _, d in edited.buttons] == [data]
    assert "已列入本月计划" in edited.plain  # the same post, its count updated
    await stub.wait_idle(quiet=2.0)
    assert len(edits(mark)) == 1  # a burst of three: one edit
    mark = stub.mark()
    assert await press(stub, ALICE, post, data) == zh("support.own", ref=f"#{number}")
    erin = FakeUser(id=555000444, first_name="钱", last_name="五")
    assert await press(stub, erin, post, data) == zh("support.done", ref=f"#{number}", n=4)
    later = await stub.wait_for(
        CHANNEL,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == post.message_id,
    )
    assert [label for label, _ in later.buttons] == [tn("zh-Hans", "support.button_count", 4, n=4)]
    assert stub.errors == []
