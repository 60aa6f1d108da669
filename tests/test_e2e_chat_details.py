"""End to end (#17, what the last stop noticed): a refreshed /show card keeps its "similar
items" lines (every copy stays identical to a fresh render); 不满意 pressed while the answer
is on its way to the channel tells the sender the truth, not "already closed"."""

from __future__ import annotations

from bot.i18n import t
from tests.botapi_stub import FakeBotApi
from tests.conftest import ADMIN, BotRunner, Chat
from tests.test_e2e_lifecycle import ALICE, CHANNEL, OFFICE, Office, campaign, row
from tests.test_e2e_office import office_card, submit
from tests.test_e2e_publishing import BOB, answered_item

__all__ = ["campaign"]  # the fixture, used by name


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def test_a_refreshed_card_keeps_its_similar_items(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    alice = Chat(stub, ALICE)
    first = await submit(alice, "村口的路灯坏了一个星期", anonymous=True)
    number = await submit(alice, "学校门口的路灯也不亮了", anonymous=True)
    office = Office(stub)
    card = await office.card(number)
    similar = zh("field.similar", value="")
    assert similar in card.plain and f"#{first}" in card.plain
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    edited = await stub.wait_for(
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == card.message_id,
    )
    assert zh("status.accepted") in edited.plain
    assert similar in edited.plain and f"#{first}" in edited.plain
    fresh = await office.card(number)
    assert edited.text == fresh.text  # the copy is what a fresh /show shows


async def test_unsatisfied_while_the_answer_is_being_published(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    mark = stub.mark()
    number = await answered_item(stub, office, "公园的长椅坏了好几张")
    ref = f"#{number}"
    answer = next(
        m for m in stub.messages_to(BOB.id) if m.seq > mark and "has a response" in m.plain
    )
    answer = next(m for m in stub.messages_to(BOB.id) if m.seq >= answer.seq and m.buttons)
    # The channel's flood allowance holds the post back: the item is publishing.
    stub.fail_next("sendMessage", status=429, retry_after=3, chat_id=CHANNEL)
    await office.publish(number)
    await stub.wait_until(lambda: row(campaign.settings, number)["status"] == "publishing")

    mark = stub.mark()
    stub.press_button(BOB, answer, t("en", "rating.unsatisfied"))
    why = await stub.wait_for_text(BOB.id, t("en", "rate.why", ref=ref), after=mark)
    mark = stub.mark()
    stub.press_button(BOB, why, t("en", "rating.reason.unsolved"))
    told = await stub.wait_for_text(BOB.id, t("en", "rating.reason.unsolved"), after=mark)
    reason = t("en", "rating.reason.unsolved")
    assert told.plain == t("en", "rate.unsatisfied_publishing", reason=reason, ref=ref)
    assert "closed" not in told.plain
    assert row(campaign.settings, number)["rating"] == "unsatisfied"


async def test_a_prompt_says_how_it_is_answered_where_it_is_asked(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    """In a private chat the clerk's next message answers a prompt, replied or not: the
    prompt says so, not "请回复本消息"; in the office group (privacy mode) a reply or a
    mention is the way, and it says that."""
    number = await submit(Chat(stub, ALICE), "建议把广场改成停车场", anonymous=True)
    office = Office(stub)
    mark = stub.mark()
    stub.press_button(ADMIN, await office.card(number), "不予受理")
    private = await stub.wait_for(
        ADMIN.id, after=mark, predicate=lambda m: "force_reply" in str(m.params)
    )
    assert zh("admin.prompt.how.private") in private.plain
    assert "请回复本消息" not in private.plain.replace(zh("admin.prompt.how.private"), "")
    stub.send_text(ADMIN, "/cancel")
    announcement = await office_card(stub, number)
    mark = stub.mark()
    stub.press_button(ADMIN, announcement, "不予受理")
    group = await stub.wait_for(
        OFFICE, after=mark, predicate=lambda m: "force_reply" in str(m.params)
    )
    assert zh("admin.prompt.how.group") in group.plain
