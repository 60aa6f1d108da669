"""PTB persistence that keeps ConversationHandler states in SQLite, and nothing else.

Conversation keys hold Telegram chat and user ids, so a key is stored only encrypted (to
give it back to PTB after a restart), on a row with a random id that is new for every
conversation: two conversations of one person share no stored value (a hash of the key
would be the same each time, and its row would change together with each of that person's
submissions). The rows are found through a map key → row kept in memory, read back at
start-up. User, chat and bot data are not persisted through PTB: the repository stores what
must survive explicitly.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.anonymity import Secrets
from storage.repository import Repository
from storage.rows import new_row_id

log = logging.getLogger(__name__)

Data = dict[Any, Any]
# The shapes BasePersistence documents for conversations (python-telegram-bot's own aliases
# live in a private module, telegram.ext._utils.types).
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]


class SqliteConversationPersistence(BasePersistence[Data, Data, Data]):
    """Conversation states in the ``conversations`` table, keys encrypted."""

    def __init__(self, repository: Repository, secrets: Secrets, *, update_interval: float) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.repository = repository
        self.secrets = secrets
        # (handler name, key) -> (row id, encrypted key) of each stored conversation; the
        # key is encrypted once per conversation, not at every step.
        self._rows: dict[tuple[str, ConversationKey], tuple[str, str]] = {}
        # States the database refused to store (a full disk): python-telegram-bot hands
        # each over once, so they are kept here and written by :meth:`save_unsaved`.
        self._unsaved: dict[tuple[str, ConversationKey], object | None] = {}

    async def get_conversations(self, name: str) -> ConversationDict:
        await self.repository.connect()
        result: ConversationDict = {}
        for row_id, key_enc, state_json in await self.repository.load_conversations(name):
            plain = self.secrets.decrypt(key_enc)
            if plain is None:
                log.warning(
                    "conversation %s: a stored key cannot be decrypted (key changed?)", name
                )
                continue
            key: ConversationKey = tuple(json.loads(plain))
            result[key] = json.loads(state_json)
            self._rows[(name, key)] = (row_id, key_enc)
        return result

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        self._unsaved.pop((name, key), None)  # this state replaces one not yet written
        try:
            await self._save(name, key, new_state)
        except Exception:
            self._unsaved[(name, key)] = new_state
            raise

    async def save_unsaved(self) -> None:
        """Write the states the database refused before (e.g. once there is room again)."""
        for (name, key), state in list(self._unsaved.items()):
            await self.update_conversation(name, key, state)

    async def _save(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        if new_state is None:
            stored = self._rows.get((name, key))
            if stored is not None:
                await self.repository.save_conversation(name, stored[0], stored[1], None)
                self._rows.pop((name, key), None)
            return
        stored = self._rows.get((name, key))
        if stored is None:
            stored = self._rows[(name, key)] = (
                new_row_id(),
                self.secrets.encrypt(json.dumps(list(key))),
            )
        await self.repository.save_conversation(name, *stored, json.dumps(new_state))

    # Nothing else goes through PTB persistence -------------------------------------------
    async def get_user_data(self) -> dict[int, Data]:
        return {}

    async def get_chat_data(self) -> dict[int, Data]:
        return {}

    async def get_bot_data(self) -> Data:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def update_user_data(self, user_id: int, data: Data) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        return None

    async def update_bot_data(self, data: Data) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        """At shutdown: the states not written yet, if the database takes them now (else
        they are lost with the process, like any state newer than the last write)."""
        try:
            await self.save_unsaved()
        except Exception as exc:
            if not self.repository.disk.noticed(exc):
                raise
