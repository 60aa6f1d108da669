"""Maintainer commands for the translation catalogues (``bot/locale/*/LC_MESSAGES/*.po``).

    python -m bot.i18n_tools add FILE [--base BASE] [--force]   # add or replace entries
    python -m bot.i18n_tools remove KEY...                      # drop keys in every language
    python -m bot.i18n_tools format [--check]                   # rewrite sorted, Babel's layout

``add`` takes texts in the shape the catalogue had before it moved to gettext, a Python
file with a dict ``{key: {"zh-Hans": text, "zh-Hant": text, "en": text}}`` (a whole old
``bot/i18n.py`` with its ``MESSAGES`` works) or the same as JSON; a list of texts instead of
one is a plural entry, its forms as gettext orders them (English: one, other; Chinese: one
form). With ``--base`` (the same file as it was before the changes), only the entries that
FILE adds or changes are taken, so a branch's copy of the old dict does not undo what the
catalogues changed meanwhile. An entry that would turn a plural message into a plain one
(or back) is refused unless ``--force``. The files are always written sorted by key, in
Babel's layout, so two writers produce the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.config import LANGUAGES, Language
from bot.i18n import DOMAIN, LOCALE_DIR, catalogue_path, locale_name, message_key, read_catalogue

Text = str | tuple[str, ...]
Entries = dict[str, dict[Language, Text]]

HEADER = """\
# 金点子 (Jindianzi): the bot's texts in {lang}.
# Each msgid is a key the code passes to bot.i18n.t() or tn().
# Keep the {{placeholders}}; check with: pytest tests/test_i18n.py
# Layout (sorted by key): python -m bot.i18n_tools format"""


class InputError(ValueError):
    """FILE is not a catalogue dict in the expected shape."""


# ---------------------------------------------------------------- reading the input
def _literal(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    tree = ast.parse(text, filename=str(path))
    found: list[ast.expr] = []
    for node in tree.body:
        if isinstance(node, ast.Expr | ast.Assign | ast.AnnAssign) and isinstance(
            node.value, ast.Dict
        ):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == "MESSAGES" for t in targets):
                return ast.literal_eval(node.value)
            found.append(node.value)
    if len(found) != 1:
        raise InputError(f"{path}: expected MESSAGES = {{...}} or one dict, found {len(found)}")
    return ast.literal_eval(found[0])


