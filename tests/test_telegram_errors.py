"""Telegram's common refusals reach the office in its language (#17, point 11)."""

from __future__ import annotations

from bot.config import LANGUAGES
from bot.core.presenters import telegram_error
from bot.i18n import t


def test_common_refusals_are_translated_others_kept_escaped() -> None:
    cases = {
        "Forbidden: bot was blocked by the user": "blocked",
        "Bad Request: chat not found": "chat_not_found",
        "Bad Request: message is too long": "too_long",
        "Forbidden: user is deactivated": "deactivated",
        "Forbidden: bot was kicked from the supergroup chat": "kicked",
    }
    for raw, name in cases.items():
        for lang in LANGUAGES:
            assert telegram_error(lang, raw) == t(lang, f"telegram.error.{name}")
    assert telegram_error("zh-Hans", "Bad Request: <odd> " + "x" * 300).startswith(
        "Bad Request: &lt;odd&gt;"
    )
    assert len(telegram_error("zh-Hans", "y" * 500)) <= 200
