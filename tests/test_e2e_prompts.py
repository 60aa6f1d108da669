"""End to end (#17, point 2): the office's prompts (答复, 退回理由, 指派 ...) are ForceReply
messages addressed to the clerk who pressed; in a private chat the clerk's next message
answers within 10 minutes, in the office group (privacy mode: the stand-in withholds the
rest) a reply or a mention of the bot; an answer typed without the reply gesture is shown
to the clerk to confirm before it reaches a resident; /cancel cancels a prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, drafts_of
from tests.databases import both_backends, rows
from tests.test_e2e_office import office_card, status_of, submit
from tests.test_e2e_questions import ShiftedClock, clerk_prompt, clock

OFFICE = -1001234567
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
CLERK2 = FakeUser(id=1000002, first_name="办公室", last_name="小李")


__all__ = ["clock"]  # the fixture, used by name


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


make_settings = both_backends()


@pytest.fixture
async def office_bot(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: ShiftedClock
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE, "admin_ids": [ADMIN.id, CLERK2.id]},
        limits={"max_submissions_per_hour": 0},
    )
    runner = BotRunner(settings, clock=clock)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def prompts(settings: Settings) -> int:
    return int(rows(settings, "SELECT COUNT(*) FROM prompts")[0][0])


async def next_message(stub: FakeBotApi, chat_id: int, mark: int) -> SentMessage:
    return await stub.wait_for(chat_id, after=mark, predicate=lambda m: m.method == "sendMessage")


async def test_group_prompt_is_addressed_to_the_clerk_and_answered_by_mention(
    stub: FakeBotApi, office_bot: BotRunner
) -> None:
    settings = office_bot.settings
    number = await submit(Chat(stub, ALICE), "建议把广场改成停车场", anonymous=True)
    card = await office_card(stub, number)
    prompt = await clerk_prompt(stub, card, "不予受理")
    markup = prompt.params["reply_markup"]
    assert markup.get("force_reply") is True and markup.get("selective") is True
    assert f"tg://user?id={ADMIN.id}" in str(prompt.params["text"])  # the clerk is mentioned

    # Typed in the group without reply or mention: Telegram does not even deliver it.
    assert stub.send_group_text(ADMIN, OFFICE, "广场是居民活动场地") is None
    assert stub.withheld[-1]["text"] == "广场是居民活动场地"
    # With a mention of the bot it arrives, and is shown back to confirm first.
    mark = stub.mark()
    stub.send_group_text(ADMIN, OFFICE, "@jindianzi_test_bot 广场是居民活动场地，<不宜>改")
    echo = await next_message(stub, OFFICE, mark)
    assert "广场是居民活动场地，<不宜>改" in echo.plain
    assert zh("admin.prompt.what.rej") in echo.plain
    assert status_of(settings, number) == "new"
    # Another clerk cannot confirm it for them.
    mark = stub.mark()
    stub.press_button(CLERK2, echo, zh("admin.prompt.send"))
    await stub.wait_for_text(OFFICE, zh("admin.prompt.gone"), after=mark)
    assert status_of(settings, number) == "new"
    mark = stub.mark()
    stub.press_button(ADMIN, echo, zh("admin.prompt.send"))
    notice = await stub.wait_for_text(ALICE.id, "未予受理", after=mark)
    assert "<不宜>" in notice.plain and "@jindianzi_test_bot" not in notice.plain
    assert status_of(settings, number) == "rejected"
    assert prompts(settings) == 0
    # A mention with no prompt waiting is answered, not dropped.
    mark = stub.mark()
    stub.send_group_text(ADMIN, OFFICE, "@jindianzi_test_bot 城建办 10")
    await stub.wait_for_text(OFFICE, zh("admin.prompt.none_here"), after=mark)


async def test_private_prompt_is_answered_by_the_next_message_within_ten_minutes(
    stub: FakeBotApi, office_bot: BotRunner, clock: ShiftedClock
) -> None:
    settings = office_bot.settings
    admin = Chat(stub, ADMIN)
    number = await submit(Chat(stub, BOB), "Please fix the bridge railing", anonymous=False)
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    await stub.wait_for_text(BOB.id, "accepted", after=mark)

    # 指定承办 reaches no resident: the typed answer does it at once.
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    await clerk_prompt(stub, card, "指定承办")
    done = await admin.send("城建办 10", expect="城建办")
    assert "#" in done.plain
    assert [r["owner"] for r in rows(settings, "SELECT owner FROM submissions")] == ["城建办"]

    # 答复 reaches Bob: echoed, held back once, typed again, confirmed.
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    await clerk_prompt(stub, card, "答复")
    echo = await admin.send("栏杆已修好", expect="栏杆已修好")
    assert zh("admin.prompt.what.ans") in echo.plain
    held = await admin.tap(echo, zh("admin.prompt.discard"))
    assert held.plain == zh("admin.prompt.discarded")
    echo = await admin.send("栏杆已于本周修复", expect="栏杆已于本周修复")
    mark = stub.mark()
    await admin.tap(echo, zh("admin.prompt.send"))
    response = await stub.wait_for_text(BOB.id, "has a response", after=mark)
    assert "栏杆已于本周修复" in response.plain and "栏杆已修好" not in response.plain
    assert status_of(settings, number) == "answered"
    assert drafts_of(settings) == []  # none of the clerk's answers became a draft

    # Ten minutes later the clerk's text is their own again (a draft), and says so.
    later = await submit(Chat(stub, BOB), "Please add a bus stop", anonymous=False)
    card = await admin.send(f"/show {later}", expect=f"#{later}")
    await clerk_prompt(stub, card, "请提交人补充")
    await stub.wait_idle(quiet=0.3)  # (the prompt is stored after it is sent)
    clock.advance(minutes=11)
    await admin.send("建议增设路灯", expect=zh("kind.ask"))
    assert prompts(settings) == 1  # a reply to it still works


async def test_cancel_cancels_a_prompt_and_says_so_when_there_is_nothing(
    stub: FakeBotApi, office_bot: BotRunner
) -> None:
    settings = office_bot.settings
    admin = Chat(stub, ADMIN)
    number = await submit(Chat(stub, ALICE), "菜市场周边占道经营", anonymous=True)
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    await clerk_prompt(stub, card, "不予受理")
    cancelled = await admin.send("/cancel")
    assert cancelled.plain == zh("admin.prompt.cancelled", ref=f"#{number}")
    assert prompts(settings) == 0
    nothing = await admin.send("/cancel")
    assert nothing.plain == zh("cancel.nothing")  # not "unknown command"
    assert status_of(settings, number) == "new"

    # In the group: /cancel as a reply to the prompt, then with nothing left.
    group_card = await office_card(stub, number)
    prompt = await clerk_prompt(stub, group_card, "不予受理")
    mark = stub.mark()
    stub.send_group_text(ADMIN, OFFICE, "/cancel", reply_to=prompt)
    await stub.wait_for_text(OFFICE, zh("admin.prompt.cancelled", ref=f"#{number}"), after=mark)
    mark = stub.mark()
    stub.send_group_text(ADMIN, OFFICE, "/cancel")
    await stub.wait_for_text(OFFICE, zh("admin.prompt.nothing"), after=mark)
    assert prompts(settings) == 0 and status_of(settings, number) == "new"
