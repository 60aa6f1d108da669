"""Topic tagging by keyword rules: normalise the text, find the catalogue's keywords, rank.

Knows nothing of Telegram. The result keeps the keywords that fired for each topic so the
office (and the resident) can see why an item was tagged as it was.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import opencc

from bot.config import TopicConfig

# Longer keywords are more specific ("安置房" says more than "安置"), up to this weight.
MAX_KEYWORD_WEIGHT = 4


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


# Characters whose compatibility form matters for matching: full-width letters and digits
# (ＡＢＣ１２３) and the ideographic space. Full-width punctuation (，。) never occurs in a
# keyword, so a text with only that is left as it is and skips the costly NFKC pass.
_WIDE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\uff61-\uffef]")


def normalise(text: str) -> str:
    """Full-width → half-width (NFKC), Traditional → Simplified (OpenCC), case-folded."""
    if text.isascii():
        return text.casefold()
    if _WIDE.search(text):
        text = unicodedata.normalize("NFKC", text)
    simplified: str = _t2s().convert(text)
    return simplified.casefold()


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic proposed for a text: its score and the configured keywords that fired."""

    topic_id: str
    score: float
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Keyword:
    normal: str  # as matched
    written: str  # as configured, for display
    topic: int  # index in the catalogue
    order: int  # position in the catalogue, for stable evidence order
    weight: float
    word: re.Pattern[str] | None  # Latin keywords match whole words only


def _weight(keyword: str) -> float:
    if keyword.isascii():
        return float(MAX_KEYWORD_WEIGHT - 1)
    return float(min(len(keyword), MAX_KEYWORD_WEIGHT))


class Tagger:
    """Ranks the catalogue's topics for a text by the keywords found in it.

    Rule: each topic scores the sum of the weights of its distinct keywords found in the
    normalised text; a keyword's weight is its length in characters, capped at 4 (Latin
    keywords weigh 3 and must match whole words). A keyword contained in a longer keyword
    of the same topic that also fired is not counted again ("路灯" inside "路灯坏了").
    Topics are ranked by score, ties in catalogue order. When nothing fires, the result is
    the fallback topic alone with score 0 and no keywords.
    """

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        fallbacks = [t.id for t in topics if t.fallback]
        if len(fallbacks) != 1:
            raise ValueError("the catalogue needs exactly one fallback topic")
        self.fallback_id = fallbacks[0]
        self._ids = [t.id for t in topics]
        keywords: list[_Keyword] = []
        for index, topic in enumerate(topics):
            seen: set[str] = set()
            for written in topic.keywords:
                normal = normalise(written).strip()
                if not normal or normal in seen:
                    continue
                seen.add(normal)
                word = None
                if normal.isascii():
                    word = re.compile(rf"(?<![a-z0-9]){re.escape(normal)}(?![a-z0-9])")
                keywords.append(
                    _Keyword(normal, written, index, len(keywords), _weight(normal), word)
                )
        # Keywords by first character: only those whose first character occurs are tried.
        self._by_first: dict[str, tuple[_Keyword, ...]] = {}
        for kw in keywords:
            self._by_first[kw.normal[0]] = (*self._by_first.get(kw.normal[0], ()), kw)
        self._firsts = frozenset(self._by_first)

    def tag(self, text: str) -> list[TopicMatch]:
        """All topics whose keywords occur in ``text``, best first; else the fallback."""
        normal = normalise(text)
        fired: dict[int, list[_Keyword]] = {}
        by_first = self._by_first
        for first in self._firsts.intersection(normal):
            for kw in by_first[first]:
                if kw.normal in normal and (kw.word is None or kw.word.search(normal)):
                    fired.setdefault(kw.topic, []).append(kw)
        if not fired:
            return [TopicMatch(self.fallback_id, 0.0, ())]
        ranked: list[tuple[float, int, tuple[str, ...]]] = []
        for index, found in fired.items():
            found.sort(key=lambda k: (-len(k.normal), k.order))
            kept: list[_Keyword] = []
            for kw in found:
                if not any(kw.normal in longer.normal for longer in kept):
                    kept.append(kw)
            ranked.append((sum(k.weight for k in kept), index, tuple(k.written for k in kept)))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return [TopicMatch(self._ids[i], score, words) for score, i, words in ranked]
