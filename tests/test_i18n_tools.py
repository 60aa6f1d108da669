"""The maintainer tool that adds texts in the old ``{key: {lang: text}}`` shape to the .po
catalogues (what a merge of a branch that still edits the old dict needs), removes keys and
keeps the files sorted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.i18n import LOCALE_DIR, Catalogues, catalogue_path, read_catalogue
from bot.i18n_tools import entries_of, main, misformatted

OLD_MODULE = '''"""A branch's bot/i18n.py from before the move to gettext."""

from bot.config import LANGUAGES, Language

DEFAULT_LANGUAGE: Language = "zh-Hans"

MESSAGES: dict[str, dict[Language, str]] = {
    "menu.help": {
        "zh-Hans": "❓ 帮助",
        "zh-Hant": "❓ 幫助",
        "en": "❓ Help",
    },
    "unit.done": {
        "zh-Hans": "{ref} 已办结，"
        "谢谢。",
        "zh-Hant": "{ref} 已辦結，謝謝。",
        "en": "{ref} is done, thank you.",
    },
}


def t(lang: str, key: str) -> str:
    return MESSAGES[key][lang]
'''


@pytest.fixture
def locale_dir(tmp_path: Path) -> Path:
    """A copy of the real catalogues to change."""
    target = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, target)
    return target


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(locale_dir: Path, *argv: str) -> int:
    return main(["--locale-dir", str(locale_dir), *argv])


def test_adds_the_new_keys_of_an_old_style_module(
    tmp_path: Path, locale_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(locale_dir, "add", str(write(tmp_path, "branch.py", OLD_MODULE))) == 0
    out = capsys.readouterr().out
    assert "added 1, replaced 0, unchanged 1, refused 0" in out and "+ unit.done" in out
    texts = Catalogues(locale_dir)
    assert texts.t("zh-Hans", "unit.done", ref="#7") == "#7 已办结，谢谢。"
    assert texts.t("zh-Hant", "unit.done", ref="#7") == "#7 已辦結，謝謝。"
    assert texts.t("en", "unit.done", ref="#7") == "#7 is done, thank you."
    assert misformatted(locale_dir) == []  # sorted, canonical layout
    # Everything else is as it was.
    before, after = entries_of(LOCALE_DIR), entries_of(locale_dir)
    assert after.pop("unit.done") and after == before


def test_replaces_a_changed_text_and_is_idempotent(tmp_path: Path, locale_dir: Path) -> None:
    changed = OLD_MODULE.replace("❓ Help", "❓ How it works")
    path = write(tmp_path, "branch.py", changed)
    assert run(locale_dir, "add", str(path)) == 0
    assert Catalogues(locale_dir).t("en", "menu.help") == "❓ How it works"
    files = {p: p.read_bytes() for p in locale_dir.rglob("*.po")}
    assert run(locale_dir, "add", str(path)) == 0  # the same again changes no byte
    assert {p: p.read_bytes() for p in locale_dir.rglob("*.po")} == files


def test_the_same_entries_in_another_order_give_the_same_bytes(tmp_path: Path) -> None:
    entries = [
        '"b.two": {"zh-Hans": "二", "zh-Hant": "二", "en": "two"}',
        '"a.one": {"zh-Hans": "一", "zh-Hant": "一", "en": "one"}',
    ]
    first, second = tmp_path / "first", tmp_path / "second"
    for where, order in ((first, entries), (second, entries[::-1])):
        source = write(tmp_path, f"{where.name}.py", "{" + ", ".join(order) + "}")
        assert run(where, "add", str(source)) == 0  # new catalogues are created
    for lang in ("zh-Hans", "zh-Hant", "en"):
        data = catalogue_path(lang, first).read_bytes()
        assert data == catalogue_path(lang, second).read_bytes()
        assert data.index(b'msgid "a.one"') < data.index(b'msgid "b.two"')
    assert read_catalogue("en", first).num_plurals == 2
    assert read_catalogue("zh-Hant", first).num_plurals == 1


def test_with_a_base_only_what_the_branch_changed_is_taken(
    tmp_path: Path, locale_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The branch's copy of the old dict still has limit.reached without plural forms (the
    catalogue has them now) and an old wording of kind.ask; only its own change counts."""
    current = entries_of(locale_dir)
    base = {key: current[key] for key in ("kind.ask", "menu.help")}
    base["kind.ask"] = {**base["kind.ask"], "en": "an old wording"}
    base["limit.reached"] = {"zh-Hans": "旧", "zh-Hant": "舊", "en": "old {limit}"}
    branch = {**base, "menu.help": {**base["menu.help"], "en": "❓ Help me"}}
    base_file = write(tmp_path, "base.py", f"MESSAGES = {base!r}")
    branch_file = write(tmp_path, "branch.py", f"MESSAGES = {branch!r}")
    assert run(locale_dir, "add", str(branch_file), "--base", str(base_file)) == 0
    assert "added 0, replaced 1, unchanged 0, refused 0" in capsys.readouterr().out
    texts = Catalogues(locale_dir)
    assert texts.t("en", "menu.help") == "❓ Help me"
    assert texts.t("en", "kind.ask") == current["kind.ask"]["en"]  # not undone
    assert texts.tn("en", "limit.reached", 1, limit=1).startswith("You have sent 1 item ")


def test_a_key_the_branch_deleted_is_reported_not_removed(
    tmp_path: Path, locale_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = entries_of(locale_dir)
    base = {key: current[key] for key in ("kind.ask", "menu.help")}
    branch = {"menu.help": current["menu.help"]}
    args = ["add", str(write(tmp_path, "b.py", repr(branch)))]
    assert run(locale_dir, *args, "--base", str(write(tmp_path, "a.py", repr(base)))) == 0
    assert "? kind.ask: removed in FILE" in capsys.readouterr().out
    assert "kind.ask" in entries_of(locale_dir)
    assert run(locale_dir, "remove", "kind.ask") == 0
    assert "kind.ask" not in entries_of(locale_dir)
    assert run(locale_dir, "remove", "kind.ask") == 1  # not there any more


def test_plural_entries_and_the_plain_to_plural_guard(
    tmp_path: Path, locale_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plural = {
        "menu.help": {
            "zh-Hans": ["帮助 {n}"],
            "zh-Hant": ["幫助 {n}"],
            "en": ["{n} help", "{n} helps"],
        }
    }
    path = write(tmp_path, "plural.json", str(plural).replace("'", '"'))
    assert run(locale_dir, "add", str(path)) == 1  # plain -> plural: the callers must change
    assert "! menu.help: would change plural <-> plain" in capsys.readouterr().out
    assert Catalogues(locale_dir).t("en", "menu.help") == "❓ Help"
    assert run(locale_dir, "add", str(path), "--force") == 0
    texts = Catalogues(locale_dir)
    assert texts.tn("en", "menu.help", 1, n=1) == "1 help"
    assert texts.tn("en", "menu.help", 2, n=2) == "2 helps"
    assert texts.tn("zh-Hant", "menu.help", 2, n=2) == "幫助 2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a.b": {"zh-Hans": "甲", "en": "A"}}', "a.b: languages ['en', 'zh-Hans']"),
        ('{"a.b": {"zh-Hans": "甲", "zh-Hant": "甲", "en": 3}}', "a.b/en: expected a text"),
        (
            '{"a.b": {"zh-Hans": ["甲"], "zh-Hant": "甲", "en": ["A", "As"]}}',
            "a.b: plural in some languages only",
        ),
        (
            '{"a.b": {"zh-Hans": ["甲"], "zh-Hant": ["甲"], "en": ["A"]}}',
            "a.b/en: 1 plural forms, the language has 2",
        ),
        ("x = 1\ny = 2\n", "expected MESSAGES = {...} or one dict, found 0"),
    ],
)
def test_bad_input_changes_nothing(
    tmp_path: Path,
    locale_dir: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    message: str,
) -> None:
    files = {p: p.read_bytes() for p in locale_dir.rglob("*.po")}
    assert run(locale_dir, "add", str(write(tmp_path, "bad.py", text))) == 2
    assert message in capsys.readouterr().err
    assert {p: p.read_bytes() for p in locale_dir.rglob("*.po")} == files


def test_format_puts_an_edited_file_back_in_order(locale_dir: Path) -> None:
    path = catalogue_path("en", locale_dir)
    entry = 'msgid "menu.help"\nmsgstr "❓ Help"\n\n'
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(entry, "") + "\n" + entry.rstrip("\n") + "\n", encoding="utf-8")
    assert misformatted(locale_dir) == [path]
    assert run(locale_dir, "format", "--check") == 1
    assert run(locale_dir, "format") == 0
    assert path.read_text(encoding="utf-8") == text
    assert run(locale_dir, "format", "--check") == 0
