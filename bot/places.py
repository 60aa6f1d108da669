"""The campaign's places (``[[places]]``: towns, villages, communities, units) as a tree:
lookups by id, by a button's short key and by name, labels with the parent, the subtrees a
filter covers, and the deep links residents arrive through.

A place's id is the payload of its deep link ``https://t.me/<bot>?start=<id>`` (Telegram
allows 1-64 characters of ``A-Z a-z 0-9 _ -``), so an id can be longer than a button's
callback data holds: buttons carry :func:`button_key`, 8 hexadecimal characters of a hash
of the id (a clash between two configured ids is a configuration error).

A place is content the office sees, like the text: it is stored on the draft and on the
item, never in anything kept per person.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import PlaceConfig

PAYLOAD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
MAX_PAYLOAD = 64
# Between a parent's name and its child's in a label.
SEPARATOR = " / "


def button_key(place_id: str) -> str:
    """The short, stable key a button's callback data carries for a place."""
    return hashlib.blake2s(place_id.encode(), digest_size=4).hexdigest()


def valid_payload(text: str) -> bool:
    """Whether ``text`` is a deep-link payload Telegram would carry."""
    return 0 < len(text) <= MAX_PAYLOAD and all(ch in PAYLOAD_CHARS for ch in text)


def deep_link(username: str, place_id: str) -> str:
    """The link whose QR code a place's poster carries."""
    return f"https://t.me/{username.lstrip('@')}?start={place_id}"


def _fold(text: str) -> str:
    """A name as compared in a search: full-width to half-width, case folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class PlaceIndex:
    """The configured places, indexed (built once per settings: ``Settings.place_index``)."""

    places: Sequence[PlaceConfig]
    by_id: dict[str, PlaceConfig] = field(init=False)
    by_key: dict[str, PlaceConfig] = field(init=False)
    children: dict[str | None, list[PlaceConfig]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {p.id: p for p in self.places}
        self.by_key = {button_key(p.id): p for p in self.places}
        self.children = {}
        for place in self.places:
            self.children.setdefault(place.parent, []).append(place)

    def __bool__(self) -> bool:
        return bool(self.places)

    def __len__(self) -> int:
        return len(self.places)

    def get(self, place_id: str | None) -> PlaceConfig | None:
        return None if place_id is None else self.by_id.get(place_id)

    def from_key(self, key: str) -> PlaceConfig | None:
        return self.by_key.get(key)

    def path(self, place_id: str) -> list[PlaceConfig]:
        """The place and its ancestors, the top-level one first."""
        chain: list[PlaceConfig] = []
        current = self.by_id.get(place_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.by_id.get(current.parent) if current.parent else None
        return chain[::-1]

    def label(self, lang: str, place_id: str | None) -> str:
        """``城关镇 / 东村``: the place's name after its parents' (plain text, not escaped);
        an id no longer configured is shown as it is."""
        if place_id is None:
            return ""
        path = self.path(place_id)
        if not path:
            return place_id
        return SEPARATOR.join(p.name(lang) for p in path)

    def walk(self, parent: str | None = None, depth: int = 0) -> Iterator[tuple[PlaceConfig, int]]:
        """Every place under ``parent`` (None: all), depth first, in configuration order,
        with its depth."""
        for place in self.children.get(parent, []):
            yield place, depth
            yield from self.walk(place.id, depth + 1)

    def subtree(self, place_id: str) -> list[str]:
        """The place's id and those of all places under it."""
        return [place_id, *(p.id for p, _ in self.walk(place_id))]

    def find(self, query: str) -> PlaceConfig | None:
        """The place whose id or name (in any language) is ``query``: ids exactly, names
        compared without case, spaces or full-width forms."""
        if query in self.by_id:
            return self.by_id[query]
        folded = _fold(query)
        if not folded:
            return None
        for place in self.places:
            if place.id.casefold() == folded:
                return place
        for place in self.places:
            if any(_fold(name) == folded for name in place.names.values()):
                return place
        return None

    def silent(self, active: set[str]) -> dict[str | None, list[PlaceConfig]]:
        """Places without an item of their own or of a place under them, grouped by their
        parent (None: top level), in configuration order: "which villages are silent"."""
        covered: set[str] = set()
        for place_id in active:
            covered.update(p.id for p in self.path(place_id))
        silent: dict[str | None, list[PlaceConfig]] = {}
        for place, _ in self.walk():
            if place.id not in covered:
                silent.setdefault(place.parent, []).append(place)
        return silent
