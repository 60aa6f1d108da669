"""End to end (#17, point 8): every copy of an item's card the bot sent (the office
group's announcement, /show, /review, the leading group's copy) is edited when the item
changes, however it changed; /review keeps its "next" button; a refused press refreshes
the card it came from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.test_e2e_office import office_card, status_of, submit
from tests.test_e2e_questions import clerk_prompt

OFFICE = -1001234567
GROUP = -1002000000
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
CLERK2 = FakeUser(id=1000002, first_name="办公室", last_name="小李")


GROUP_WAIT = 10.0


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def office_bot(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={
            "office_chat_id": OFFICE,
            "leading_group_chat_id": GROUP,
            "admin_ids": [ADMIN.id, CLERK2.id],
        },
        limits={"max_submissions_per_hour": 0},
        # Not a flood test: the office group's edits are not spaced 3 s apart here.
        telegram={"group_max_rate": 600},
    )
    runner = BotRunner(settings)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def current(stub: FakeBotApi, card: SentMessage) -> SentMessage:
    """The card as it shows now (its last send or edit)."""
    return [m for m in stub.messages_to(card.chat_id) if m.message_id == card.message_id][-1]


async def edited(stub: FakeBotApi, card: SentMessage, mark: int, status: str) -> SentMessage:
    return await stub.wait_for(
        card.chat_id,
        after=mark,
        predicate=lambda m: (
            m.method.startswith("edit")
            and m.message_id == card.message_id
            and zh(f"status.{status}") in m.plain
        ),
        timeout=GROUP_WAIT,
    )


async def test_every_copy_follows_the_item_and_a_refused_press_refreshes_its_card(
    stub: FakeBotApi, office_bot: BotRunner
) -> None:
    settings = office_bot.settings
    number = await submit(Chat(stub, ALICE), "幸福路的井盖丢了很危险", anonymous=True)
    announcement = await office_card(stub, number)
    clerk2 = Chat(stub, CLERK2)
    review = await clerk2.send("/review", expect=f"#{number}")
    assert any("下一条" in label for label, _ in review.buttons)
    shown = await Chat(stub, ADMIN).send(f"/show {number}", expect=f"#{number}")
    await stub.wait_idle(quiet=0.2)

    # One clerk accepts on the review card: every copy says so, /review keeps "next".
    mark = stub.mark()
    stub.press_button(CLERK2, review, "受理")
    for card in (announcement, review, shown):
        await edited(stub, card, mark, "accepted")
    after_review = current(stub, review)
    assert any("下一条" in label for label, _ in after_review.buttons)
    assert not any(
        label.endswith("受理") and "不予" not in label for label, _ in after_review.buttons
    )

    # The other presses 受理 on the announcement as it was: refused with the reason, and
    # that very card is edited to show the item as it is now (here it already does:
    # Telegram answers "not modified", which is success).
    calls = len(stub.calls)
    mark = stub.mark()
    stub.press(ADMIN, announcement, f"adm:st:accepted:{number}")
    refusal = await stub.wait_for_text(
        OFFICE, zh("status.accepted"), after=mark, new=True, timeout=GROUP_WAIT
    )
    assert "#" in refusal.plain

    def refreshed() -> bool:
        return any(
            c.method == "editMessageText"
            and c.params.get("chat_id") == OFFICE
            and c.params.get("message_id") == announcement.message_id
            for c in stub.calls[calls:]
        )

    await stub.wait_until(refreshed, timeout=GROUP_WAIT)
    assert zh("status.accepted") in current(stub, announcement).plain

    # Forwarded: the leading group's copy is kept current too, without buttons.
    mark = stub.mark()
    stub.press_button(ADMIN, current(stub, announcement), "转领导小组")
    copy = await stub.wait_for_text(GROUP, f"#{number}", after=mark, timeout=GROUP_WAIT)
    assert copy.buttons == []

    # A prompt's answer (assign) refreshes every copy, the group's included.
    prompt = await clerk_prompt(stub, current(stub, shown), "指定承办")
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, "城建办 10")
    for card in (announcement, review, shown, copy):
        await stub.wait_for(
            card.chat_id,
            after=mark,
            predicate=lambda m, c=card: (
                m.method.startswith("edit")  # type: ignore[misc]
                and m.message_id == c.message_id
                and "城建办" in m.plain
            ),
            timeout=GROUP_WAIT,
        )
    assert current(stub, copy).buttons == []
    assert any("下一条" in label for label, _ in current(stub, review).buttons)

    # A response typed in the group with a mention, then confirmed, refreshes them too.
    prompt = await clerk_prompt(stub, current(stub, announcement), "答复")
    mark = stub.mark()
    stub.send_group_text(ADMIN, OFFICE, "@jindianzi_test_bot 井盖已于今天补上")
    echo = await stub.wait_for_text(OFFICE, "井盖已于今天补上", after=mark, timeout=GROUP_WAIT)
    assert prompt.message_id != echo.message_id
    mark = stub.mark()
    stub.press_button(ADMIN, echo, zh("admin.prompt.send"))
    for card in (announcement, review, shown, copy):
        await edited(stub, card, mark, "answered")
    assert status_of(settings, number) == "answered"
    assert not any("答复" in label for label, _ in current(stub, announcement).buttons)
    assert [label for label, _ in current(stub, review).buttons if "下一条" in label]
