"""PTB persistence that keeps ConversationHandler states in SQLite, and nothing else.

Conversation keys hold Telegram chat and user ids, so a key is stored only as a keyed hash
(to find the row) and encrypted (to give it back to PTB after a restart). User, chat and bot
data are not persisted through PTB: the repository stores what must survive explicitly.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.anonymity import Secrets
from storage.repository import Repository

log = logging.getLogger(__name__)

Data = dict[Any, Any]
# The shapes BasePersistence documents for conversations (python-telegram-bot's own aliases
# live in a private module, telegram.ext._utils.types).
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
KEY_MEMO = 10_000  # stored forms of conversation keys kept in memory (see _stored_key)


class SqliteConversationPersistence(BasePersistence[Data, Data, Data]):
    """Conversation states in the ``conversations`` table, keys hashed and encrypted."""

    def __init__(self, repository: Repository, secrets: Secrets, *, update_interval: float) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.repository = repository
        self.secrets = secrets
        # The stored keys of the conversations seen lately: every step of a resident updates
        # their state, and hashing and encrypting the key cost more than writing the row
        # (whose key never changes). Process memory only.
        self._stored_key = lru_cache(maxsize=KEY_MEMO)(self._store_key)

    async def get_conversations(self, name: str) -> ConversationDict:
        await self.repository.connect()
        result: ConversationDict = {}
        for key_enc, state_json in await self.repository.load_conversations(name):
            plain = self.secrets.decrypt(key_enc)
            if plain is None:
                log.warning(
                    "conversation %s: a stored key cannot be decrypted (key changed?)", name
                )
                continue
            key: ConversationKey = tuple(json.loads(plain))
            result[key] = json.loads(state_json)
        return result

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        key_hash, key_enc = self._stored_key(name, key)
        if new_state is None:
            await self.repository.save_conversation(name, key_hash, "", None)
            return
        await self.repository.save_conversation(name, key_hash, key_enc, json.dumps(new_state))

    def _store_key(self, name: str, key: ConversationKey) -> tuple[str, str]:
        """The key as stored: its keyed hash (to find the row) and its encryption."""
        key_list = list(key)
        return (
            self.secrets.key_hash(f"conversation:{name}", key_list),
            self.secrets.encrypt(json.dumps(key_list)),
        )

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
        return None
