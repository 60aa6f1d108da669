"""End to end: one rating per round, and the office's notices about an item coalesced
(issue 15.6).

One resident pressed the rating button 60 times: 60 messages to the office chat and 60
events, and the next item's announcement waited three minutes behind them at the group's
flood limit (20 a minute). Now a round (each answer the sender receives) is rated once:
a second press changes nothing and says so in the button's toast; notices to the office
about one item within ``office.notice_window`` come as one message after the first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import BotRunner, Chat, FrozenClock
from tests.databases import both_backends, rows
from tests.test_e2e_lifecycle import Office
from tests.test_e2e_office import submit
from tests.webdesk import started

OFFICE = -1001234567
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def count(settings: Settings, sql: str, *params: object) -> int:
    return int(rows(settings, sql, params)[0][0])


make_settings = both_backends()


@pytest.fixture
async def office_bot(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        office={"notice_window": 3},
    )
    async with started(settings) as runner:
        yield runner


async def answered(stub: FakeBotApi, user: FakeUser, text: str) -> tuple[int, SentMessage]:
    """An item of ``user``'s, accepted and answered: its number and the response."""
    number = await submit(Chat(stub, user), text, anonymous=user is ALICE)
    office = Office(stub)
    await office.press(number, "受理")
    mark = stub.mark()
    await office.answer(number, "答复", "已经安排处理，谢谢您的建议。")
    response = await stub.wait_for(
        user.id, after=mark, predicate=lambda m: bool(m.buttons), timeout=10
    )
    return number, response


async def test_sixty_presses_give_one_rating_and_hold_up_no_announcement(
    stub: FakeBotApi, office_bot: BotRunner
) -> None:
    settings = office_bot.settings
    # Telegram's limits, enforced by the stand-in: 20 messages a minute in the office group.
    stub.enforce_flood_limits()
    number, response = await answered(stub, BOB, "Please repair the swings in the park")
    ref = f"#{number}"
    datas = [data for _, data in response.buttons]
    assert all(f"rate:{number}:1:" in data for data in datas)  # round 1
    mark = stub.mark()
    answered_before = len(stub.answered_callbacks)
    for i in range(60):  # a modified client, or a resident who keeps tapping
        stub.press(BOB, response, datas[i % 3])
    await stub.wait_until(lambda: len(stub.answered_callbacks) >= answered_before + 60, timeout=20)

    # The next item is announced at once, not after the office got 60 messages.
    other = await submit(Chat(stub, ALICE), "幸福路的下水道堵了", anonymous=True)
    announcement = await stub.wait_for(
        OFFICE, after=mark, predicate=lambda m: f"#{other} " in m.plain, timeout=15
    )
    assert announcement.buttons
    await stub.wait_idle(quiet=3.5)  # longer than the notice window

    assert count(settings, "SELECT COUNT(*) FROM ratings WHERE submission_id = ?", number) == 1
    assert (
        count(
            settings,
            "SELECT COUNT(*) FROM events WHERE submission_id = ? AND kind = 'rating'",
            number,
        )
        == 1
    )
    [(rating,)] = rows(settings, "SELECT rating FROM submissions WHERE id = ?", (number,))
    assert rating == "satisfied"  # the first press; the others changed nothing
    about = [m for m in stub.messages_to(OFFICE) if m.seq > mark and ref in m.plain]
    assert 1 <= len(about) <= 2
    assert about[0].plain == zh("office.rating", ref=ref, rating=zh("rating.satisfied"))
    # The resident was thanked once; every other press was answered in its toast.
    to_bob = [m for m in stub.messages_to(BOB.id) if m.seq > mark]
    assert [m.plain for m in to_bob if m.method == "sendMessage"] == [
        t("en", "rate.thanks", rating=t("en", "rating.satisfied"))
    ]
    presses = stub.answered_callbacks[answered_before : answered_before + 60]
    toasts = [a.get("text") for a in presses]
    already = t("en", "rate.already", ref=ref, rating=t("en", "rating.satisfied"))
    assert toasts.count(already) == 59 and toasts.count(None) == 1
    assert stub.flood is not None
    assert [r for r in stub.flood.refused if r[2] == OFFICE] == []  # within the group's limit


def sent(stub: FakeBotApi, chat_id: int, mark: int) -> list[SentMessage]:
    """The new messages to ``chat_id`` after ``mark`` (not the edits of its card copies)."""
    return [m for m in stub.messages_to(chat_id) if m.seq > mark and m.method.startswith("send")]


async def test_a_burst_of_notices_about_one_item_comes_as_at_most_two_messages(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """The general mechanism: a sender answering the office's question ten times in a row
    (each answer kept as its own event) reaches the office chat as two messages, in
    order, all ten in them: the first at once, the rest together when the window
    (30 s by default) has passed. The bot's clock stands still until then."""
    clock = FrozenClock(datetime.now(UTC))
    runner = BotRunner(make_settings(stub, roles={"office_chat_id": OFFICE}), clock=clock)
    await runner.start()
    try:
        office = Office(stub)
        number = await submit(Chat(stub, ALICE), "菜市场门口的路灯坏了", anonymous=True)
        ref = f"#{number}"
        mark = stub.mark()
        await office.answer(number, "请提交人补充", "是哪一盏路灯？")
        question = await stub.wait_for_text(ALICE.id, "哪一盏", after=mark)
        mark = stub.mark()
        for i in range(10):
            stub.send_reply(ALICE, question, f"第{i + 1}次补充：靠近东门")
        answers = "SELECT COUNT(*) FROM events WHERE submission_id = ? AND kind = 'answer'"
        await stub.wait_until(lambda: count(runner.settings, answers, number) == 10, timeout=20)
        first = await stub.wait_for_text(OFFICE, "第1次补充", after=mark, new=True)
        await stub.wait_idle(quiet=1.0)
        assert sent(stub, OFFICE, mark) == [first]
        clock.advance(seconds=30)
        rest = await stub.wait_for_text(OFFICE, "第10次补充", after=first.seq, timeout=10, new=True)
        await stub.wait_idle(quiet=1.0)
        about = sent(stub, OFFICE, mark)
        assert about == [first, rest]
        joined = "\n".join(m.plain for m in about)
        positions = [joined.index(f"第{i + 1}次补充：") for i in range(10)]
        assert positions == sorted(positions)
        assert all(ref in m.plain for m in about)
    finally:
        await runner.stop()


async def test_buttons_sent_before_rounds_existed_rate_the_first_round(
    stub: FakeBotApi, office_bot: BotRunner
) -> None:
    number, response = await answered(stub, ALICE, "建议在小学门口加装减速带")
    chat = Chat(stub, ALICE)
    old_style = f"rate:{number}:basically"  # what the buttons carried before 0017
    thanks = await chat.tap_data(response, old_style)
    assert thanks.plain == zh("rate.thanks", rating=zh("rating.basically"))
    answered_before = len(stub.answered_callbacks)
    stub.press(ALICE, response, f"rate:{number}:1:unsatisfied")
    await stub.wait_until(lambda: len(stub.answered_callbacks) > answered_before)
    assert stub.answered_callbacks[-1].get("text") == zh(
        "rate.already", ref=f"#{number}", rating=zh("rating.basically")
    )
    stored = rows(office_bot.settings, "SELECT round, rating FROM ratings")
    assert [tuple(r) for r in stored] == [(1, "basically")]
