"""The one translation mechanism: every user-facing string, in zh-Hans, zh-Hant and English.

The texts live in gettext catalogues, ``bot/locale/<locale>/LC_MESSAGES/jindianzi.po``, one
per language, read through Babel once (at the first call) and served by the standard
library's :mod:`gettext`. Each msgid is a key such as ``start.greeting``; placeholders are
``{name}`` fields. ``t(lang, key, **values)`` formats a message, ``tn(lang, key, n,
**values)`` one whose wording depends on a count (gettext plural forms: English has two,
Chinese one). Values that come from users must already be HTML-escaped. A language
without a text for a key falls back to Simplified Chinese. The zh-Hant texts were converted
from zh-Hans with OpenCC (s2tw) and reviewed.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import LANGUAGES, Language

DEFAULT_LANGUAGE: Language = "zh-Hans"
DOMAIN = "jindianzi"
LOCALE_DIR = Path(__file__).resolve().with_name("locale")


def locale_name(lang: Language) -> str:
    """The catalogue's locale identifier (gettext and Babel spell ``zh-Hans`` as ``zh_Hans``)."""
    return lang.replace("-", "_")


def catalogue_path(lang: Language, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / locale_name(lang) / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(lang: Language, locale_dir: Path = LOCALE_DIR) -> Catalog:
    """One language's catalogue as Babel reads it (the tests and the maintainer tools)."""
    with catalogue_path(lang, locale_dir).open("rb") as fp:
        return read_po(fp, locale=locale_name(lang), domain=DOMAIN)


def message_key(message_id: str | Sequence[str]) -> str:
    """The key of a catalogue entry (a plural entry's msgid is a pair)."""
    return message_id if isinstance(message_id, str) else message_id[0]


def _compile(catalog: Catalog) -> gettext.GNUTranslations:
    """The catalogue as the standard library's gettext serves it. Incomplete plural entries
    are left out so that they fall back to Simplified Chinese, like untranslated and fuzzy
    ones (Babel's ``write_mo`` drops those)."""
    for message in list(catalog):
        if isinstance(message.string, tuple | list) and not all(message.string):
            catalog.delete(message.id)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Catalogues:
    """The three catalogues of a locale directory, read once and compiled for gettext;
    a text missing in one language falls back to Simplified Chinese."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        catalogs = {lang: read_catalogue(lang, locale_dir) for lang in LANGUAGES}
        # Every key of the reference catalogue, and whether it has plural forms.
        self.plural = {
            message_key(m.id): m.pluralizable for m in catalogs[DEFAULT_LANGUAGE] if m.id
        }
        self.translations: dict[str, gettext.GNUTranslations] = {
            lang: _compile(catalog) for lang, catalog in catalogs.items()
        }
        self.default = self.translations[DEFAULT_LANGUAGE]
        for lang, translation in self.translations.items():
            if lang != DEFAULT_LANGUAGE:
                translation.add_fallback(self.default)

    def _lookup(self, lang: str, key: str, plural: bool) -> gettext.GNUTranslations:
        kind = self.plural.get(key)
        if kind is None:
            raise KeyError(key)
        if kind != plural:
            raise TypeError(f"{key}: use {'tn' if kind else 't'}() for this message")
        return self.translations.get(lang, self.default)

    def t(self, lang: str, key: str, **values: Any) -> str:
        template = self._lookup(lang, key, plural=False).gettext(key)
        return template.format(**values) if values else template

    def tn(self, lang: str, key: str, n: int, /, **values: Any) -> str:
        template = self._lookup(lang, key, plural=True).ngettext(key, key, n)
        return template.format(**values)


@cache
def catalogues() -> Catalogues:
    """The bot's catalogues, read at the first call."""
    return Catalogues()


def t(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` (falling back to Simplified Chinese), formatted."""
    return catalogues().t(lang, key, **values)


def tn(lang: str, key: str, n: int, /, **values: Any) -> str:
    """The form of message ``key`` for the count ``n`` (e.g. "1 photo", "2 photos"),
    formatted with ``values``, which name the count too: ``tn(lang, key, n, n=n)``."""
    return catalogues().tn(lang, key, n, **values)


def resolve_language(code: str | None, default: Language = DEFAULT_LANGUAGE) -> Language:
    """Map a stored choice or a Telegram ``language_code`` (zh-hans, zh-TW, en-US...) to ours."""
    if not code:
        return default
    if code in LANGUAGES:
        return code
    lowered = code.lower().replace("_", "-")
    if lowered.startswith("zh"):
        if any(tag in lowered for tag in ("hant", "-tw", "-hk", "-mo")):
            return "zh-Hant"
        return "zh-Hans"
    if lowered.startswith("en"):
        return "en"
    return default
