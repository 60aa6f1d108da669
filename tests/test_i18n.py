"""The message catalogue: complete in three languages with the same placeholders, really
Traditional where it should be, and every key the code uses exists."""

from __future__ import annotations

import ast
import re
import string
import typing
from pathlib import Path

import opencc
import pytest

from bot.i18n import DEFAULT_LANGUAGE, MESSAGES, resolve_language, t
from bot.records import RATINGS, AttachmentType
from bot.workflow import Kind, Status

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")])
PREFIXES = {key.split(".", 1)[0] for key in MESSAGES}
KEY = re.compile(r"^[a-z_]+\.[a-z_.]+$")
FAMILY_HEAD = re.compile(r"^[a-z_]+\.(?:[a-z_]+\.)*$")
S2TW = opencc.OpenCC("s2tw")


def placeholders(template: str) -> list[tuple[str, str | None, str | None]]:
    fields = [
        (name, spec, conv)
        for _, name, spec, conv in string.Formatter().parse(template)
        if name is not None
    ]
    return sorted(fields, key=str)


def trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in SOURCES]


# ---------------------------------------------------------------- the catalogue itself
def test_three_languages_with_identical_placeholders() -> None:
    problems = []
    for key, entry in MESSAGES.items():
        if set(entry) != {"zh-Hans", "zh-Hant", "en"}:
            problems.append(f"{key}: languages {sorted(entry)}")
            continue
        if not all(text.strip() for text in entry.values()):
            problems.append(f"{key}: empty text")
        for lang in ("zh-Hant", "en"):
            if placeholders(entry[lang]) != placeholders(entry["zh-Hans"]):
                problems.append(f"{key}: {lang} placeholders differ from zh-Hans")
    assert problems == []


def test_every_template_formats() -> None:
    for key, entry in MESSAGES.items():
        for lang, template in entry.items():
            names = {name for name, _, _ in placeholders(template)}
            assert "" not in names, f"{key}/{lang}: positional placeholder"
            template.format(**dict.fromkeys(names, "x"))  # no stray braces


def test_traditional_is_traditional() -> None:
    untranslated, leftovers = [], []
    for key, entry in MESSAGES.items():
        hans, hant = entry["zh-Hans"], entry["zh-Hant"]
        if S2TW.convert(hans) != hans and hant == hans:  # convertible, yet not converted
            untranslated.append(key)
        if S2TW.convert(hant) != hant:  # a Simplified character left in the zh-Hant text
            leftovers.append(key)
    assert untranslated == [] and leftovers == []


def test_spot_checks_of_traditional_texts() -> None:
    assert t("zh-Hant", "menu.report") == "📣 反映問題"
    assert t("zh-Hans", "menu.report") == "📣 反映问题"
    assert "記錄" in t("zh-Hant", "privacy.text")
    assert t("zh-Hant", "kind.suggestion") == "建議"


def test_t_formats_and_falls_back_to_simplified() -> None:
    assert t("en", "limit.reached", limit=3).startswith("You have sent 3 items")
    assert t("fr", "kind.problem") == MESSAGES["kind.problem"][DEFAULT_LANGUAGE]
    assert "<b>" in t("zh-Hans", "help.text")  # templates without values are returned as is
    with pytest.raises(KeyError):
        t("zh-Hans", "no.such_key")


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
    }
    return {
        "kind.": {k.value for k in Kind},
        "compose.ask.": {k.value for k in Kind},
        "status.": {s.value for s in Status},
        "attachment.": set(typing.get_args(AttachmentType)),
        "rating.": set(RATINGS),
        # bot/cards.py event_line: f"event.{event.kind}" for these kinds.
        "event.": {"question", "answer", "duplicate"},
        # bot/cards.py status_notices: the targets that notify the sender.
        "notify.": {
            s.value for s in (Status.ACCEPTED, Status.REJECTED, Status.IN_PROGRESS, Status.CLOSED)
        },
        "cmd.": commands,
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
    formatters = {"t", "say", "office_notice", "cards.office_notice"}
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
            needed = {n for n, _, _ in placeholders(MESSAGES[keys[0]]["zh-Hans"])}
            if needed - given:
                problems.append(f"{path.name}:{node.lineno} {keys[0]} lacks {needed - given}")
    assert problems == []
