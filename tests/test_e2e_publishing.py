"""End to end: an item is published only once its channel post went out (issue 15.2).

A 1,500-emoji item whose channel post Telegram refused for good used to become 已公开 at the
press of the button, and the office was told "给 #13 提交人的消息未能送达" although the
message was the channel post. Now the item is ``publishing`` until the post is delivered:
then it is published, and the sender and the admin are told; when the post fails for good,
or its outcome stays unknown, it goes back to 已答复 with the reason in its record, nobody
is told it was published, and the office's warning names the channel.
"""

from __future__ import annotations

from bot.config import Settings
from bot.core.presenters import telegram_error
from bot.i18n import t
from tests import test_e2e_lifecycle
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends, rows
from tests.test_e2e_lifecycle import CHANNEL, GROUP, OFFICE, Office, row
from tests.test_e2e_office import submit

BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
NOT_MEMBER = "Forbidden: bot is not a member of the channel chat"


make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def plain(html: str) -> str:
    return html.replace("<b>", "").replace("</b>", "")


def delivery_failed(ref: str, recipient: str, error: str) -> str:
    """The office's warning about a message to ``recipient`` (recipient.<key>) refused,
    Telegram's ``error`` in the office's words where it has them (#17)."""
    said = telegram_error("zh-Hans", error)
    return plain(
        zh("admin.delivery_failed", ref=ref, recipient=zh(f"recipient.{recipient}"), error=said)
    )


def history(settings: Settings, number: int) -> list[tuple[str, str, str, str | None]]:
    sql = (
        "SELECT actor, from_status, to_status, note FROM history WHERE submission_id = ?"
        " ORDER BY id"
    )
    return [tuple(r) for r in rows(settings, sql, (number,))]


# The bot of the lifecycle tests: the office chat, the leading group, the channel.
campaign = test_e2e_lifecycle.campaign


async def answered_item(stub: FakeBotApi, office: Office, text: str) -> int:
    """An item from Bob, accepted and answered (Bob has the response)."""
    number = await submit(Chat(stub, BOB), text, anonymous=False)
    await office.press(number, "受理")
    mark = stub.mark()
    await office.answer(number, "答复", "已安排维修，本周内完成。")
    await stub.wait_for_text(BOB.id, "has a response", after=mark)
    return number


