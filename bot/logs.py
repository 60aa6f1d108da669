"""Logging set-up: one line per event (with the update it belongs to), secrets redacted,
noisy libraries kept quiet.

httpx logs request URLs at INFO, and Bot API URLs contain the token, so it is held at
WARNING; python-telegram-bot logs whole updates (user ids, names) at DEBUG, so it is held at
INFO. Its webhook server also logs a whole update at CRITICAL when it cannot parse one;
:class:`WithholdUpdateBodies` keeps the line and drops the body. A filter also redacts every
configured secret from any record as a last guard.
"""

from __future__ import annotations

import logging
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


class WithholdUpdateBodies(logging.Filter):
    """python-telegram-bot's webhook server logs the body of an update it cannot parse
    ("Received data was: %r"): user ids and names, perhaps an anonymous sender's. Keep the
    line (an operator must see it), without the body. The line is recognised by its text
    under any "telegram" logger: which one PTB uses is its own business (22.x names it
    telegram.ext.Updater, from a private module); tests/test_e2e_webhook.py checks it on
    PTB's real webhook server."""

    MARK = "Received data was:"

    def filter(self, record: logging.LogRecord) -> bool:
        library = record.name.partition(".")[0] == "telegram"
        if library and record.args and self.MARK in str(record.msg):
            head = str(record.msg).split(self.MARK, 1)[0].rstrip()
            record.msg, record.args = f"{head} (body withheld: it may identify a sender)", None
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
            text = logging.Formatter().formatException(record.exc_info)
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
    handler.addFilter(WithholdUpdateBodies())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, floor in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
    return handler
