"""Personal data in a text that is about to be published (#17, point 10): a small detector
and its mask.

:func:`find` finds what a resident typed that identifies a person or a home: mobile and
landline numbers, e-mail addresses, ID-card numbers (18 digits, or 15 of the old ones),
vehicle plates, an address's house, building, unit and room numbers, and names: those the
sender introduced ("我叫王小明", "联系人：李四"; a bare "张先生" is left), and the names
given (the named sender's, an entered item's contact) wherever they appear. :func:`mask`
keeps enough of each to read the sentence (a number's first and last digits, a surname, the
road of an address) and stars the rest. It errs on the side of masking: the clerk sees the
preview and can publish unmasked (:mod:`bot.core.publishing`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Digits may be full-width on a phone keyboard; separators a space, a dash or a dot.
_D = r"[0-9０-９]"
_SEP = r"[\s\-－.]?"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("id_card", re.compile(rf"(?<![0-9０-９])(?:{_D}{{17}}[0-9０-９Xx]|{_D}{{15}})(?![0-9０-９])")),
    (
        "phone",
        re.compile(
            rf"(?<![0-9０-９])(?:\+?86{_SEP})?1[3-9０-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}"
            rf"(?![0-9０-９])"
        ),
    ),
    (
        "phone",
        re.compile(rf"(?<![0-9０-９])0{_D}{{2,3}}[\-－]?{_D}{{7,8}}(?![0-9０-９])"),
    ),
    ("email", re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")),
    (
        "plate",
        re.compile(
            r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
            r"[A-Za-zＡ-Ｚ][·•\s]?[A-Za-z0-9Ａ-Ｚ０-９]{5,6}(?![A-Za-z0-9])"
        ),
    ),
    # An address down to the door: a number after a road, lane or village (幸福路12号),
    # and building / unit / floor / room numbers (3幢2单元501室, 12号楼, 501室).
    (
        "address",
        re.compile(rf"(?<=[路街巷弄道里村组区苑院])\s?{_D}+(?:[\-－]{_D}+)?号(?![楼线院])"),
    ),
    (
        "address",
        re.compile(
            rf"{_D}+(?:号楼|栋|幢|座)(?:\s?{_D}+单元)?(?:\s?{_D}+[层楼])?(?:\s?{_D}+(?:室|号|户))?"
            rf"|{_D}+单元(?:\s?{_D}+[层楼])?(?:\s?{_D}+(?:室|号|户))?"
            rf"|{_D}{{3,4}}(?:室|户)"
        ),
    ),
    # Names the sender introduced: the cue stays, the given name is starred.
    (
        "name",
        re.compile(
            r"(?:我叫|我是|本人|联系人|姓名|名字叫|名叫)[:：\s]*"
            r"(?P<name>[\u4e00-\u9fff]{2,4}?)(?=[，,。.！!；;\s、]|电话|手机|联系|$)"
        ),
    ),
)


@dataclass(frozen=True)
class Found:
    """A piece of personal data: its kind and where it is in the text."""

    kind: str
    start: int
    end: int


def find(text: str, names: Iterable[str] = ()) -> list[Found]:
    """The personal data in ``text``, in order, never overlapping (the earliest and then the
    longest wins); ``names``: names known to belong to people (each of two characters or
    more is found wherever it appears)."""
    found: list[Found] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if kind == "name":
                found.append(Found(kind, match.start("name"), match.end("name")))
            else:
                found.append(Found(kind, match.start(), match.end()))
    for name in {n.strip() for n in names if len(n.strip()) >= 2}:
        found += [Found("name", m.start(), m.end()) for m in re.finditer(re.escape(name), text)]
    chosen: list[Found] = []
    for f in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if f.end > f.start and (not chosen or f.start >= chosen[-1].end):
            chosen.append(f)
    return chosen


def _digits_masked(piece: str, keep_head: int, keep_tail: int) -> str:
    positions = [i for i, c in enumerate(piece) if c.isdigit() or c in "Xx"]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else c for i, c in enumerate(piece))


def _masked(kind: str, piece: str) -> str:
    if kind == "phone":
        return _digits_masked(piece, 3, 2)
    if kind == "id_card":
        return _digits_masked(piece, 3, 2)
    if kind == "plate":
        return piece[:2] + "*" * (len(piece) - 2)
    if kind == "email":
        user, _, domain = piece.partition("@")
        return user[:1] + "***@" + domain
    if kind == "address":
        return _digits_masked(piece, 0, 0)
    return piece[:1] + "*" * (len(piece) - 1)  # a name: the surname stays


def mask(text: str, found: Sequence[Found]) -> str:
    """``text`` with each piece of ``found`` masked."""
    out: list[str] = []
    at = 0
    for f in found:
        out += [text[at : f.start], _masked(f.kind, text[f.start : f.end])]
        at = f.end
    out.append(text[at:])
    return "".join(out)


def masked(text: str, names: Iterable[str] = ()) -> tuple[str, int]:
    """``text`` masked, and how many pieces were."""
    found = find(text, names)
    return mask(text, found), len(found)
