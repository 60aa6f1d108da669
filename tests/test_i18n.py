"""The message catalogues (bot/locale/*/LC_MESSAGES/jindianzi.po): complete in three languages
with the same placeholders, plural forms where they count, valid Telegram HTML, really
Traditional where it should be, and every key the code uses exists."""

from __future__ import annotations

import ast
import re
import shutil
import string
import typing
from functools import cache
from pathlib import Path

import opencc
import pytest
from babel.messages.catalog import Catalog

from bot.config import LANGUAGES, Language
from bot.core import escalation, indices
from bot.core.access import LOOP_OFFICE_MOVES, UNIT_MOVES
from bot.core.entering import SOURCES as ITEM_SOURCES
from bot.core.records import RATINGS, UNSATISFIED_REASONS, AttachmentType, QueueView, Recipient
from bot.core.workflow import SENDER_MOVES, Kind, Status
from bot.i18n import (
    LOCALE_DIR,
    Catalogues,
    catalogue_path,
    message_key,
    read_catalogue,
    resolve_language,
    t,
    tn,
)
from bot.i18n_tools import misformatted
from bot.import_cli import COLUMNS as IMPORT_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for pkg in ("bot", "handlers", "web") for p in (ROOT / pkg).rglob("*.py"))
KEY = re.compile(r"^[a-z_]+\.[a-z_.]+$")
FAMILY_HEAD = re.compile(r"^[a-z_]+\.(?:[a-z_]+\.)*$")
S2TW = opencc.OpenCC("s2tw")

Texts = dict[Language, tuple[str, ...]]  # a key's forms in each language (one unless plural)


def read_all(locale_dir: Path = LOCALE_DIR) -> dict[Language, Catalog]:
    return {lang: read_catalogue(lang, locale_dir) for lang in LANGUAGES}


def entries(locale_dir: Path = LOCALE_DIR) -> dict[str, Texts]:
    """Every key of any catalogue with its texts in the languages that have it."""
    out: dict[str, Texts] = {}
    for lang, catalog in read_all(locale_dir).items():
        for message in catalog:
            if message.id:
                text = message.string or ""
                forms = (text,) if isinstance(text, str) else tuple(text)
                out.setdefault(message_key(message.id), {})[lang] = forms
    return out


MESSAGES = entries()
PLURAL = {message_key(m.id) for m in read_all()["zh-Hans"] if m.id and m.pluralizable}
PREFIXES = {key.split(".", 1)[0] for key in MESSAGES}


def placeholders(template: str) -> list[tuple[str, str | None, str | None]]:
    fields = [
        (name, spec, conv)
        for _, name, spec, conv in string.Formatter().parse(template)
        if name is not None
    ]
    return sorted(fields, key=str)


@cache
def trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in SOURCES]


# ---------------------------------------------------------------- the catalogues themselves
def catalogue_problems(locale_dir: Path) -> list[str]:
    """Every key in all three languages, no empty text, the same placeholders in every
    language and plural form as in Simplified Chinese, the plural form count of each
    language, nothing fuzzy or obsolete."""
    problems = []
    catalogs = read_all(locale_dir)
    for lang, catalog in catalogs.items():
        problems += [f"{lang}: obsolete {key}" for key in catalog.obsolete]
        for message in catalog:
            if not message.id:
                continue
            key = message_key(message.id)
            if message.fuzzy:
                problems.append(f"{key}/{lang}: fuzzy (not used at run time)")
            if message.pluralizable and message.id != (key, key):
                problems.append(f"{key}/{lang}: msgid_plural must equal msgid")
            forms = message.string
            if isinstance(forms, tuple | list) and len(forms) != catalog.num_plurals:
                problems.append(f"{key}/{lang}: {len(forms)} forms, not {catalog.num_plurals}")
    for key, entry in entries(locale_dir).items():
        if set(entry) != set(LANGUAGES):
            problems.append(f"{key}: languages {sorted(entry)}")
            continue
        plural = {lang for lang in LANGUAGES if catalogs[lang][key].pluralizable}
        if plural and plural != set(LANGUAGES):
            problems.append(f"{key}: plural only in {sorted(plural)}")
        if not all(text.strip() for forms in entry.values() for text in forms):
            problems.append(f"{key}: empty text")
        reference = placeholders(entry["zh-Hans"][0])
        for lang, forms in entry.items():
            if any(placeholders(text) != reference for text in forms):
                problems.append(f"{key}: {lang} placeholders differ from zh-Hans")
    return problems


