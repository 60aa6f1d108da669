"""Pages from Jinja2 templates (``web/templates``), autoescaped: every value a template
prints is HTML-escaped unless the code marked it safe (texts the catalogue formats for
Telegram, whose user values :func:`bot.text.escape` has already escaped)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache, partial
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.config import LANGUAGES, Language
from bot.i18n import t, tn

STATIC_FILES = ("desk.css", "desk.js")
# <html lang> for each of the catalogue's languages.
HTML_LANG = {"zh-Hans": "zh-CN", "zh-Hant": "zh-TW", "en": "en"}
LANGUAGE_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@cache
def static_file(name: str) -> tuple[bytes, str]:
    """A static file's bytes and a short hash of them (the URL's version, for caching)."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    data = resources.files("web").joinpath("static", name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def translator(lang: Language) -> tuple[Callable[..., str], Callable[..., str]]:
    """``t`` and ``tn`` bound to a language, for templates."""
    return partial(t, lang), partial(tn, lang)


def render(
    template: str,
    *,
    lang: Language,
    prefix: str,
    telegram_script: str,
    **context: Any,
) -> str:
    """A page in ``lang``. ``prefix`` is the path the desk lives under (links)."""
    bound_t, bound_tn = translator(lang)

    def url(path: str) -> str:
        return f"{prefix}{path}"

    def static(name: str) -> str:
        return f"{prefix}/static/{name}?v={static_file(name)[1]}"

    return (
        environment()
        .get_template(template)
        .render(
            t=bound_t,
            tn=bound_tn,
            url=url,
            static=static,
            lang=lang,
            html_lang=HTML_LANG[lang],
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            telegram_script=telegram_script,
            **context,
        )
    )
