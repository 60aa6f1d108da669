"""End to end (#17, point 1): the office's question to a sender stays open, and what the
sender sends next (typed without Telegram's reply gesture: text, a photo, a voice note, a
document, a location) is offered to the item first, named or anonymous; nothing per
person is stored to find it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, drafts_of
from tests.databases import both_backends, columns, rows, stored_bytes
from tests.test_e2e_lifecycle import Office
from tests.test_e2e_office import submit

OFFICE = -1001234567
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


class ShiftedClock:
    """The real time, moved forward by hand (the outbox's jobs need time to pass)."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def advance(self, **delta: float) -> None:
        self.shift += timedelta(**delta)


make_settings = both_backends()


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
async def office_bot(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: ShiftedClock
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        # Each answer's notice is read as it comes; their coalescing within the window
        # (#15.6) is test_e2e_rating's.
        office={"notice_window": 0},
    )
    runner = BotRunner(settings, clock=clock)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def ask(stub: FakeBotApi, number: int, question: str, sender: FakeUser) -> SentMessage:
    """The clerk asks the sender of ``number`` a question; the question as it reaches them."""
    card = await Office(stub).card(number)
    await stub.wait_idle(quiet=0.2)  # its files and locations follow the card
    prompt = await clerk_prompt(stub, card, "请提交人补充")
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, question)
    return await stub.wait_for_text(sender.id, question, after=mark)


async def clerk_prompt(stub: FakeBotApi, card: SentMessage, label: str) -> SentMessage:
    """Press ``label`` on ``card``: the prompt (a ForceReply) it asks the clerk."""
    mark = stub.mark()
    stub.press_button(ADMIN, card, label)
    return await stub.wait_for(
        card.chat_id,
        after=mark,
        predicate=lambda m: "force_reply" in str(m.params.get("reply_markup")),
    )


def answers(settings: Settings, number: int) -> list[str]:
    sql = "SELECT body FROM events WHERE submission_id = ? AND kind = 'answer' ORDER BY id"
    return [r[0] for r in rows(settings, sql, (number,))]


def attachment_types(settings: Settings, number: int) -> list[str]:
    sql = "SELECT type FROM attachments WHERE submission_id = ? ORDER BY position"
    return [r[0] for r in rows(settings, sql, (number,))]


async def offered(stub: FakeBotApi, user: FakeUser, mark: int) -> SentMessage:
    return await stub.wait_for(
        user.id, after=mark, predicate=lambda m: any(d.startswith("qa:") for _, d in m.buttons)
    )


async def test_answers_typed_without_reply_are_offered_to_the_item(
    stub: FakeBotApi, office_bot: BotRunner
) -> None:
    settings = office_bot.settings
    alice = Chat(stub, ALICE)
    number = await submit(alice, "幸福路的井盖丢了很危险", anonymous=False)
    ref = f"#{number}"
    sends: list[tuple[str, Callable[[], int]]] = [
        ("text", lambda: stub.send_text(ALICE, "在幸福路和建设路交叉口")),
        ("photo", lambda: stub.send_photo(ALICE, file_id="PHOTO-HOLE")),
        ("voice", lambda: stub.send_voice(ALICE, file_id="VOICE-HOLE")),
        ("document", lambda: stub.send_document(ALICE, file_id="DOC-HOLE")),
        ("location", lambda: stub.send_location(ALICE, 30.25, 120.5)),
    ]
    for kind, send in sends:
        question = await ask(stub, number, f"请补充{kind}", ALICE)
        # The phone opens reply mode by itself; but she just sends the answer.
        assert question.params["reply_markup"].get("force_reply") is True
        mark = stub.mark()
        send()
        offer = await offered(stub, ALICE, mark)
        labels = [label for label, _ in offer.buttons]
        assert labels == [zh("question.attach", ref=ref), zh("question.new")], kind
        mark = stub.mark()
        stub.press_button(ALICE, offer, zh("question.attach", ref=ref))
        await stub.wait_for_text(ALICE.id, zh("notify.answer_saved", ref=ref), after=mark)
        told = await stub.wait_for_text(OFFICE, f"{ref} 的提交人补充", after=mark)
        if kind != "text":
            assert tn("zh-Hans", f"attachment.{kind}", 1, n=1) in told.plain
    assert answers(settings, number)[0] == "在幸福路和建设路交叉口"
    assert attachment_types(settings, number) == ["photo", "voice", "document", "location"]
    assert drafts_of(settings) == []  # none of it became a new draft
    # Answered: the question is closed, the next message is a new submission again.
    mark = stub.mark()
    stub.send_text(ALICE, "另外，建议在学校门口设减速带")
    await stub.wait_for_text(ALICE.id, zh("kind.ask"), after=mark)
    assert rows(settings, "SELECT COUNT(*) FROM held_messages")[0][0] == 0