def test_three_languages_with_identical_placeholders() -> None:
    assert catalogue_problems(LOCALE_DIR) == []


@pytest.mark.parametrize(
    ("lang", "find", "replace"),
    [
        ("en", "Reference <b>{ref}</b>", "Reference <b>{reef}</b>"),  # a misspelt placeholder
        ("zh-Hant", "{ref}", "{ref} {num2}"),  # an extra one
        ("zh-Hans", "编号 <b>{ref}</b>", "编号"),  # a missing one (compared with the others)
        ("en", 'msgstr[1] "⏰ Overdue by {days} days"', 'msgstr[1] "⏰ Overdue by days"'),
    ],
)
def test_a_wrong_placeholder_is_found(
    tmp_path: Path, lang: Language, find: str, replace: str
) -> None:
    locale_dir = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale_dir)
    path = catalogue_path(lang, locale_dir)
    text = path.read_text(encoding="utf-8")
    assert find in text
    path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    assert any("placeholders differ" in p for p in catalogue_problems(locale_dir))


def test_a_key_missing_in_one_language_is_found_and_falls_back(tmp_path: Path) -> None:
    locale_dir = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale_dir)
    path = catalogue_path("en", locale_dir)
    text = path.read_text(encoding="utf-8")
    entry = 'msgid "menu.help"\nmsgstr "❓ Help"\n\n'
    assert entry in text
    path.write_text(text.replace(entry, ""), encoding="utf-8")
    assert "menu.help: languages ['zh-Hans', 'zh-Hant']" in catalogue_problems(locale_dir)
    assert Catalogues(locale_dir).t("en", "menu.help") == "❓ 帮助"  # Simplified Chinese


def test_every_template_formats() -> None:
    for key, entry in MESSAGES.items():
        for lang, forms in entry.items():
            for template in forms:
                names = {name for name, _, _ in placeholders(template)}
                assert "" not in names, f"{key}/{lang}: positional placeholder"
                template.format(**dict.fromkeys(names, "x"))  # no stray braces


# Telegram's HTML: these tags, and <, > and & only as part of a tag or an entity.
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
TAG = re.compile(r"<(/?)([a-z-]+)(?:\s[^<>]*)?>")
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def html_problems(text: str) -> list[str]:
    problems: list[str] = []
    stack: list[str] = []
    for match in TAG.finditer(text):
        closing, name = match.group(1), match.group(2)
        if name not in TELEGRAM_TAGS:
            problems.append(f"tag <{name}> is not Telegram HTML")
        elif not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            problems.append(f"</{name}> closes nothing open")
    problems += [f"<{name}> never closed" for name in stack]
    rest = ENTITY.sub("", TAG.sub("", text))
    problems += [f"bare {c!r}" for c in "<>&" if c in rest]
    return problems


def test_every_text_is_valid_telegram_html() -> None:
    problems = []
    for key, entry in MESSAGES.items():
        for lang, forms in entry.items():
            for template in forms:
                names = {name for name, _, _ in placeholders(template)}
                text = template.format(**dict.fromkeys(names, "x"))
                problems += [f"{key}/{lang}: {p}" for p in html_problems(text)]
    assert problems == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>bold", "<b> never closed"),
        ("<b>x</i>", "</i> closes nothing open"),
        ("<div>x</div>", "tag <div> is not Telegram HTML"),
        ("1 < 2", "bare '<'"),
        ("R&D", "bare '&'"),
    ],
)
def test_the_html_check_finds(text: str, problem: str) -> None:
    assert problem in html_problems(text)
    assert html_problems('<b>ok</b> &lt; <a href="https://x.org">x</a> &amp;') == []


