"""End to end: the campaign office reviews items from Telegram, senders are told, and
nobody else can act (real Application against the stand-in)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends, database

OFFICE = -1001234567
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")


make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def status_of(settings: Settings, number: int) -> str:
    with database(settings) as db:
        row = db.execute("SELECT status FROM submissions WHERE id = ?", (number,)).fetchone()
    return str(row[0])


@pytest.fixture
async def office(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    # Many submissions from the same few residents: no hourly limit here.
    settings = make_settings(
        stub, roles={"office_chat_id": OFFICE}, limits={"max_submissions_per_hour": 0}
    )
    runner = BotRunner(settings)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def submit(chat: Chat, text: str, *, anonymous: bool) -> int:
    english = (chat.user.language_code or "").startswith("en")
    lang = "en" if english else "zh-Hans"
    received = await chat.send("/suggest " + text)
    proposal = await chat.tap(received, t(lang, "button.next").split()[0])
    who = await chat.tap(proposal, t(lang, "topic.accept").split(" ", 1)[-1])
    label = t(lang, "identity.anonymous" if anonymous else "identity.named").split(" ", 1)[-1]
    summary = await chat.tap(who, label)
    ack = await chat.tap(summary, t(lang, "button.confirm").split(" ", 1)[-1], expect="#")
    return int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))


async def office_card(stub: FakeBotApi, number: int, *, timeout: float = 5) -> SentMessage:
    return await stub.wait_for(
        OFFICE, predicate=lambda m: f"#{number} " in m.plain and bool(m.buttons), timeout=timeout
    )


async def test_new_items_are_announced_to_the_office_without_identity(
    stub: FakeBotApi, office: BotRunner
) -> None:
    number = await submit(Chat(stub, ALICE), "村口的路灯坏了一个星期", anonymous=True)
    card = await office_card(stub, number)
    assert zh("admin.announce") in card.plain
    assert zh("summary.anonymous") in card.plain
    assert "路灯" in card.plain  # the text and the keyword that tagged it
    for identity in ("987654321", "李", "秀英", "li_xiuying"):
        assert identity not in card.plain
    labels = [label for label, _ in card.buttons]
    assert any("受理" in label for label in labels) and any("改类别" in label for label in labels)
    assert all(len(data.encode()) <= 64 for _, data in card.buttons)


async def test_accept_then_handle_notifies_the_sender_in_their_language(
    stub: FakeBotApi, office: BotRunner
) -> None:
    bob, admin = Chat(stub, BOB), Chat(stub, ADMIN)
    number = await submit(bob, "Please add a bus stop near the clinic", anonymous=False)
    card = await admin.send("/review", expect=f"#{number}")
    assert "Bob" in card.plain
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    notice = await stub.wait_for_text(BOB.id, "accepted", after=mark)
    assert f"#{number}" in notice.plain
    assert status_of(office.settings, number) == "accepted"
    refreshed = await stub.wait_for(
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method == "editMessageText" and m.message_id == card.message_id,
    )
    assert refreshed.buttons[0][0].endswith("开始办理")
    mark = stub.mark()
    stub.press_button(ADMIN, refreshed, "开始办理")
    await stub.wait_for_text(BOB.id, "being handled", after=mark)
    detail = await admin.send(f"/show {number}", expect=f"#{number}")
    assert zh("status.in_progress") in detail.plain and zh("status.accepted") in detail.plain


async def test_reject_asks_a_reason_that_reaches_the_anonymous_sender(
    stub: FakeBotApi, office: BotRunner
) -> None:
    number = await submit(Chat(stub, ALICE), "建议把广场改成停车场", anonymous=True)
    card = await office_card(stub, number)
    mark = stub.mark()
    stub.press_button(ADMIN, card, "不予受理")
    prompt = await stub.wait_for_text(OFFICE, f"#{number}", after=mark)
    assert prompt.params["reply_markup"].get("force_reply") is True
    # Someone who is not an administrator answers first: nothing happens.
    stub.send_group_text(BOB, OFFICE, "我觉得不该拒绝", reply_to=prompt)
    mark = stub.mark()
    stub.send_group_text(ADMIN, OFFICE, "广场是居民活动场地，<不宜>改作停车场", reply_to=prompt)
    notice = await stub.wait_for_text(ALICE.id, "未予受理", after=mark)
    assert "<不宜>" in notice.plain  # escaped, shown literally
    assert status_of(office.settings, number) == "rejected"
    await stub.wait_for_text(OFFICE, zh("status.rejected"), after=mark)
    with database(office.settings) as db:
        notes = [r[0] for r in db.execute("SELECT note FROM history WHERE to_status='rejected'")]
    assert notes == ["广场是居民活动场地，<不宜>改作停车场"]
    # Every copy of the card is kept current: the announcement now says 不予受理 and offers
    # nothing (#16) but the office's reopen (#18).
    edited = await stub.wait_for(
        OFFICE,
        after=mark,
        predicate=lambda m: (
            m.method == "editMessageText"
            and m.message_id == card.message_id
            and zh("status.rejected") in m.plain  # (after the edit that showed the claim)
        ),
    )
    assert edited.buttons == [(zh("admin.action.reopen"), f"adm:rop:{number}")]
    # The old card's "accept" is now an illegal move: refused with the reason, nothing changes.
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    refusal = await stub.wait_for(OFFICE, after=mark, predicate=lambda m: m.method == "sendMessage")
    assert refusal.plain == zh(
        "admin.illegal",
        ref=f"#{number}",
        current=zh("status.rejected"),
        target=zh("status.accepted"),
    )
    assert status_of(office.settings, number) == "rejected"


async def test_nobody_else_can_use_the_office_commands_or_buttons(
    stub: FakeBotApi, office: BotRunner
) -> None:
    number = await submit(Chat(stub, ALICE), "希望多组织文艺演出", anonymous=False)
    bob = Chat(stub, BOB)
    unknown = t("en", "command.unknown")
    for command in ("/review", f"/show {number}", "/queue", "/search 演出", "/admins", "/failed"):
        answer = await bob.send(command)
        assert answer.plain == unknown, command
    card = await office_card(stub, number)
    forged = (
        f"adm:st:accepted:{number}",
        f"adm:st:closed:{number}",
        *(f"adm:{a}:{number}" for a in ("rej", "dup", "ask", "asg", "ans", "fwd", "pub", "tp")),
        f"adm:tps:{number}:party",
        f"adm:next:{number}",
    )
    for data in forged:  # pressed on the office chat's card by a member who is not an admin
        mark = stub.mark()
        answered = len(stub.answered_callbacks)
        stub.press(BOB, card, data)
        await stub.wait_until(lambda n=answered: len(stub.answered_callbacks) > n)  # type: ignore[misc]
        assert stub.answered_callbacks[-1].get("text") == t("en", "button.stale")
        assert [m for m in stub.messages_to(OFFICE) if m.seq > mark] == []
    help_message = await bob.send("/help")
    for data in forged:  # or sent from a private chat by a modified client
        stale = await bob.tap_data(help_message, data)
        assert stale.plain == t("en", "button.stale")
    assert status_of(office.settings, number) == "new"
    with database(office.settings) as db:
        assert db.execute("SELECT COUNT(*) FROM prompts").fetchone() == (0,)
        assert db.execute("SELECT topic_id FROM submissions").fetchone() != ("party",)


async def test_queue_show_search_and_topic_correction(stub: FakeBotApi, office: BotRunner) -> None:
    alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
    first = await submit(alice, "幸福路的井盖丢了很危险", anonymous=True)
    second = await submit(alice, "建议在村口增设路灯", anonymous=False)
    counts = await admin.send("/queue")
    assert f"{zh('status.new')}：2" in counts.plain
    listing = await admin.send("/queue new", expect=f"#{second}")
    assert f"#{first}" in listing.plain
    usage = await admin.send("/queue nonsense")
    assert "/queue" in usage.plain
    found = await admin.send("/search 井盖丢了", expect=f"#{first}")  # FTS5 trigram
    assert f"#{second}" not in found.plain
    short = await admin.send("/search 路灯", expect=f"#{second}")  # two characters: LIKE
    assert f"#{first}" not in short.plain
    none = await admin.send("/search 不存在的词")
    assert none.plain == zh("admin.search.none", terms="不存在的词")
    missing = await admin.send("/show 999")
    assert missing.plain == zh("admin.not_found", ref="#999")

    card = await admin.send(f"/show {second}", expect=f"#{second}")
    mark = stub.mark()
    stub.press_button(ADMIN, card, "改类别")
    topics = await stub.wait_for(
        ADMIN.id,
        after=mark,
        predicate=lambda m: m.method.startswith("edit") and "adm:tps" in str(m.reply_markup),
    )
    target = next(d for label, d in topics.buttons if "党的建设" in label)
    done = await admin.tap_data(
        topics, target, expect=zh("admin.topic.set", ref=f"#{second}", topic="党的建设")
    )
    assert done is not None
    detail = await admin.send(f"/show {second}", expect="党的建设")
    assert "→" in detail.plain  # the correction is in the record


async def test_review_resends_files_and_locations(stub: FakeBotApi, office: BotRunner) -> None:
    alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
    await alice.send("/report")
    mark = stub.mark()
    stub.send_photo(ALICE, caption="桥栏杆断了", file_id="PHOTO-BRIDGE")
    await stub.wait_for(ALICE.id, after=mark)
    mark = stub.mark()
    stub.send_location(ALICE, 30.25, 120.5)
    received = await stub.wait_for(ALICE.id, after=mark)
    proposal = await alice.tap(received, "下一步")
    who = await alice.tap(proposal, "就是这个类别")
    summary = await alice.tap(who, "匿名提交")
    await alice.tap(summary, "确认提交", expect="#1")
    mark = stub.mark()
    card = await admin.send("/review", expect="#1")
    assert "30.25000" in card.plain
    photo = await stub.wait_for(ADMIN.id, after=mark, predicate=lambda m: m.method == "sendPhoto")
    assert photo.params["photo"] == "PHOTO-BRIDGE"
    await stub.wait_for(ADMIN.id, after=mark, predicate=lambda m: m.method == "sendLocation")
    nothing = await admin.tap(card, "下一条")
    assert "#1" in nothing.plain  # wraps round to the only item


async def test_notices_are_retried_and_failures_reported(
    stub: FakeBotApi, office: BotRunner
) -> None:
    bob, alice, admin = Chat(stub, BOB), Chat(stub, ALICE), Chat(stub, ADMIN)
    first = await submit(bob, "More benches in the park please", anonymous=False)
    second = await submit(alice, "希望公园多放几张长椅", anonymous=True)
    await office_card(stub, second)

    # A server error on the notice: it is retried and arrives.
    stub.fail_next("sendMessage", status=502, description="Bad Gateway", chat_id=BOB.id)
    card = await admin.send(f"/show {first}", expect=f"#{first}")
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    await stub.wait_for_text(BOB.id, "accepted", after=mark, timeout=10)
    assert any(e.status == 502 for e in stub.errors)

    # The anonymous sender blocked the bot: marked failed, the office is told.
    stub.block_user(ALICE.id)
    card = await admin.send(f"/show {second}", expect=f"#{second}")
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    warning = await stub.wait_for_text(OFFICE, f"#{second}", after=mark, timeout=10, new=True)
    # In the office's language, not Telegram's English (#17, point 11).
    blocked = zh("telegram.error.blocked")
    assert blocked in warning.plain and "blocked" not in warning.plain
    assert "987654321" not in warning.plain
    failed = await admin.send("/failed", expect=f"#{second}")
    assert blocked in failed.plain and "Forbidden" not in failed.plain
    roles = await admin.send("/admins")
    assert str(ADMIN.id) in roles.plain and str(OFFICE) in roles.plain


async def test_queue_lists_page_through_many_items(stub: FakeBotApi, office: BotRunner) -> None:
    alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
    for i in range(22):
        await submit(alice, f"第{i + 1}条：建议多开展社区文化活动", anonymous=i % 2 == 0)
    first = await admin.send("/queue new", expect="#20")
    assert "#1 " in first.plain and "#21" not in first.plain
    assert "1–20" in first.plain and "22" in first.plain
    mark = stub.mark()
    stub.press(ADMIN, first, first.buttons[-1][1])
    second = await stub.wait_for(ADMIN.id, after=mark, predicate=lambda m: "#22" in m.plain)
    assert "#21" in second.plain and "#20 " not in second.plain
    # Someone else pressing the page button sees nothing new.
    mark = stub.mark()
    answered = len(stub.answered_callbacks)
    stub.press(BOB, second, second.buttons[0][1])
    await stub.wait_until(lambda: len(stub.answered_callbacks) > answered)
    assert [m for m in stub.sent if m.seq > mark] == []


async def test_office_commands_answer_only_in_private_chats_and_the_office_group(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """An admin's /show in another group posted a named sender's name there, and /export
    sent the ledger to the leading group (#13). Elsewhere the office's commands and buttons
    are answered like unknown commands: in a group, not at all."""
    group, elsewhere = -1002000000, -1009999999
    settings = make_settings(stub, roles={"office_chat_id": OFFICE, "leading_group_chat_id": group})
    runner = BotRunner(settings)
    await runner.start()
    try:
        number = await submit(Chat(stub, ALICE), "建议在幸福路口增设红绿灯", anonymous=False)
        await stub.wait_idle(quiet=0.3)
        assert runner.app is not None
        await runner.app.bot.send_message(elsewhere, "一条旧消息")  # to forge a press under
        [old] = stub.messages_to(elsewhere)
        mark = stub.mark()
        commands = [
            f"/show {number}", "/review", "/queue", "/queue new", "/search 红绿灯", "/failed",
            "/admins", "/digest", "/stats", "/export", "/export csv",
        ]  # fmt: skip
        for chat in (elsewhere, group):
            for command in commands:
                stub.send_group_text(ADMIN, chat, command)
        stub.press(ADMIN, old, f"adm:st:accepted:{number}")
        await stub.wait_idle(quiet=0.5)
        leaked = [m for m in stub.sent if m.seq > mark and m.chat_id in (elsewhere, group)]
        assert leaked == []
        assert status_of(settings, number) == "new"  # the forged press changed nothing
        # Where the office works, the same commands answer.
        mark = stub.mark()
        stub.send_group_text(ADMIN, OFFICE, f"/show {number}")
        card = await stub.wait_for_text(OFFICE, "李 秀英", after=mark)
        assert f"#{number}" in card.plain
        private = await Chat(stub, ADMIN).send(f"/show {number}", expect="李 秀英")
        assert f"#{number}" in private.plain
    finally:
        await runner.stop()