async def test_anonymous_sender_with_two_open_questions_picks_the_item(
    stub: FakeBotApi, office_bot: BotRunner
) -> None:
    settings = office_bot.settings
    alice, bob = Chat(stub, ALICE), Chat(stub, BOB)
    first = await submit(alice, "村干部办事推诿，群众意见很大", anonymous=True)
    second = await submit(alice, "菜市场周边占道经营严重", anonymous=True)
    others = await submit(bob, "More benches in the park please", anonymous=True)
    await ask(stub, first, "是哪个村？", ALICE)
    await ask(stub, second, "大概几点钟最严重？", ALICE)
    await ask(stub, others, "Which park?", BOB)

    mark = stub.mark()
    stub.send_text(ALICE, "早上七点到九点")
    offer = await offered(stub, ALICE, mark)
    labels = [label for label, _ in offer.buttons]
    assert labels == [
        zh("question.attach", ref=f"#{first}"),
        zh("question.attach", ref=f"#{second}"),
        zh("question.new"),
    ]  # Bob's item is not hers: not offered
    # Someone else cannot place her message, even with the button's data.
    intruder = await bob.tap_data(await bob.send("/help"), offer.buttons[1][1])
    assert intruder.plain == t("en", "question.held_gone")
    mark = stub.mark()
    stub.press_button(ALICE, offer, f"#{second}")
    await stub.wait_for_text(ALICE.id, zh("notify.answer_saved", ref=f"#{second}"), after=mark)
    told = await stub.wait_for_text(OFFICE, "早上七点到九点", after=mark)
    assert f"#{second}" in told.plain
    for identity in ("987654321", "秀英", "li_xiuying"):
        assert identity not in told.plain
    assert answers(settings, second) == ["早上七点到九点"] and answers(settings, first) == []

    # One question left; her next message is new after all: it becomes a draft.
    mark = stub.mark()
    stub.send_text(ALICE, "建议周末开放学校操场")
    offer = await offered(stub, ALICE, mark)
    assert [label for label, _ in offer.buttons] == [
        zh("question.attach", ref=f"#{first}"),
        zh("question.new"),
    ]
    kind = await alice.tap(offer, zh("question.new"), expect=zh("kind.ask"))
    assert kind.buttons  # suggestion or problem
    assert any("建议周末开放学校操场" in d for d in drafts_of(settings))
    assert answers(settings, first) == []
    # What the database holds to find her open question: nothing per person.
    kept = set(columns(settings, "open_questions"))
    assert kept == {"submission_id", "status", "asked_at", "expires_at"}
    assert rows(settings, "SELECT COUNT(*) FROM held_messages")[0][0] == 0
    for where, content in stored_bytes(settings).items():
        assert b"987654321" not in content, where


async def test_a_question_closes_when_the_item_moves_on_or_after_seven_days(
    stub: FakeBotApi, office_bot: BotRunner, clock: ShiftedClock
) -> None:
    alice = Chat(stub, ALICE)
    moved = await submit(alice, "小区垃圾清运不及时", anonymous=False)
    await ask(stub, moved, "是哪个小区？", ALICE)
    await Office(stub).press(moved, "受理")  # the item moved on: no longer waiting
    mark = stub.mark()
    stub.send_text(ALICE, "阳光小区")
    await stub.wait_for_text(ALICE.id, zh("kind.ask"), after=mark)
    await alice.send("/cancel")

    waiting = await submit(alice, "公交站没有遮雨棚", anonymous=True)
    await ask(stub, waiting, "是哪一站？", ALICE)
    clock.advance(days=6, hours=23)
    mark = stub.mark()
    stub.send_text(ALICE, "人民医院站")
    offer = await offered(stub, ALICE, mark)
    stub.press_button(ALICE, offer, zh("question.new"))
    await stub.wait_for_text(ALICE.id, zh("kind.ask"), after=mark)
    await alice.send("/cancel")
    clock.advance(hours=2)  # seven days after it was asked
    mark = stub.mark()
    stub.send_text(ALICE, "人民医院站")
    await stub.wait_for_text(ALICE.id, zh("kind.ask"), after=mark)
