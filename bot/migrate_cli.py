"""``jindianzi migrate --to postgresql://user@host/db``: move a campaign from SQLite's file
(``storage.path``) to an empty PostgreSQL database (:mod:`storage.copying`), then point
``storage.url`` at it. The anonymity keys stay as they are: the values are copied sealed."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.anonymity import existing_secrets
from bot.config import POSTGRESQL_SCHEMES, Settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser(
        "migrate",
        parents=[common],
        help="copy the SQLite campaign into an empty PostgreSQL database (stop the bot first)",
    )
    parser.add_argument(
        "--to",
        required=True,
        metavar="postgresql://user@host/db",
        help="the target (password from JINDIANZI_DB_PASSWORD or PGPASSWORD)",
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    from storage.copying import MigrationRefused, copy_to_postgresql
    from storage.pg import redacted
    from storage.repository import Repository

    url = str(args.to)
    if not url.startswith(POSTGRESQL_SCHEMES):
        print("--to must be a postgresql://user@host/db URL.", file=sys.stderr)
        return EXIT_CONFIG
    if settings.storage.postgresql or not settings.storage.path.exists():
        print(f"No SQLite database at {settings.storage.path} to copy.", file=sys.stderr)
        return EXIT_CONFIG

    async def bring_up_to_date() -> None:
        # A database of an earlier version is migrated first, as the bot would at start.
        source = Repository(settings.storage.path, secrets=existing_secrets(settings.anonymity))
        await source.connect()
        await source.close()

    try:
        asyncio.run(bring_up_to_date())
        copies = asyncio.run(copy_to_postgresql(settings.storage.path, url))
    except MigrationRefused as exc:
        print(f"Not migrated: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # psycopg.Error, OSError: the server's or the file's reason
        print(f"Not migrated: {redacted(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    for copy in copies:
        print(f"  {copy.describe()}")
    total = sum(c.rows for c in copies)
    print(
        f"{settings.storage.path} → {redacted(url)}: {len(copies)} tables, {total} rows, every"
        " count and checksum equal. Set storage.url to it (keep the same anonymity keys) and"
        " start the bot; keep the SQLite file until you have checked the bot on PostgreSQL."
    )
    return EXIT_OK
