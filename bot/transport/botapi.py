"""Reaching the Bot API at start-up (#21): a rejected token and a network that is down no
longer look alike, and neither looks like a crash.

:func:`wait_for_bot_api` asks ``getMe`` (python-telegram-bot's ``Bot.initialize``) until it
answers: a 401 or 404 means Telegram does not know the token, which no retry will change,
so the start ends at once with :class:`TokenRejected` (one line, exit 2); anything else (no
connection, a time-out, a proxy's error page, a 5xx) is retried with backoff (1 s doubling
to :data:`MAX_DELAY`) and logged once a minute ("cannot reach the Bot API at <base_url>:
<reason>; retrying"); the bot goes on starting as soon as an answer comes. A stop signal
while waiting ends the wait (it is a plain coroutine: cancelled like any other).

``jindianzi setup`` checks a token the same way (:func:`describe_rejection`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.startup import EXIT_CONFIG, StartupError
from bot.transport.pacing import LOG_EVERY, LogThrottle

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0  # seconds before the second try
MAX_DELAY = 10.0  # the longest wait between two tries: serving soon after the network is back


class TokenRejected(StartupError):
    """Telegram answered getMe with 401 or 404: the token is not a bot's token."""

    def __init__(self, base_url: str, exc: InvalidToken) -> None:
        super().__init__(describe_rejection(base_url, exc), EXIT_CONFIG)


def describe_rejection(base_url: str, exc: InvalidToken) -> str:
    """One line for a token Telegram does not know (never the token itself)."""
    cause = exc.__cause__
    answer = cause.message if isinstance(cause, TelegramError) else exc.message
    # An answer that is not Telegram's JSON (a wrong base_url's 404 page) is not quoted.
    answer = answer.split(". Parsing the server response", 1)[0].removesuffix(" (404)")[:100]
    code = "404" if "not found" in answer.lower() else "401"
    return (
        f"the Bot API at {base_url} rejected the bot token ({code} {answer} from getMe): "
        "check telegram.token (copy it again from @BotFather) and telegram.base_url"
    )


def reason(exc: BaseException) -> str:
    """What went wrong, in a few words (python-telegram-bot's message, not a traceback)."""
    text = exc.message if isinstance(exc, TelegramError) else str(exc)
    return text or type(exc).__name__


async def wait_for_bot_api(
    bot: Bot,
    base_url: str,
    *,
    log_every: float = LOG_EVERY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Initialise ``bot`` (its getMe), retrying while the Bot API cannot be reached; raises
    :class:`TokenRejected`. Returns how many tries it took."""
    throttle = LogThrottle(log_every, clock=clock)
    delay = FIRST_DELAY
    tries = 0
    while True:
        tries += 1
        try:
            await bot.initialize()
        except InvalidToken as exc:
            raise TokenRejected(base_url, exc) from None
        except RetryAfter as exc:  # flood control on getMe itself: wait as told
            wait = exc.retry_after
            seconds = wait.total_seconds() if not isinstance(wait, int) else float(wait)
            await sleep(seconds)
            continue
        except (TelegramError, OSError) as exc:
            throttle.log(
                log,
                logging.WARNING,
                "unreachable",
                "cannot reach the Bot API at %s: %s; retrying",
                base_url,
                reason(exc),
            )
            await sleep(delay * random.uniform(0.8, 1.0))  # noqa: S311 (jitter, not a secret)
            delay = min(delay * 2, MAX_DELAY)
            continue
        if tries > 1:
            log.info("the Bot API at %s answers (after %d tries)", base_url, tries)
        return tries
