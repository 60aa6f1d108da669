"""The ``jindianzi`` console command: ``run`` the bot, ``check-config`` a file.

Configuration problems are printed key by key on stderr with exit code 2, never as a
traceback; the bot's own failures at run time are logged by the application.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram import Update

from bot.anonymity import SecretsError, load_or_create_secrets
from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.logs import configure_logging

EXIT_OK = 0
EXIT_CONFIG = 2

log = logging.getLogger("jindianzi")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jindianzi",
        description="金点子 (Jindianzi): a Telegram suggestion box for campaign offices.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="TOML configuration file (default: config.toml, else config.example.toml)",
    )
    common.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="logging threshold (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="start the bot (long polling)")
    sub.add_parser(
        "check-config",
        parents=[common],
        help="validate the configuration and print every problem, key by key",
    )
    return parser


def _describe(settings: Settings, path: Path) -> str:
    roles = settings.roles
    has_token = bool(settings.telegram.token.get_secret_value())
    lines = [
        f"{path}: OK",
        f"  campaign: {settings.campaign.name} ({settings.campaign.timezone}, "
        f"{settings.campaign.language})",
        f"  storage: {settings.storage.path}",
        f"  token: {'set' if has_token else 'NOT SET (needed by run)'}",
        f"  administrators: {len(roles.admin_ids)}",
        f"  office chat: {roles.office_chat_id or 'not configured'}",
        f"  leading group: {roles.leading_group_chat_id or 'not configured'}",
        f"  channel: {roles.channel_id or 'not configured'}",
        f"  topics: {len(settings.topics)} (fallback: {settings.fallback_topic.id})",
    ]
    return "\n".join(lines)


def check_config(path: Path | None) -> int:
    resolved = resolve_config_path(path)
    settings = load_settings(path)
    print(_describe(settings, resolved))
    return EXIT_OK


def run(path: Path | None, log_level: str) -> int:
    settings = load_settings(path, require_token=True)
    secrets = load_or_create_secrets(settings.anonymity)
    token = settings.telegram.token.get_secret_value()
    configure_logging(log_level, secrets=[token, *secrets.exported()])
    # Imported here so that check-config stays fast and free of Telegram start-up.
    from bot.app import build_application

    app = build_application(settings, secrets=secrets)
    log.info("starting: campaign=%s storage=%s", settings.campaign.name, settings.storage.path)
    app.run_polling(
        allowed_updates=Update.ALL_TYPES,
        timeout=int(settings.telegram.poll_timeout),
        drop_pending_updates=False,
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config(args.config)
        return run(args.config, args.log_level)
    except (ConfigError, SecretsError) as exc:
        message = exc.report() if isinstance(exc, ConfigError) else f"Configuration error: {exc}"
        print(message, file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
