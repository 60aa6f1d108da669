"""Text helpers: cleaning what residents type, HTML escaping, shortening, and splitting long
messages at Telegram's limit (counted in UTF-16 units, never inside an HTML entity)."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from bot.text import (
    TELEGRAM_MESSAGE_LIMIT,
    clean_text,
    escape,
    shorten,
    split_message,
    utf16_length,
)

FORBIDDEN = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


# ---------------------------------------------------------------- clean_text
def test_clean_text_examples() -> None:
    assert clean_text("  路灯\x00坏了\u202e\r\n第二行\x07 ") == "路灯坏了\n第二行"
    assert clean_text("a\rb\r\nc") == "a\nb\nc"
    assert clean_text("\u200b\ufeff建议\u2066") == "建议"
    assert clean_text("e\u0301") == "é"  # NFC
    assert clean_text("\ud800x") == "?x"  # a lone surrogate cannot be stored as UTF-8
    assert clean_text("第一行\n\t缩进") == "第一行\n\t缩进"  # tabs and newlines stay


@given(st.text())
@example("\u202eabc\u202c")
@example(" \r\n \x00 ")
def test_clean_text_is_idempotent_and_leaves_nothing_forbidden(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    assert not FORBIDDEN.search(once)
    assert "\r" not in once
    assert once == once.strip()
    once.encode("utf-8")  # storable


# ---------------------------------------------------------------- escape / shorten
def test_escape_makes_html_safe() -> None:
    assert escape("<b>&") == "&lt;b&gt;&amp;"
    assert escape("&amp;") == "&amp;amp;"  # user text is escaped as typed
    assert escape('他说"好"') == '他说"好"'  # quotes need no escaping in text


@given(st.text())
def test_escaped_text_has_no_tags_and_only_entities(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert re.sub(r"&(amp|lt|gt);", "", escaped).count("&") == 0


def test_shorten_examples() -> None:
    assert shorten("一二三四五", 3) == "一二…"
    assert shorten("一二三", 3) == "一二三"
    assert shorten("ab   cdef", 5) == "ab…"  # no space before the ellipsis


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_shorten_respects_the_limit(text: str, limit: int) -> None:
    short = shorten(text, limit)
    assert len(short) <= limit
    if len(text) <= limit:
        assert short == text
    else:
        assert short.endswith("…")
        assert text.startswith(short[:-1])


# ---------------------------------------------------------------- split_message
def test_utf16_length_counts_surrogate_pairs() -> None:
    assert utf16_length("路a") == 2
    assert utf16_length("😀") == 2
    assert utf16_length("") == 0


def test_split_short_text_is_one_chunk() -> None:
    assert split_message("第一行\n第二行") == ["第一行\n第二行"]
    assert split_message("") == [""]
    text = "字" * TELEGRAM_MESSAGE_LIMIT
    assert split_message(text) == [text]
    assert split_message(text + "字") == [text, "字"]


def test_split_prefers_line_ends() -> None:
    text = "\n".join(["第一行" * 10, "第二行" * 10, "第三行" * 10])
    assert split_message(text, 65) == ["第一行" * 10 + "\n" + "第二行" * 10, "第三行" * 10]


def test_split_long_line_is_cut_before_an_entity() -> None:
    assert split_message("abcdef&amp;xyz", 9) == ["abcdef", "&amp;xyz"]
    assert split_message("😀😀😀😀😀", 5) == ["😀😀", "😀😀", "😀"]  # never half a pair


def test_split_drops_the_newlines_at_a_line_break_and_leading_blank_lines() -> None:
    assert split_message("abcde\n\n\nxyz", 5) == ["abcde", "xyz"]
    assert split_message("\n\nabc", 10) == ["abc"]
    assert split_message("abc\n\n", 10) == ["abc\n\n"]  # without a split, nothing is lost


def check_split(text: str, chunks: list[str], limit: int) -> None:
    """The exact contract: chunks are the text in order; only runs of newlines at a
    boundary between lines (and blank lines at the start or end) are dropped, plus a piece
    that would be nothing but whitespace (Telegram refuses a blank message); a boundary
    without a newline is a cut inside a line longer than the limit; every break is as late
    as the limit allows."""
    assert chunks
    assert all(utf16_length(c) <= limit for c in chunks)
    assert all(not c.startswith("\n") for c in chunks)
    pos = 0
    previous: str | None = None
    for chunk in chunks:
        gap = len(text[pos:]) - len(text[pos:].lstrip("\n"))
        start = pos + gap
        while not text.startswith(chunk, start):  # a blank piece was left out
            assert start < len(text) and text[start].isspace(), (text, chunks)
            start += 1
        if previous is not None and start == pos + gap:
            if gap == 0:  # a cut inside an over-long line
                line_start = text.rfind("\n", 0, pos) + 1
                line_end = text.find("\n", pos)
                line = text[line_start : line_end if line_end != -1 else len(text)]
                assert utf16_length(line) > limit
                assert utf16_length(previous + text[pos]) > limit or text[pos] == "&"
            else:  # a break between lines: the next line did not fit
                end = text.find("\n", pos + 1)
                next_line = text[pos + 1 : end if end != -1 else len(text)]
                assert utf16_length(previous + "\n" + next_line) > limit
        elif previous is not None:  # only a piece Telegram would refuse may go missing
            assert not text[pos:start].strip()
            assert text[pos:start].count("\n") < len(text[pos:start])
        pos = start + len(chunk)
        previous = chunk
    assert not text[pos:].strip()


TOKENS = st.sampled_from(["路", "灯", "坏", "a", "Z", " ", "😀", "&amp;", "&lt;", "&gt;", "\n"])
TEXT = st.lists(
    st.one_of(TOKENS, st.text(st.sampled_from("长行文字ab😀"), min_size=20, max_size=200)),
    max_size=80,
).map("".join)


@given(TEXT, st.integers(min_value=8, max_value=120))
@example("abcdef&amp;xyz", 9)
@example("aaaa\n\n\nbbbb\n", 5 + 3)
@example("路路路路aaaaaaaaaaaaaaaaa😀😀😀 \naaaaaaaaaaaaaaaaaaaa", 9)
@example("路路路路aaaaaaaaaaaaaaaaa😀😀😀 ", 9)
def test_split_message_contract(text: str, limit: int) -> None:
    chunks = split_message(text, limit)
    check_split(text, chunks, limit)
    for chunk in chunks:  # "&" occurs only in entities here, so none may be cut open
        amp = chunk.rfind("&")
        assert amp == -1 or ";" in chunk[amp:], chunk


@given(st.text(max_size=300), st.integers(min_value=8, max_value=64))
def test_split_message_on_escaped_arbitrary_text(raw: str, limit: int) -> None:
    text = escape(raw)
    chunks = split_message(text, limit)
    check_split(text, chunks, limit)
    for chunk in chunks:
        assert not re.search(r"&[a-z]*$", chunk), chunk


def test_split_message_never_yields_a_blank_chunk() -> None:
    chunks = split_message("aaaa\n   \nbbbb", 5)
    assert all(chunk.strip() for chunk in chunks), chunks
