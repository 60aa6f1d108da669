"""``jindianzi tagger``: train, evaluate, tag and suggest-keywords on small fixtures."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, EXIT_OK, main

CONFIG = """
[[topics]]
id = "roads"
names = { "zh-Hans" = "道路交通", "zh-Hant" = "道路交通", en = "Roads" }
keywords = ["路灯"]

[[topics]]
id = "school"
names = { "zh-Hans" = "教育", "zh-Hant" = "教育", en = "Schools" }
keywords = ["学校"]

[[topics]]
id = "other"
names = { "zh-Hans" = "其他" }
fallback = true
"""

TRAIN = (
    "\ufefflabel,text\n"
    "roads,村口的路面坑坑洼洼\n"
    "roads,公交车班次太少\n"
    'Roads,"桥上的护栏断了, 很危险"\n'
    "道路交通,马路积水严重\n"
    "roads,马路积水严重\n"  # the same text again: one example
    "school,孩子上学路太远\n"
    "教育,幼儿园老师不够\n"
    'schools,"课后托管\n没人管"\n'
    "school,希望多开兴趣班\n"
    "weather,今天下雨\n"
)


# Commands call configure_logging: the root logger's handlers are put back after each test.
pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n'
        f'[anonymity]\nkey_file = "{tmp_path / "keys.json"}"\n' + CONFIG,
        encoding="utf-8",
    )
    return path


def csv_file(tmp_path: Path, text: str, name: str = "rows.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def tagger(config: Path, *args: str) -> list[str]:
    return ["tagger", *args, "--config", str(config), "--log-level", "WARNING"]


def test_train_imports_deduplicated_rows_and_trains(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = csv_file(tmp_path, TRAIN)
    assert main(tagger(config, "train", str(rows))) == EXIT_OK
    out, err = capsys.readouterr()
    assert "9 rows read, 8 new or changed labels, 8 in all" in out
    assert "trained on 8 examples of 2 topics" in out
    assert "unknown label 'weather': 1 row(s), line(s) 12" in err
    assert main(tagger(config, "train", str(rows))) == EXIT_OK  # again: nothing new
    assert "0 new or changed labels, 8 in all" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM labelled_examples").fetchone() == (8,)
        assert db.execute("SELECT COUNT(*) FROM topic_model").fetchone() == (1,)


def test_evaluate_prints_scores_and_a_confusion_table(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test = csv_file(
        tmp_path, "label,text\nroads,路灯坏了\nSchools,学校太远\nroads,学校门口的路\nmars,x\n"
    )
    assert main(tagger(config, "evaluate", str(test))) == EXIT_OK  # no model yet: rules
    out, err = capsys.readouterr()
    assert "evaluating the rules only" in err and "unknown label 'mars'" in err
    assert "3 rows (1 with unknown labels skipped), mode rules" in out
    assert "accuracy 0.667 (3 rows)" in out
    assert "macro-F1 0.667 over the 2 labels in the file; fallback other proposed for 0.0%" in out
    assert "confusion (rows: label, columns: proposed)" in out
    table = out.split("confusion (rows: label, columns: proposed)\n", 1)[1].splitlines()
    assert table[0].split() == ["roads", "schoo"]
    assert table[1].split() == ["roads", "1", "1"]  # one right, one taken for school
    assert table[2].split() == ["school", ".", "1"]

    assert main(tagger(config, "train", str(csv_file(tmp_path, TRAIN, "train.csv")))) == EXIT_OK
    capsys.readouterr()
    for mode in ("model", "combined"):
        assert main(tagger(config, "evaluate", str(test), "--mode", mode)) == EXIT_OK
        assert f"mode {mode}" in capsys.readouterr().out


def test_evaluate_reports_unreadable_files(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(tagger(config, "evaluate", str(tmp_path / "missing.csv"))) == EXIT_CONFIG
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"roads,\xff\xfe\n")
    assert main(tagger(config, "evaluate", str(bad))) == EXIT_CONFIG
    assert "not a UTF-8 CSV" in capsys.readouterr().err


def test_tag_reads_lines_or_csv_from_stdin(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(tagger(config, "train", str(csv_file(tmp_path, TRAIN)))) == EXIT_OK
    capsys.readouterr()

    def stdin(text: str) -> None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))

    stdin("路灯坏了\n\n孩子上学路太远了\n")
    assert main(tagger(config, "tag")) == EXIT_OK
    first, second = capsys.readouterr().out.splitlines()
    assert first == "roads\trule\t路灯"
    topic, source, evidence = second.split("\t")
    assert (topic, source) == ("school", "model") and evidence.startswith("p=")
    stdin('label,text\nx,"学校, 太远"\n')
    assert main(tagger(config, "tag", "--csv")) == EXIT_OK
    assert capsys.readouterr().out == "school\trule\t学校\n"


def test_suggest_keywords(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(tagger(config, "suggest-keywords")) == EXIT_CONFIG  # no database yet
    assert main(tagger(config, "train", str(csv_file(tmp_path, TRAIN)))) == EXIT_OK
    capsys.readouterr()
    assert main(tagger(config, "suggest-keywords", "教育", "--count", "5")) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("school (4 examples): ")
    assert "roads" not in out
    assert main(tagger(config, "suggest-keywords", "nowhere")) == EXIT_CONFIG
    assert main(tagger(config, "suggest-keywords")) == EXIT_OK
    assert capsys.readouterr().out.count("examples)") == 3


def test_evaluate_averages_over_the_files_labels_and_prints_the_fallback_rate(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #22: a proposed fallback is a miss, not a topic of its own in the average (the
    old figure averaged over gold and proposed topics: 0.444 here instead of 0.667)."""
    from sklearn.metrics import f1_score

    rows = [
        ("roads", "路灯坏了"),
        ("school", "学校太远"),
        ("roads", "村里的狗天天叫"),  # no keyword: the fallback
        ("school", "孩子上学要走一个小时"),  # no keyword either
    ]
    body = "label,text\n" + "".join(f"{label},{text}\n" for label, text in rows)
    assert main(tagger(config, "evaluate", str(csv_file(tmp_path, body)), "--mode", "rules")) == 0
    out = capsys.readouterr().out
    gold = [label for label, _ in rows]
    proposed = ["roads", "school", "other", "other"]
    expected = f1_score(gold, proposed, labels=["roads", "school"], average="macro")
    assert f"macro-F1 {expected:.3f} over the 2 labels in the file" in out
    assert f"{f1_score(gold, proposed, average='macro'):.3f}" == "0.444"  # the old figure
    assert "fallback other proposed for 50.0% of rows" in out
    table = out.split("confusion (rows: label, columns: proposed)\n", 1)[1].splitlines()
    assert table[0].split() == ["roads", "schoo", "other"]  # where the misses went
    assert table[1].split() == ["roads", "1", ".", "1"]


def test_train_prints_the_cross_validated_combination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.processes import EXAMPLE_CONFIG, ROOT

    monkeypatch.setenv("JINDIANZI_STORAGE__PATH", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("JINDIANZI_ANONYMITY__KEY_FILE", str(tmp_path / "keys.json"))
    data = ROOT / "tests" / "data" / "petitions_train.csv"
    args = ["tagger", "train", str(data), "--config", str(EXAMPLE_CONFIG)]
    assert main([*args, "--log-level", "WARNING"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "529 rows read, 529 new or changed labels, 529 in all" in out
    assert "cross-validation (5 folds) macro-F1: rules 0." in out
    assert "combination: temperature " in out


def test_train_on_few_examples_uses_the_default_combination(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(tagger(config, "train", str(csv_file(tmp_path, TRAIN)))) == EXIT_OK
    out = capsys.readouterr().out
    assert "too few examples to cross-validate: default combination" in out
    assert "combination: temperature 5.00, rule weight 0.50, floor 0.00" in out
