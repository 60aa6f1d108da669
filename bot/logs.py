"""Logging set-up: one line per event (with the update it belongs to), no identity of
anyone, secrets redacted, noisy libraries kept quiet.

httpx logs request URLs at INFO, and Bot API URLs contain the token, so it is held at
WARNING; python-telegram-bot logs whole updates (user ids, names) at DEBUG and aiosqlite
every statement with its parameters, so they are held at INFO: on the loggers, and again on
the handler (:class:`QuietLibraries`), so a logger someone turns up later still cannot
reach the output. python-telegram-bot also logs the raw data it cannot parse, at CRITICAL
and ERROR: a batch of updates in polling mode ("Error while parsing updates! Received data
was ..."), an answer that is not JSON ("Can not load invalid JSON data"), an update its
webhook server cannot parse ("Received data was: ..."); :class:`WithholdIdentities` keeps
those lines without the data, and withholds, from any logger, any part of a line or
traceback that looks like a Telegram user or update. Every handler :func:`configure_logging`
installs carries these filters, and one that redacts every configured secret.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s update=%(update)s %(message)s"
REDACTED = "[REDACTED]"

# The id of the Telegram update being handled (set by the update processor), so every line
# a handler logs names its update; "-" outside any update (jobs, start-up).
CURRENT_UPDATE: ContextVar[int | None] = ContextVar("current_update", default=None)


class UpdateContext(logging.Filter):
    """Give every record the ``update`` field of the format."""

    def filter(self, record: logging.LogRecord) -> bool:
        update = CURRENT_UPDATE.get()
        record.update = "-" if update is None else update
        return True


WITHHELD = "<withheld: may identify a sender>"

# Lines of python-telegram-bot whose arguments are raw data received from Telegram (whole
# updates, answers): the line is kept, every argument withheld. Matched on the format
# string, so whatever the data holds.
RAW_DATA = re.compile(
    r"Received data was|invalid JSON data|received data|Processing update|Getting updates"
)
# What a Telegram user, chat or update looks like inside a logged text (JSON, dict repr or
# object repr): a part of a line that contains one of these is withheld.
IDENTITY = re.compile(
    r"first_name|last_name|username|full_name|phone_number|update_id|from_user"
    r"|['\"]from['\"]|['\"]chat['\"]\s*:|\bUser\(|\bChat\(",
)
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")
_OPENERS = re.compile(r"[\[{(]|b'|b\"")


def withhold_identities(text: str) -> str:
    """``text`` without any part that looks like a Telegram user or update: each line that
    has such a part is cut where the structure holding it (``{``, ``[``, ``(``) begins."""
    if not IDENTITY.search(text):
        return text
    lines: list[str] = []
    for line in text.split("\n"):
        found = IDENTITY.search(line)
        if found is None or (lines and lines[-1].startswith('  File "')):
            lines.append(line)  # (a traceback's line of source code is code, not data)
            continue
        openers = [m.start() for m in _OPENERS.finditer(line, 0, found.start())]
        cut = openers[0] if openers else found.start()
        lines.append(f"{line[:cut]}{WITHHELD}")
    return "\n".join(lines)


class WithholdIdentities(logging.Filter):
    """No identity of anyone in a record, whoever logs it (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and RAW_DATA.search(str(record.msg)):
            record.msg = _PLACEHOLDER.sub(WITHHELD, str(record.msg).replace("%%", "%"))
            record.args = None
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: logging's own handleError reports it
            return True
        cleaned = withhold_identities(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = withhold_identities(text)
        return True


class QuietLibraries(logging.Filter):
    """Drop records of the libraries in :data:`QUIET_LIBRARIES` below their floor, also when
    the logger's own level was lowered after :func:`configure_logging`."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        for library, floor in QUIET_LIBRARIES.items():
            if (name == library or name.startswith(library + ".")) and record.levelno < floor:
                return False
        return True


class RedactSecrets(logging.Filter):
    """Replace secret strings in the formatted message of every record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: logging's own handleError reports it
            return True
        cleaned = message
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, REDACTED)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = text.replace(secret, REDACTED)
            record.exc_text = text
        return True


# Libraries whose debug output carries whole updates or request URLs (user ids, names,
# the token): they stay at these levels even when the operator asks for DEBUG.
QUIET_LIBRARIES = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,  # logs every statement with its parameters at DEBUG
}


def configure_logging(
    level: str = "INFO", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """One handler on the root logger, secrets redacted; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(UpdateContext())
    handler.addFilter(QuietLibraries())
    handler.addFilter(WithholdIdentities())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, floor in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
    return handler
