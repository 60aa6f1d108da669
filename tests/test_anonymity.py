"""Anonymity secrets: keyed hashes, the encrypted reply route, and the key file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.anonymity import Secrets, SecretsError, load_or_create_secrets
from bot.config import AnonymitySettings


def test_owner_hash_is_stable_keyed_and_opaque() -> None:
    a, b = Secrets.generate(), Secrets.generate()
    assert a.owner_hash(987654321) == a.owner_hash(987654321)
    assert a.owner_hash(987654321) != a.owner_hash(987654322)
    assert a.owner_hash(987654321) != b.owner_hash(987654321)
    assert "987654321" not in a.owner_hash(987654321)
    assert a.key_hash("c", [1, 2]) == a.key_hash("c", [1, 2]) != a.key_hash("d", [1, 2])


def test_reply_route_round_trip_only_with_the_same_key() -> None:
    a, b = Secrets.generate(), Secrets.generate()
    token = a.encrypt_int(-1001234567890)
    assert "1234567890" not in token
    assert a.decrypt_int(token) == -1001234567890
    assert b.decrypt_int(token) is None
    assert a.decrypt("not a token") is None
    assert a.decrypt_int(None) is None


def test_keys_never_show_in_repr() -> None:
    secrets = Secrets.generate()
    for key in secrets.exported():
        assert key not in repr(secrets) and key not in str(secrets)


def test_bad_keys_are_refused_naming_the_key() -> None:
    with pytest.raises(SecretsError, match="hmac_key"):
        Secrets(hmac_key=b"short", encryption_key=Secrets.generate().encryption_key)
    with pytest.raises(SecretsError, match="encryption_key"):
        Secrets(hmac_key=b"k" * 32, encryption_key=b"not-fernet")


def test_key_file_is_created_private_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = AnonymitySettings(key_file=tmp_path / "sub" / "keys.json")
    with caplog.at_level(logging.WARNING):
        first = load_or_create_secrets(settings)
    assert (tmp_path / "sub" / "keys.json").stat().st_mode & 0o777 == 0o600
    assert "apart from database backups" in caplog.text
    for key in first.exported():
        assert key not in caplog.text
    second = load_or_create_secrets(settings)
    assert second.owner_hash(5) == first.owner_hash(5)
    assert second.decrypt_int(first.encrypt_int(5)) == 5


def test_unreadable_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("{not json", encoding="ascii")
    with pytest.raises(SecretsError, match=r"anonymity\.key_file"):
        load_or_create_secrets(AnonymitySettings(key_file=path))


def test_keys_from_settings_both_or_neither(tmp_path: Path) -> None:
    generated = Secrets.generate()
    hmac_key, enc_key = generated.exported()
    both = AnonymitySettings(
        key_file=tmp_path / "unused",
        hmac_key=SecretStr(hmac_key),
        encryption_key=SecretStr(enc_key),
    )
    assert load_or_create_secrets(both).owner_hash(1) == generated.owner_hash(1)
    assert not (tmp_path / "unused").exists()
    with pytest.raises(SecretsError, match="both"):
        load_or_create_secrets(AnonymitySettings(hmac_key=SecretStr(hmac_key)))
