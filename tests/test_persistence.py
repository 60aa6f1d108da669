"""PTB conversation persistence in SQLite: states survive a restart, keys never lie in clear."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.anonymity import Secrets
from bot.transport.persistence import SqliteConversationPersistence
from storage.repository import Repository

USER_ID = 987654321
CHAT_ID = -1001234567890
NAME = "resident"


def persistence(path: Path, secrets: Secrets) -> SqliteConversationPersistence:
    return SqliteConversationPersistence(Repository(path), secrets, update_interval=1)


def raw_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT * FROM conversations"))


async def test_states_survive_a_new_persistence_over_a_reopened_database(tmp_path: Path) -> None:
    path = tmp_path / "conv.sqlite3"
    secrets = Secrets.generate()
    first = persistence(path, secrets)
    assert await first.get_conversations(NAME) == {}  # PTB asks first; this connects
    await first.update_conversation(NAME, (USER_ID, USER_ID), "compose")
    await first.update_conversation(NAME, (CHAT_ID, USER_ID), 3)
    await first.update_conversation(NAME, (CHAT_ID, USER_ID), 4)  # overwritten
    await first.update_conversation("admin", (5, 5), "review")
    await first.repository.close()

    second = persistence(path, secrets)
    assert await second.get_conversations(NAME) == {
        (USER_ID, USER_ID): "compose",
        (CHAT_ID, USER_ID): 4,
    }
    assert await second.get_conversations("admin") == {(5, 5): "review"}
    assert await second.get_conversations("nobody") == {}
    await second.repository.close()


class CountingSecrets(Secrets):
    __slots__ = ("encryptions",)

    def __init__(self) -> None:
        generated = Secrets.generate()
        super().__init__(hmac_key=generated.hmac_key, encryption_key=generated.encryption_key)
        self.encryptions = 0

    def encrypt(self, value: str) -> str:
        self.encryptions += 1
        return super().encrypt(value)


async def test_each_conversations_key_is_encrypted_once_however_often_its_state_changes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "conv.sqlite3"
    secrets = CountingSecrets()
    store = persistence(path, secrets)
    await store.get_conversations(NAME)
    for state in ("kind", "compose", "topic", "identity", "confirm"):
        await store.update_conversation(NAME, (USER_ID, USER_ID), state)
        await store.update_conversation(NAME, (CHAT_ID, USER_ID), state)
    assert secrets.encryptions == 2
    await store.update_conversation(NAME, (USER_ID, USER_ID), None)  # submitted
    await store.update_conversation(NAME, (USER_ID, USER_ID), "kind")  # and a new one
    assert secrets.encryptions == 3  # a new conversation: a new row, a fresh token
    await store.repository.close()

    again = persistence(path, secrets)
    assert await again.get_conversations(NAME) == {
        (USER_ID, USER_ID): "kind",
        (CHAT_ID, USER_ID): "confirm",
    }
    await again.repository.close()


async def test_stored_rows_hold_no_plain_ids(tmp_path: Path) -> None:
    path = tmp_path / "conv.sqlite3"
    store = persistence(path, Secrets.generate())
    await store.get_conversations(NAME)
    await store.update_conversation(NAME, (CHAT_ID, USER_ID), "compose")
    await store.repository.checkpoint()
    await store.repository.close()
    rows = raw_rows(path)
    assert len(rows) == 1
    for value in rows[0]:
        text = str(value)
        assert str(USER_ID) not in text
        assert str(abs(CHAT_ID)) not in text
    assert str(USER_ID).encode() not in path.read_bytes()


async def test_two_conversations_of_one_person_share_no_stored_value(tmp_path: Path) -> None:
    """A hash of the key would be the same for every conversation of one person, and its
    row would change (and go) together with each of their submissions: the rows of two
    conversations of one person must have nothing in common."""
    path = tmp_path / "conv.sqlite3"
    store = persistence(path, Secrets.generate())
    await store.get_conversations(NAME)
    await store.update_conversation(NAME, (USER_ID, USER_ID), "compose")
    [first] = raw_rows(path)
    await store.update_conversation(NAME, (USER_ID, USER_ID), None)
    assert raw_rows(path) == []
    await store.update_conversation(NAME, (USER_ID, USER_ID), "compose")
    [second] = raw_rows(path)
    await store.repository.close()
    assert first[0] == second[0] == NAME and first[3] == second[3] == '"compose"'
    assert first[1] != second[1] and first[2] != second[2]  # row id, encrypted key


async def test_state_none_deletes_the_row(tmp_path: Path) -> None:
    path = tmp_path / "conv.sqlite3"
    secrets = Secrets.generate()
    store = persistence(path, secrets)
    await store.get_conversations(NAME)
    await store.update_conversation(NAME, (1, 1), "compose")
    await store.update_conversation(NAME, (2, 2), "topic")
    await store.update_conversation(NAME, (1, 1), None)
    await store.update_conversation(NAME, (3, 3), None)  # never stored: nothing happens
    assert await store.get_conversations(NAME) == {(2, 2): "topic"}
    await store.repository.close()
    assert len(raw_rows(path)) == 1


async def test_keys_of_another_secret_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "conv.sqlite3"
    old = persistence(path, Secrets.generate())
    await old.get_conversations(NAME)
    await old.update_conversation(NAME, (1, 1), "compose")
    await old.repository.close()

    new_secrets = Secrets.generate()
    new = persistence(path, new_secrets)
    with caplog.at_level(logging.WARNING, logger="bot.transport.persistence"):
        assert await new.get_conversations(NAME) == {}
    assert "cannot be decrypted" in caplog.text
    # The new key works for new states alongside the unreadable old row.
    await new.update_conversation(NAME, (2, 2), "topic")
    assert await new.get_conversations(NAME) == {(2, 2): "topic"}
    await new.repository.close()


async def test_only_conversations_go_through_ptb_persistence(tmp_path: Path) -> None:
    store = persistence(tmp_path / "conv.sqlite3", Secrets.generate())
    flags = store.store_data
    assert not (flags.user_data or flags.chat_data or flags.bot_data or flags.callback_data)
    await store.update_user_data(USER_ID, {"name": "王五"})
    assert await store.get_user_data() == {}
    assert await store.get_chat_data() == {}
    await store.repository.close()
