"""End to end: no item is too large to show (issue 15.1). An item's card is one message
within Telegram's 4096 UTF-16 units whatever the item holds (emoji count two, ``&`` is
escaped to five characters); what the card shortens follows in full, as messages or, when
very long, as a file; the leading group's copy, the response to the sender and the
channel post fit too. The stand-in refuses any message over the limit, as Telegram does."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage, Upload, utf16_len
from tests.conftest import ADMIN, BotRunner, Chat
from tests.test_e2e_lifecycle import Office
from tests.test_e2e_office import submit

OFFICE = -1001234567
GROUP = -1002000000
CHANNEL = -1003000000
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英")
# Ten characters, eleven UTF-16 units, fourteen once escaped.
PATTERN = "路口红绿灯&斑马线😀"


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def nothing_refused(stub: FakeBotApi) -> None:
    too_long = [e for e in stub.errors if "too long" in str(e.response.get("description"))]
    assert too_long == []
    apology = zh("error.apology")
    assert [m for m in stub.sent if m.plain == apology] == []


async def card_and_what_follows(
    stub: FakeBotApi, admin: Chat, command: str, number: int
) -> tuple[SentMessage, list[SentMessage]]:
    mark = stub.mark()
    card = await admin.send(command, expect=f"#{number}")
    await stub.wait_idle(quiet=0.3)
    after = [m for m in stub.messages_to(ADMIN.id) if m.seq > card.seq]
    assert card.seq > mark and card.buttons
    return card, after


async def test_a_long_item_with_many_long_answers_can_be_reviewed(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    runner = BotRunner(settings)
    await runner.start()
    try:
        alice, admin, office = Chat(stub, ALICE), Chat(stub, ADMIN), Office(stub)
        text = PATTERN * 150  # 1,500 characters
        number = await submit(alice, text, anonymous=True)
        mark = stub.mark()
        await office.answer(number, "请提交人补充", "具体是哪个路口？什么时段最堵？")
        question = await stub.wait_for_text(ALICE.id, "具体是哪个路口", after=mark)
        for i in range(12):  # twelve answers of 250 characters to the one question
            mark = stub.mark()
            stub.send_reply(ALICE, question, f"第{i + 1}次补充：" + PATTERN * 24)
            await stub.wait_for_text(ALICE.id, f"#{number}", after=mark)

        cards = []
        for command in ("/review", f"/show {number}"):
            card, after = await card_and_what_follows(stub, admin, command, number)
            cards.append(card)
            assert utf16_len(card.plain) <= 4096
            assert "…" in card.plain  # the text was shortened to fit ...
            assert card.plain.count("第") >= 12  # ... and every answer is on the card
            # ... and the whole text follows.
            follow = "".join(m.plain for m in after if m.method == "sendMessage")
            assert (
                zh("card.full_text", ref=f"#{number}").replace("<b>", "").replace("</b>", "")
                in follow
            )
            assert text in follow.replace("\n", "")
        # The queue is not stuck on it: "next" answers (the only item, again).
        again = await admin.tap(cards[0], "下一条", expect=f"#{number}")
        assert again.buttons
        nothing_refused(stub)
    finally:
        await runner.stop()


async def test_a_very_long_item_its_copies_response_and_post_all_fit(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    stub.channels.add(CHANNEL)
    roles = {"office_chat_id": OFFICE, "leading_group_chat_id": GROUP, "channel_id": CHANNEL}
    settings = make_settings(stub, roles=roles, limits={"max_text_chars": 20000})
    runner = BotRunner(settings)
    await runner.start()
    try:
        alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
        parts = [f"第{i}段：" + PATTERN * 300 for i in range(1, 6)]  # 5 x 3,003 characters
        received = await alice.send("/report " + parts[0])
        for part in parts[1:]:
            received = await alice.send(part)
        proposal = await alice.tap(received, "下一步")
        who = await alice.tap(proposal, "就是这个类别")
        summary = await alice.tap(who, "实名提交")
        await alice.tap(summary, "确认提交", expect="#1")
        whole = "\n\n".join(parts)

        # /show: the card, then the whole text as a file (it would take many messages).
        card, after = await card_and_what_follows(stub, admin, "/show 1", 1)
        assert "…" in card.plain
        [document] = [m for m in after if m.method == "sendDocument"]
        upload = document.params["document"]
        assert isinstance(upload, Upload) and upload.filename == "item-1.txt"
        assert whole in upload.content.decode("utf-8")
        assert document.text == zh("card.full_text_file", ref="#1")

        # The leading group gets the card and, since it cannot /show, the whole text.
        async def press(number: int, label: str) -> SentMessage:
            """Press a button on a fresh card once it and the whole text after it are sent."""
            card, _ = await card_and_what_follows(stub, admin, f"/show {number}", number)
            return await admin.tap(card, label)

        await press(1, "受理")
        mark = stub.mark()
        await press(1, "转领导小组")
        group_card = await stub.wait_for(GROUP, after=mark, predicate=lambda m: "#1" in m.plain)
        await stub.wait_idle(quiet=0.5)
        follow = [m.plain for m in stub.messages_to(GROUP) if m.seq > group_card.seq]
        assert whole.replace("\n", "") in "".join(follow).replace("\n", "")

        # A response of 2,000 characters (3,500 UTF-16 units, far more once escaped).
        response = ("答复&说明😀" * 400)[:2000]
        mark = stub.mark()
        prompt = await press(1, "答复")
        stub.send_reply(ADMIN, prompt, response)
        await stub.wait_until(
            lambda: any(m.buttons for m in stub.messages_to(ALICE.id) if m.seq > mark),
            timeout=10,
        )
        notices = [m for m in stub.messages_to(ALICE.id) if m.seq > mark]
        assert response in "".join(m.plain for m in notices).replace("\n", "")
        assert notices[-1].buttons and not any(m.buttons for m in notices[:-1])  # rating

        mark = stub.mark()
        card, _ = await card_and_what_follows(stub, admin, "/show 1", 1)
        await Office(stub).publish(1, card)  # (the preview, then 确认发布)
        post = await stub.wait_for(CHANNEL, after=mark, timeout=10)
        assert utf16_len(post.plain) <= 4096 and "…" in post.plain
        assert "李 秀英" in post.plain  # the thanks at the end survived the shortening
        nothing_refused(stub)
    finally:
        await runner.stop()
