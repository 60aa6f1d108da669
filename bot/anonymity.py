"""Anonymity secrets: keyed pseudonyms for lookups, encryption for what must be recovered.

Everything the bot keeps about a resident outside a named submission's sender columns is
stored under a *keyed pseudonym* (HMAC-SHA256 with a secret key), never under the Telegram
id, and each use has its own namespace (:class:`Namespace`), so two uses never share a
value: a resident's language row, their draft's owner, and the ownership tag of each of
their anonymous items are unrelated strings to anyone without the key. All are derived from
one in-memory root per person, :meth:`Secrets.person` (never stored), by :meth:`Secrets.tag`.
What must be recoverable (the chat to notify an anonymous sender, a draft's text, a
conversation's key) is encrypted with Fernet; each token is fresh (random IV), so equal
plain values never show as equal tokens.

The secrets come from the configuration / environment, or are generated on first start into
a separate key file (mode 0600) that must be kept apart from database backups.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets as _secrets
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from cryptography.fernet import Fernet, InvalidToken

from bot.config import AnonymitySettings
from bot.core.records import CopyPlacement

log = logging.getLogger(__name__)

TAG_HEX = 32  # pseudonyms are HMAC-SHA256 truncated to 128 bits (hex)
SEAL_BLOCK = 64  # sealed texts are padded to a multiple of this (bytes), see Secrets.seal


class Namespace(StrEnum):
    """What a pseudonym is for; each namespace gives unrelated values for the same person.
    The README's "How anonymity works" lists what each is stored with and why."""

    DRAFT = "draft"  # the owner of a draft (sealed with the draft on its row)
    LANGUAGE = "lang"  # the key of a resident's language choice
    OWN = "own"  # ownership of one anonymous item: tag(OWN, person, item id)
    SUPPORT = "support"  # 附议: one per person and item: tag(SUPPORT, person, item id)
    SURVEY = "survey"  # the satisfaction survey: once per person and phase
    MESSAGE = "msg"  # a message in a private chat: tag(MESSAGE, chat id, message id)
    COPY = "copy"  # a card copy's private chat: tag(COPY, chat id, item id)
    KEY_CHECK = "keycheck"  # the database's check that its keys are these (bot.keycheck)
    INBOX = "inbox"  # the sender of an update in the inbox (its claim order), its webhook


class PersonKeys(NamedTuple):
    """The pseudonyms of one person that every update may need (kept for recent users)."""

    person: str
    draft: str


class SecretsError(Exception):
    """The anonymity secrets are missing, unreadable or malformed."""


