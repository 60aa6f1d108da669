"""Topic tagging by keyword rules (no Telegram here): normalise a text, find keywords, rank."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import chain

import opencc

from bot.config import TopicConfig

# Longer keywords are more specific ("安置房" says more than "安置"), up to this weight.
MAX_KEYWORD_WEIGHT = 4
# A Latin keyword of one word weighs as much as a three-character Chinese one.
LATIN_WORD_WEIGHT = 3
# A keyword found n times counts 1 + OCCURRENCE_WEIGHT * ln(n) times (more mentions say more,
# with diminishing returns); one found in the text's lead (its first sentence, or its first
# LEAD_CHARS characters if that is longer) counts LEAD_WEIGHT times: petitions name their
# subject first.
OCCURRENCE_WEIGHT = 0.5
LEAD_WEIGHT = 1.5
LEAD_CHARS = 30
_SENTENCE_END = re.compile("[。!?;\n]")  # after normalise: ！？； are ASCII


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


# NFKC maps full-width ASCII (ＡＢＣ１２３，！) and the ideographic space to their ASCII twins.
# Chinese input methods type the commonest of these in nearly every message, so they are
# replaced first (cheap); NFKC over the whole text, which is slow, runs only when needed.
_COMMON_WIDE = tuple((c, unicodedata.normalize("NFKC", c)) for c in "，！？：；（）\u3000")
_FULL_WIDTH = re.compile("[\u3000\uff01-\uff5e]+")
# Lone surrogates (a JSON "\\ud800" decodes to one) cannot be encoded for OpenCC.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _nfkc(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def normalise(text: str) -> str:
    """Unicode NFKC (full-width → half-width), Traditional → Simplified (OpenCC t2s), casefold.

    Never fails: lone surrogates become U+FFFD.
    """
    if text.isascii():  # NFKC and OpenCC leave ASCII as it is
        return text.casefold()
    for wide, narrow in _COMMON_WIDE:
        if wide in text:
            text = text.replace(wide, narrow)
    if _FULL_WIDTH.search(text):
        text = _FULL_WIDTH.sub(_nfkc, text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    try:
        simplified: str = _t2s().convert(text)
    except UnicodeEncodeError:
        simplified = _t2s().convert(_SURROGATE.sub("\ufffd", text))
    return simplified.casefold()


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic proposed for a text: its score and the configured keywords that fired (or,
    from the model of :mod:`bot.learning`, its probability and weightiest n-grams)."""

    topic_id: str
    score: float
    keywords: tuple[str, ...]
    source: str = "rule"  # "rule" or "model"


@dataclass(frozen=True, slots=True)
class _Keyword:
    written: str  # as configured, for display
    topic: int  # index in the catalogue
    order: int  # position in the catalogue, for a stable evidence order
    weight: float


def _lead_length(normal: str) -> int:
    end = _SENTENCE_END.search(normal)
    return max(LEAD_CHARS, end.end() if end else len(normal))


def _weight(normal: str) -> float:
    if normal.isascii():
        return float(min(LATIN_WORD_WEIGHT + len(normal.split()) - 1, MAX_KEYWORD_WEIGHT))
    return float(min(len(normal), MAX_KEYWORD_WEIGHT))


def _latin_pattern(normal: str) -> re.Pattern[str]:
    # Whole words only ("road" is not in "railroads"), plural "s"/"es" allowed ("buses").
    return re.compile(rf"(?<![a-z0-9]){re.escape(normal)}(?:e?s)?(?![a-z0-9])")


