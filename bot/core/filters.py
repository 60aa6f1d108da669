"""The words a clerk types to filter the office's lists (/queue): a status or a topic, by
its id or by its name in any configured language (待审核, 待審核, "new"; 城乡建设, 城鄉建設,
"construction"), a place (its id or name: the items of it and of the places under it), a
unit (承办单位, its id or name), the views 逾期/overdue, 未签收/unsigned (a unit has not
signed for it within the sign-for limit) and 重办/reopened, and 附议/support (the most
supported first). Case, width and the Traditional/Simplified spelling of a name do not
matter; an unknown word gets the nearest known ones as suggestions.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from bot.config import LANGUAGES, Settings
from bot.core.presenters import status_label
from bot.core.records import QueueView
from bot.core.workflow import Status
from bot.i18n import t
from bot.tagging import normalise as tagging_normalise

View = QueueView  # the lists that are not one status


def normalise(word: str) -> str:
    """As the tagger normalises text: NFKC, Traditional → Simplified, casefold."""
    return tagging_normalise(word.strip())


# The words that sort a list by its support count (附议), most supported first.
BY_SUPPORT = frozenset(normalise(w) for w in ("附议", "附議", "support"))


@dataclass(frozen=True)
class Words:
    """Every name of every status, view, topic, place and unit, normalised, and what each
    means."""

    statuses: dict[str, Status]
    views: dict[str, View]
    topics: dict[str, str]
    places: dict[str, str]
    units: dict[str, str]

    def suggestions(self, word: str, *, n: int = 3) -> list[str]:
        known = [
            *self.statuses,
            *self.views,
            *self.topics,
            *self.places,
            *self.units,
            *BY_SUPPORT,
        ]
        return difflib.get_close_matches(normalise(word), known, n=n, cutoff=0.4)


def words(settings: Settings) -> Words:
    statuses: dict[str, Status] = {}
    views: dict[str, View] = {}
    topics: dict[str, str] = {}
    places: dict[str, str] = {}
    units: dict[str, str] = {}
    for status in Status:
        statuses[normalise(status.value)] = status
        for lang in LANGUAGES:
            statuses[normalise(status_label(lang, status))] = status
    for view in View:
        views[normalise(view.value)] = view
        for lang in LANGUAGES:
            views[normalise(t(lang, f"admin.queue.view.{view.value}"))] = view
    for topic in settings.topics:
        topics[normalise(topic.id)] = topic.id
        for name in topic.names.values():
            topics[normalise(name)] = topic.id
    for place in settings.places:
        places[normalise(place.id)] = place.id
        for name in place.names.values():
            places[normalise(name)] = place.id
    for unit in settings.units:
        units[normalise(unit.id)] = unit.id
        for name in unit.names.values():
            units[normalise(name)] = unit.id
    return Words(statuses, views, topics, places, units)


@dataclass(frozen=True)
class Filter:
    status: Status | None = None
    view: View | None = None
    topic_id: str | None = None
    place_id: str | None = None
    unit_id: str | None = None
    by_support: bool = False  # the most supported (附议) first, instead of the oldest

    @property
    def lists(self) -> bool:
        """Whether it lists items (else: the counts by status)."""
        return any((self.status, self.view, self.unit_id))


def parse(settings: Settings, args: list[str]) -> Filter | str:
    """The filter the words ask for, or the first word not understood. A name of several
    words ("Transport and roads") is matched whole, the longest run of words first."""
    known = words(settings)
    found = Filter()
    i = 0
    while i < len(args):
        for end in range(len(args), i, -1):
            narrowed = _narrow(known, found, normalise(" ".join(args[i:end])))
            if narrowed is not None:
                found, i = narrowed, end
                break
        else:
            return args[i]
    return found


def _narrow(known: Words, found: Filter, key: str) -> Filter | None:
    """``found`` with what ``key`` names, or None when it names nothing."""
    if key in known.statuses:
        return replace(found, status=known.statuses[key])
    if key in known.views:
        return replace(found, view=known.views[key])
    if key in known.topics:
        return replace(found, topic_id=known.topics[key])
    if key in known.places:
        return replace(found, place_id=known.places[key])
    if key in known.units:
        return replace(found, unit_id=known.units[key])
    if key in BY_SUPPORT:
        return replace(found, by_support=True)
    return None
