"""``check-config`` refuses what ``run`` refuses (#15, point 12): keys of the wrong form, a
5,000-character campaign name, rates like 1e-6 and the like used to pass check-config (and
some of them run as well). Each is now refused by both, naming the key, before anything is
created; secret values are never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.cli import EXIT_CONFIG, main

TOPICS = """
[[topics]]
id = "roads"
names = { "zh-Hans" = "道路" }

[[topics]]
id = "other"
names = { "zh-Hans" = "其他" }
fallback = true
"""
FERNET = Fernet.generate_key().decode()
HMAC = "h" * 44
SHORT = "short-hmac-key"

CASES = [
    (f'[anonymity]\nhmac_key = "{SHORT}"\nencryption_key = "{FERNET}"\n', "anonymity.hmac_key"),
    (f'[anonymity]\nhmac_key = "{HMAC}"\n', "anonymity: Value error, set both"),
    (f'[anonymity]\nencryption_key = "{FERNET}"\n', "anonymity: Value error, set both"),
    (f'[anonymity]\nhmac_key = "{HMAC}"\nencryption_key = "{SHORT}"\n', "anonymity.encryption_key"),
    ('[campaign]\nname = "' + "解放思想" * 1250 + '"\n', "campaign.name"),
    ('[campaign]\nname = "   "\n', "campaign.name"),
    ("[telegram]\noverall_max_rate = 1e-6\n", "telegram.overall_max_rate"),
    ("[telegram]\ngroup_max_rate = 1e-6\n", "telegram.group_max_rate"),
    ("[telegram]\nprivate_max_rate = 1e-6\n", "telegram.private_max_rate"),
    ("[telegram]\noutbox_interval = 1e-6\n", "telegram.outbox_interval"),
    ("[telegram]\npersistence_interval = 1e-6\n", "telegram.persistence_interval"),
    ('[telegram]\nbase_url = "api.telegram.org/bot"\n', "telegram.base_url"),
    ("[roles]\nadmin_ids = [-1001234567890]\n", "roles.admin_ids"),
    ("[roles]\nchannel_id = 1003\n", "roles.channel_id"),
    ('[office]\nowners = ["' + "城建" * 40 + '"]\n', "office.owners"),
]


# Commands call configure_logging: the root logger's handlers are put back after each test.
pytestmark = pytest.mark.usefixtures("restore_logging")


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n' + text + TOPICS,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(("text", "key"), CASES, ids=[key for _, key in CASES])
def test_check_config_and_run_refuse_the_same_values(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    key: str,
) -> None:
    path = config(tmp_path, text)
    assert main(["check-config", "--config", str(path)]) == EXIT_CONFIG
    out, err = capsys.readouterr()
    assert f"  - {key}" in err and out == ""
    assert SHORT not in err and HMAC not in err and FERNET not in err

    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "123:TEST")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"  - {key}" in err and "Traceback" not in err
    assert not (tmp_path / "db.sqlite3").exists()  # refused before anything was made
    assert not (tmp_path / "jindianzi.keys").exists()


def test_a_topic_name_too_long_for_a_button_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TOPICS.replace('"道路"', '"' + "道路" * 40 + '"'), encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == EXIT_CONFIG
    assert "topics[0].names: Value error, each name must be 1-64 characters" in (
        capsys.readouterr().err
    )


def test_values_within_the_bounds_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        f'[anonymity]\nhmac_key = "{HMAC}"\nencryption_key = "{FERNET}"\n'
        '[campaign]\nname = "东湖街道解放思想大讨论"\n'
        "[telegram]\noverall_max_rate = 1\ngroup_max_rate = 1\nprivate_max_rate = 0\n"
        "outbox_interval = 0.1\npersistence_interval = 0.1\n"
        "[roles]\nadmin_ids = [1, 2]\nchannel_id = -1003\n"
    )
    assert main(["check-config", "--config", str(config(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert ": OK" in out
    assert "anonymity keys: the configuration (anonymity.hmac_key" in out
