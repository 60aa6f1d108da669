"""Anonymity secrets: keyed hashes, the encrypted reply route, and the key file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.anonymity import Secrets, SecretsError, load_or_create_secrets
from bot.config import AnonymitySettings, ConfigError, load_settings

TOPICS = """
[[topics]]
id = "other"
names = { "zh-Hans" = "其他" }
fallback = true
"""


# ---------------------------------------------------------------- keyed hashes
def test_owner_hash_is_stable_per_key_and_user() -> None:
    a, b = Secrets.generate(), Secrets.generate()
    assert a.owner_hash(987654321) == a.owner_hash(987654321)
    assert a.owner_hash(987654321) != a.owner_hash(987654322)
    assert a.owner_hash(987654321) != b.owner_hash(987654321)


def test_remembered_owner_hashes_are_the_keyed_hash_and_stay_bounded() -> None:
    secrets = Secrets.generate()
    fresh = Secrets(hmac_key=secrets.hmac_key, encryption_key=secrets.encryption_key)
    ids = range(1, Secrets.OWNER_HASH_MEMO + 50)
    first = [secrets.owner_hash(i) for i in ids]
    again = [secrets.owner_hash(i) for i in ids]  # partly remembered, partly computed anew
    assert first == again == [fresh.owner_hash(i) for i in ids]
    assert len(set(first)) == len(first)
    assert secrets._owner_hashes.cache_info().currsize == Secrets.OWNER_HASH_MEMO


def test_owner_hash_is_opaque() -> None:
    digest = Secrets.generate().owner_hash(987654321)
    assert "987654321" not in digest
    assert len(digest) == 64 and int(digest, 16) >= 0  # a SHA-256 hex digest


def test_same_key_material_gives_the_same_hash() -> None:
    a = Secrets.generate()
    copy = Secrets(hmac_key=a.hmac_key, encryption_key=Fernet.generate_key())
    assert copy.owner_hash(5) == a.owner_hash(5)


def test_key_hash_depends_on_namespace_and_key() -> None:
    s = Secrets.generate()
    assert s.key_hash("c", [1, 2]) == s.key_hash("c", [1, 2])
    assert s.key_hash("c", [1, 2]) != s.key_hash("d", [1, 2])
    assert s.key_hash("c", [1, 2]) != s.key_hash("c", [2, 1])
    assert s.key_hash("c", [1, 2]) != Secrets.generate().key_hash("c", [1, 2])


# ---------------------------------------------------------------- encryption
@pytest.mark.parametrize("value", [0, 7, -1001234567890, 2**62])
def test_encrypt_int_round_trip(value: int) -> None:
    s = Secrets.generate()
    assert s.decrypt_int(s.encrypt_int(value)) == value


def test_encrypted_chat_id_is_not_readable() -> None:
    token = Secrets.generate().encrypt_int(-1001234567890)
    assert "1234567890" not in token


def test_encrypt_text_round_trip_and_fresh_tokens() -> None:
    s = Secrets.generate()
    first, second = s.encrypt("[123,456]"), s.encrypt("[123,456]")
    assert first != second  # Fernet tokens carry a random IV
    assert s.decrypt(first) == s.decrypt(second) == "[123,456]"


def test_decrypt_with_another_key_or_garbage_is_none() -> None:
    a, b = Secrets.generate(), Secrets.generate()
    token = a.encrypt_int(42)
    assert b.decrypt_int(token) is None
    assert b.decrypt(token) is None
    assert a.decrypt("not a token") is None
    assert a.decrypt("") is None
    assert a.decrypt("日本") is None  # not even ASCII
    assert a.decrypt_int(None) is None
    assert a.decrypt_int(a.encrypt("not a number")) is None


# ---------------------------------------------------------------- key material
def test_keys_never_show_in_repr_or_str() -> None:
    s = Secrets.generate()
    for key in s.exported():
        assert key not in repr(s) and key not in str(s) and key not in f"{s!r} {s}"


def test_short_hmac_key_is_refused_naming_the_key() -> None:
    with pytest.raises(SecretsError, match=r"anonymity\.hmac_key"):
        Secrets(hmac_key=b"k" * 31, encryption_key=Fernet.generate_key())
    Secrets(hmac_key=b"k" * 32, encryption_key=Fernet.generate_key())  # the minimum is fine


def test_bad_fernet_key_is_refused_naming_the_key() -> None:
    with pytest.raises(SecretsError, match=r"anonymity\.encryption_key") as info:
        Secrets(hmac_key=b"k" * 32, encryption_key=b"not-a-fernet-key")
    assert "not-a-fernet-key" not in str(info.value)


# ---------------------------------------------------------------- the key file
def test_key_file_is_created_private_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sub" / "keys.json"
    settings = AnonymitySettings(key_file=path)
    with caplog.at_level(logging.WARNING):
        first = load_or_create_secrets(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert str(path) in caplog.text
    for key in first.exported():
        assert key not in caplog.text
    assert set(json.loads(path.read_text(encoding="ascii"))) == {"hmac_key", "encryption_key"}
    before = path.read_bytes()
    second = load_or_create_secrets(settings)
    assert path.read_bytes() == before  # not regenerated
    assert second.exported() == first.exported()
    assert second.owner_hash(5) == first.owner_hash(5)
    assert second.decrypt_int(first.encrypt_int(5)) == 5


def test_key_file_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = AnonymitySettings(key_file=tmp_path / "keys.json")
    load_or_create_secrets(settings)
    (tmp_path / "keys.json").chmod(0o644)
    with caplog.at_level(logging.WARNING):
        load_or_create_secrets(settings)
    assert "chmod 600" in caplog.text


@pytest.mark.parametrize("content", ["{not json", '{"hmac_key": "x"}', "[]"])
def test_unreadable_key_file_names_the_setting(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content, encoding="ascii")
    with pytest.raises(SecretsError, match=r"anonymity\.(key_file|hmac_key)"):
        load_or_create_secrets(AnonymitySettings(key_file=path))


# ---------------------------------------------------------------- keys from settings / env
def test_keys_from_settings_take_precedence_over_the_key_file(tmp_path: Path) -> None:
    generated = Secrets.generate()
    hmac_key, enc_key = generated.exported()
    both = AnonymitySettings(
        key_file=tmp_path / "unused",
        hmac_key=SecretStr(hmac_key),
        encryption_key=SecretStr(enc_key),
    )
    assert load_or_create_secrets(both).owner_hash(1) == generated.owner_hash(1)
    assert not (tmp_path / "unused").exists()


def test_keys_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generated = Secrets.generate()
    hmac_key, enc_key = generated.exported()
    monkeypatch.setenv("JINDIANZI_ANONYMITY__HMAC_KEY", hmac_key)
    monkeypatch.setenv("JINDIANZI_ANONYMITY__ENCRYPTION_KEY", enc_key)
    config = tmp_path / "config.toml"
    config.write_text(f'[anonymity]\nkey_file = "{tmp_path / "k"}"\n' + TOPICS, encoding="utf-8")
    secrets = load_or_create_secrets(load_settings(config).anonymity)
    assert secrets.decrypt_int(generated.encrypt_int(9)) == 9
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize("only", ["HMAC_KEY", "ENCRYPTION_KEY"])
def test_both_keys_or_neither(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, only: str) -> None:
    hmac_key, enc_key = Secrets.generate().exported()
    value = hmac_key if only == "HMAC_KEY" else enc_key
    monkeypatch.setenv(f"JINDIANZI_ANONYMITY__{only}", value)
    config = tmp_path / "config.toml"
    config.write_text(f'[anonymity]\nkey_file = "{tmp_path / "k"}"\n' + TOPICS, encoding="utf-8")
    # Refused with the rest of the configuration (check-config as well), before any key
    # is loaded or made (#15).
    with pytest.raises(ConfigError, match="both") as info:
        load_settings(config)
    assert value not in info.value.report()
    assert not (tmp_path / "k").exists()


def test_short_hmac_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINDIANZI_ANONYMITY__HMAC_KEY", "too-short")
    monkeypatch.setenv("JINDIANZI_ANONYMITY__ENCRYPTION_KEY", Fernet.generate_key().decode())
    config = tmp_path / "config.toml"
    config.write_text(TOPICS, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"anonymity\.hmac_key") as info:
        load_settings(config)
    assert "too-short" not in info.value.report()