class Tagger:
    """Ranks the catalogue's topics for a text by the keywords found in it.

    Matching: the text and the keywords are both normalised (:func:`normalise`), so a
    keyword written in Traditional script or upper case matches too. Chinese keywords match
    anywhere; Latin ones match whole words, with an optional plural "s"/"es".

    Scoring: a keyword found in the text counts once (repeating it adds nothing), with a
    weight of its length in characters capped at 4 (Latin: 3 for one word, 4 for a phrase).
    A keyword whose every occurrence lies inside an occurrence of a longer keyword that was
    also found does not count, whichever topic that longer one belongs to: "路灯" inside
    "路灯坏了", "卫生" inside "卫生院", "农民" inside "农民工". A topic's score is the sum
    of its counted keywords' weights.

    Result: every topic with a counted keyword, by score, ties in catalogue order, each with
    its counted keywords as written in the configuration, heaviest first. When nothing
    counts, the fallback topic alone, with score 0 and no keywords.
    """

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        fallbacks = [t.id for t in topics if t.fallback]
        if len(fallbacks) != 1:
            raise ValueError("the catalogue needs exactly one fallback topic")
        self.fallback_id = fallbacks[0]
        self._ids = [t.id for t in topics]
        self.topic_ids = frozenset(self._ids)
        # Names the catalogue's topics and keywords, so a model trained with another can
        # tell (bot.learner retrains then).
        self.fingerprint = hashlib.sha256(
            "\x1e".join(
                f"{t.id}\x1f{t.fallback}\x1f" + "\x1f".join(normalise(k) for k in t.keywords)
                for t in topics
            ).encode("utf-8", "surrogatepass")
        ).hexdigest()[:16]
        # Normalised keyword -> the topics it stands for (one keyword may serve two topics).
        self._keywords: dict[str, list[_Keyword]] = {}
        order = 0
        for index, topic in enumerate(topics):
            for written in topic.keywords:
                normal = normalise(written).strip()
                entries = self._keywords.setdefault(normal, []) if normal else []
                if not normal or any(e.topic == index for e in entries):
                    continue
                entries.append(_Keyword(written, index, order, _weight(normal)))
                order += 1
        # A keyword listed under several topics says less about each: its weight is shared.
        for normal, entries in self._keywords.items():
            if len(entries) > 1:
                share = 1.0 / len(entries)
                self._keywords[normal] = [replace(e, weight=e.weight * share) for e in entries]
        self._latin = {k: _latin_pattern(k) for k in self._keywords if k.isascii()}
        # Prefilter (speed only): each keyword is filed under its first two characters (a
        # keyword of two is then found by that alone), one of one character under it.
        filed: dict[str, list[str]] = {}
        for word in self._keywords:
            filed.setdefault(word[:2], []).append(word)
        self._filed = {prefix: tuple(words) for prefix, words in filed.items()}
        self._prefixes = frozenset(p for p in self._filed if len(p) == 2)
        self._singles = frozenset(p for p in self._filed if len(p) == 1)
        # For each keyword, the longer keywords containing it (which may hide it) and where.
        self._containers = {
            short: tuple(
                (w, tuple(i for i in range(len(w)) if w.startswith(short, i)))
                for w in self._keywords
                if len(w) > len(short) and short in w
            )
            for short in self._keywords
        }
        self._hideable = frozenset(k for k, longer in self._containers.items() if longer)

    def tag(self, text: str) -> list[TopicMatch]:
        """All topics whose keywords occur in ``text``, best first; else the fallback."""
        return self.tag_normalised(normalise(text))

    def tag_normalised(self, normal: str) -> list[TopicMatch]:
        """:meth:`tag` for a text already through :func:`normalise`."""
        pairs = self._prefixes.intersection([normal[i : i + 2] for i in range(len(normal) - 1)])
        singles = self._singles.intersection(normal)
        candidates = chain.from_iterable(map(self._filed.__getitem__, chain(pairs, singles)))
        found = [w for w in candidates if len(w) <= 2 or w in normal]
        latin = self._latin
        if not latin.keys().isdisjoint(found):  # Latin keywords must be whole words
            found = [w for w in found if w not in latin or latin[w].search(normal)]
        if not found:
            return [TopicMatch(self.fallback_id, 0.0, ())]
        present = set(found)
        lead = _lead_length(normal)
        by_topic: dict[int, list[tuple[float, _Keyword]]] = {}
        for word in found:
            if word in self._hideable or word in latin:
                starts = self._free_starts(word, present, normal)
                if not starts:  # every occurrence inside a longer keyword found
                    continue
                number, first = len(starts), starts[0]
            else:  # the common case, in C
                number, first = normal.count(word), normal.find(word)
            occurrence = 1.0 + OCCURRENCE_WEIGHT * math.log(number) if number > 1 else 1.0
            if first < lead:
                occurrence *= LEAD_WEIGHT
            for kw in self._keywords[word]:
                by_topic.setdefault(kw.topic, []).append((kw.weight * occurrence, kw))
        ranked: list[tuple[float, int, tuple[str, ...]]] = []
        for index, kws in by_topic.items():
            if len(kws) > 1:
                kws.sort(key=lambda k: (-k[0], -len(k[1].written), k[1].order))
            score = round(sum(w for w, _ in kws), 3)
            ranked.append((score, index, tuple(k.written for _, k in kws)))
        if not ranked:
            return [TopicMatch(self.fallback_id, 0.0, ())]
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return [TopicMatch(self._ids[i], score, words) for score, i, words in ranked]

    def _free_starts(self, word: str, present: set[str], text: str) -> list[int]:
        """Where ``word`` occurs in ``text`` outside every longer keyword present.

        Linear in the number of occurrences: ``word`` sits at fixed offsets in each
        container, so an occurrence at ``s`` is inside one starting at ``s - offset``.
        """
        starts = self._starts(word, text)
        if word not in self._hideable:
            return starts
        inside = [
            (set(self._starts(w, text)), at) for w, at in self._containers[word] if w in present
        ]
        if not inside:
            return starts
        return [
            s
            for s in starts
            if not any(s - offset in longer for longer, at in inside for offset in at)
        ]

    def _starts(self, word: str, text: str) -> list[int]:
        """Where ``word`` occurs in ``text`` (whole words only, for Latin keywords)."""
        pattern = self._latin.get(word)
        if pattern is not None:
            return [m.start() for m in pattern.finditer(text)]
        starts = []
        start = text.find(word)
        while start >= 0:
            starts.append(start)
            start = text.find(word, start + 1)
        return starts
