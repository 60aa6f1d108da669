"""End to end: a resident's whole conversation through the real Application and the stand-in."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import ADMIN, BotRunner, Chat, drafts_of
from tests.databases import both_backends, rows, stored_bytes

ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


make_settings = both_backends()


async def submit(
    chat: Chat, text: str, *, anonymous: bool, kind_button: str = "menu.suggest"
) -> int:
    """Walk the whole flow from the main menu and return the reference number."""
    menu = await chat.send("/start")
    asked = await chat.tap(menu, chat_text(chat, kind_button))
    received = await chat.send(text)
    assert asked.buttons and received.buttons
    proposal = await chat.tap(received, chat_text(chat, "button.next"))
    who = await chat.tap(proposal, chat_text(chat, "topic.accept"))
    label = "identity.anonymous" if anonymous else "identity.named"
    summary = await chat.tap(who, chat_text(chat, label))
    ack = await chat.tap(summary, chat_text(chat, "button.confirm"), expect="#")
    number = ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，")
    return int(number)


def chat_text(chat: Chat, key: str) -> str:
    lang = "en" if (chat.user.language_code or "").startswith("en") else "zh-Hans"
    # Buttons carry an emoji prefix; match on the words.
    return (
        t(lang, key).split(" ", 1)[-1] if key.startswith(("menu.", "identity.")) else t(lang, key)
    )


async def test_named_suggestion_from_menu_to_reference(stub: FakeBotApi, runner: BotRunner) -> None:
    chat = Chat(stub, ALICE)
    greeting = await chat.send("/start")
    assert "李 秀英" in greeting.plain
    labels = [label for label, _ in greeting.buttons]
    assert len(labels) == 4

    asked = await chat.tap(greeting, "提建议", expect=zh("compose.ask.suggestion")[:6])
    first = await chat.send("建议在村口增设路灯，晚上回家太黑了")
    assert "下一步" in " ".join(label for label, _ in first.buttons)
    await chat.send("最好装太阳能的，省电")
    proposal_src = chat.messages()[-1]
    proposal = await chat.tap(proposal_src, "下一步", expect="路灯")
    assert asked is not None and "路灯" in proposal.plain  # the evidence is shown
    who = await chat.tap(proposal, "就是这个类别")
    summary = await chat.tap(who, "实名提交")
    assert "李 秀英" in summary.plain
    assert "最好装太阳能的" in summary.plain
    ack = await chat.tap(summary, "确认提交", expect="#1")
    assert "#1" in ack.plain

    [row] = rows(runner.settings, "SELECT * FROM submissions")
    assert row["anonymous"] == 0
    assert row["sender_user_id"] == ALICE.id
    assert row["kind"] == "suggestion"
    assert "村口增设路灯" in row["text"] and "太阳能" in row["text"]
    assert rows(runner.settings, "SELECT * FROM drafts") == []
    assert stub.errors == []

    listing = await chat.send("/my", expect="#1")
    assert zh("kind.suggestion") in listing.plain
    detail = await chat.send("/status 1", expect="#1")
    assert "村口增设路灯" in detail.plain
    assert zh("status.new") in detail.plain


async def test_anonymous_report_with_attachments_keeps_no_identity(
    stub: FakeBotApi, runner: BotRunner, tmp_path: Path
) -> None:
    chat = Chat(stub, ALICE)
    asked = await chat.send("/report")
    assert zh("compose.ask.problem")[:6] in asked.plain
    mark = stub.mark()
    stub.send_photo(ALICE, caption="幸福路和建设路口的井盖丢了", file_id="PHOTO-42")
    await stub.wait_for(ALICE.id, after=mark)
    mark = stub.mark()
    stub.send_location(ALICE, 30.2741, 120.1551)
    await stub.wait_for(ALICE.id, after=mark)
    mark = stub.mark()
    stub.send_voice(ALICE, file_id="VOICE-7")
    received = await stub.wait_for(ALICE.id, after=mark)
    assert "3" in received.plain  # three attachments so far

    proposal = await chat.tap(received, "下一步")
    # Choose another topic from the list (the list replaces the buttons in place).
    mark = stub.mark()
    stub.press_button(ALICE, proposal, "选择其他类别")
    edited = await stub.wait_for(
        ALICE.id, after=mark, predicate=lambda m: m.method.startswith("edit")
    )
    topic_ids = [data for _, data in edited.buttons if data.startswith("topic:set:")]
    assert len(topic_ids) >= 12
    target = next(d for d in topic_ids if d != "topic:set:other")
    who = await chat.tap_data(edited, target)
    summary = await chat.tap(who, "匿名提交")
    assert "李" not in summary.plain
    ack = await chat.tap(summary, "确认提交", expect="#1")
    assert zh("ack.anonymous", ref="#1", num=1)[:8] in ack.plain

    [row] = rows(runner.settings, "SELECT * FROM submissions")
    assert row["anonymous"] == 1
    assert row["topic_id"] == target.removeprefix("topic:set:")
    assert row["sender_user_id"] is None and row["sender_name"] is None
    assert row["owner_tag"] and row["reply_route"]
    attachments = rows(runner.settings, "SELECT * FROM attachments ORDER BY position")
    assert [a["type"] for a in attachments] == ["photo", "location", "voice"]
    assert attachments[0]["file_id"] == "PHOTO-42"
    assert attachments[1]["latitude"] == 30.2741

    # The sender still finds it, by the keyed hash.
    listing = await chat.send("/my", expect="#1")
    assert zh("kind.problem") in listing.plain


async def test_anonymous_sender_leaves_no_identifying_bytes(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    storage_url: str | None,
    request: pytest.FixtureRequest,
) -> None:
    import io
    import logging

    from bot.logs import WITHHELD, configure_logging

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    # On PostgreSQL a new database: the worker's reused one keeps earlier tests' deleted
    # rows in its files until VACUUM (README, "Anonymity on PostgreSQL").
    fresh = request.getfixturevalue("pg_cluster").database() if storage_url else None
    settings = make_settings(stub, **({"storage": {"url": fresh}} if fresh else {}))
    bot = BotRunner(settings)
    try:
        await bot.start()
        chat = Chat(stub, ALICE)
        await submit(chat, "匿名反映：某某单位办事推诿，脸难看事难办", anonymous=True)
        await chat.send("/my", expect="#1")
        await chat.send("/status 1", expect="#1")
        # What the library cannot parse in polling mode (#13), each with the sender's
        # identity in it: a batch with an update python-telegram-bot cannot read ...
        unparseable = {
            "message": {
                "message_id": 7,
                "date": "yesterday",
                "chat": {"id": ALICE.id, "type": "private", "first_name": ALICE.first_name},
                "from": ALICE.as_json(),
                "text": "匿名反映的补充",
            },
        }
        stub.push(unparseable)
        await logged(buffer, "cannot be read")  # (kept encrypted in the dead letters)
        # ... and an answer that is not JSON at all (a proxy's page around a cut-off batch).
        stub.answer_next_raw(
            "getUpdates",
            "<html><body>502 Bad Gateway</body></html>"
            + json.dumps({"ok": True, "result": [{"update_id": 1, **unparseable}]})[:150],
        )
        await logged(buffer, "getUpdates failed")
        await chat.send("/my", expect="#1")  # and polling goes on
    finally:
        await bot.stop()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    identifying = [str(ALICE.id), "秀英", "li_xiuying"]
    files = stored_bytes(settings)  # SQLite's files; PostgreSQL's dump and relation files
    assert files, "database files expected"
    for name, data in files.items():
        for token in identifying:
            assert token.encode() not in data, f"{token!r} found in {name}"
    logs = buffer.getvalue()
    for token in identifying:
        assert token not in logs
    assert "submission stored ref=#1" in logs
    # The lines that say so stay; what was received never appears in them (the library's
    # own lines about it, were they written, withhold it: see tests/test_logs.py).
    assert "cannot be read" in logs and "getUpdates failed" in logs
    assert "Error while parsing updates" not in logs or WITHHELD in logs


async def logged(buffer: io.StringIO, text: str, timeout: float = 10.0) -> None:
    """Wait until ``text`` appears in the captured log."""
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in buffer.getvalue():
        assert asyncio.get_running_loop().time() < deadline, f"never logged: {text}"
        await asyncio.sleep(0.05)


async def test_one_line_command_and_plain_text_start_a_flow(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    chat = Chat(stub, ALICE)
    received = await chat.send("/suggest 建议周末开放学校操场给居民锻炼")
    assert "下一步" in " ".join(label for label, _ in received.buttons)
    # Replies are HTML without link previews (sent without reading Telegram's answer back).
    assert received.parse_mode == "HTML"
    assert received.params.get("link_preview_options") == {"is_disabled": True}
    cancelled = await chat.send("/cancel")
    assert zh("cancel.done") in cancelled.plain

    asked = await chat.send("菜市场门口的垃圾好几天没人清运了")
    assert zh("kind.ask") in asked.plain
    compose = await chat.tap(asked, zh("kind.problem"))
    assert "下一步" in " ".join(label for label, _ in compose.buttons)
    draft = drafts_of(runner.settings)
    assert len(draft) == 1 and "垃圾" in draft[0]
    assert "垃圾" not in rows(runner.settings, "SELECT body FROM drafts")[0]["body"]


async def test_status_is_only_for_the_sender_or_an_admin(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    alice, bob, admin = Chat(stub, ALICE), Chat(stub, BOB), Chat(stub, ADMIN)
    number = await submit(alice, "建议社区卫生服务站延长晚上的门诊时间", anonymous=True)

    foreign = await bob.send(f"/status {number}")
    missing = await bob.send("/status 999")
    # Same answer for "not yours" and "does not exist", apart from the number itself.
    assert foreign.plain.replace(f"#{number}", "#N") == missing.plain.replace("#999", "#N")
    assert "卫生服务站" not in foreign.plain

    seen = await admin.send(f"/status {number}", expect=f"#{number}")
    assert "卫生服务站" in seen.plain
    assert zh("summary.anonymous") in seen.plain

    usage = await bob.send("/status abc")
    assert usage.plain == t("en", "status.usage")
    huge = await bob.send("/status 99999999999999999999999999")
    assert t("en", "status.not_found", ref="#N").split("#")[0] in huge.plain
    assert stub.errors == []


async def test_conversation_survives_a_restart(stub: FakeBotApi, runner: BotRunner) -> None:
    chat = Chat(stub, ALICE)
    await chat.send("/report")
    received = await chat.send("小区电梯经常坏，老人上下楼很困难")
    await runner.restart()
    proposal = await chat.tap(received, "下一步")
    assert "类别" in proposal.plain
    who = await chat.tap(proposal, "就是这个类别")
    summary = await chat.tap(who, "实名提交")
    ack = await chat.tap(summary, "确认提交", expect="#")
    assert "#1" in ack.plain
    [row] = rows(runner.settings, "SELECT text FROM submissions")
    assert row["text"] == "小区电梯经常坏，老人上下楼很困难"


async def test_bad_input_is_answered_and_loses_nothing(stub: FakeBotApi, runner: BotRunner) -> None:
    chat = Chat(stub, ALICE)
    await chat.send("/suggest 第一段：建议增加公交班次")
    mark = stub.mark()
    stub.send_sticker(ALICE)
    sticker_reply = await stub.wait_for(ALICE.id, after=mark)
    assert sticker_reply.plain == zh("input.unsupported")

    limit = runner.settings.limits.max_text_chars
    longest = "长" * 4096  # the longest message Telegram lets anyone send
    writer = Chat(stub, FakeUser(id=555000222, first_name="长"))  # a draft of their own
    for _ in range(limit // len(longest)):  # each fits the submission's limit: kept
        kept = await writer.send(longest)
        assert str(limit) not in kept.plain
    too_long = await writer.send(longest)
    assert str(limit) in too_long.plain
    mark = stub.mark()
    stub.edit_text(ALICE, 1, "改过的内容")
    edited = await stub.wait_for(ALICE.id, after=mark)
    assert edited.plain == zh("edited.ignored")
    unknown = await chat.send("/frobnicate")
    assert unknown.plain == zh("command.unknown")
    invisible = await chat.send("\u200b\u200b")
    assert invisible.plain == zh("input.empty")
    mark = stub.mark()
    stub.send_contact(ALICE)
    contact_reply = await stub.wait_for(ALICE.id, after=mark)
    assert contact_reply.plain == zh("input.unsupported")
    privacy = await chat.send("/privacy")
    assert "匿名" in privacy.plain

    hostile = "<script>alert(1)</script> & <b>粗体</b>"
    received = await chat.send(hostile)
    proposal = await chat.tap(received, "下一步")
    who = await chat.tap(proposal, "就是这个类别")
    summary = await chat.tap(who, "实名提交")
    assert hostile in summary.plain  # shown literally, escaped in the HTML
    ack = await chat.tap(summary, "确认提交", expect="#1")
    assert ack is not None
    [row] = rows(runner.settings, "SELECT text FROM submissions")
    assert row["text"] == f"第一段：建议增加公交班次\n\n{hostile}"
    assert stub.errors == []


async def test_double_confirm_and_stale_buttons_store_once(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    chat = Chat(stub, ALICE)
    await chat.send("/suggest 建议在菜市场旁边划一些临时停车位")
    received = chat.messages()[-1]
    proposal = await chat.tap(received, "下一步")
    who = await chat.tap(proposal, "就是这个类别")
    summary = await chat.tap(who, "实名提交")
    confirm = summary.button_data("确认提交")
    mark = stub.mark()
    stub.press(ALICE, summary, confirm)
    stub.press(ALICE, summary, confirm)
    await stub.wait_for(ALICE.id, after=mark, predicate=lambda m: "#1" in m.plain)
    second = await stub.wait_for(
        ALICE.id, after=mark, predicate=lambda m: "#1" not in m.plain and m.method == "sendMessage"
    )
    assert second.plain in (zh("draft.gone"), zh("button.stale"))
    assert len(rows(runner.settings, "SELECT id FROM submissions")) == 1

    # A step's button is answered from the draft (gone: submitted), whatever the state.
    old = await chat.tap_data(proposal, "topic:ok")
    assert old.plain == zh("draft.gone")
    forged = await chat.tap_data(proposal, "admin:accept:1")
    assert forged.plain == zh("button.stale")
    assert len(rows(runner.settings, "SELECT id FROM submissions")) == 1


async def test_buttons_of_a_later_step_go_back_to_the_step_the_draft_needs(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    """Found by the fuzz test: text added after the topic was proposed drops the proposal,
    and the older identity button under the proposal then crashed the summary."""
    chat = Chat(stub, ALICE)
    await chat.send("/report 村口的路灯坏了一个多月了")
    proposal = await chat.tap(chat.messages()[-1], "下一步")
    who = await chat.tap(proposal, "就是这个类别")
    await chat.send("麻烦尽快修一下，谢谢")  # new text: the topic is proposed again

    mark = stub.mark()
    stub.press(ALICE, who, who.button_data("匿名提交"))
    again = await stub.wait_for(ALICE.id, after=mark, predicate=lambda m: bool(m.buttons))
    said = [m.plain for m in stub.sent if m.seq > mark and m.chat_id == ALICE.id]
    assert zh("flow.resume") in said
    assert "路灯" in again.plain and again.button_data("就是这个类别") == "topic:ok"
    # Confirming from an old message is refused the same way (the topic is now proposed, so
    # the identity question comes next), and stores nothing.
    mark = stub.mark()
    stub.press(ALICE, proposal, "confirm:yes")
    again = await stub.wait_for(ALICE.id, after=mark, predicate=lambda m: bool(m.buttons))
    assert zh("flow.resume") in [m.plain for m in stub.sent if m.seq > mark]
    assert rows(runner.settings, "SELECT id FROM submissions") == []

    summary = await chat.tap(again, "匿名提交")
    assert "尽快修" in summary.plain
    await chat.tap(summary, "确认提交", expect="#1")
    [row] = rows(runner.settings, "SELECT text, anonymous FROM submissions")
    assert row["anonymous"] == 1 and "尽快修" in row["text"]
    # Only the forged press under a message without buttons left a (harmless) refusal.
    assert [(e.method, e.status) for e in stub.errors] == [("editMessageReplyMarkup", 400)]


async def test_a_double_tap_on_other_topics_is_no_error(
    stub: FakeBotApi, runner: BotRunner, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the fuzz test: the second tap asks Telegram for an edit that changes nothing,
    which it refuses ("message is not modified"); that must not end in the apology."""
    chat = Chat(stub, ALICE)
    await chat.send("/report 村口的路灯坏了一个多月了")
    proposal = await chat.tap(chat.messages()[-1], "下一步")
    data = proposal.button_data("选择其他类别")
    calls = len(stub.calls)
    stub.press(ALICE, proposal, data)
    stub.press(ALICE, proposal, data)

    def answered() -> int:
        return sum(1 for c in stub.calls[calls:] if c.method == "answerCallbackQuery")

    def edits() -> list[int]:
        return [c.status for c in stub.calls[calls:] if c.method == "editMessageReplyMarkup"]

    # (each tap answers, then edits: wait for the second edit itself, not for a quiet spell,
    # which a loaded machine may leave between the two)
    await stub.wait_until(lambda: answered() == 2 and len(edits()) >= 2)
    await stub.wait_idle()
    assert edits() == [200, 400]  # the stand-in refuses the unchanged edit, like Telegram
    assert [m for m in stub.sent if m.seq > proposal.seq and m.method == "sendMessage"] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    listing = stub.sent[-1]
    assert listing.message_id == proposal.message_id and len(listing.buttons) > 10


