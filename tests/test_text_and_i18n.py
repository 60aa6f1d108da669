"""Text helpers (cleaning, escaping, splitting at Telegram's limit) and the translation
catalogue (complete in three languages, same placeholders, every key used exists)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import MESSAGES, resolve_language, t
from bot.text import clean_text, escape, shorten, split_message, utf16_length
from bot.workflow import Kind, Status

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- text
def test_clean_text_drops_controls_and_direction_overrides() -> None:
    assert clean_text("  路灯\x00坏了\u202e\r\n第二行\x07 ") == "路灯坏了\n第二行"
    assert clean_text("\ud800x") == "?x"  # a lone surrogate cannot be stored as UTF-8


@given(st.text())
def test_clean_text_is_idempotent_and_storable(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    once.encode("utf-8")


def test_escape_and_shorten() -> None:
    assert escape("<b>a & b</b>") == "&lt;b&gt;a &amp; b&lt;/b&gt;"
    assert shorten("一二三四五", 3) == "一二…"
    assert shorten("一二三", 3) == "一二三"


TOKENS = st.sampled_from(["路", "灯", "a", " ", "😀", "&amp;", "&lt;"])
LINE = st.lists(TOKENS, max_size=120).map("".join)


@given(st.lists(LINE, min_size=1, max_size=30), st.integers(min_value=8, max_value=200))
def test_split_message_respects_the_limit_and_loses_nothing(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    chunks = split_message(text, limit)
    assert all(utf16_length(c) <= limit for c in chunks)
    # Chunks break either at a newline (which is dropped) or inside an over-long line.
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
    for chunk in chunks:
        assert not re.search(r"&[a-z]*$", chunk), chunk  # no entity cut in half


def test_split_message_prefers_line_ends() -> None:
    text = "\n".join(["第一行" * 10, "第二行" * 10, "第三行" * 10])
    assert split_message(text, 65) == ["第一行" * 10 + "\n" + "第二行" * 10, "第三行" * 10]


# ---------------------------------------------------------------- i18n
def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_exists_in_three_languages_with_same_placeholders(key: str) -> None:
    entry = MESSAGES[key]
    assert set(entry) == {"zh-Hans", "zh-Hant", "en"}
    assert all(entry.values())
    assert placeholders(entry["zh-Hant"]) == placeholders(entry["zh-Hans"])
    assert placeholders(entry["en"]) == placeholders(entry["zh-Hans"])


def test_traditional_texts_are_really_traditional() -> None:
    assert t("zh-Hant", "menu.report") != t("zh-Hans", "menu.report")
    assert "記錄" in t("zh-Hant", "privacy.text")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-TW", "zh-Hant"),
        ("zh-hk", "zh-Hant"),
        ("zh-hant", "zh-Hant"),
        ("zh-CN", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("en-US", "en"),
        ("en", "en"),
        ("fr", "zh-Hans"),
        (None, "zh-Hans"),
    ],
)
def test_language_of_a_telegram_client(code: str | None, expected: str) -> None:
    assert resolve_language(code) == expected


def test_every_message_key_used_in_the_code_exists() -> None:
    prefixes = {key.split(".", 1)[0] for key in MESSAGES}
    used: set[str] = set()
    for path in [*(ROOT / "bot").glob("*.py"), *(ROOT / "handlers").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if value.endswith("."):  # the head of an f-string key family
                    continue
                if re.fullmatch(r"[a-z_]+\.[a-z_.]+", value) and value.split(".")[0] in prefixes:
                    used.add(value)
    assert used, "the scan found no keys"
    assert sorted(used - set(MESSAGES)) == []
    # Families built with f-strings.
    for status in Status:
        assert f"status.{status.value}" in MESSAGES
    for kind in Kind:
        assert f"kind.{kind.value}" in MESSAGES
        assert f"compose.ask.{kind.value}" in MESSAGES
