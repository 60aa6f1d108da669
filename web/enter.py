"""The desk's form for items that did not come through the chat (#20: heard at a meeting,
on the phone, found in a suggestion box ...): the same core function as the chat's
``/enter`` (:func:`bot.core.entering.enter`), with the fields as form inputs instead of
one message's words. This module reads the form; the core checks and stores it."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config import Language, Settings
from bot.core.entering import MAX_CONTACT_NAME, PHONE, SOURCES, Entry, is_anonymous
from bot.core.workflow import Kind
from bot.i18n import t

FIELDS = ("source", "kind", "place", "name", "phone", "text")
MAX_FIELD = 200


def read(settings: Settings, form: Mapping[str, str]) -> Entry | str:
    """The entry the form describes, or the catalogue key of what is wrong with it."""
    source = form.get("source", "")
    if source not in SOURCES:
        return "enter.bad_source"
    kind = form.get("kind", "")
    if kind not in Kind.__members__.values():
        return "enter.bad_kind"
    place_id = form.get("place", "").strip() or None
    if place_id is not None and settings.place_index.get(place_id) is None:
        return "enter.bad_place"
    text = form.get("text", "").strip()
    if not text:
        return "enter.no_text"
    name = " ".join(form.get("name", "").split())[:MAX_FIELD]
    phone = "".join(form.get("phone", "").split())[:MAX_FIELD] or None
    if not name or is_anonymous(name):
        if phone is not None:
            return "enter.anonymous_contact"  # nothing about an anonymous person is kept
        return Entry(source, Kind(kind), text, place_id)
    if len(name) > MAX_CONTACT_NAME or (phone is not None and not PHONE.fullmatch(phone)):
        return "enter.bad_contact"
    return Entry(source, Kind(kind), text, place_id, name, phone)


def choices(lang: Language) -> dict[str, list[tuple[str, str]]]:
    """The form's select boxes: where it was heard and what it is."""
    return {
        "sources": [(s, t(lang, f"source.{s}")) for s in SOURCES],
        "kinds": [(k.value, t(lang, f"enter.kind.{k.value}")) for k in Kind],
    }