def test_traditional_is_traditional() -> None:
    untranslated, leftovers = [], []
    for key, entry in MESSAGES.items():
        for hans, hant in zip(entry["zh-Hans"], entry["zh-Hant"], strict=True):
            if S2TW.convert(hans) != hans and hant == hans:  # convertible, yet not converted
                untranslated.append(key)
            if S2TW.convert(hant) != hant:  # a Simplified character left in the zh-Hant text
                leftovers.append(key)
    assert untranslated == [] and leftovers == []


def test_catalogue_files_are_sorted_in_babels_layout() -> None:
    """So that the maintainer tool, Babel and a merge all produce the same bytes."""
    assert misformatted() == [], "run: python -m bot.i18n_tools format"


def test_spot_checks_of_traditional_texts() -> None:
    assert t("zh-Hant", "menu.report") == "📣 反映問題"
    assert t("zh-Hans", "menu.report") == "📣 反映问题"
    assert "記錄" in tn("zh-Hant", "privacy.text", 30, days=30)
    assert t("zh-Hant", "kind.suggestion") == "建議"


def test_t_formats_and_falls_back_to_simplified() -> None:
    assert tn("en", "limit.reached", 3, limit=3).startswith("You have sent 3 items")
    assert t("fr", "kind.problem") == MESSAGES["kind.problem"]["zh-Hans"][0] == "问题反映"
    assert "<b>" in t("zh-Hans", "help.text")  # templates without values are returned as is
    with pytest.raises(KeyError):
        t("zh-Hans", "no.such_key")
    with pytest.raises(KeyError):
        tn("en", "no.such_key", 2)


# ---------------------------------------------------------------- plural forms
@pytest.mark.parametrize(
    ("n", "english"),
    [(0, "0 photos"), (1, "1 photo"), (2, "2 photos"), (11, "11 photos"), (21, "21 photos")],
)
def test_english_has_two_forms_chinese_one(n: int, english: str) -> None:
    assert tn("en", "attachment.photo", n, n=n) == english
    assert tn("zh-Hans", "attachment.photo", n, n=n) == f"照片 {n}"
    assert tn("zh-Hant", "field.overdue", n, days=n) == f"⏰ 已逾期 {n} 天"
    assert tn("fr", "attachment.photo", n, n=n) == f"照片 {n}"  # unknown language


def test_plural_and_plain_messages_are_not_confused() -> None:
    assert tn("en", "field.overdue", 1, days=1) == "⏰ Overdue by 1 day"
    assert tn("en", "field.overdue", 3, days=3) == "⏰ Overdue by 3 days"
    with pytest.raises(TypeError, match="use tn"):
        t("en", "field.overdue", days=3)  # would silently pick one form
    with pytest.raises(TypeError, match="use t"):
        tn("en", "menu.help", 2)


# Counts that come from the configuration and are plural with every sensible value, rendered
# through a key chosen at run time; left plain.
PLAIN_COUNTS = {
    "admin.assign.ask": "deadline days of [office], 15 and 30 by default",
    "compose.too_short": "limits.min_text_chars, 4 by default",
    "input.too_long": "characters of a text beyond limits.max_text_chars (at least 100)",
    "input.too_many_attachments": "limits.max_attachments, 10 by default",
    "input.too_many_parts": "limits.max_parts, 20 by default",
    "stats.first_response": "hours with one decimal (1.0 hours)",
}


def test_texts_that_count_things_in_english_have_plural_forms() -> None:
    """No "(s)" left, and a number before a counted noun in English means plural forms."""
    nouns = "item|day|hour|rating|attachment|photo|message|character|document|location"
    counted = re.compile(rf"\{{\w+\}} (?:{nouns})s?\b")
    problems = []
    for key, entry in MESSAGES.items():
        english = entry["en"]
        if any("(s)" in text for text in english):
            problems.append(f"{key}: (s)")
        if key not in PLURAL and key not in PLAIN_COUNTS and counted.search(english[0]):
            problems.append(f"{key}: counts things; make it plural")
    assert problems == []
    assert {key for key in PLAIN_COUNTS if key in PLURAL or key not in MESSAGES} == set()


