"""Configuration: the TOML file, environment overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"

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


def problems(path: Path, *, require_token: bool = False) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, require_token=require_token)
    return info.value.report()


# ---------------------------------------------------------------- valid files
def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TOPICS))
    assert isinstance(settings, Settings)
    assert settings.campaign.timezone == "Asia/Shanghai"
    assert settings.campaign.tz.key == "Asia/Shanghai"
    assert settings.campaign.language == "zh-Hans"
    assert settings.telegram.base_url == "https://api.telegram.org/bot"
    assert settings.telegram.token.get_secret_value() == ""
    # Relative paths are taken from the configuration file's folder.
    assert settings.storage.path == tmp_path / "jindianzi.sqlite3"
    assert settings.anonymity.key_file == tmp_path / "jindianzi.keys"
    assert settings.roles.admin_ids == []
    assert settings.fallback_topic.id == "other"
    roads = settings.topic("roads")
    assert roads is not None and roads.name("en") == "Roads"
    # A missing translation falls back to the Simplified name.
    assert settings.topic("other").name("zh-Hant") == "其他"  # type: ignore[union-attr]
    assert settings.topic("nope") is None


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = '[telegram]\ntoken = "1:from-file"\n[roles]\nadmin_ids = [5]\noffice_chat_id = -100\n'
    path = write(tmp_path, text + TOPICS)
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "123:from-env")
    monkeypatch.setenv("JINDIANZI_ROLES__ADMIN_IDS", "[1,2]")
    settings = load_settings(path, require_token=True)
    assert settings.telegram.token.get_secret_value() == "123:from-env"
    assert settings.roles.admin_ids == [1, 2]
    # Keys of the same section that the environment does not set keep the file's value.
    assert settings.roles.office_chat_id == -100


def test_overrides_argument_is_merged_into_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[roles]\nadmin_ids = [5]\n" + TOPICS)
    settings = load_settings(path, overrides={"roles": {"office_chat_id": 3}})
    assert settings.roles.admin_ids == [5]
    assert settings.roles.office_chat_id == 3


def test_overrides_argument_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values passed in (the tests' make_settings) come first, then the environment, then
    the file: pydantic-settings' own order."""
    path = write(tmp_path, "[roles]\nadmin_ids = [5]\noffice_chat_id = -1\n" + TOPICS)
    monkeypatch.setenv("JINDIANZI_ROLES__ADMIN_IDS", "[6]")
    monkeypatch.setenv("JINDIANZI_ROLES__OFFICE_CHAT_ID", "-2")
    settings = load_settings(path, overrides={"roles": {"office_chat_id": -3}})
    assert settings.roles.admin_ids == [6]
    assert settings.roles.office_chat_id == -3


def test_the_file_is_read_only_by_the_load_that_chose_it(tmp_path: Path) -> None:
    loaded = load_settings(write(tmp_path, "[roles]\noffice_chat_id = 9\n" + TOPICS))
    assert loaded.roles.office_chat_id == 9
    # Settings built afterwards without a file get the defaults, not that file.
    fresh = Settings(topics=[t.model_dump() for t in loaded.topics])
    assert fresh.roles.office_chat_id == 0


def test_example_file_with_a_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", "123:abc")
    settings = load_settings(EXAMPLE_CONFIG, require_token=True)
    assert len(settings.topics) >= 2
    assert all("zh-Hans" in t.names for t in settings.topics)


