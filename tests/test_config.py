"""Configuration: the file, environment overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from tests.conftest import EXAMPLE_CONFIG

TOPICS = """
[[topics]]
id = "roads"
names = { "zh-Hans" = "道路", en = "Roads" }
keywords = ["道路"]

[[topics]]
id = "other"
names = { "zh-Hans" = "其他" }
fallback = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, **kwargs)  # type: ignore[arg-type]
    return info.value.report()


def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TOPICS))
    assert settings.campaign.timezone == "Asia/Shanghai"
    assert settings.campaign.language == "zh-Hans"
    assert settings.telegram.base_url == "https://api.telegram.org/bot"
    assert settings.storage.path == Path("jindianzi.sqlite3")
    assert settings.roles.channel_id == 0
    assert settings.fallback_topic.id == "other"
    assert settings.topic("roads").name("en") == "Roads"  # type: ignore[union-attr]
    assert settings.topic("other").name("en") == "其他"  # type: ignore[union-attr]


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "from-file"\n[roles]\nadmin_ids = [5]\n' + TOPICS)
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "123:from-env")
    monkeypatch.setenv("JINDIANZI_ROLES__ADMIN_IDS", "[1, 2]")
    monkeypatch.setenv("JINDIANZI_CAMPAIGN__TIMEZONE", "Asia/Taipei")
    settings = load_settings(path, require_token=True)
    assert settings.telegram.token.get_secret_value() == "123:from-env"
    assert settings.roles.admin_ids == [1, 2]
    assert settings.campaign.tz.key == "Asia/Taipei"


def test_token_from_environment_alone_starts_with_the_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "123:abc")
    settings = load_settings(EXAMPLE_CONFIG, require_token=True)
    assert len(settings.topics) >= 12
    assert all(len(t.keywords) >= 10 for t in settings.topics if not t.fallback)
    assert all({"zh-Hans", "en"} <= set(t.names) for t in settings.topics)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[campaign]\ntimezone = "Mars/Olympus"\n', "campaign.timezone"),
        ('[campaign]\nlanguage = "fr"\n', "campaign.language"),
        ("[telegram]\npoll_timeout = -1\n", "telegram.poll_timeout"),
        ("[roles]\nadmin_ids = ['abc']\n", "roles.admin_ids[0]"),
        ("[storage]\npaht = 'x'\n", "storage.paht"),
        ("[unknown]\nx = 1\n", "unknown"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    assert key in problems(write(tmp_path, text + TOPICS))


def test_catalogue_errors(tmp_path: Path) -> None:
    twice = TOPICS + '\n[[topics]]\nid = "roads"\nnames = { "zh-Hans" = "x" }\n'
    assert "duplicate id" in problems(write(tmp_path, twice))
    two_fallbacks = TOPICS.replace('keywords = ["道路"]', 'keywords = ["道路"]\nfallback = true')
    assert "exactly one topic" in problems(write(tmp_path, two_fallbacks))
    no_hans = TOPICS.replace('"zh-Hans" = "道路", ', "")
    assert "topics[0].names" in problems(write(tmp_path, no_hans))
    assert "topics" in problems(write(tmp_path, ""))


def test_unreadable_files(tmp_path: Path) -> None:
    assert "not valid TOML" in problems(write(tmp_path, "[telegram\n"))
    assert "file not found" in problems(tmp_path / "missing.toml")


def test_missing_token_is_named_and_secrets_never_echoed(tmp_path: Path) -> None:
    assert "telegram.token" in problems(write(tmp_path, TOPICS), require_token=True)
    secret = "987654:VERY-SECRET-TOKEN-VALUE"
    bad = f'[telegram]\ntoken = "{secret}"\npoll_timeout = "soon"\n' + TOPICS
    report = problems(write(tmp_path, bad))
    assert "telegram.poll_timeout" in report and secret not in report
    wrong_type = '[anonymity]\nhmac_key = ["s3cr3t-material"]\n' + TOPICS
    assert "s3cr3t-material" not in problems(write(tmp_path, wrong_type))


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(write(tmp_path, TOPICS))]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "topics: 2" in out and "NOT SET" in out
    bad = write(tmp_path, '[campaign]\ntimezone = "Nowhere/Land"\n' + TOPICS)
    assert main(["check-config", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "campaign.timezone" in err and "Traceback" not in err


def test_run_refuses_to_start_without_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n' + TOPICS)
    assert main(["run", "--config", str(path), "--log-level", "debug"]) == 2
    assert "telegram.token" in capsys.readouterr().err
    assert not (tmp_path / "db.sqlite3").exists()


def test_half_configured_anonymity_keys_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, '[telegram]\ntoken = "1:x"\n[anonymity]\nhmac_key = "' + "k" * 40 + '"\n' + TOPICS
    )
    assert main(["run", "--config", str(path)]) == 2
    assert "encryption_key" in capsys.readouterr().err