# ---------------------------------------------------------------- resolve_language
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-hant", "zh-Hant"),
        ("zh-Hant", "zh-Hant"),
        ("zh_TW", "zh-Hant"),
        ("zh-CN", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("en-US", "en"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("fr", "zh-Hans"),
        ("", "zh-Hans"),
        (None, "zh-Hans"),
    ],
)
def test_resolve_language(code: str | None, expected: str) -> None:
    assert resolve_language(code) == expected


def test_resolve_language_default_is_configurable() -> None:
    assert resolve_language("fr", default="en") == "en"
    assert resolve_language(None, default="zh-Hant") == "zh-Hant"
    assert resolve_language("zh-TW", default="en") == "zh-Hant"


# ---------------------------------------------------------------- keys used in the code
def literal_keys() -> set[str]:
    """String constants that look like catalogue keys (not parts of f-strings)."""
    found: set[str] = set()
    for _, tree in trees():
        in_fstring = {
            id(part)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for part in node.values
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in in_fstring
                and KEY.match(node.value)
                and node.value.split(".", 1)[0] in PREFIXES
            ):
                found.add(node.value)
    return found


def test_every_literal_key_exists() -> None:
    used = literal_keys()
    assert len(used) > 50, "the scan found too few keys to be working"
    assert sorted(used - set(MESSAGES)) == []


def family_heads() -> dict[str, list[str]]:
    """f-string keys such as f"status.{s.value}": their literal head and where they are."""
    heads: dict[str, list[str]] = {}
    for path, tree in trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.JoinedStr) and node.values):
                continue
            head = node.values[0]
            if (
                isinstance(head, ast.Constant)
                and isinstance(head.value, str)
                and FAMILY_HEAD.match(head.value)
                and head.value.split(".", 1)[0] in PREFIXES
            ):
                heads.setdefault(head.value, []).append(f"{path.name}:{node.lineno}")
    return heads


