"""The ``jindianzi`` command line: exit codes, summaries, and errors without tracebacks."""

from __future__ import annotations

import gc
import socket
import sqlite3
import weakref
from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, EXIT_OK, _parser, main

TOPICS = """
[[topics]]
id = "roads"
names = { "zh-Hans" = "道路", en = "Roads" }

[[topics]]
id = "other"
names = { "zh-Hans" = "其他" }
fallback = true
"""


# Commands call configure_logging: the root logger's handlers are put back after each test.
pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def storage(tmp_path: Path) -> str:
    return (
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n'
        f'[anonymity]\nkey_file = "{tmp_path / "keys.json"}"\n'
    )


def test_check_config_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[roles]\nadmin_ids = [1, 2, 3]\n" + TOPICS)
    assert main(["check-config", "--config", str(path)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert f"{path}: OK" in out
    assert "topics: 2 (fallback: other)" in out
    assert "administrators: 3" in out
    assert "token: NOT SET" in out
    assert "Asia/Shanghai" in out
    assert err == ""


def test_check_config_never_prints_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "424242:TOKEN-FROM-ENV")
    assert main(["check-config", "--config", str(write(tmp_path, TOPICS))]) == EXIT_OK
    out = capsys.readouterr().out
    assert "token: set" in out and "TOKEN-FROM-ENV" not in out


def test_check_config_with_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, '[campaign]\ntimezone = "Nowhere/Land"\n' + TOPICS)
    assert main(["check-config", "--config", str(bad)]) == EXIT_CONFIG
    out, err = capsys.readouterr()
    assert "campaign.timezone" in err
    assert "Traceback" not in err and out == ""


def test_check_config_with_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--config", str(tmp_path / "nope.toml")]) == EXIT_CONFIG
    assert "file not found" in capsys.readouterr().err


def test_check_config_finds_config_toml_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, TOPICS)
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == EXIT_OK
    assert "config.toml: OK" in capsys.readouterr().out


@pytest.mark.usefixtures("no_network")
def test_run_without_a_token_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, storage(tmp_path) + TOPICS)
    assert main(["run", "--config", str(path), "--log-level", "debug"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "telegram.token" in err and "Traceback" not in err
    assert not (tmp_path / "db.sqlite3").exists()
    assert not (tmp_path / "keys.json").exists()


@pytest.mark.usefixtures("no_network")
def test_run_with_half_configured_anonymity_keys_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "1:x")
    monkeypatch.setenv("JINDIANZI_ANONYMITY__HMAC_KEY", "k" * 40)
    path = write(tmp_path, storage(tmp_path) + TOPICS)
    assert main(["run", "--config", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "encryption_key" in err and "Traceback" not in err
    assert "k" * 40 not in err


def test_run_freezes_what_start_up_left_alive_after_collecting_its_garbage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.app
    import bot.lifecycle

    class Node:
        me: object

    garbage = Node()
    garbage.me = garbage  # a cycle: only the cyclic collector frees it
    gone = weakref.ref(garbage)
    del garbage
    frozen: list[int] = []
    real_freeze = bot.app.freeze_start_up_objects

    def freeze() -> None:
        real_freeze()
        frozen.append(gc.get_freeze_count())
        gc.unfreeze()  # this test process builds many applications

    async def no_polling(app: object, **kwargs: object) -> None:
        return None

    monkeypatch.setattr(bot.app, "build_application", lambda *a, **k: object())
    monkeypatch.setattr(bot.app, "freeze_start_up_objects", freeze)
    monkeypatch.setattr(bot.lifecycle, "serve", no_polling)
    config = tmp_path / "config.toml"
    config.write_text('[telegram]\ntoken = "1:x"\n' + TOPICS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", str(config)]) == EXIT_OK
    assert gone() is None  # the garbage was collected, not frozen
    assert frozen and frozen[0] > 10_000  # what start-up left alive was


def test_backup_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, storage(tmp_path) + TOPICS)
    assert main(["backup", "--config", str(path), str(tmp_path / "copy.sqlite3")]) == EXIT_CONFIG
    assert "No database" in capsys.readouterr().err
    assert not (tmp_path / "copy.sqlite3").exists()


def test_backup_copies_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (42)")
    path = write(tmp_path, storage(tmp_path) + TOPICS)
    target = tmp_path / "copies" / "copy.sqlite3"
    assert main(["backup", "--config", str(path), str(target)]) == EXIT_OK
    assert "integrity ok" in capsys.readouterr().out
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT x FROM t").fetchall() == [(42,)]


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["check-config"],
        ["backup", "out.sqlite3"],
        ["export", "--out", "ledger.xlsx"],
    ],
)
def test_config_and_log_level_are_accepted_after_each_subcommand(argv: list[str]) -> None:
    args = _parser().parse_args([*argv, "--config", "my.toml", "--log-level", "warning"])
    assert args.config == Path("my.toml")
    assert args.log_level == "WARNING"
    assert args.command == argv[0]


def test_export_options() -> None:
    args = _parser().parse_args(
        ["export", "--from", "2026-11-01", "--to", "2026-11-30", "--out", "x.csv", "--csv"]
    )
    assert (args.start, args.end, args.out, args.csv) == (
        "2026-11-01",
        "2026-11-30",
        Path("x.csv"),
        True,
    )


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["run", "--log-level", "LOUD"], ["export"]])
def test_bad_command_lines_exit_2_via_argparse(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err