class Secrets:
    """The two anonymity keys and the operations built on them."""

    __slots__ = ("_fernet", "_keys", "_languages", "encryption_key", "hmac_key")

    # Pseudonyms of the users seen lately: a resident's every update needs theirs, and an
    # HMAC costs more than the rest of looking up a draft. Process memory only, like the
    # user ids python-telegram-bot itself keeps while it runs.
    KEYS_MEMO = 10_000

    def __init__(self, *, hmac_key: bytes, encryption_key: bytes) -> None:
        if len(hmac_key) < 32:
            raise SecretsError("anonymity.hmac_key: must be at least 32 bytes of key material")
        try:
            self._fernet = Fernet(encryption_key)
        except (ValueError, TypeError) as exc:
            raise SecretsError(
                "anonymity.encryption_key: not a valid Fernet key (32 url-safe base64 bytes)"
            ) from exc
        self.hmac_key = hmac_key
        self.encryption_key = encryption_key
        self._keys = lru_cache(maxsize=self.KEYS_MEMO)(self._keys_of)
        self._languages = lru_cache(maxsize=self.KEYS_MEMO)(self._language_key)

    def __repr__(self) -> str:  # never show key material
        return "Secrets(<hidden>)"

    def exported(self) -> tuple[str, str]:
        """Both keys as text, for the log filter that redacts them."""
        return self.hmac_key.decode("ascii"), self.encryption_key.decode("ascii")

    @classmethod
    def generate(cls) -> Secrets:
        return cls(
            hmac_key=base64.urlsafe_b64encode(_secrets.token_bytes(32)),
            encryption_key=Fernet.generate_key(),
        )

    # ------------------------------------------------------------------ pseudonyms
    def _digest(self, label: str) -> str:
        return hmac.digest(self.hmac_key, label.encode(), "sha256").hex()

    def person(self, user_id: int) -> str:
        """The root of a person's pseudonyms (HMAC of the Telegram user id). Never stored:
        only values derived from it with :meth:`tag` are. (Databases before migration 0012
        stored it as ``owner_hash``; the conversion derives the new values from it.)"""
        return self._keys(user_id).person

    def keys(self, user_id: int) -> PersonKeys:
        """The person's root and draft-owner pseudonym (remembered: every update needs
        them)."""
        return self._keys(user_id)

    def language_key(self, user_id: int) -> str:
        """The key of the person's language choice (remembered)."""
        return self._languages(user_id)

    def _keys_of(self, user_id: int) -> PersonKeys:
        person = self._digest(f"user:{user_id}")
        # tag(DRAFT, person), with the JSON written out (a hex string needs no escaping):
        # this runs for every new resident's first update.
        return PersonKeys(person, self._digest(f'["{Namespace.DRAFT.value}","{person}"]')[:TAG_HEX])

    def _language_key(self, user_id: int) -> str:
        return self.tag(Namespace.LANGUAGE, self.person(user_id))

    def tag(self, namespace: Namespace, *parts: str | int) -> str:
        """The pseudonym of ``parts`` in ``namespace``: HMAC-SHA256 over the JSON list
        ``[namespace, *parts]`` (unambiguous whatever the parts hold), 128 bits in hex."""
        return self._digest(_label(namespace, *parts))[:TAG_HEX]

    def own_tag(self, user_id: int, item_id: int) -> str:
        """The ownership tag of one anonymous item: the same person's items share nothing."""
        return self.tag(Namespace.OWN, self.person(user_id), item_id)

    def support_tag(self, user_id: int, item_id: int) -> str:
        """附议 (me too) counted once per person and item, linking nothing else."""
        return self.tag(Namespace.SUPPORT, self.person(user_id), item_id)

    def survey_tag(self, user_id: int, phase: str) -> str:
        """The satisfaction survey answered once per person and phase (store the answers
        apart from it)."""
        return self.tag(Namespace.SURVEY, self.person(user_id), phase)

    def owner_matcher(self, user_id: int) -> Callable[[int, str], bool]:
        """``matches(item_id, stored_tag)``: whether a stored ownership tag is this person's.
        For scanning many items: the HMAC state of the common prefix is computed once."""
        prefix = _label(Namespace.OWN, self.person(user_id))[:-1] + ","
        base = hmac.new(self.hmac_key, prefix.encode(), hashlib.sha256)

        def matches(item_id: int, stored: str) -> bool:
            digest = base.copy()
            digest.update(f"{item_id}]".encode())
            return hmac.compare_digest(digest.hexdigest()[:TAG_HEX], stored)

        return matches

    def message_key(self, chat_id: int, message_id: int) -> str:
        """A message of a private chat, for matching a reply to it: message ids count per
        chat, so plain ones could be compared across chats; these cannot."""
        return self.tag(Namespace.MESSAGE, chat_id, message_id)

    # ------------------------------------------------------------------ encryption
    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, token: str) -> str | None:
        """The plain value, or None when the token was made with another key."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None

    def encrypt_int(self, value: int) -> str:
        return self.encrypt(str(value))

    def decrypt_int(self, token: str | None) -> int | None:
        if token is None:
            return None
        plain = self.decrypt(token)
        return int(plain) if plain is not None and plain.lstrip("-").isdigit() else None

    def reencrypt(self, token: str | None) -> str | None:
        """A fresh token for the same value (None if it cannot be read), so a stored token
        is never copied into another row where the two could be matched."""
        plain = None if token is None else self.decrypt(token)
        return None if plain is None else self.encrypt(plain)

    def seal(self, text: str) -> str:
        """Encrypt ``text`` padded with spaces to a multiple of :data:`SEAL_BLOCK` bytes (at
        least one block), so the token's length tells only roughly how long the text is.
        For JSON, whose trailing spaces do not matter."""
        data = text.encode()
        size = max(SEAL_BLOCK, -(-len(data) // SEAL_BLOCK) * SEAL_BLOCK)
        return self._fernet.encrypt(data.ljust(size)).decode("ascii")

    def unseal(self, token: str) -> str | None:
        plain = self.decrypt(token)
        return None if plain is None else plain.rstrip(" ")


def _label(namespace: Namespace, *parts: str | int) -> str:
    return json.dumps([namespace.value, *parts], separators=(",", ":"))


def message_reference(
    secrets: Secrets, chat_id: int, message_id: int, purpose: str | None
) -> tuple[int | None, str | None]:
    """What the outbox keeps of a delivered message: (plain message id, keyed hash).

    Groups and channels (negative chat ids) keep the plain id (a channel post's link needs
    it; a reply to a card is matched by it). In a private chat (a resident's, or an admin's
    who may also be a resident) only a keyed hash is kept, and only when a reply to it must
    be matched (``purpose``); otherwise nothing."""
    if chat_id < 0:
        return message_id, None
    return None, (secrets.message_key(chat_id, message_id) if purpose else None)


def copy_placement(secrets: Secrets, chat_id: int, message_id: int, item_id: int) -> CopyPlacement:
    """What is kept of a card copy (:mod:`bot.core.copies`), following
    :func:`message_reference`: in a group, the chat and message ids as they are; in a
    private chat (an administrator's, who may also be an anonymous sender) the place is
    ``tag(copy, chat id, item id)`` and both ids are encrypted, because a copy must be
    edited later, so the message id cannot be a one-way hash, and plain ids would show the
    gaps that other messages to that chat left."""
    if chat_id < 0:
        return CopyPlacement(
            place=str(chat_id), chat_enc=secrets.encrypt_int(chat_id), message_id=message_id
        )
    return CopyPlacement(
        place=secrets.tag(Namespace.COPY, chat_id, item_id),
        chat_enc=secrets.encrypt_int(chat_id),
        message_enc=secrets.encrypt_int(message_id),
    )


def write_key_file(path: Path, secrets: Secrets) -> None:
    payload = json.dumps(
        {
            "hmac_key": secrets.hmac_key.decode("ascii"),
            "encryption_key": secrets.encryption_key.decode("ascii"),
        },
        indent=2,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(payload + "\n")


def _read_key_file(path: Path) -> Secrets:
    try:
        data = json.loads(path.read_text(encoding="ascii"))
        return Secrets(
            hmac_key=str(data["hmac_key"]).encode("ascii"),
            encryption_key=str(data["encryption_key"]).encode("ascii"),
        )
    except SecretsError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SecretsError(
            f"anonymity.key_file: cannot read keys from {path}: {type(exc).__name__}"
        ) from None


def existing_secrets(cfg: AnonymitySettings) -> Secrets | None:
    """Secrets from config/env, else from the key file if there is one, else None (tools
    that only read the database never generate keys)."""
    if cfg.hmac_key is not None or cfg.encryption_key is not None:
        if cfg.hmac_key is None or cfg.encryption_key is None:
            raise SecretsError(
                "anonymity: set both hmac_key and encryption_key, or neither (to use key_file)"
            )
        return Secrets(
            hmac_key=cfg.hmac_key.get_secret_value().encode(),
            encryption_key=cfg.encryption_key.get_secret_value().encode(),
        )
    path = cfg.key_file
    if not path.exists():
        return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning(
            "anonymity key file %s is readable by others (mode %o); chmod 600 it", path, mode
        )
    return _read_key_file(path)


def load_or_create_secrets(cfg: AnonymitySettings) -> Secrets:
    """Secrets from config/env, else from the key file, else newly generated into it."""
    found = existing_secrets(cfg)
    if found is not None:
        return found
    secrets = Secrets.generate()
    write_key_file(cfg.key_file, secrets)
    log.warning(
        "generated anonymity keys in %s (mode 0600). Keep this file apart from database backups: "
        "together they could link anonymous submissions to senders. Losing it loses only the "
        "ability to notify anonymous senders and to list their earlier submissions.",
        cfg.key_file,
    )
    return secrets
