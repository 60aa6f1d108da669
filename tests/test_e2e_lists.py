"""End to end (#17, points 5 and 6): /queue understands statuses and topics by id or by
name in any configured language, and the views 逾期/overdue and 未签收/unsigned; an unknown
word is answered with the nearest known ones, not only the usage. List lines show the start
of the text and the marks, with a button that opens the card."""

from __future__ import annotations

from bot.i18n import t
from handlers.admin import LIST_LIMIT
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends
from tests.test_e2e_cards import current
from tests.test_e2e_office import ALICE, office, status_of, submit
from tests.test_e2e_questions import clerk_prompt

__all__ = ["office"]  # the fixture, used by name


make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def accepted(stub: FakeBotApi, admin: Chat, number: int) -> SentMessage:
    """Accept ``number`` from a /show card in the clerk's private chat: the card now."""
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    return await stub.wait_for(
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == card.message_id,
    )


async def assigned(stub: FakeBotApi, card: SentMessage, typed: str) -> None:
    prompt = await clerk_prompt(stub, card, "指定承办")
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, typed)
    done = zh("admin.assign.done", ref="#", owner=typed.split()[0], deadline="").split("#")[1]
    await stub.wait_for(  # the answer to the clerk, not an edit of a card
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method == "sendMessage" and done.split("，")[0] in m.plain,
    )


def refs(message: SentMessage) -> set[str]:
    return {word.split()[0] for word in message.plain.split("#")[1:]}


async def test_queue_by_name_overdue_and_unsigned(stub: FakeBotApi, office: BotRunner) -> None:
    alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
    fresh = await submit(alice, "村口的红绿灯坏了", anonymous=True)  # new, transport
    late = await submit(alice, "公交站的红绿灯不亮", anonymous=True)  # overdue
    waiting = await submit(alice, "路口的红绿灯太短", anonymous=True)  # assigned, not late
    started = await submit(alice, "建议在学校门口设红绿灯", anonymous=True)  # being handled
    await assigned(stub, await accepted(stub, admin, late), "城建办 2020-01-01")
    await assigned(stub, await accepted(stub, admin, waiting), "交通办 10")
    card = await accepted(stub, admin, started)
    await assigned(stub, current(stub, card), "教育办 10")
    mark = stub.mark()
    stub.press_button(ADMIN, current(stub, card), "开始办理")
    await stub.wait_for_text(ALICE.id, f"#{started}", after=mark)
    assert status_of(office.settings, started) == "in_progress"

    # A status by its name, in Simplified and Traditional Chinese, or by its id.
    for words in ("/queue 已受理", "/queue ＡＣＣＥＰＴＥＤ", "/queue accepted"):
        listing = await admin.send(words, expect=zh("status.accepted"))
        assert refs(listing) == {str(late), str(waiting)}, words
    # A topic by its name in any language, with a status.
    listing = await admin.send("/queue 待审核 交通出行", expect=zh("status.new"))
    assert f"#{fresh}" in listing.plain
    listing = await admin.send("/queue 待審核 Transport and roads")
    assert f"#{fresh}" in listing.plain

    # The views: past the deadline and still open; not signed for by its unit in time (a
    # free-text owner signs for nothing: 未签收 is a unit's own 签收, #18, in its tests).
    overdue = await admin.send("/queue 逾期", expect=zh("admin.queue.view.overdue"))
    assert refs(overdue) == {str(late)}
    assert "逾期" in overdue.plain.split(f"#{late}", 1)[1]  # the line says by how much
    unsigned = await admin.send("/queue 未签收", expect=zh("admin.queue.view.unsigned"))
    assert refs(unsigned) == set()
    assert refs(await admin.send("/queue overdue 已受理")) == {str(late)}
    assert refs(await admin.send("/queue 未簽收 教育")) == set()

    # An unknown word: said so, with the nearest known words and the usage.
    unknown = await admin.send("/queue 已受")
    assert zh("admin.queue.unknown", word="已受") in unknown.plain
    assert zh("admin.queue.suggest", words="已受理").split("：")[0] in unknown.plain
    assert "已受理" in unknown.plain.split("：", 1)[1]
    assert "/queue" in unknown.plain


async def test_queue_pages_keep_the_view(stub: FakeBotApi, office: BotRunner) -> None:
    alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
    numbers = [
        await submit(alice, f"第{i}个井盖丢了", anonymous=True) for i in range(LIST_LIMIT + 1)
    ]
    first = await admin.send("/queue 待审核", expect=zh("status.new"))
    assert refs(first) == {str(n) for n in numbers[:LIST_LIMIT]}
    mark = stub.mark()
    stub.press_button(ADMIN, first, zh("button.more"))
    second = await stub.wait_for(
        ADMIN.id, after=mark, predicate=lambda m: m.message_id == first.message_id
    )
    assert refs(second) == {str(numbers[-1])}
    assert all(len(data.encode()) <= 64 for _, data in second.buttons)


async def test_list_lines_show_the_text_marks_and_open_the_card(
    stub: FakeBotApi, office: BotRunner
) -> None:
    """Point 5: each line of /queue, /search, /my and the card's similar items shows the
    start of the text (escaped), the marks, and /queue and /search a button per item that
    opens its card."""
    alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
    long = "幸福路的红绿灯" + "坏了很久，" * 20
    first = await submit(alice, long, anonymous=True)
    second = await submit(alice, "红绿灯 <b>不亮</b> & 没人管", anonymous=False)
    await assigned(stub, await accepted(stub, admin, second), "交通办 10")

    listing = await admin.send("/queue 待审核", expect=zh("status.new"))
    assert "幸福路的红绿灯坏了很久" in listing.plain and long not in listing.plain
    assert "…" in listing.plain
    unsigned = await admin.send("/queue 已受理", expect=zh("status.accepted"))
    assert "红绿灯 <b>不亮</b> & 没人管" in unsigned.plain  # escaped: shown literally
    assert zh("field.unsigned") not in unsigned.plain  # a free-text owner: no 签收 (#18)
    assert f"#{second}" in [label for label, _ in unsigned.buttons]

    # A line's button opens the item's card, with its actions.
    mark = stub.mark()
    stub.press_button(ADMIN, unsigned, f"#{second}")
    card = await stub.wait_for(  # a new card (not an edit of the earlier /show's copy)
        ADMIN.id,
        after=mark,
        predicate=lambda m: (
            m.method == "sendMessage" and f"#{second}" in m.plain and bool(m.buttons)
        ),
    )
    assert any("开始办理" in label for label, _ in card.buttons)
    similar = card.plain.split(zh("field.similar", value=""), 1)[1]  # the earlier item
    assert similar.split("\n")[1].strip().startswith(f"#{first} 幸福路的红绿灯坏了很久")

    found = await admin.send("/search 红绿灯", expect=f"#{second}")
    assert "没人管" in found.plain and "幸福路的红绿灯" in found.plain
    assert {f"#{first}", f"#{second}"} <= {label for label, _ in found.buttons}

    mine = await alice.send("/my", expect=f"#{first}")
    assert "幸福路的红绿灯坏了很久" in mine.plain and "没人管" in mine.plain

    # Someone who is not in the office cannot open a card with the same button data.
    mark = stub.mark()
    stub.press(ALICE, mine, f"ado:{first}")
    await stub.wait_until(lambda: stub.answered_callbacks[-1].get("text") == zh("button.stale"))
    assert [m for m in stub.messages_to(ALICE.id) if m.seq > mark and "受理" in m.plain] == []
