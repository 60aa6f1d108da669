"""Inline keyboards: the fixed ones are built once per language and send the same JSON as a
plain python-telegram-bot keyboard would; callback data fits Telegram's 64 bytes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from telegram import InlineKeyboardMarkup

from bot.config import LANGUAGES, Language
from handlers import keyboards

FIXED: dict[str, Callable[[Language], InlineKeyboardMarkup]] = {
    "main_menu": keyboards.main_menu,
    "kinds": keyboards.kinds,
    "compose (empty)": lambda lang: keyboards.compose(lang, has_content=False),
    "compose (with content)": lambda lang: keyboards.compose(lang, has_content=True),
    "topic_proposal": keyboards.topic_proposal,
    "identity": keyboards.identity,
    "confirm": keyboards.confirm,
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", FIXED)
def test_fixed_keyboards_send_what_a_plain_keyboard_sends(name: str, lang: Language) -> None:
    built = FIXED[name](lang)
    plain = InlineKeyboardMarkup(built.inline_keyboard)  # the same buttons, nothing cached
    assert type(plain) is InlineKeyboardMarkup
    assert json.dumps(built.to_dict()) == json.dumps(plain.to_dict())
    assert built == plain
    for row in built.inline_keyboard:
        for button in row:
            assert button.callback_data is not None
            assert len(str(button.callback_data).encode()) <= 64


@pytest.mark.parametrize("lang", LANGUAGES)
def test_fixed_keyboards_are_built_once_per_language(lang: Language) -> None:
    assert keyboards.kinds(lang) is keyboards.kinds(lang)
    assert keyboards.compose(lang, has_content=True) is keyboards.compose(lang, has_content=True)
    other = next(code for code in LANGUAGES if code != lang)
    assert keyboards.kinds(lang).to_dict() != keyboards.kinds(other).to_dict()


def test_the_json_form_cannot_be_changed_through_to_dict() -> None:
    built = keyboards.confirm("zh-Hans")
    before = json.dumps(built.to_dict())
    built.to_dict().clear()
    built.to_dict()["inline_keyboard"] = []
    assert json.dumps(built.to_dict()) == before


def test_a_keyboard_with_its_json_cached_stays_immutable() -> None:
    """The cache is set on our own slot with plain Python (object.__setattr__), not with
    python-telegram-bot's private _unfrozen(); the object stays frozen like any other."""
    built = keyboards.identity("en")
    assert isinstance(built, keyboards.Keyboard)
    with pytest.raises(AttributeError):
        built.inline_keyboard = ()
    assert built.to_dict() == InlineKeyboardMarkup(built.inline_keyboard).to_dict()
