"""The Bot API stand-in itself, driven by a plain python-telegram-bot application: if it
accepted what Telegram refuses, or answered what PTB cannot read, the end-to-end tests would
prove nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.botapi_stub import (
    ApiError,
    FakeBotApi,
    FakeUser,
    SentMessage,
    Upload,
    parse_html,
    parse_html_entities,
)

USER = FakeUser(id=42, first_name="Ann")
OTHER = FakeUser(id=43, first_name="Bo")

AnyApp = Application[Any, Any, Any, Any, Any, Any]


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(f"echo: {message.text}")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    text = getattr(query.message, "text", None)
    await context.bot.send_message(query.message.chat.id, f"pressed {query.data} on {text}")


@pytest.fixture
async def stub() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


@pytest.fixture
async def app(stub: FakeBotApi) -> AsyncIterator[AnyApp]:
    application = (
        ApplicationBuilder()
        .token(stub.token)
        .base_url(stub.base_url)
        .base_file_url(stub.base_file_url)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def api_post(stub: FakeBotApi, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """A raw request, as a client other than PTB would send it."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{stub.base_url}{stub.token}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


# ------------------------------------------------------------------------------ round trips
async def test_echo_round_trip(stub: FakeBotApi, app: AnyApp) -> None:
    update_id = stub.send_text(USER, "你好")
    reply = await stub.wait_for_text(USER.id, "echo: 你好")
    assert reply.method == "sendMessage" and reply.chat_id == USER.id
    assert reply.params["chat_id"] == USER.id  # sent as the string "42", decoded
    await stub.wait_processed(update_id)
    assert stub.errors == []
    assert stub.calls[0].method == "getMe"
    assert any(call.method == "getUpdates" for call in stub.calls)


async def test_each_update_is_delivered_once(stub: FakeBotApi, app: AnyApp) -> None:
    first = stub.send_text(USER, "one")
    reply = await stub.wait_for_text(USER.id, "echo: one")
    await stub.wait_processed(first)
    stub.send_text(USER, "two")
    await stub.wait_for_text(USER.id, "echo: two", after=reply.seq)
    await stub.wait_idle(quiet=0.05)
    assert [m.plain for m in stub.messages_to(USER.id)] == ["echo: one", "echo: two"]


async def test_get_updates_honours_offset_and_limit(stub: FakeBotApi) -> None:
    ids = [stub.send_text(USER, f"m{n}") for n in range(3)]
    async with Bot(stub.token, base_url=stub.base_url) as bot:
        batch = await bot.get_updates(limit=2, timeout=0)
        assert [u.update_id for u in batch] == ids[:2]
        again = await bot.get_updates(timeout=0)  # nothing confirmed yet: the same ones
        assert [u.update_id for u in again] == ids
        rest = await bot.get_updates(offset=ids[1] + 1, timeout=0)
        assert [u.message.text for u in rest if u.message] == ["m2"]
        assert await bot.get_updates(offset=ids[2] + 1, timeout=0) == ()
        assert await bot.get_updates(timeout=0) == ()  # confirmed updates are gone


async def test_privacy_mode_delivers_only_commands_replies_to_the_bot_and_mentions(
    stub: FakeBotApi,
) -> None:
    group = -1001
    async with Bot(stub.token, base_url=stub.base_url) as bot:
        await bot.send_message(group, "问题")
        [from_bot] = stub.messages_to(group)
        assert stub.send_group_text(USER, group, "随便聊聊") is None
        assert stub.send_group_text(USER, group, "/queue@another_bot") is None
        stub.privacy_mode = False  # as for a bot that administers the group: sees everything
        own = stub.send_group_text(USER, group, "旧消息")
        assert own is not None
        [by_user] = [m for m in (await bot.get_updates(timeout=0)) if m.update_id == own]
        assert by_user.message is not None
        stub.privacy_mode = True
        delivered = [
            stub.send_group_text(USER, group, "/queue"),
            stub.send_group_text(USER, group, "/queue@jindianzi_test_bot new"),
            stub.send_group_text(USER, group, "回答", reply_to=from_bot),
            stub.send_group_text(USER, group, "@jindianzi_test_bot 城建办 10"),
        ]
        assert all(delivered)
        updates = await bot.get_updates(offset=own + 1, timeout=0)
        assert [u.update_id for u in updates] == delivered
        mention = updates[-1].message
        assert mention is not None and mention.entities[0].type == "mention"
        assert [w["text"] for w in stub.withheld] == ["随便聊聊", "/queue@another_bot"]


async def test_long_poll_returns_as_soon_as_an_update_arrives(stub: FakeBotApi) -> None:
    async with Bot(stub.token, base_url=stub.base_url) as bot:
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        assert not poll.done()
        stub.send_text(USER, "hi")
        updates = await asyncio.wait_for(poll, 2)
        assert time.monotonic() - started < 1
        assert [u.message.text for u in updates if u.message] == ["hi"]