async def test_resident_buttons_pressed_in_a_group_change_and_say_nothing(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    """Callback data can be forged under any of the bot's messages, e.g. a card in a group:
    a resident's step, page, language or rating must not run there nor answer into it."""
    chat = Chat(stub, ALICE)
    await chat.send("/report 村口的路灯坏了一个多月了")
    proposal = await chat.tap(chat.messages()[-1], "下一步")
    who = await chat.tap(proposal, "就是这个类别")
    summary = await chat.tap(who, "实名提交")
    draft_before = rows(runner.settings, "SELECT * FROM drafts")
    users_before = rows(runner.settings, "SELECT * FROM languages")
    group = -1007770001
    assert runner.app is not None
    mark = stub.mark()
    await runner.app.bot.send_message(group, "卡片")
    card = await stub.wait_for(group, after=mark)
    presses = [
        "confirm:yes", "who:anon", "topic:ok", "topic:set:transport", "topic:list",
        "draft:next", "draft:cancel", "kind:problem", "menu:report", "menu:my", "my:1",
        "menu:help", "lang:en", "rate:1:satisfied",
    ]  # fmt: skip
    calls = len(stub.calls)
    for data in presses:
        stub.press(ALICE, card, data)

    def answered() -> int:
        return sum(1 for c in stub.calls[calls:] if c.method == "answerCallbackQuery")

    await stub.wait_until(lambda: answered() == len(presses))
    await stub.wait_idle()
    assert [m.plain for m in stub.sent if m.seq > card.seq] == []
    assert rows(runner.settings, "SELECT * FROM drafts") == draft_before
    assert rows(runner.settings, "SELECT id FROM submissions") == []
    assert rows(runner.settings, "SELECT * FROM languages") == users_before  # none set
    # In the private chat the same draft is still there to confirm.
    await chat.tap(summary, "确认提交", expect="#1")


async def test_language_choice_is_remembered_across_restarts(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    chat = Chat(stub, ALICE)
    ask = await chat.send("/lang")
    done = await chat.tap(ask, "English")
    assert done.plain == t("en", "lang.set")
    await runner.restart()
    helped = await chat.send("/help")
    assert helped.plain.startswith(t("en", "help.text").replace("<b>", "").replace("</b>", ""))
    ask = await chat.send("/lang")
    done = await chat.tap(ask, "繁體中文")
    assert done.plain == t("zh-Hant", "lang.set")
    empty = await chat.send("/my")
    unlinked = tn("zh-Hant", "my.unlinked", 30, days=30)
    assert empty.plain == t("zh-Hant", "my.empty") + "\n\n" + unlinked


async def test_my_pages_through_many_submissions(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    runner = BotRunner(make_settings(stub, limits={"max_submissions_per_hour": 0}))
    await runner.start()
    try:
        await _page_through(stub, runner)
    finally:
        await runner.stop()


async def _page_through(stub: FakeBotApi, runner: BotRunner) -> None:
    chat = Chat(stub, ALICE)
    for i in range(12):
        await submit(chat, f"第{i + 1}条建议：希望多开展社区文化活动", anonymous=i % 2 == 1)
    first = await chat.send("/my", expect="#12")
    page_size = runner.settings.limits.page_size
    assert "#12" in first.plain and f"#{12 - page_size + 1}" in first.plain
    assert "#2" not in first.plain.replace("#12", "")
    mark = stub.mark()
    stub.press(ALICE, first, first.buttons[-1][1])
    second = await stub.wait_for(ALICE.id, after=mark, predicate=lambda m: "#1" in m.plain)
    assert "#2" in second.plain and "#12" not in second.plain
    other = await Chat(stub, BOB).send("/my")
    assert other.plain.startswith(t("en", "my.empty"))


async def test_an_update_delivered_twice_is_handled_once(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    chat = Chat(stub, ALICE)
    await chat.send("/report")
    first = stub.send_text(ALICE, "桥上的栏杆断了一截")
    await stub.wait_for_text(ALICE.id, "已记下")
    await stub.wait_processed(first)
    stub.deliver_again(first)
    done = await chat.send("/cancel")  # sent after the repeat: handled after it
    assert zh("cancel.done") in done.plain
    received = [m for m in chat.messages() if "已记下" in m.plain]
    assert len(received) == 1


async def test_submissions_per_hour_are_limited_without_losing_the_draft(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    from datetime import UTC, datetime

    from tests.conftest import FrozenClock
    from tests.test_e2e_office import submit as submit_one_line

    clock = FrozenClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    settings = make_settings(stub, limits={"max_submissions_per_hour": 2})
    bot = BotRunner(settings, clock)
    await bot.start()
    try:
        chat = Chat(stub, ALICE)
        await submit_one_line(chat, "建议一：多种树", anonymous=False)
        clock.advance(minutes=1)
        await submit_one_line(chat, "建议二：修路灯", anonymous=True)  # counted by its hash
        clock.advance(minutes=1)
        received = await chat.send("/suggest 建议三：建公园")
        proposal = await chat.tap(received, "下一步")
        who = await chat.tap(proposal, "就是这个类别")
        summary = await chat.tap(who, "匿名提交")
        refused = await chat.tap(summary, "确认提交")
        assert refused.plain == tn("zh-Hans", "limit.reached", 2, limit=2)
        assert len(rows(settings, "SELECT id FROM submissions")) == 2
        assert "建公园" in drafts_of(settings)[0]
        clock.advance(minutes=60)
        ack = await chat.tap(summary, "确认提交", expect="#3")
        assert "#3" in ack.plain
    finally:
        await bot.stop()
