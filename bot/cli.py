"""The ``jindianzi`` console command: ``run`` the bot (long polling, or ``--webhook URL
--listen HOST:PORT``), ``check-config`` a file, write a first one with ``setup``
(:mod:`bot.setup_cli`), ``export`` the ledger, ``backup`` the database, list the
``dead-letters`` (updates that could not be read), draw the places' ``posters``,
``import`` a spreadsheet of items heard elsewhere (:mod:`bot.import_cli`),
``tagger ...`` (:mod:`bot.tagger_cli`).

Configuration problems are printed key by key on stderr with exit code 2, never as a
traceback. ``run`` ends a start that cannot go on with one line and an exit status
(:mod:`bot.startup`): 2 for the configuration, a token Telegram rejects or keys that do not
match the database, 1 for a database that cannot be used. ``check-config`` makes the same
checks (without writing anything) and prints the same summary as ``run`` logs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from bot.anonymity import SecretsError, existing_secrets, load_or_create_secrets
from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.logs import configure_logging
from bot.startup import EXIT_FAILURE, StartupError
from bot.watchdog import Watchdog
from storage.conversion import ConversionError

if TYPE_CHECKING:
    from storage.repository import Repository

T = TypeVar("T")

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
    running = sub.add_parser(
        "run", parents=[common], help="start the bot (long polling, or a webhook with --webhook)"
    )
    running.add_argument(
        "--webhook",
        metavar="URL",
        type=_webhook_url,
        help="receive updates by webhook at this public HTTPS URL instead of long polling",
    )
    running.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=_host_port,
        default=None,
        help="where the webhook server listens (default 127.0.0.1:8443; behind a proxy)",
    )
    running.add_argument(
        "--new-keys",
        action="store_true",
        help="start over with anonymity keys that cannot read what the database holds "
        "(anonymous senders of earlier items can no longer be answered)",
    )
    sub.add_parser(
        "check-config",
        parents=[common],
        help="check the configuration, the database and the keys as run would; print a summary",
    )
    exporting = sub.add_parser(
        "export", parents=[common], help="write the ledger (整改台账) to an XLSX or CSV file"
    )
    exporting.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day")
    exporting.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day")
    exporting.add_argument("--out", required=True, type=Path, help="file to write")
    exporting.add_argument("--csv", action="store_true", help="CSV instead of XLSX")
    exporting.add_argument(
        "--language", choices=["zh-Hans", "zh-Hant", "en"], help="column headers' language"
    )
    backup = sub.add_parser(
        "backup",
        parents=[common],
        help="write a consistent copy of the database (safe while the bot runs)",
    )
    backup.add_argument("path", type=Path, help="file to write the copy to")
    dead = sub.add_parser(
        "dead-letters",
        parents=[common],
        help="list the updates the bot could not read (kept encrypted for 30 days)",
    )
    dead.add_argument("--show", type=int, metavar="ID", help="print that one as JSON, decrypted")
    posters = sub.add_parser(
        "posters",
        parents=[common],
        help="write a printable A4 poster (PDF) with a QR code for each place, and a sheet of all",
    )
    posters.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write")
    posters.add_argument(
        "--username",
        metavar="BOT",
        help="the bot's username for the links (default: asked from Telegram with getMe)",
    )
    posters.add_argument(
        "--language", choices=["zh-Hans", "zh-Hant", "en"], help="the posters' language"
    )
    from bot import import_cli, migrate_cli, setup_cli, tagger_cli

    import_cli.add_parser(sub, common)
    migrate_cli.add_parser(sub, common)
    setup_cli.add_parser(sub, common)
    tagger_cli.add_parser(sub, common)
    return parser


DEFAULT_LISTEN = ("127.0.0.1", 8443)


def _webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not a URL: {value!r} (e.g. https://bot.example.org/tg)")
    return value


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    host = host.strip("[]")  # [::1]:8443
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:8443, not {value!r}")
    return host, int(port)


def shared_secret_problem(settings: Settings) -> str | None:
    """Webhook workers on PostgreSQL may be several behind one URL: they must all check the
    same secret token, so a random one per start (each worker its own) cannot do."""
    from storage.pg import is_postgresql

    if not is_postgresql(settings.storage.target) or settings.telegram.webhook_secret:
        return None
    return (
        "telegram.webhook_secret: required for webhook mode on PostgreSQL (every worker "
        "must check the same secret token); set it, e.g. in JINDIANZI_TELEGRAM__WEBHOOK_SECRET"
    )


def check_config(path: Path | None) -> int:
    """What ``run`` checks before it starts, without writing anything: the configuration,
    the database (also SQLite's quick_check of every page), the keys against it; then the
    summary ``run`` logs, with a warning for each missing role."""
    from bot.keycheck import KeysError, settle_keys
    from bot.summary import role_warnings, summary_lines
    from storage.health import DatabaseUnusable, inspect_target
    from storage.keycheck import read_key_evidence

    resolved = resolve_config_path(path)
    settings = load_settings(path)
    problems: list[tuple[str, int]] = []
    database = keys = None
    try:
        database = inspect_target(settings.storage.target, write=False, thorough=True)
    except DatabaseUnusable as exc:
        problems.append((str(exc), EXIT_FAILURE))
    else:
        try:
            evidence = read_key_evidence(settings.storage.target)
            keys = settle_keys(settings, evidence, create=False).source
        except KeysError as exc:
            problems.append((str(exc), EXIT_CONFIG))
    head = "OK" if not problems else f"cannot be used as it is ({len(problems)} problem(s))"
    lines = [f"{resolved}: {head}"]
    lines += [
        f"  {line}"
        for line in summary_lines(
            settings, config=resolved.absolute(), database=database, keys=keys
        )
    ]
    lines += [f"  warning: {line}" for line in role_warnings(settings)]
    if problem := shared_secret_problem(settings):
        lines.append(f"  warning: {problem}")
    print("\n".join(lines))
    for problem, _ in problems:
        print(f"Problem: {problem}", file=sys.stderr)
    return max((status for _, status in problems), default=EXIT_OK)


def run(
    path: Path | None,
    log_level: str,
    webhook_url: str | None = None,
    listen: tuple[str, int] | None = None,
    *,
    new_keys: bool = False,
) -> int:
    settings = load_settings(path, require_token=True)
    token = settings.telegram.token.get_secret_value()
    if webhook_url is not None:
        if problem := shared_secret_problem(settings):
            raise ConfigError("--webhook", [problem])
        host, port = listen or DEFAULT_LISTEN
        if settings.web.enabled and port == settings.web.port:
            raise ConfigError(
                "--listen",
                [f"web.port: {port} is also the webhook's port; give the desk another one"],
            )
    configure_logging(log_level, secrets=[token])
    from bot.startup import prepare
    from bot.summary import role_warnings, summary_lines

    prepared = prepare(settings, new_keys=new_keys)
    secrets = prepared.secrets
    # Imported here so that check-config stays fast and free of Telegram start-up.
    from telegram.error import TelegramError

    from bot import faults, lifecycle
    from bot.app import build_application, freeze_start_up_objects, webhook_for

    webhook, generated = (None, False)
    if webhook_url is not None:
        host, port = listen or DEFAULT_LISTEN
        webhook, generated = webhook_for(settings, webhook_url, host, port)
    hidden = [token, *secrets.exported(), *([webhook.secret] if webhook else [])]
    configure_logging(log_level, secrets=hidden)
    faults.arm_from_environment()
    log.info("starting")
    for line in summary_lines(
        settings,
        config=resolve_config_path(path).absolute(),
        database=prepared.database,
        keys=prepared.keys.source,
    ):
        log.info("%s", line)
    for line in role_warnings(settings):
        log.warning("%s", line)
    app = build_application(settings, secrets=secrets)
    freeze_start_up_objects()
    if webhook is not None:
        if generated:
            log.warning(
                "no telegram.webhook_secret configured: generated a random secret token for "
                "this run (set JINDIANZI_TELEGRAM__WEBHOOK_SECRET to keep one across restarts)"
            )
        log.info("webhook: %s, listening on %s:%s", webhook.url, webhook.listen, webhook.port)
    try:
        asyncio.run(lifecycle.serve(app, webhook=webhook))
    except (TelegramError, OSError, sqlite3.Error) as exc:
        # Only the start can fail (serve stops whatever happens once it runs): the Bot API
        # refusing a set-up call, a webhook port in use, the database. One line, exit 1.
        raise StartupError(f"{type(exc).__name__}: {exc}", EXIT_FAILURE) from None
    return EXIT_OK


def export_ledger(args: argparse.Namespace) -> int:
    """Write the ledger of items submitted between --from and --to (inclusive) to --out."""
    from bot.core.reporting import ledger_file
    from bot.core.reports import FIRST_DAY, LAST_DAY, day_in_range, parse_day
    from storage.repository import Repository

    settings = load_settings(args.config)
    configure_logging(args.log_level)
    tz = settings.campaign.tz
    days = [parse_day(v) if v else None for v in (args.start, args.end)]
    if any(v and d is None for v, d in zip((args.start, args.end), days, strict=True)):
        print("Dates must be written YYYY-MM-DD.", file=sys.stderr)
        return EXIT_CONFIG
    if not all(day_in_range(d) for d in days if d is not None):
        print(f"Dates must lie between {FIRST_DAY} and {LAST_DAY}.", file=sys.stderr)
        return EXIT_CONFIG
    first = days[0] or dt.date(2000, 1, 1)
    last = days[1] or dt.datetime.now(tz).date()
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    if not settings.storage.stored:
        print(f"No database at {settings.storage.path}.", file=sys.stderr)
        return EXIT_CONFIG
    lang = args.language or settings.campaign.language
    # Written beside --out and renamed once complete: a failed export leaves no half file.
    partial = args.out.with_name(args.out.name + ".part")

    async def write() -> int:
        # The keys, if there are any, only to convert a database of an earlier version.
        repository = Repository(
            settings.storage.target, secrets=existing_secrets(settings.anonymity)
        )
        await repository.connect()
        try:
            with partial.open("wb") as target:
                count = await ledger_file(
                    repository, settings, lang, start, end, target, as_csv=args.csv
                )
        finally:
            await repository.close()
        partial.replace(args.out)
        return count

    try:
        count = asyncio.run(write())
    finally:
        partial.unlink(missing_ok=True)
    print(f"{args.out}: {count} items, {first} to {last}")
    return EXIT_OK


def _stored_settings(args: argparse.Namespace) -> Settings | None:
    """The settings, logging set up, if the database exists (else None, having said so)."""
    settings = load_settings(args.config)
    configure_logging(args.log_level)
    if not settings.storage.stored:
        print(f"No database at {settings.storage.path}.", file=sys.stderr)
        return None
    return settings


def _on_database(settings: Settings, use: Callable[[Repository], Awaitable[T]]) -> T:
    """Run ``use`` on the connected repository (closed afterwards, whatever happens)."""
    from storage.repository import Repository

    async def run() -> T:
        # The keys, if there are any, only to convert a database of an earlier version.
        repository = Repository(
            settings.storage.target, secrets=existing_secrets(settings.anonymity)
        )
        await repository.connect()
        try:
            return await use(repository)
        finally:
            await repository.close()

    return asyncio.run(run())


def backup_database(args: argparse.Namespace) -> int:
    """Copy the database with SQLite's backup API and check the copy."""
    settings = _stored_settings(args)
    if settings is None:
        return EXIT_CONFIG
    from storage.repository import Repository

    if settings.storage.postgresql:
        print(
            "storage.url is PostgreSQL: back it up with the server's tools (pg_dump, or"
            " pg_basebackup with WAL archiving); README, Storage backends.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    # A copy as it is (a database of an earlier version is converted when the bot starts
    # on it), so no keys are needed and the database is not opened for use.
    check = asyncio.run(Repository(settings.storage.path).backup(args.path))
    if check != ["ok"]:
        print(f"{args.path}: integrity check failed: {check[:5]}", file=sys.stderr)
        return 1
    print(f"{args.path}: backup written and checked (integrity ok)")
    return EXIT_OK


def list_dead_letters(args: argparse.Namespace) -> int:
    """The updates python-telegram-bot could not read, newest first, or one of them in full
    (decrypted with the anonymity key: it may identify an anonymous sender)."""
    settings = _stored_settings(args)
    if settings is None:
        return EXIT_CONFIG
    letters = _on_database(settings, lambda repository: repository.dead_letters(limit=1000))
    if args.show is None:
        for d in letters:
            print(f"{d.id}\tupdate {d.update_id}\t{d.received_at}\t{d.error}")
        print(f"{len(letters)} dead letters" + (" (show one with --show ID)" if letters else ""))
        return EXIT_OK
    chosen = next((d for d in letters if d.id == args.show), None)
    if chosen is None:
        print(f"No dead letter {args.show}.", file=sys.stderr)
        return EXIT_CONFIG
    keys = settings.anonymity
    if keys.hmac_key is None and not keys.key_file.exists():
        print(f"No anonymity keys at {keys.key_file}: cannot decrypt.", file=sys.stderr)
        return EXIT_CONFIG
    plain = load_or_create_secrets(keys).decrypt(chosen.body_enc)
    if plain is None:
        print("Written under other keys: cannot decrypt.", file=sys.stderr)
        return EXIT_CONFIG
    print(plain)
    return EXIT_OK


USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")


def draw_posters(args: argparse.Namespace) -> int:
    """Write each place's poster and the sheet of all of them into --out."""
    settings = load_settings(args.config)
    configure_logging(args.log_level)
    if not settings.places:
        print("No places are configured: add [[places]] to the configuration.", file=sys.stderr)
        return EXIT_CONFIG
    if args.username is not None:
        match = USERNAME.fullmatch(args.username)
        if match is None:
            print(f"Not a bot username: {args.username!r} (e.g. jindianzi_bot).", file=sys.stderr)
            return EXIT_CONFIG
        username = match[1]
    else:
        if not settings.telegram.token.get_secret_value():
            print(
                "No bot token to ask Telegram for the bot's username: set telegram.token,"
                " or pass --username BOT to work offline.",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        try:
            username = asyncio.run(_bot_username(settings))
        except Exception as exc:  # refused token, no network: say so, never a traceback
            print(f"Cannot ask Telegram for the bot's username (getMe): {exc}", file=sys.stderr)
            print("Pass --username BOT to work offline.", file=sys.stderr)
            return 1
    from bot.posters import PosterError, place_posters

    try:
        written = place_posters(
            settings, username, args.out, args.language or settings.campaign.language
        )
    except PosterError as exc:
        print(f"Posters: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    print(f"{len(written) - 1} posters and the sheet of all places for @{username} in {args.out}")
    return EXIT_OK


async def _bot_username(settings: Settings) -> str:
    """The bot's username, from getMe (python-telegram-bot's initialize calls it)."""
    from telegram import Bot

    tg = settings.telegram
    bot = Bot(tg.token.get_secret_value(), base_url=tg.base_url, base_file_url=tg.base_file_url)
    async with bot:
        return bot.username


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config(args.config)
        if args.command == "export":
            return export_ledger(args)
        if args.command == "backup":
            return backup_database(args)
        if args.command == "dead-letters":
            return list_dead_letters(args)
        if args.command == "posters":
            return draw_posters(args)
        if args.command == "tagger":
            from bot import tagger_cli

            return tagger_cli.main(args)
        if args.command == "import":
            from bot import import_cli

            configure_logging(args.log_level)
            return import_cli.main(args, load_settings(args.config))
        if args.command == "migrate":
            from bot import migrate_cli

            configure_logging(args.log_level)
            return migrate_cli.main(args, load_settings(args.config))
        if args.command == "setup":
            from bot import setup_cli

            return setup_cli.main(args)
        if args.listen is not None and args.webhook is None:
            print("--listen needs --webhook URL.", file=sys.stderr)
            return EXIT_CONFIG
        return run(args.config, args.log_level, args.webhook, args.listen, new_keys=args.new_keys)
    except (ConfigError, SecretsError) as exc:
        message = exc.report() if isinstance(exc, ConfigError) else f"Configuration error: {exc}"
        print(message, file=sys.stderr)
        return EXIT_CONFIG
    except ConversionError as exc:  # keys that did not write this database, or none
        print(f"jindianzi: cannot start: database: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        # One line, in the log's format when the log is set up (run), else plainly.
        if logging.getLogger().handlers:
            log.error("cannot start: %s", exc)
        else:
            print(f"jindianzi: cannot start: {exc}", file=sys.stderr)
        return exc.status


def console() -> None:
    """The ``jindianzi`` console command: :func:`main`, after which the process ends within
    the stop bound, whatever it ends with: nothing left behind (a database thread, an
    executor's thread) can keep the interpreter from exiting."""
    try:
        code = main()
    finally:
        Watchdog().arm()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
