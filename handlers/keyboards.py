"""Inline keyboards. Callback data is short, carries no authority, and stays under 64 bytes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import LANGUAGES, Language, TopicConfig
from bot.i18n import t

Button = InlineKeyboardButton


class Keyboard(InlineKeyboardMarkup):
    """An inline keyboard whose JSON form is computed once, when it is built: the fixed
    keyboards of the resident flow are built once per language (:func:`functools.cache`)
    and sent with nearly every reply, and turning one into JSON costs as much as the rest of
    the reply. Like every Telegram object it is immutable; treat :meth:`to_dict` as read-only."""

    __slots__ = ("_as_dict",)
    _as_dict: dict[str, Any]

    def __init__(self, rows: Sequence[Sequence[Button]]) -> None:
        super().__init__(rows)
        # Our own slot, set past python-telegram-bot's freezing (its __setattr__) with plain
        # Python rather than its private _unfrozen().
        object.__setattr__(self, "_as_dict", super().to_dict())

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return dict(self._as_dict) if recursive else super().to_dict(recursive=False)


def _markup(*rows: Sequence[Button]) -> InlineKeyboardMarkup:
    return Keyboard([list(r) for r in rows if r])


@cache
def main_menu(lang: Language) -> InlineKeyboardMarkup:
    return _markup(
        [
            Button(t(lang, "menu.suggest"), callback_data="menu:suggest"),
            Button(t(lang, "menu.report"), callback_data="menu:report"),
        ],
        [
            Button(t(lang, "menu.my"), callback_data="menu:my"),
            Button(t(lang, "menu.help"), callback_data="menu:help"),
        ],
    )


@cache
def kinds(lang: Language) -> InlineKeyboardMarkup:
    return _markup(
        [
            Button(t(lang, "kind.suggestion"), callback_data="kind:suggestion"),
            Button(t(lang, "kind.problem"), callback_data="kind:problem"),
        ],
        [Button(t(lang, "button.cancel"), callback_data="draft:cancel")],
    )


@cache
def compose(lang: Language, *, has_content: bool) -> InlineKeyboardMarkup:
    first = [Button(t(lang, "button.next"), callback_data="draft:next")] if has_content else []
    return _markup(first, [Button(t(lang, "button.cancel"), callback_data="draft:cancel")])


@cache
def topic_proposal(lang: Language) -> InlineKeyboardMarkup:
    return _markup(
        [Button(t(lang, "topic.accept"), callback_data="topic:ok")],
        [Button(t(lang, "topic.other"), callback_data="topic:list")],
        [Button(t(lang, "button.cancel"), callback_data="draft:cancel")],
    )


def topic_list(lang: Language, topics: Sequence[TopicConfig]) -> InlineKeyboardMarkup:
    buttons = [Button(tp.name(lang), callback_data=f"topic:set:{tp.id}") for tp in topics]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return _markup(*rows, [Button(t(lang, "button.cancel"), callback_data="draft:cancel")])


@cache
def identity(lang: Language) -> InlineKeyboardMarkup:
    return _markup(
        [Button(t(lang, "identity.named"), callback_data="who:named")],
        [Button(t(lang, "identity.anonymous"), callback_data="who:anon")],
        [Button(t(lang, "button.cancel"), callback_data="draft:cancel")],
    )


@cache
def confirm(lang: Language) -> InlineKeyboardMarkup:
    return _markup(
        [Button(t(lang, "button.confirm"), callback_data="confirm:yes")],
        [Button(t(lang, "button.cancel"), callback_data="draft:cancel")],
    )


@cache
def languages() -> InlineKeyboardMarkup:
    return _markup(
        [Button(t(code, "lang.name"), callback_data=f"lang:{code}") for code in LANGUAGES]
    )


def pages(
    lang: Language, *, offset: int, page_size: int, total: int
) -> InlineKeyboardMarkup | None:
    row = []
    if offset > 0:
        row.append(Button(t(lang, "button.prev"), callback_data=f"my:{max(0, offset - page_size)}"))
    if offset + page_size < total:
        row.append(Button(t(lang, "button.more"), callback_data=f"my:{offset + page_size}"))
    return _markup(row) if row else None
