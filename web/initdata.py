"""Telegram Mini App login data (``initData``), validated exactly as Telegram documents it
(core.telegram.org/bots/webapps, "Validating data received via the Mini App"):

1. the data is a URL-encoded query string; every field except ``hash`` goes into the
   data-check-string, ``key=value`` lines sorted by key and joined with ``\\n``;
2. the secret key is HMAC-SHA256 of the bot token under the key ``WebAppData``;
3. ``hash`` must equal the hex HMAC-SHA256 of the data-check-string under that secret key
   (compared in constant time);
4. ``auth_date`` (Unix seconds) must be recent: no older than the configured age.

Standard library only: the packages on PyPI for this wrap the same dozen lines, and the
ones looked at refuse any user field they do not know, so a field Telegram adds later would
lock every clerk out until they are updated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

# Telegram's clock and ours may differ a little: login data from up to this far in the
# future is accepted (it is signed, so it cannot be made up).
CLOCK_SKEW = timedelta(minutes=5)
MAX_LENGTH = 8192


class InvalidInitData(ValueError):
    """The login data is malformed, not signed with this bot's token, or too old."""


class ExpiredInitData(InvalidInitData):
    """Validly signed, but older than the accepted age."""


@dataclass(frozen=True)
class InitData:
    """The validated fields the desk uses."""

    user_id: int
    first_name: str
    language_code: str | None
    auth_date: datetime
    hash: str  # the signature: identifies this login data (each is exchanged once)


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The ``hash`` Telegram computes for these fields (tests build login data with it)."""
    return hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()


def _fields(raw: str) -> dict[str, str]:
    if not raw or len(raw) > MAX_LENGTH:
        raise InvalidInitData("empty or too long")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise InvalidInitData("not a query string") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidInitData(f"field {key!r} twice")
        fields[key] = value
    return fields


def validate(raw: str, bot_token: str, *, max_age: timedelta, now: datetime) -> InitData:
    """The login data, if it is signed with ``bot_token`` and at most ``max_age`` old at
    ``now``; raises :class:`InvalidInitData` (or :class:`ExpiredInitData`) otherwise."""
    fields = _fields(raw)
    given = fields.get("hash", "")
    if not given:
        raise InvalidInitData("no hash")
    expected = sign(fields, bot_token)
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise InvalidInitData("hash does not match")
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), tz=UTC)
    except (KeyError, ValueError, OverflowError, OSError) as exc:
        raise InvalidInitData("no valid auth_date") from exc
    if now - auth_date > max_age:
        raise ExpiredInitData("too old")
    if auth_date - now > CLOCK_SKEW:
        raise InvalidInitData("auth_date in the future")
    try:
        user = json.loads(fields["user"])
    except (KeyError, ValueError) as exc:
        raise InvalidInitData("no user") from exc
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise InvalidInitData("no user id")
    language = user.get("language_code")
    return InitData(
        user_id=user_id,
        first_name=str(user.get("first_name") or ""),
        language_code=language if isinstance(language, str) else None,
        auth_date=auth_date,
        hash=given.lower(),
    )
