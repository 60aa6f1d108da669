"""``jindianzi setup``: the first run (#21), from a BotFather token to a configuration file
that ``run`` starts with, without looking up a single id by hand.

In a terminal (plain prompts: works over SSH) it asks for the token and checks it with
``getMe``, then shows one-time codes and waits while the operator sends ``/start CODE`` to
the bot (the first administrator), ``/link@bot CODE`` in the office group and the leading
group, and posts a code in the channel (:mod:`bot.setup_flow`); Enter skips a step. It
writes ``config.toml`` from the commented example (:mod:`bot.config_file`; never over an
existing file without asking, or ``--force``), says whether the token went into the file
or is left for the environment, and ends with ``check-config``'s summary.

Every answer can be given as a flag for scripted deployments; with ``--non-interactive``
(or when standard input is not a terminal) nothing is asked: a missing answer takes its
default, and a step with a code waits up to ``--wait`` seconds for it (the codes are
printed on standard output). Nothing is written until the end; Ctrl-C leaves nothing behind.

This module is the command line (its flags); the dialogue is :mod:`bot.setup_steps`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.config import LANGUAGES

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_WAIT = 600.0
TOKEN_VARIABLE = "JINDIANZI_TELEGRAM__TOKEN"  # noqa: S105 (a variable's name)
EXIT_INTERRUPTED = 130


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    setup = sub.add_parser(
        "setup",
        parents=[common],
        help="first run: check the token, find the administrator, groups and channel, "
        "write config.toml",
        description="Write a configuration file (--config, default config.toml) step by step. "
        "Every answer may be given as a flag; --non-interactive asks nothing.",
    )
    setup.add_argument("--force", action="store_true", help="overwrite an existing file")
    setup.add_argument(
        "--non-interactive",
        action="store_true",
        help="ask nothing (also when standard input is not a terminal)",
    )
    setup.add_argument(
        "--token", help=f"the bot token (better: the environment variable {TOKEN_VARIABLE})"
    )
    setup.add_argument(
        "--token-in",
        choices=["file", "env"],
        help="write the token into the file (mode 0600), or leave it for the environment",
    )
    setup.add_argument("--base-url", help=f"Bot API endpoint (default {DEFAULT_BASE_URL})")
    setup.add_argument("--base-file-url", help="file endpoint (default: from --base-url)")
    setup.add_argument("--campaign", help="the campaign's name, shown to residents")
    setup.add_argument("--language", choices=LANGUAGES, help="default language")
    setup.add_argument("--timezone", help="IANA time zone (default Asia/Shanghai)")
    setup.add_argument("--database", help="SQLite database (relative: beside the file)")
    setup.add_argument("--key-file", help="anonymity key file (relative: beside the file)")
    setup.add_argument(
        "--admin",
        type=int,
        action="append",
        metavar="USER_ID",
        help="an administrator's Telegram user id (repeat for more); skips the /start step",
    )
    for flag, what in (
        ("--office-chat", "the office group"),
        ("--leading-group", "the leading group"),
        ("--channel", "the channel"),
    ):
        setup.add_argument(
            flag, type=int, metavar="CHAT_ID", help=f"{what}'s chat id (0: none); skips its step"
        )
    setup.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"non-interactive: how long each step with a code waits (default {DEFAULT_WAIT:.0f})",
    )


def main(args: argparse.Namespace) -> int:
    # Loaded here, not with the parser: check-config and the other commands stay free of
    # python-telegram-bot.
    from bot.setup_flow import SetupFailed
    from bot.setup_steps import Setup

    try:
        return asyncio.run(Setup(args).run())
    except KeyboardInterrupt:
        print("\nsetup interrupted: nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SetupFailed as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return exc.status


__all__ = ["DEFAULT_BASE_URL", "DEFAULT_WAIT", "TOKEN_VARIABLE", "add_parser", "main"]