# ---------------------------------------------------------------- errors name the key
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[campaign]\ntimezone = "Mars/Olympus"\n', "campaign.timezone"),
        ('[campaign]\nlanguage = "fr"\n', "campaign.language"),
        ("[telegram]\npoll_timeout = -1\n", "telegram.poll_timeout"),
        ("[roles]\nadmin_ids = ['abc']\n", "roles.admin_ids[0]"),
        ("[storage]\npaht = 'x'\n", "storage.paht"),
        ("[telegram]\ntokn = 'x'\n", "telegram.tokn"),
        ("[unknown]\nx = 1\n", "unknown"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    report = problems(write(tmp_path, text + TOPICS))
    assert f"  - {key}:" in report
    assert "Traceback" not in report


def test_unknown_key_is_called_unknown(tmp_path: Path) -> None:
    report = problems(write(tmp_path, "[storage]\npaht = 'x'\n" + TOPICS))
    assert "storage.paht: unknown key" in report


def test_two_fallback_topics(tmp_path: Path) -> None:
    text = TOPICS.replace('keywords = ["道路"]', 'keywords = ["道路"]\nfallback = true')
    assert "exactly one topic must have fallback = true (found 2)" in problems(
        write(tmp_path, text)
    )


def test_no_fallback_topic(tmp_path: Path) -> None:
    text = TOPICS.replace("fallback = true", "")
    assert "(found 0)" in problems(write(tmp_path, text))


def test_duplicate_topic_ids(tmp_path: Path) -> None:
    text = TOPICS + '\n[[topics]]\nid = "roads"\nnames = { "zh-Hans" = "路" }\n'
    assert "duplicate id(s) roads" in problems(write(tmp_path, text))


def test_topic_names_without_simplified_chinese(tmp_path: Path) -> None:
    text = TOPICS.replace('names = { "zh-Hans" = "其他" }', 'names = { en = "Other" }')
    report = problems(write(tmp_path, text))
    assert "topics[1].names" in report and "zh-Hans" in report


def test_bad_topic_id_and_empty_keyword(tmp_path: Path) -> None:
    text = TOPICS.replace('id = "roads"', 'id = "Roads!"').replace('["道路"]', '["道路", " "]')
    report = problems(write(tmp_path, text))
    assert "topics[0].id" in report and "topics[0].keywords" in report


def test_no_topics_at_all(tmp_path: Path) -> None:
    assert "  - topics: required key is missing" in problems(write(tmp_path, ""))


def test_invalid_toml(tmp_path: Path) -> None:
    report = problems(write(tmp_path, "[telegram\n"))
    assert "not valid TOML" in report and str(tmp_path / "config.toml") in report


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(TOPICS.encode("gb18030"))
    report = problems(path)
    assert "cannot read file" in report and str(path) in report


def test_missing_file_given_explicitly(tmp_path: Path) -> None:
    assert "file not found" in problems(tmp_path / "missing.toml")


def test_required_token_is_named(tmp_path: Path) -> None:
    assert "telegram.token" in problems(write(tmp_path, TOPICS), require_token=True)
    # Without require_token the same file is fine.
    assert load_settings(write(tmp_path, TOPICS)).telegram.token.get_secret_value() == ""


SECRET = "987654:VERY-SECRET-TOKEN-VALUE"


@pytest.mark.parametrize(
    "text",
    [
        f'[telegram]\ntoken = "{SECRET}"\npoll_timeout = "soon"\n',
        f'[telegram]\ntoken = ["{SECRET}"]\n',
        f'[anonymity]\nhmac_key = ["{SECRET}"]\n',
        f'[telegram]\ntoken = "{SECRET}\n',  # unterminated string: a TOML error
    ],
)
def test_secret_values_are_never_echoed(tmp_path: Path, text: str) -> None:
    report = problems(write(tmp_path, text + TOPICS))
    assert SECRET not in report
    assert "VERY-SECRET" not in report


def test_bad_environment_value_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__POLL_TIMEOUT", "soon")
    assert "telegram.poll_timeout" in problems(write(tmp_path, TOPICS))


def test_unknown_environment_key_in_a_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKNE", "1:x")
    assert "telegram.tokne: unknown key" in problems(write(tmp_path, TOPICS))


def test_malformed_json_list_in_the_environment_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_ROLES__ADMIN_IDS", "1,2")  # should have been "[1,2]"
    assert "roles.admin_ids (from JINDIANZI_ROLES__ADMIN_IDS)" in problems(write(tmp_path, TOPICS))


# ---------------------------------------------------------------- storage.url (#24)
def test_a_sqlite_url_is_the_same_as_the_path_key(tmp_path: Path) -> None:
    relative = load_settings(
        write(tmp_path, '[storage]\nurl = "sqlite:///data/b.sqlite3"\n' + TOPICS)
    )
    assert relative.storage.path == tmp_path / "data" / "b.sqlite3"
    assert relative.storage.target == tmp_path / "data" / "b.sqlite3"
    assert not relative.storage.postgresql
    absolute = load_settings(
        write(tmp_path, '[storage]\nurl = "sqlite:////srv/j.sqlite3"\n' + TOPICS)
    )
    assert absolute.storage.target == Path("/srv/j.sqlite3")
    # The old key alone keeps working, and is the default.
    assert load_settings(write(tmp_path, TOPICS)).storage.target == tmp_path / "jindianzi.sqlite3"


def test_a_postgresql_url_from_the_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://jindianzi@db.internal:5433/campaign"
    settings = load_settings(write(tmp_path, f'[storage]\nurl = "{url}"\n' + TOPICS))
    assert settings.storage.postgresql and settings.storage.target == url
    monkeypatch.setenv("JINDIANZI_STORAGE__URL", "postgresql://other@localhost/x")
    assert load_settings(write(tmp_path, TOPICS)).storage.target == "postgresql://other@localhost/x"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://jindianzi:hunter2@db/campaign", "JINDIANZI_DB_PASSWORD"),
        ("postgresql://jindianzi@db/", "must name the database"),
        ("mysql://jindianzi@db/campaign", "sqlite:///path"),
        ("sqlite:///", "must name a file"),
    ],
)
def test_a_bad_storage_url_is_named_and_a_password_never_echoed(
    tmp_path: Path, url: str, says: str
) -> None:
    report = problems(write(tmp_path, f'[storage]\nurl = "{url}"\n' + TOPICS))
    assert "  - storage.url:" in report and says in report
    assert "hunter2" not in report
