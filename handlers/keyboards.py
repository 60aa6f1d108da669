"""Inline keyboards. Callback data is short, carries no authority, and stays under 64 bytes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import LANGUAGES, Language, TopicConfig
from bot.core.workflow import Kind
from bot.i18n import t
from bot.places import PlaceIndex, button_key

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
def kinds(lang: Language, allowed: tuple[Kind, ...] = tuple(Kind)) -> InlineKeyboardMarkup:
    """The kinds to choose from (those the campaign's phase collects)."""
    return _markup(
        [Button(t(lang, f"kind.{k.value}"), callback_data=f"kind:{k.value}") for k in allowed],
        [Button(t(lang, "button.cancel"), callback_data="draft:cancel")],
    )


# Up to this many places, one keyboard lists them all (one tap); beyond, a level at a time.
FLAT_PLACES = 24


def places(lang: Language, index: PlaceIndex, parent: str | None = None) -> InlineKeyboardMarkup:
    """Where the item is from: every place (few), or the places under ``parent`` (None: the
    top level), those with places under them opening their level; always "不确定" (skip).

    Callback data: ``place:set:<key>``, ``place:open:<key>``, ``place:top``, ``place:skip``
    (keys: :func:`bot.places.button_key`)."""
    rows: list[list[Button]] = []
    if len(index) <= FLAT_PLACES:
        names = [p.name(lang) for p in index.places]
        choices = [
            Button(
                index.label(lang, p.id) if names.count(p.name(lang)) > 1 else p.name(lang),
                callback_data=f"place:set:{button_key(p.id)}",
            )
            for p, _ in index.walk()
        ]
    else:
        here = index.get(parent)
        choices = []
        if here is not None:  # the level's own place, then its places
            whole = t(lang, "place.whole", place=here.name(lang))
            choices.append(Button(whole, callback_data=f"place:set:{button_key(here.id)}"))
        for place in index.children.get(parent, []):
            key = button_key(place.id)
            if index.children.get(place.id):
                label = t(lang, "place.open", place=place.name(lang))
                choices.append(Button(label, callback_data=f"place:open:{key}"))
            else:
                choices.append(Button(place.name(lang), callback_data=f"place:set:{key}"))
        if here is not None:
            back = index.get(here.parent)
            data = f"place:open:{button_key(back.id)}" if back is not None else "place:top"
            rows.append([Button(t(lang, "place.back"), callback_data=data)])
    rows[0:0] = [choices[i : i + 2] for i in range(0, len(choices), 2)]
    rows.append([Button(t(lang, "place.skip"), callback_data="place:skip")])
    rows.append([Button(t(lang, "button.cancel"), callback_data="draft:cancel")])
    return _markup(*rows)


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
def confirm(lang: Language, *, place: bool = False) -> InlineKeyboardMarkup:
    """Confirm or cancel; with places configured, also change the place."""
    change = [Button(t(lang, "place.change"), callback_data="place:change")] if place else []
    return _markup(
        [Button(t(lang, "button.confirm"), callback_data="confirm:yes")],
        change,
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
