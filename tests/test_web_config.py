"""The [web] section: defaults, validation that names the bad key, check-config's line, and
``run`` refusing a desk port that is also the webhook's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, EXIT_OK, main
from bot.config import ConfigError, load_settings
from tests.test_cli import write
from tests.test_config import TOPICS


def test_the_desk_is_off_by_default_with_safe_defaults(tmp_path: Path) -> None:
    web = load_settings(write(tmp_path, TOPICS)).web
    assert not web.enabled
    assert (web.listen, web.port, web.public_url) == ("127.0.0.1", 8080, None)
    assert (web.session_max_age, web.initdata_max_age, web.login_link_max_age) == (
        8 * 3600,
        3600,
        600,
    )
    assert web.path_prefix == ""


def test_public_url_is_normalised_and_gives_the_path_prefix(tmp_path: Path) -> None:
    text = '[web]\nenabled = true\npublic_url = "https://bot.example.org/desk/"\n' + TOPICS
    web = load_settings(write(tmp_path, text)).web
    assert web.public_url == "https://bot.example.org/desk"
    assert web.path_prefix == "/desk"


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('public_url = "http://bot.example.org"', "web.public_url"),
        ('public_url = "https://bot.example.org/?a=1"', "web.public_url"),
        ('public_url = "bot.example.org"', "web.public_url"),
        ("port = 70000", "web.port"),
        ('listen = "0.0.0.0/8"', "web.listen"),
        ("initdata_max_age = 10", "web.initdata_max_age"),
        ("session_max_age = 0", "web.session_max_age"),
        ("login_link_max_age = 86400", "web.login_link_max_age"),
        ('telegram_script = "http://telegram.org/x.js"', "web.telegram_script"),
        ("enable = true", "web.enable"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, f"[web]\n{line}\n" + TOPICS))
    assert f"  - {key}:" in info.value.report()


def test_check_config_describes_the_desk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off = write(tmp_path, TOPICS, "off.toml")
    assert main(["check-config", "--config", str(off)]) == EXIT_OK
    assert "web desk: off" in capsys.readouterr().out
    on = write(
        tmp_path,
        '[web]\nenabled = true\nport = 8090\npublic_url = "https://bot.example.org/desk"\n'
        + TOPICS,
        "on.toml",
    )
    assert main(["check-config", "--config", str(on)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "web desk: on, listening on 127.0.0.1:8090, https://bot.example.org/desk" in out
    bad = write(tmp_path, '[web]\npublic_url = "http://x.org"\n' + TOPICS, "bad.toml")
    assert main(["check-config", "--config", str(bad)]) == EXIT_CONFIG
    assert "web.public_url: Value error, must be an https:// URL" in capsys.readouterr().err


def test_run_refuses_a_desk_port_that_is_the_webhooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "123:TEST")
    text = (
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n'
        f'[anonymity]\nkey_file = "{tmp_path / "keys.json"}"\n'
        "[web]\nenabled = true\nport = 8443\n" + TOPICS
    )
    path = write(tmp_path, text)
    args = [
        "run",
        "--config",
        str(path),
        "--webhook",
        "https://x.org/u",
        "--listen",
        "127.0.0.1:8443",
    ]
    assert main(args) == EXIT_CONFIG
    assert "web.port: 8443 is also the webhook's port" in capsys.readouterr().err
    assert not (tmp_path / "db.sqlite3").exists()
