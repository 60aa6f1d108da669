"""The Bot API stand-in itself, driven by a plain python-telegram-bot application: if it
accepted what Telegram refuses, the end-to-end tests would prove nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.botapi_stub import ApiError, FakeBotApi, FakeUser, parse_html

USER = FakeUser(id=42, first_name="Ann")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    assert query.message is not None
    await context.bot.send_message(query.message.chat.id, f"pressed {query.data}")


@pytest.fixture
async def app(stub: FakeBotApi) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
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


async def test_round_trip_and_each_update_delivered_once(stub: FakeBotApi, app: Any) -> None:
    first = stub.send_text(USER, "你好")
    reply = await stub.wait_for_text(USER.id, "echo: 你好")
    await stub.wait_processed(first)
    stub.send_text(USER, "second")
    await stub.wait_for_text(USER.id, "echo: second", after=reply.seq)
    echoes = [m.plain for m in stub.messages_to(USER.id)]
    assert echoes == ["echo: 你好", "echo: second"]


async def test_button_press_arrives_with_its_data(stub: FakeBotApi, app: Any) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("按我", callback_data="x:1")]])
    await app.bot.send_message(USER.id, "menu", reply_markup=markup)
    menu = stub.messages_to(USER.id)[-1]
    assert menu.buttons == [("按我", "x:1")]
    stub.press_button(USER, menu, "按")
    await stub.wait_for_text(USER.id, "pressed x:1")
    assert stub.answered_callbacks


async def test_html_is_validated_like_telegram(stub: FakeBotApi, app: Any) -> None:
    with pytest.raises(BadRequest, match="parse entities"):
        await app.bot.send_message(USER.id, "<script>x</script>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="parse entities"):
        await app.bot.send_message(USER.id, "a < b & c", parse_mode="HTML")
    await app.bot.send_message(USER.id, "<b>a &lt; b &amp; c</b>", parse_mode="HTML")
    assert stub.messages_to(USER.id)[-1].plain == "a < b & c"
    assert parse_html("<i>x</i> &#20320;") == "x 你"
    with pytest.raises(ApiError):
        parse_html("<b>unclosed")


async def test_length_limit_counts_utf16_units(stub: FakeBotApi, app: Any) -> None:
    await app.bot.send_message(USER.id, "啊" * 4096)
    with pytest.raises(BadRequest, match="too long"):
        await app.bot.send_message(USER.id, "啊" * 4097)
    with pytest.raises(BadRequest, match="too long"):
        await app.bot.send_message(USER.id, "😀" * 2049)  # 2 units each


async def test_callback_data_over_64_bytes_is_refused(stub: FakeBotApi, app: Any) -> None:
    too_long = "字" * 22  # 66 bytes in UTF-8
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=too_long)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await app.bot.send_message(USER.id, "menu", reply_markup=markup)


async def test_edits_that_change_nothing_are_refused(stub: FakeBotApi, app: Any) -> None:
    sent = await app.bot.send_message(USER.id, "same")
    with pytest.raises(BadRequest, match="not modified"):
        await app.bot.edit_message_text("same", chat_id=USER.id, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await app.bot.edit_message_text("new", chat_id=USER.id, message_id=9999)


async def test_injected_faults(stub: FakeBotApi, app: Any) -> None:
    stub.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await app.bot.send_message(USER.id, "x")
    assert info.value.retry_after in (3, timedelta(seconds=3))
    stub.block_user(USER.id)
    with pytest.raises(Forbidden):
        await app.bot.send_message(USER.id, "x")
    assert [e.status for e in stub.errors] == [429, 403]


async def test_long_poll_returns_as_soon_as_an_update_arrives(stub: FakeBotApi) -> None:
    from telegram import Bot

    async with Bot(stub.token, base_url=stub.base_url) as bot:
        started = time.monotonic()
        stub.send_text(USER, "hi")
        updates = await bot.get_updates(timeout=10)
        assert time.monotonic() - started < 2
        assert [u.message.text for u in updates if u.message] == ["hi"]
        again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        assert again == ()