def load_entries(path: Path) -> Entries:
    """The entries of FILE, checked: every key in all three languages, texts not empty."""
    data = _literal(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a dict")
    entries: Entries = {}
    problems: list[str] = []
    for key, texts in data.items():
        if not isinstance(key, str) or not isinstance(texts, dict):
            problems.append(f"{key!r}: expected key: {{language: text}}")
            continue
        if set(texts) != set(LANGUAGES):
            problems.append(f"{key}: languages {sorted(texts)}, expected {list(LANGUAGES)}")
            continue
        entry: dict[Language, Text] = {}
        for lang in LANGUAGES:
            value = texts[lang]
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                entry[lang] = tuple(value)
            elif isinstance(value, str):
                entry[lang] = value
            else:
                problems.append(f"{key}/{lang}: expected a text or a list of texts")
        if len({isinstance(v, tuple) for v in entry.values()}) > 1:
            problems.append(f"{key}: plural in some languages only")
        entries[key] = entry
    if problems:
        raise InputError(f"{path}:\n  " + "\n  ".join(problems))
    return entries


# ---------------------------------------------------------------- the catalogue files
def open_catalogue(lang: Language, locale_dir: Path) -> Catalog:
    """The catalogue of ``lang``, or a new empty one if it has no file yet."""
    if catalogue_path(lang, locale_dir).is_file():
        return read_catalogue(lang, locale_dir)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    return Catalog(
        locale=locale_name(lang),
        domain=DOMAIN,
        header_comment=HEADER.format(lang=lang),
        project="jindianzi",
        version="1",
        last_translator="Jindianzi maintainers",
        language_team=f"{lang} (Jindianzi)",
        creation_date=now,
        revision_date=now,
        fuzzy=False,
    )


def render(catalog: Catalog) -> bytes:
    """The file's bytes: entries sorted by key, Babel's line wrapping."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, sort_output=True, omit_header=False)
    return buffer.getvalue()


def save(catalog: Catalog, lang: Language, locale_dir: Path) -> None:
    path = catalogue_path(lang, locale_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(catalog))


def current_text(catalog: Catalog, key: str) -> Text | None:
    message = catalog.get(key)
    if message is None:
        return None
    text = message.string or ""
    return text if isinstance(text, str) else tuple(text)


# ---------------------------------------------------------------- add / remove
@dataclass
class Outcome:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # plural <-> plain without --force
    gone_on_branch: list[str] = field(default_factory=list)  # in BASE, not in FILE

    def lines(self) -> list[str]:
        out = [
            f"added {len(self.added)}, replaced {len(self.replaced)}, "
            f"unchanged {len(self.unchanged)}, refused {len(self.refused)}"
        ]
        out += [f"  + {k}" for k in self.added] + [f"  ~ {k}" for k in self.replaced]
        out += [
            f"  ! {k}: would change plural <-> plain form (check the callers; --force)"
            for k in self.refused
        ]
        out += [
            f"  ? {k}: removed in FILE, kept here (python -m bot.i18n_tools remove {k})"
            for k in self.gone_on_branch
        ]
        return out


def changed_entries(entries: Entries, base: Entries | None) -> Entries:
    """The entries of FILE that BASE lacks or has with other texts."""
    if base is None:
        return entries
    return {key: texts for key, texts in entries.items() if base.get(key) != texts}


def add_entries(
    entries: Entries,
    locale_dir: Path = LOCALE_DIR,
    *,
    base: Entries | None = None,
    force: bool = False,
) -> Outcome:
    """Add or replace ``entries`` (only those changed since ``base``) in every catalogue."""
    outcome = Outcome(gone_on_branch=sorted(set(base or {}) - set(entries)))
    catalogs = {lang: open_catalogue(lang, locale_dir) for lang in LANGUAGES}
    wrong = [
        f"{key}/{lang}: {len(text)} plural forms, the language has {catalogs[lang].num_plurals}"
        for key, texts in entries.items()
        for lang, text in texts.items()
        if isinstance(text, tuple) and len(text) != catalogs[lang].num_plurals
    ]
    if wrong:
        raise InputError("\n  ".join(["plural forms:", *wrong]))
    reference = catalogs["zh-Hans"]
    for key, texts in sorted(changed_entries(entries, base).items()):
        old = {lang: current_text(catalogs[lang], key) for lang in LANGUAGES}
        if all(old[lang] == texts[lang] for lang in LANGUAGES):
            outcome.unchanged.append(key)
            continue
        existing = reference.get(key)
        plural = isinstance(texts["zh-Hans"], tuple)
        if existing is not None and existing.pluralizable != plural and not force:
            outcome.refused.append(key)
            continue
        (outcome.replaced if existing is not None else outcome.added).append(key)
        for lang in LANGUAGES:
            catalog = catalogs[lang]
            if catalog.get(key) is not None:
                catalog.delete(key)
            text = texts[lang]
            catalog.add((key, key) if isinstance(text, tuple) else key, text)
    for lang, catalog in catalogs.items():
        save(catalog, lang, locale_dir)
    return outcome


def remove_keys(keys: Sequence[str], locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Drop ``keys`` from every catalogue; returns those that were not there."""
    missing: set[str] = set(keys)
    for lang in LANGUAGES:
        catalog = read_catalogue(lang, locale_dir)
        for key in keys:
            if catalog.get(key) is not None:
                catalog.delete(key)
                missing.discard(key)
        save(catalog, lang, locale_dir)
    return sorted(missing)


def misformatted(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """The catalogue files whose bytes differ from their canonical (sorted) layout."""
    paths = [catalogue_path(lang, locale_dir) for lang in LANGUAGES]
    return [
        path
        for lang, path in zip(LANGUAGES, paths, strict=True)
        if path.read_bytes() != render(read_catalogue(lang, locale_dir))
    ]


def entries_of(locale_dir: Path = LOCALE_DIR) -> Entries:
    """The catalogues in the old dict shape (for a look, or to compare)."""
    catalogs = {lang: read_catalogue(lang, locale_dir) for lang in LANGUAGES}
    keys = sorted({message_key(m.id) for c in catalogs.values() for m in c if m.id})
    out: Entries = {}
    for key in keys:
        out[key] = {}
        for lang in LANGUAGES:
            text = current_text(catalogs[lang], key)
            if text is not None:
                out[key][lang] = text
    return out


# ---------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.i18n_tools",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add or replace entries from a {key: {lang: text}} file")
    add.add_argument("file", type=Path)
    add.add_argument("--base", type=Path, help="FILE as it was before: take only what changed")
    add.add_argument("--force", action="store_true", help="allow plural <-> plain changes")
    remove = commands.add_parser("remove", help="remove keys from every language")
    remove.add_argument("keys", nargs="+")
    fmt = commands.add_parser("format", help="rewrite the files sorted, in Babel's layout")
    fmt.add_argument("--check", action="store_true", help="only report files that need it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    locale_dir: Path = args.locale_dir
    if args.command == "add":
        try:
            entries = load_entries(args.file)
            base = load_entries(args.base) if args.base else None
            outcome = add_entries(entries, locale_dir, base=base, force=args.force)
        except (OSError, SyntaxError, ValueError) as exc:
            print(exc, file=sys.stderr)
            return 2
        print("\n".join(outcome.lines()))
        return 1 if outcome.refused else 0
    if args.command == "remove":
        missing = remove_keys(args.keys, locale_dir)
        for key in missing:
            print(f"not in the catalogues: {key}", file=sys.stderr)
        return 1 if missing else 0
    stale = misformatted(locale_dir)
    if args.check:
        for path in stale:
            print(f"{path}: not in canonical layout (python -m bot.i18n_tools format)")
        return 1 if stale else 0
    for lang in LANGUAGES:
        save(read_catalogue(lang, locale_dir), lang, locale_dir)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