def command_names(path: Path, name: str) -> tuple[str, ...]:
    """A tuple of command names assigned at module level (read without importing)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return value
    raise AssertionError(f"{name} not found in {path}")


def family_members() -> dict[str, set[str]]:
    commands = {
        *command_names(ROOT / "bot" / "app.py", "RESIDENT_COMMANDS"),
        *command_names(ROOT / "handlers" / "admin.py", "ADMIN_COMMANDS"),
        *command_names(ROOT / "handlers" / "reports.py", "REPORT_COMMANDS"),
        *command_names(ROOT / "handlers" / "web.py", "WEB_COMMANDS"),
        *command_names(ROOT / "handlers" / "entering.py", "ENTER_COMMANDS"),
        *command_names(ROOT / "handlers" / "surveying.py", "SURVEY_COMMANDS"),
    }
    return {
        "kind.": {k.value for k in Kind},
        "compose.ask.": {k.value for k in Kind},
        "status.": {s.value for s in Status},
        "attachment.": set(typing.get_args(AttachmentType)),
        # web/item.py: a file's kind on the desk (a location is shown as coordinates).
        "web.file.type.": set(typing.get_args(AttachmentType)) - {"location"},
        # (#18: a round nobody rated is 未评价 in the ledger.)
        "rating.": {*RATINGS, "unrated"},
        "rating.reason.": set(UNSATISFIED_REASONS),
        # bot/core/cards.py event_line: f"event.{event.kind}" for these kinds.
        "event.": {"question", "answer", "duplicate", "public_text"},
        # bot/core/cards.py status_notices: the targets that notify the sender.
        "notify.": {
            s.value for s in (Status.ACCEPTED, Status.REJECTED, Status.IN_PROGRESS, Status.CLOSED)
        },
        "cmd.": commands,
        # #18: the history line of a units' loop step (bot/core/cards.py, tasks.py).
        "step.": {m.value for m in (*LOOP_OFFICE_MOVES.values(), *UNIT_MOVES.values()) if m}
        | {m.value for m in SENDER_MOVES}
        | {"note"}
        | escalation.STEPS,
        # #19: the chasing ladder's messages and history notes (bot/core/escalation.py).
        "escalation.unit.": set(escalation.TO_UNIT),
        "escalation.office.": set(escalation.TO_OFFICE),
        "escalation.note.": set(escalation.NOTED),
        # #19: the indices' column names (bot/core/indices.py).
        "indices.col.": {*indices.RATES, "unit", "items", "days", "overdue"},
        # handlers/admin_actions.py: the unit deadlines count in.
        "admin.dispatch.": {"workdays", "days"},
        # bot/core/loop.py: why a typed deadline is refused (bot.core.deadlines.BadDeadline).
        "loop.deadline.": {"bad", "past", "too_far"},
        # bot/core/entering.py: where an item came from (the bot's own "chat", and what the
        # office enters), and the short kind words a clerk types.
        "source.": {"chat", *ITEM_SOURCES},
        "enter.kind.": {k.value for k in Kind},
        # bot/import_cli.py: a spreadsheet's column headers.
        "import.column.": set(IMPORT_COLUMNS),
        # handlers/admin_actions.py: the prompts whose answer reaches a resident.
        "admin.prompt.what.": {"rej", "ask", "ans", "rop"},
        # handlers/admin_actions.py: how a prompt is answered in a private chat or a group.
        "admin.prompt.how.": {"private", "group"},
        # bot/core/presenters.py: Telegram's common refusals.
        "telegram.error.": {"blocked", "deactivated", "chat_not_found", "kicked", "too_long"},
        # bot/core/filters.py: the views of /queue.
        "admin.queue.view.": set(QueueView),
        # bot/recipients.py: whom an undelivered message was for.
        "recipient.": {r.value for r in Recipient},
    }


def test_every_dynamic_key_family_is_known() -> None:
    unknown = {h: where for h, where in family_heads().items() if h not in family_members()}
    assert unknown == {}, "a new f-string key family: add its members to family_members()"


@pytest.mark.parametrize("head", sorted(family_members()))
def test_every_member_of_a_dynamic_family_exists(head: str) -> None:
    members = family_members()[head]
    assert members
    assert sorted(f"{head}{m}" for m in members if f"{head}{m}" not in MESSAGES) == []


def test_literal_key_calls_pass_every_placeholder() -> None:
    """t(lang, "key", ...), say(..., "key", ...) and office_notice(..., "key", ...) fill all
    of the message's placeholders (a missing one is a KeyError, or raw braces, at run time)."""
    formatters = {"t", "tn", "say", "office_notice", "cards.office_notice"}
    problems: list[str] = []
    for path, tree in trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) in formatters):
                continue
            keys = [
                a.value for a in node.args if isinstance(a, ast.Constant) and a.value in MESSAGES
            ]
            given = {k.arg for k in node.keywords}
            if not keys or None in given:  # no literal key, or **values passed through
                continue
            needed = {n for n, _, _ in placeholders(MESSAGES[keys[0]]["zh-Hans"][0])}
            if needed - given:
                problems.append(f"{path.name}:{node.lineno} {keys[0]} lacks {needed - given}")
    assert problems == []


def test_plural_messages_are_formatted_with_tn_and_only_they() -> None:
    """t() on a plural message, or tn() on a plain one, is a TypeError at run time: every
    call with a literal key or a key family (f"attachment.{kind}") uses the right one."""
    plain_formatters = {"t", "say", "office_notice", "cards.office_notice"}
    problems: list[str] = []
    for path, tree in trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name != "tn" and name not in plain_formatters:
                continue
            for arg in node.args:
                if isinstance(arg, ast.Constant) and arg.value in MESSAGES:
                    keys = {arg.value}
                elif isinstance(arg, ast.JoinedStr) and arg.values:
                    head = arg.values[0]
                    members = family_members().get(getattr(head, "value", None) or "")
                    keys = {f"{head.value}{m}" for m in members or ()}  # type: ignore[attr-defined]
                else:
                    continue
                for key in sorted(keys):
                    if (key in PLURAL) != (name == "tn"):
                        problems.append(f"{path.name}:{node.lineno} {name}() with {key}")
    assert problems == []
