"""Plain-text helpers for what residents type: cleaning, limits, HTML escaping, shortening."""

from __future__ import annotations

import html
import re
import unicodedata

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
TELEGRAM_MESSAGE_LIMIT = 4096


def clean_text(text: str) -> str:
    """Drop control and direction-override characters, normalise newlines and NFC, trim.

    Lone surrogates (possible in a Python str) are replaced so the text can be stored."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text).strip()


def escape(text: str) -> str:
    """Escape user text for Telegram's HTML parse mode."""
    return html.escape(text, quote=False)


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut on a character boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[str]:
    """Split HTML text into messages of at most ``limit`` UTF-16 units, at line ends where
    possible and never inside an HTML entity such as ``&amp;``. Tags must not span lines."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf16_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        while utf16_length(line) > limit:
            cut = _cut_point(line, limit)
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not chunks:
        chunks.append(current)
    # A chunk of nothing but spaces would be refused by Telegram as empty.
    return [c for c in chunks if c.strip()] or chunks[:1]


def _cut_point(line: str, limit: int) -> int:
    cut = min(len(line), limit)
    while cut > 0 and utf16_length(line[:cut]) > limit:
        cut -= 1
    amp = line.rfind("&", max(0, cut - 10), cut)
    if amp != -1 and ";" not in line[amp:cut]:
        cut = amp
    return max(cut, 1)
