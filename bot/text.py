"""Text helpers: cleaning what residents type, HTML escaping, shortening, and keeping
messages within Telegram's limit (4096 UTF-16 units): splitting, truncating and fitting
HTML. Lengths are those of the HTML source, never less than what Telegram counts after
parsing it, so whatever fits here fits there."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


def shorten_escaped(text: str, units: int) -> str:
    """``text`` HTML-escaped, cut so that the escaped form takes at most ``units`` UTF-16
    units (``&`` counts 5, as ``&amp;``; an emoji 2), with an ellipsis where it was cut."""
    escaped = escape(text)
    if utf16_length(escaped) <= units:
        return escaped
    if units < 1:
        return ""
    budget = units - 1  # the ellipsis
    kept: list[str] = []
    used = 0
    for char in text:
        piece = escape(char) if char in "&<>" else char
        size = len(piece) + (ord(char) > 0xFFFF)
        if used + size > budget:
            break
        kept.append(piece)
        used += size
    return "".join(kept).rstrip() + "…"


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")


def _tags_after(html: str, open_tags: Sequence[str]) -> list[str]:
    """The tags still open after ``html`` (as their opening tags), given those open before."""
    stack = list(open_tags)
    for match in _TAG.finditer(html):
        if not match[1]:
            stack.append(match[0])
            continue
        name = match[2].lower()
        for index in range(len(stack) - 1, -1, -1):
            if _tag_name(stack[index]).lower() == name:
                del stack[index]
                break
    return stack


def _tag_name(opening: str) -> str:
    """``b`` of ``<b>``, ``a`` of ``<a href="...">``."""
    return opening[1:].split(maxsplit=1)[0].rstrip(">")


def _closers(open_tags: Sequence[str]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(open_tags))


def _wrapped_length(open_before: Sequence[str], html: str, open_after: Sequence[str]) -> int:
    return utf16_length("".join(open_before) + html + _closers(open_after))


def split_message(text: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[str]:
    """Split HTML text into messages of at most ``limit`` UTF-16 units, at line ends where
    possible, never inside an HTML entity such as ``&amp;`` or inside a tag. A tag open at
    a split is closed at the end of one message and opened again at the start of the next,
    so each message is well-formed HTML."""
    chunks: list[str] = []
    current = ""
    before: list[str] = []  # tags open where ``current`` begins
    after: list[str] = []  # tags open where it ends
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        then = _tags_after(line, after)
        if _wrapped_length(before, candidate, then) <= limit:
            current, after = candidate, then
            continue
        if current:
            chunks.append("".join(before) + current + _closers(after))
        before, current = after, ""
        while _wrapped_length(before, line, _tags_after(line, before)) > limit:
            cut, open_at_cut = _cut_point(line, limit, before)
            chunks.append("".join(before) + line[:cut] + _closers(open_at_cut))
            line, before = line[cut:], open_at_cut
        current, after = line, _tags_after(line, before)
    if current or not chunks:
        chunks.append("".join(before) + current + _closers(after))
    # A chunk of nothing but spaces would be refused by Telegram as empty.
    return [c for c in chunks if _TAG.sub("", c).strip()] or chunks[:1]


def _cut_point(line: str, limit: int, open_before: Sequence[str]) -> tuple[int, list[str]]:
    """Where to cut an over-long line, and the tags open there: as late as the limit
    allows with the tags reopened before and closed after, never inside a tag or entity
    (when not even one character fits beside the reopened tags, one whole token goes)."""
    budget = limit - utf16_length("".join(open_before))
    cut = min(len(line), max(budget, 0))
    while True:
        while cut > 0 and utf16_length(line[:cut]) > budget:
            cut -= 1
        amp = line.rfind("&", max(0, cut - 10), cut)
        if amp != -1 and ";" not in line[amp:cut]:
            cut = amp
        lt = line.rfind("<", 0, cut)
        if lt != -1 and not 0 <= line.find(">", lt) < cut:
            cut = lt
        if cut <= 0:
            token = _TOKEN.match(line)
            cut = token.end() if token else 1
            return cut, _tags_after(line[:cut], open_before)
        open_at_cut = _tags_after(line[:cut], open_before)
        over = _wrapped_length(open_before, line[:cut], open_at_cut) - limit
        if over <= 0:
            return cut, open_at_cut
        cut -= over


_TOKEN = re.compile(r"<[^>]*>|&[^;&<\s]{1,10};|.", re.DOTALL)


def truncate_html(html: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> str:
    """At most ``limit`` UTF-16 units of HTML: as many of its lines as fit, with its tags
    closed and an ellipsis. The last resort of a message that must stay one message."""
    if utf16_length(html) <= limit:
        return html
    return split_message(html, limit - 2)[0] + "\n…"


def message_parts(html: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[str]:
    """``html`` as the messages it takes: itself when it fits, else :func:`split_message`."""
    if len(html) * 2 <= limit or utf16_length(html) <= limit:  # a character is 1 or 2 units
        return [html]
    return split_message(html, limit)


@dataclass(frozen=True)
class Slot:
    """A piece of plain text in a message that may be shortened to make the message fit;
    pieces are shortened in inverse proportion to their ``weight``."""

    text: str
    weight: int = 1


def fit_html(
    render: Callable[[list[str]], str],
    slots: Sequence[Slot],
    limit: int = TELEGRAM_MESSAGE_LIMIT,
) -> tuple[str, bool]:
    """The HTML ``render`` makes of the slots' texts (escaped here), within ``limit`` UTF-16
    units: when the whole does not fit, the texts are shortened with an ellipsis, each to
    its share of what the rest leaves (a text shorter than its share keeps all of it, the
    others share what it leaves). ``render`` must use each piece once, as it is. Returns
    the HTML and whether any text was shortened."""
    whole = render([escape(slot.text) for slot in slots])
    if utf16_length(whole) <= limit:
        return whole, False
    overhead = utf16_length(render([""] * len(slots)))
    needs = [utf16_length(escape(slot.text)) for slot in slots]
    shares = _shares(needs, [slot.weight for slot in slots], max(0, limit - overhead))
    html = render([shorten_escaped(s.text, n) for s, n in zip(slots, shares, strict=True)])
    # Only when what cannot be shortened (headings, configured names) alone is too long.
    return truncate_html(html, limit), True


def _shares(needs: Sequence[int], weights: Sequence[int], available: int) -> list[int]:
    """Split ``available`` in proportion to ``weights``, giving none more than it needs."""
    shares = [0] * len(needs)
    waiting = set(range(len(needs)))
    left = available
    while waiting:
        unit = left / sum(weights[i] for i in waiting)
        satisfied = [i for i in waiting if needs[i] <= weights[i] * unit]
        if not satisfied:
            for i in waiting:
                shares[i] = int(weights[i] * unit)
            break
        for i in satisfied:
            shares[i] = needs[i]
            left -= needs[i]
            waiting.discard(i)
    return shares


Template = Callable[[str], str]


class FittedLines:
    """The lines of one message, some of them around a piece of plain text (a :class:`Slot`)
    that :meth:`fit` shortens as far as needed for the message to fit."""

    def __init__(self) -> None:
        self._lines: list[str | tuple[int, Template]] = []
        self._slots: list[Slot] = []

    def add(self, *lines: str) -> None:
        """Lines of HTML as they are."""
        self._lines.extend(lines)

    def add_text(self, text: str, template: Template = str, *, weight: int = 1) -> None:
        """A line ``template(escaped text)``; the text may be shortened."""
        self._lines.append((len(self._slots), template))
        self._slots.append(Slot(text, weight))

    def _render(self, pieces: list[str]) -> str:
        return "\n".join(
            line if isinstance(line, str) else line[1](pieces[line[0]]) for line in self._lines
        )

    def fit(self, limit: int = TELEGRAM_MESSAGE_LIMIT) -> tuple[str, bool]:
        """The message within ``limit``, and whether any text was shortened for it."""
        return fit_html(self._render, self._slots, limit)
