"""Random tokens of the desk (sessions, CSRF, login links) and the hash under which the
database keeps them. Standard library only: the bot imports this for /web without loading
the web server."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
