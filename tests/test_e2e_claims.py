"""End to end (#17, point 9): 认领. A clerk who opens a card sees whether someone else is
working on it ("正在由 X 处理"), so two clerks never answer one item: the claim is taken by
the 认领 button or by starting an answer, shown on every office copy of the card, refuses
another clerk's answer (in the chat and through the core, whatever calls it), lives in the
database (a restart keeps it), and is released by 放弃认领 or after 15 minutes without
action."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.databases import both_backends, rows
from tests.test_e2e_cards import ALICE, CLERK2, OFFICE
from tests.test_e2e_office import office_card, submit

HOLDER = "办公室 小王"  # ADMIN's name as the office sees it


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


make_settings = both_backends()


@pytest.fixture
async def office_bot(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: FrozenClock
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE, "admin_ids": [ADMIN.id, CLERK2.id]},
        limits={"max_submissions_per_hour": 0},
        telegram={"group_max_rate": 600, "outbox_interval": 0.2, "private_max_rate": 0},
    )
    runner = BotRunner(settings, clock)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def card_of(chat: Chat, number: int) -> SentMessage:
    mark = chat.stub.mark()
    chat.stub.send_text(chat.user, f"/show {number}")
    return await chat.stub.wait_for(
        chat.user.id, after=mark, predicate=lambda m: f"#{number}" in m.plain and bool(m.buttons)
    )


def claimed_by(settings: Settings, number: int) -> int | None:
    found = rows(settings, "SELECT claimed_by FROM submissions WHERE id = ?", (number,))
    return None if not found else found[0][0]


def prompts_to(stub: FakeBotApi, chat_id: int, after: int) -> list[SentMessage]:
    return [
        m
        for m in stub.messages_to(chat_id)
        if m.seq > after and "force_reply" in str(m.params.get("reply_markup"))
    ]


async def test_a_claim_shows_on_every_card_and_keeps_a_second_clerk_from_answering(
    stub: FakeBotApi, office_bot: BotRunner, clock: FrozenClock
) -> None:
    settings = office_bot.settings
    number = await submit(Chat(stub, ALICE), "幸福路的井盖丢了很危险", anonymous=True)
    announcement = await office_card(stub, number)
    wang, li = Chat(stub, ADMIN), Chat(stub, CLERK2)

    # 小王 claims it on their /show card: told so; the group's announcement shows who.
    mine = await card_of(wang, number)
    mark = stub.mark()
    told = await wang.tap(mine, zh("admin.action.claim"))
    assert told.plain.startswith(zh("claim.taken", ref=f"#{number}", until="")[:6])
    shown = await stub.wait_for(
        OFFICE,
        after=mark,
        predicate=lambda m: m.message_id == announcement.message_id and HOLDER in m.plain,
    )
    assert zh("field.claimed", name=HOLDER, until="")[:8] in shown.plain
    assert any(label == zh("admin.action.release") for label, _ in shown.buttons)
    assert claimed_by(settings, number) == ADMIN.id

    # 小李 opens the card: sees it; pressing 答复 is refused with who and until when, no
    # prompt is asked; the claim survives a restart (it lives in the database).
    await office_bot.restart()
    theirs = await card_of(li, number)
    assert HOLDER in theirs.plain
    mark = stub.mark()
    refused = await li.tap(theirs, "请提交人补充")
    assert refused.plain.startswith(f"#{number}") and HOLDER in refused.plain
    assert zh("claim.held", ref="", name=HOLDER, until="").split("）", 1)[1] in refused.plain
    assert prompts_to(stub, CLERK2.id, mark) == []

    # 小王 asks (their claim): it goes through, and the question reaches the sender.
    mark = stub.mark()
    prompt = await wang.tap(mine, "请提交人补充")
    assert prompts_to(stub, ADMIN.id, mark)
    stub.send_reply(ADMIN, prompt, "请问井盖具体在幸福路哪一段？")
    await stub.wait_for_text(ALICE.id, "幸福路哪一段", after=mark)


async def test_a_claim_is_released_by_its_clerk_or_after_15_minutes_without_action(
    stub: FakeBotApi, office_bot: BotRunner, clock: FrozenClock
) -> None:
    settings = office_bot.settings
    number = await submit(Chat(stub, ALICE), "村委会门口的路灯坏了", anonymous=False)
    wang, li = Chat(stub, ADMIN), Chat(stub, CLERK2)

    # Starting an answer claims the item: 小李 cannot start one meanwhile.
    mark = stub.mark()
    await wang.tap(await card_of(wang, number), "请提交人补充")
    assert prompts_to(stub, ADMIN.id, mark) and claimed_by(settings, number) == ADMIN.id
    refused = await li.tap(await card_of(li, number), "不予受理")
    assert HOLDER in refused.plain

    # 14 minutes later it still holds; after 15 without action it is gone by itself.
    clock.advance(minutes=14)
    refused = await li.tap(await card_of(li, number), "重复")
    assert HOLDER in refused.plain
    clock.advance(minutes=2)
    card = await card_of(li, number)
    assert HOLDER not in card.plain
    mark = stub.mark()
    await li.tap(card, "不予受理")
    assert prompts_to(stub, CLERK2.id, mark)
    assert claimed_by(settings, number) == CLERK2.id

    # 放弃认领 by its clerk frees it at once; only the holder can release it.
    card = await card_of(wang, number)
    refused = await wang.tap(card, zh("admin.action.release"))
    assert "小李" in refused.plain
    card = await card_of(li, number)
    mark = stub.mark()
    stub.press_button(CLERK2, card, zh("admin.action.release"))
    await stub.wait_for_text(CLERK2.id, zh("claim.released", ref=f"#{number}"), after=mark)
    assert claimed_by(settings, number) is None
    mark = stub.mark()
    await wang.tap(await card_of(wang, number), "不予受理")
    assert prompts_to(stub, ADMIN.id, mark)
