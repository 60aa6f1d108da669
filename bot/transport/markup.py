"""Inline keyboards from the (label, callback data) rows the core composes: the one place
where the core's buttons become Telegram's."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


def from_buttons(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard from (label, callback data) rows, as the core composes them."""
    markup = [
        [InlineKeyboardButton(label, callback_data=data) for label, data in row]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(markup) if markup else None