async def test_allowed_updates_filter_what_is_delivered(stub: FakeBotApi) -> None:
    stub.send_text(USER, "text")
    stub.edit_text(USER, 1, "edited")
    async with Bot(stub.token, base_url=stub.base_url) as bot:
        updates = await bot.get_updates(timeout=0, allowed_updates=["edited_message"])
        assert [u.edited_message.text for u in updates if u.edited_message] == ["edited"]
        assert len(updates) == 1


# ------------------------------------------------------------------------------ validation
async def test_html_is_validated_like_telegram(stub: FakeBotApi, app: AnyApp) -> None:
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "script"'):
        await app.bot.send_message(USER.id, "<script>x</script>", parse_mode="HTML")
    for bad in ("a < b", "a & b", "<b>unclosed", "<b>x</i>", "<span>x</span>", "x</b>"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await app.bot.send_message(USER.id, bad, parse_mode="HTML")
    assert {e.status for e in stub.errors} == {400}
    assert stub.sent == []
    await app.bot.send_message(USER.id, "<b>a &lt; b &amp; c</b> > d", parse_mode="HTML")
    sent = stub.messages_to(USER.id)[-1]
    assert sent.text == "<b>a &lt; b &amp; c</b> > d" and sent.parse_mode == "HTML"
    assert sent.plain == "a < b & c > d"
    # Without parse_mode the text is taken as it is.
    await app.bot.send_message(USER.id, "a < b & c")
    assert stub.messages_to(USER.id)[-1].plain == "a < b & c"


def test_html_parser_gives_telegram_entities() -> None:
    assert parse_html("<i>x</i> &#20320;&#x597D;") == "x 你好"
    text, entities = parse_html_entities(
        '😀<b>粗<i>斜</i></b> <a href="https://e.org/?a=1&amp;b=2">l</a> '
        '<span class="tg-spoiler">s</span> <pre><code class="language-py">p</code></pre> '
        "<blockquote expandable>q</blockquote>"
    )
    assert text == "😀粗斜 l s p q"
    assert entities == [
        {"type": "bold", "offset": 2, "length": 2},
        {"type": "italic", "offset": 3, "length": 1},
        {"type": "text_link", "url": "https://e.org/?a=1&b=2", "offset": 5, "length": 1},
        {"type": "spoiler", "offset": 7, "length": 1},
        {"type": "pre", "language": "py", "offset": 9, "length": 1},
        {"type": "expandable_blockquote", "offset": 11, "length": 1},
    ]
    for bad in ("<b>unclosed", "&nbsp;", "&amp", "<a href=x y>", "<tg-emoji>x</tg-emoji>"):
        with pytest.raises(ApiError):
            parse_html(bad)


async def test_text_limits_count_utf16_units(stub: FakeBotApi, app: AnyApp) -> None:
    await app.bot.send_message(USER.id, "啊" * 4096)
    await app.bot.send_message(USER.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await app.bot.send_message(USER.id, "啊" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await app.bot.send_message(USER.id, "😀" * 2049)  # two units each
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await app.bot.send_message(USER.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await app.bot.send_photo(USER.id, "PHOTO1", caption="字" * 1025)
    await app.bot.send_photo(USER.id, "PHOTO1", caption="字" * 1024)
    assert [m.method for m in stub.sent] == ["sendMessage", "sendMessage", "sendPhoto"]


async def test_keyboards_are_validated(stub: FakeBotApi, app: AnyApp) -> None:
    too_long = "字" * 22  # 66 bytes in UTF-8
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=too_long)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await app.bot.send_message(USER.id, "menu", reply_markup=markup)
    status, body = await api_post(
        stub,
        "sendMessage",
        data={
            "chat_id": "42",
            "text": "t",
            "reply_markup": '{"inline_keyboard": [[{"text": "x"}]]}',
        },
    )
    assert status == 400 and "Text buttons are unallowed" in body["description"]
    status, body = await api_post(
        stub,
        "sendMessage",
        json={"chat_id": 42, "text": "t", "reply_markup": {"inline_keyboard": [{"text": "x"}]}},
    )
    assert status == 400 and body["ok"] is False
    fits = "字" * 21  # 63 bytes
    keyboard = [
        [
            InlineKeyboardButton("一", callback_data=fits),
            InlineKeyboardButton("二", url="https://e.org"),
        ]
    ]
    await app.bot.send_message(USER.id, "menu", reply_markup=InlineKeyboardMarkup(keyboard))
    menu = stub.messages_to(USER.id)[-1]
    assert menu.buttons == [("一", fits), ("二", "https://e.org")]
    assert menu.button_data("一") == fits
    with pytest.raises(AssertionError, match="一"):
        menu.button_data("三")


async def test_edits_are_checked_and_recorded(stub: FakeBotApi, app: AnyApp) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    sent = await app.bot.send_message(USER.id, "same", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await app.bot.edit_message_text(
            "same", chat_id=USER.id, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("new", chat_id=USER.id, message_id=9999)
    # Same text without the keyboard is a change (the keyboard goes).
    edited = await app.bot.edit_message_text("same", chat_id=USER.id, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.reply_markup is None
    edited = await app.bot.edit_message_text(
        "<b>new</b>", chat_id=USER.id, message_id=sent.message_id, parse_mode="HTML"
    )
    assert not isinstance(edited, bool) and edited.text_html == "<b>new</b>"
    await app.bot.edit_message_reply_markup(USER.id, sent.message_id, reply_markup=markup)
    records = stub.messages_to(USER.id)
    assert [m.method for m in records] == [
        "sendMessage",
        "editMessageText",
        "editMessageText",
        "editMessageReplyMarkup",
    ]
    assert records[-1].plain == "new" and records[-1].buttons == [("a", "a")]
    assert [m.seq for m in records] == sorted(m.seq for m in records)


# ------------------------------------------------------------------------------ button presses
async def test_press_delivers_the_callback_on_the_current_message(
    stub: FakeBotApi, app: AnyApp
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("按我", callback_data="x:1")]])
    await app.bot.send_message(USER.id, "menu", reply_markup=markup)
    menu = stub.messages_to(USER.id)[-1]
    await app.bot.edit_message_text(
        "menu v2", chat_id=USER.id, message_id=menu.message_id, reply_markup=markup
    )
    mark = stub.mark()
    stub.press_button(USER, menu, "按")  # the old record: the update carries the edited text
    reply = await stub.wait_for(USER.id, after=mark, predicate=lambda m: "pressed" in m.plain)
    assert reply.plain == "pressed x:1 on menu v2"
    assert stub.answered_callbacks and "callback_query_id" in stub.answered_callbacks[0]


# ------------------------------------------------------------------------------ faults
async def test_injected_faults(stub: FakeBotApi, app: AnyApp) -> None:
    stub.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await app.bot.send_message(USER.id, "x")
    assert info.value.retry_after in (3, timedelta(seconds=3))
    assert stub.errors[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    await app.bot.send_message(USER.id, "x")  # only the next one failed
    stub.fail_next("sendMessage", status=502, description="Bad Gateway", chat_id=OTHER.id)
    await app.bot.send_message(USER.id, "not that chat")
    stub.block_user(USER.id)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await app.bot.send_message(USER.id, "x")
    assert [e.status for e in stub.errors] == [429, 403]
    status, body = await api_post(stub, "frobnicate")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_waiting_fails_with_what_was_sent(stub: FakeBotApi, app: AnyApp) -> None:
    await app.bot.send_message(USER.id, "something else")
    with pytest.raises(AssertionError, match="something else"):
        await stub.wait_for_text(USER.id, "never", timeout=0.2)
    with pytest.raises(AssertionError, match="not processed"):
        await stub.wait_processed(999, timeout=0.1)


# ------------------------------------------------------------------------------ files, raw bodies
async def test_uploads_albums_and_copies(stub: FakeBotApi, app: AnyApp) -> None:
    photo = await app.bot.send_photo(USER.id, b"\x89PNG...", caption="<i>图</i>", parse_mode="HTML")
    assert photo.caption == "图" and photo.photo
    record = stub.messages_to(USER.id)[-1]
    assert isinstance(record.params["photo"], Upload) and record.plain == "图"
    assert record.params["photo"].content == b"\x89PNG..."
    album = await app.bot.send_media_group(
        USER.id, [InputMediaPhoto(b"one"), InputMediaPhoto("FILE2", caption="二")]
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    items = stub.messages_to(USER.id)[-2:]
    media = items[0].params["media"]
    assert isinstance(media[0]["media"], Upload) and media[1]["media"] == "FILE2"
    assert [m.plain for m in items] == ["", "二"]
    file = await app.bot.get_file(photo.photo[-1].file_id)
    assert await file.download_as_bytearray() == bytearray(b"\x89PNG...")
    stub.send_text(OTHER, "原话")
    copy = await app.bot.copy_message(USER.id, OTHER.id, 1)
    assert stub.messages_to(USER.id)[-1].message_id == copy.message_id
    assert stub.messages_to(USER.id)[-1].plain == "原话"


async def test_json_bodies_and_form_values_are_decoded(stub: FakeBotApi) -> None:
    status, body = await api_post(stub, "sendMessage", json={"chat_id": 42, "text": "123"})
    assert status == 200 and body["result"]["chat"] == {
        "id": 42,
        "type": "private",
        "first_name": "user",
    }
    # PTB-style: every non-string value JSON-encoded, strings as they are.
    status, body = await api_post(
        stub,
        "sendMessage",
        data={"chat_id": "42", "text": "true", "disable_notification": "true"},
    )
    assert status == 200 and body["result"]["text"] == "true"
    first, second = stub.sent
    assert first.params == {"chat_id": 42, "text": "123"}
    assert second.params == {"chat_id": 42, "text": "true", "disable_notification": True}
    assert [m.message_id for m in stub.sent] == [1, 2]


async def test_redelivery_and_records(stub: FakeBotApi) -> None:
    first = stub.send_text(USER, "/start now")
    async with Bot(stub.token, base_url=stub.base_url) as bot:
        (update,) = await bot.get_updates(timeout=0)
        assert update.message is not None and update.message.text == "/start now"
        assert update.message.entities[0].type == "bot_command"
        assert update.message.from_user is not None and update.message.from_user.id == USER.id
        await bot.get_updates(offset=first + 1, timeout=0)
        await stub.wait_processed(first, timeout=0.5)
        stub.deliver_again(first)
        again = await bot.get_updates(offset=first + 1, timeout=0)
        assert [u.update_id for u in again] == [first]
        assert await bot.get_updates(offset=first + 1, timeout=0) == ()


def test_sent_message_helpers() -> None:
    message = SentMessage(
        method="sendMessage",
        chat_id=1,
        message_id=1,
        text="<b>a</b> &amp; b",
        parse_mode="HTML",
        reply_markup={"inline_keyboard": [[{"text": "Go", "url": "https://e.org"}]]},
        params={},
        seq=1,
    )
    assert message.plain == "a & b"
    assert message.buttons == [("Go", "https://e.org")]


def test_flood_control_counts_sliding_windows() -> None:
    """The enforcement mode's arithmetic: >30/s overall, >1/s per private chat, >20/min per
    group are refused with retry_after; what was refused is recorded and not counted."""
    from tests.botapi_stub import FloodControl

    flood = FloodControl(overall_per_second=30, private_per_second=1, group_per_minute=20)
    assert flood.check("sendMessage", 7, 0.0) is None
    refused = flood.check("sendMessage", 7, 0.5)
    assert refused is not None and refused.status == 429
    assert refused.parameters == {"retry_after": 1}
    assert flood.check("sendMessage", 7, 1.0) is None  # a full second later
    for n in range(20):
        assert flood.check("sendMessage", -100, 2.0 + n * 0.01) is None
    late = flood.check("sendMessage", -100, 30.0)
    assert late is not None and late.parameters == {"retry_after": 32}
    assert flood.check("sendMessage", -100, 62.0) is None
    for n in range(30):
        assert flood.check("sendMessage", 1000 + n, 100.0 + n * 0.01) is None
    assert flood.check("sendMessage", 2000, 100.5) is not None
    assert [why for *_, why in flood.refused] == ["private chat", "group", "overall"]
    assert flood.max_in_window(1.0) == 30
    assert flood.max_in_window(1.0, 7) == 1
    assert flood.max_in_window(60.0, -100) == 20


async def test_mini_app_buttons_and_big_files_are_refused_as_telegram_does(
    stub: FakeBotApi, app: AnyApp
) -> None:
    """web_app buttons: HTTPS only, private chats only; menu buttons are recorded; getFile
    refuses files over 20 MB (bots download up to 20 MB)."""
    plain = InlineKeyboardMarkup(
        [[InlineKeyboardButton("desk", web_app=WebAppInfo("http://desk.example.org/"))]]
    )
    with pytest.raises(BadRequest, match=r"(?i)Only HTTPS links are allowed"):
        await app.bot.send_message(USER.id, "open", reply_markup=plain)
    secure = InlineKeyboardMarkup(
        [[InlineKeyboardButton("desk", web_app=WebAppInfo("https://desk.example.org/"))]]
    )
    await app.bot.send_message(USER.id, "open", reply_markup=secure)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_TYPE_INVALID"):
        await app.bot.send_message(-100123, "open", reply_markup=secure)
    await app.bot.set_chat_menu_button(
        USER.id, MenuButtonWebApp("办公台", WebAppInfo("https://desk.example.org/"))
    )
    assert stub.menu_buttons[USER.id]["web_app"] == {"url": "https://desk.example.org/"}
    with pytest.raises(BadRequest, match=r"(?i)Only HTTPS"):
        await app.bot.set_chat_menu_button(
            USER.id, MenuButtonWebApp("x", WebAppInfo("http://desk.example.org/"))
        )
    stub.files["BIG"] = b"\0" * (20 * 1024 * 1024 + 1)
    stub.files["SMALL"] = b"\0" * (20 * 1024 * 1024)
    assert (await app.bot.get_file("SMALL")).file_size == 20 * 1024 * 1024
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await app.bot.get_file("BIG")