async def test_a_channel_post_refused_for_good_leaves_the_item_answered(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    number = await answered_item(stub, office, "路灯坏了" + "😀" * 1500)
    ref = f"#{number}"

    stub.fail_next("sendMessage", status=403, description=NOT_MEMBER, chat_id=CHANNEL)
    mark = stub.mark()
    said = await office.publish(number)
    assert said.plain == plain(zh("admin.publishing", ref=ref))
    warning = await stub.wait_for_text(OFFICE, ref, after=mark, timeout=10, new=True)
    # The warning names the channel post, not a message to the sender.
    # (Telegram's refusal in the office's words, #17.)
    error = telegram_error("zh-Hans", NOT_MEMBER)
    assert warning.plain == plain(zh("admin.publish_failed", ref=ref, error=error))
    assert zh("recipient.sender") not in warning.plain
    await stub.wait_idle(quiet=0.5)

    item = row(campaign.settings, number)
    assert (item["status"], item["published_at"], item["channel_message_id"]) == (
        "answered",
        None,
        None,
    )
    *_, publishing, back = history(campaign.settings, number)
    assert publishing[1:3] == ("answered", "publishing")
    assert back == ("system", "publishing", "answered", NOT_MEMBER)
    # Nobody was told it was published: not the sender, not the admin.
    assert [m for m in stub.messages_to(BOB.id) if m.seq > mark] == []
    assert zh("admin.published", ref=ref) not in [m.plain for m in stub.messages_to(ADMIN.id)]
    assert stub.messages_to(CHANNEL) == []

    # The card says why, and offers publishing again; /failed names the channel too.
    card = await office.card(number)
    assert zh("status.answered") in card.plain
    assert zh("history.publish_failed", status=zh("status.answered")) in card.plain
    assert NOT_MEMBER in card.plain
    assert any("公开" in label for label, _ in card.buttons)
    failed = await office.chat.send("/failed", expect=ref)
    assert f"{ref} → {zh('recipient.channel')}" in failed.plain
    # The sender's own view shows neither the attempt nor the Bot API's error.
    own = await Chat(stub, BOB).send(f"/status {number}", expect=ref)
    assert NOT_MEMBER not in own.plain and t("en", "status.publishing") not in own.plain

    # The channel lets the bot in: publishing again goes through.
    mark = stub.mark()
    await office.publish(number)
    post = await stub.wait_for_text(CHANNEL, ref, after=mark, timeout=10)
    assert "😀" in post.plain
    await stub.wait_for_text(BOB.id, "published", after=mark)
    confirmed = await stub.wait_for_text(
        ADMIN.id, plain(zh("admin.published", ref=ref)), after=mark
    )
    assert any("销号" in label for label, _ in confirmed.buttons)
    item = row(campaign.settings, number)
    assert item["status"] == "published" and item["channel_message_id"] == post.message_id
    assert item["published_at"] is not None
    assert history(campaign.settings, number)[-1][:3] == ("system", "publishing", "published")


async def test_a_post_whose_outcome_stays_unknown_is_not_called_published(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    """Telegram's answers to the post cannot be read, twice: it may be in the channel, or
    not. It is sent no third time, the item is not reported published, and the office is
    asked to look at the channel before publishing again."""
    office = Office(stub)
    number = await answered_item(stub, office, "建议在菜市场门口设临时停车位")
    ref = f"#{number}"
    stub.misbehave(CHANNEL, "not_json")
    mark, calls = stub.mark(), len(stub.calls)
    await office.publish(number)
    warning = await stub.wait_for_text(OFFICE, ref, after=mark, timeout=15, new=True)
    assert zh("admin.publish_unknown", ref=ref, error="").split("：")[0] in warning.plain
    stub.behave(CHANNEL)
    await stub.wait_idle(quiet=0.5)
    posts = [
        c
        for c in stub.calls[calls:]
        if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(CHANNEL)
    ]
    assert len(posts) == 2  # the post and its one retry after an unknown outcome
    item = row(campaign.settings, number)
    assert item["status"] == "answered" and item["published_at"] is None
    assert history(campaign.settings, number)[-1][:3] == ("system", "publishing", "answered")
    assert [m for m in stub.messages_to(BOB.id) if m.seq > mark] == []


async def test_while_the_post_is_on_its_way_nothing_else_can_be_done(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    """A second press of 公开 (or 销号 from an older card) while the post waits for the
    channel's flood allowance changes nothing; the post goes out once."""
    office = Office(stub)
    number = await answered_item(stub, office, "公园的长椅坏了好几张")
    ref = f"#{number}"
    card = await office.card(number)
    stub.fail_next("sendMessage", status=429, retry_after=3, chat_id=CHANNEL)
    mark = stub.mark()
    await office.publish(number, card)
    await stub.wait_until(lambda: row(campaign.settings, number)["status"] == "publishing")
    for label in ("公开", "销号"):
        refusal = await office.chat.tap(card, label, expect=ref)
        assert zh("status.publishing") in refusal.plain
    assert row(campaign.settings, number)["status"] == "publishing"
    publishing_card = await office.card(number)
    assert zh("status.publishing") in publishing_card.plain and publishing_card.buttons == []
    await stub.wait_for_text(CHANNEL, ref, after=mark, timeout=10)
    await stub.wait_for_text(BOB.id, "published", after=mark)
    await stub.wait_idle(quiet=0.5)
    assert len(stub.messages_to(CHANNEL)) == 1
    assert row(campaign.settings, number)["status"] == "published"


async def test_every_failure_notice_names_whom_the_message_was_for(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    """The leading group's copy and a notice to the sender, refused for good: each warning
    says where the message was going."""
    office = Office(stub)
    number = await submit(
        Chat(stub, BOB), "Please fix the pothole on Market Street", anonymous=False
    )
    ref = f"#{number}"
    await office.press(number, "受理")
    stub.fail_next(
        "sendMessage", status=400, description="Bad Request: chat not found", chat_id=GROUP
    )
    mark = stub.mark()
    await office.press(number, "转领导小组")
    to_group = await stub.wait_for_text(OFFICE, ref, after=mark, timeout=10, new=True)
    # (python-telegram-bot drops "Bad Request: ")
    assert to_group.plain == delivery_failed(ref, "group", "Chat not found")
    stub.block_user(BOB.id)
    mark = stub.mark()
    await office.press(number, "开始办理")
    to_sender = await stub.wait_for_text(OFFICE, ref, after=mark, timeout=10, new=True)
    assert to_sender.plain == delivery_failed(
        ref, "sender", "Forbidden: bot was blocked by the user"
    )
