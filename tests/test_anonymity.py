"""Anonymity secrets: keyed hashes, the encrypted reply route, and the key file."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.anonymity import (
    SEAL_BLOCK,
    Namespace,
    Secrets,
    SecretsError,
    existing_secrets,
    load_or_create_secrets,
    message_reference,
)
from bot.config import AnonymitySettings, ConfigError, load_settings

TOPICS = """
[[topics]]
id = "other"
names = { "zh-Hans" = "其他" }
fallback = true
"""


# ---------------------------------------------------------------- pseudonyms
def test_person_is_stable_per_key_and_user() -> None:
    a, b = Secrets.generate(), Secrets.generate()
    assert a.person(987654321) == a.person(987654321)
    assert a.person(987654321) != a.person(987654322)
    assert a.person(987654321) != b.person(987654321)


def test_remembered_pseudonyms_are_the_keyed_hashes_and_stay_bounded() -> None:
    secrets = Secrets.generate()
    fresh = Secrets(hmac_key=secrets.hmac_key, encryption_key=secrets.encryption_key)
    ids = range(1, Secrets.KEYS_MEMO + 50)
    first = [secrets.keys(i) for i in ids]
    again = [secrets.keys(i) for i in ids]  # partly remembered, partly computed anew
    assert first == again == [fresh.keys(i) for i in ids]
    assert len({k.person for k in first}) == len(first)
    assert secrets._keys.cache_info().currsize == Secrets.KEYS_MEMO


def test_person_is_the_hash_databases_before_0012_stored() -> None:
    """The conversion of old databases derives the new pseudonyms from the stored
    ``owner_hash``: it must be exactly the root the bot computes today."""
    s = Secrets.generate()
    old_owner_hash = hmac.new(s.hmac_key, b"user:987654321", hashlib.sha256).hexdigest()
    assert s.person(987654321) == old_owner_hash


def test_pseudonyms_are_opaque() -> None:
    s = Secrets.generate()
    user = 987654321
    for value in (*s.keys(user), s.language_key(user), s.own_tag(user, 5)):
        assert "987654321" not in value
        assert int(value, 16) >= 0  # hex


def test_each_namespace_gives_unrelated_values_for_one_person() -> None:
    s = Secrets.generate()
    person = s.person(5)
    values = [
        person,
        s.keys(5).draft,
        s.language_key(5),
        *(s.own_tag(5, item) for item in (1, 2, 3)),
        s.support_tag(5, 1),
        s.support_tag(5, 2),
        s.survey_tag(5, "summing_up"),
        s.message_key(5, 1),
    ]
    assert len(set(values)) == len(values)
    # No value is a part of another (a substring search over a database finds nothing).
    for value in values:
        assert not any(value in other for other in values if other is not value)
    assert s.support_tag(5, 1) == s.tag(Namespace.SUPPORT, person, 1)
    assert s.survey_tag(5, "summing_up") == s.tag(Namespace.SURVEY, person, "summing_up")
    assert s.support_tag(5, 1) != s.support_tag(6, 1)  # once per person
    assert s.keys(5).draft == s.tag(Namespace.DRAFT, person)
    assert s.language_key(5) == s.tag(Namespace.LANGUAGE, person)


def test_tags_are_unambiguous_whatever_the_parts_hold() -> None:
    s = Secrets.generate()
    assert s.tag(Namespace.SURVEY, "a", "b,c") != s.tag(Namespace.SURVEY, "a,b", "c")
    assert s.tag(Namespace.OWN, "h", 12) != s.tag(Namespace.OWN, "h", "12")
    assert s.tag(Namespace.OWN, "h", 1) != Secrets.generate().tag(Namespace.OWN, "h", 1)


def test_owner_matcher_agrees_with_the_tag_and_with_nobody_else() -> None:
    s = Secrets.generate()
    mine = s.owner_matcher(7)
    for item in (1, 42, 10**12):
        assert mine(item, s.own_tag(7, item))
        assert not mine(item, s.own_tag(8, item))  # someone else's item
        assert not mine(item + 1, s.own_tag(7, item))  # my tag on another item
    assert not mine(1, "")


def test_message_keys_depend_on_chat_and_message() -> None:
    s = Secrets.generate()
    assert s.message_key(5, 10) == s.message_key(5, 10)
    assert len({s.message_key(5, 10), s.message_key(6, 10), s.message_key(5, 11)}) == 3


@pytest.mark.parametrize(
    ("chat", "purpose", "kept"),
    [
        (987654321, "question", (None, "key")),  # a resident's chat: a keyed hash only
        (987654321, None, (None, None)),  # ... and nothing when no reply is matched
        (-1001234567890, "group_card", (42, None)),  # a group: the plain id
        (-1001234567890, "channel_post", (42, None)),  # a channel: its link needs it
    ],
)
def test_message_reference(chat: int, purpose: str | None, kept: tuple[object, object]) -> None:
    s = Secrets.generate()
    plain, key = message_reference(s, chat, 42, purpose)
    assert plain == kept[0]
    assert key == (s.message_key(chat, 42) if kept[1] else None)


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


def test_reencrypt_gives_a_fresh_token_for_the_same_value() -> None:
    s = Secrets.generate()
    token = s.encrypt_int(987654321)
    again = s.reencrypt(token)
    assert again is not None and again != token
    assert s.decrypt_int(again) == 987654321
    assert s.reencrypt(None) is None
    assert s.reencrypt(Secrets.generate().encrypt_int(1)) is None


@pytest.mark.parametrize("text", ["", "短", "x" * 255, "x" * 256, "草稿" * 700])
def test_sealed_text_round_trips_and_its_length_is_padded(text: str) -> None:
    s = Secrets.generate()
    token = s.seal(text)
    assert s.unseal(token) == text
    assert text not in token or not text
    blocks = max(1, -(-len(text.encode()) // SEAL_BLOCK))
    assert len(token) == len(s.seal("y" * blocks * SEAL_BLOCK))  # only the number of blocks shows
    assert s.unseal(Secrets.generate().seal(text)) is None


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
    assert second.person(5) == first.person(5)
    assert second.decrypt_int(first.encrypt_int(5)) == 5


def test_tools_never_generate_keys(tmp_path: Path) -> None:
    settings = AnonymitySettings(key_file=tmp_path / "keys.json")
    assert existing_secrets(settings) is None
    assert not (tmp_path / "keys.json").exists()
    made = load_or_create_secrets(settings)
    found = existing_secrets(settings)
    assert found is not None and found.exported() == made.exported()


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
    assert load_or_create_secrets(both).person(1) == generated.person(1)
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
