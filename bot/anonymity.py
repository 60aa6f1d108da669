"""Anonymity secrets: keyed hashes for lookups and encryption for recoverable routes.

Per-user data is stored under ``owner_hash`` (HMAC-SHA256 of the Telegram user id with a
secret key), never under the id itself. What must be recoverable (the chat to notify an
anonymous sender, the key of a conversation in progress) is encrypted with Fernet. Without
both secrets the database cannot link a row to a Telegram account.

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
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from bot.config import AnonymitySettings

log = logging.getLogger(__name__)


class SecretsError(Exception):
    """The anonymity secrets are missing, unreadable or malformed."""


class Secrets:
    """The two anonymity keys and the operations built on them."""

    __slots__ = ("_fernet", "_owner_hashes", "encryption_key", "hmac_key")

    # Owner hashes of the users seen lately: a resident's every update needs theirs, and an
    # HMAC costs more than the rest of looking up a draft. Process memory only, like the
    # user ids python-telegram-bot itself keeps while it runs.
    OWNER_HASH_MEMO = 10_000

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
        self._owner_hashes = lru_cache(maxsize=self.OWNER_HASH_MEMO)(self._owner_hash)

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

    def _digest(self, label: str) -> str:
        return hmac.new(self.hmac_key, label.encode(), hashlib.sha256).hexdigest()

    def owner_hash(self, user_id: int) -> str:
        """Stable pseudonym of a Telegram user, for lookups only."""
        return self._owner_hashes(user_id)

    def _owner_hash(self, user_id: int) -> str:
        return self._digest(f"user:{user_id}")

    def key_hash(self, namespace: str, key: object) -> str:
        """Stable pseudonym of any structured key (e.g. a conversation key)."""
        return self._digest(f"{namespace}:{json.dumps(key, separators=(',', ':'))}")

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


def _write_key_file(path: Path, secrets: Secrets) -> None:
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


def load_or_create_secrets(cfg: AnonymitySettings) -> Secrets:
    """Secrets from config/env, else from the key file, else newly generated into it."""
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
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "anonymity key file %s is readable by others (mode %o); chmod 600 it", path, mode
            )
        return _read_key_file(path)
    secrets = Secrets.generate()
    _write_key_file(path, secrets)
    log.warning(
        "generated anonymity keys in %s (mode 0600). Keep this file apart from database backups: "
        "together they could link anonymous submissions to senders. Losing it loses only the "
        "ability to notify anonymous senders and to list their earlier submissions.",
        path,
    )
    return secrets
