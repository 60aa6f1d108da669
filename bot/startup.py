"""What ``run`` checks before the bot starts, and how a start that cannot go on ends: one
line that says why, and an exit status a supervisor can act on (:class:`StartupError`).

:func:`prepare` runs the checks ``check-config`` also runs (the database:
:mod:`storage.health`; the keys against it: :mod:`bot.keycheck`), then opens the database
once (its migrations run) and records the key check row, before python-telegram-bot is even
imported. Waiting for the Bot API comes after, in :mod:`bot.transport.botapi`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.anonymity import Secrets
from bot.config import Settings
from bot.keycheck import KeyPlan, KeysError, check_value, settle_keys
from storage.health import DatabaseReport, DatabaseUnusable, inspect_target
from storage.keycheck import read_key_evidence

log = logging.getLogger("jindianzi")

EXIT_FAILURE = 1  # the database cannot be used (a restart may help: a remount, a restore)
EXIT_CONFIG = 2  # the configuration, the token or the keys: a restart alone does not help


class StartupError(Exception):
    """The bot cannot start; ``str(exc)`` is the one line to show, ``status`` the exit."""

    def __init__(self, line: str, status: int = EXIT_CONFIG) -> None:
        super().__init__(line)
        self.status = status


@dataclass(frozen=True)
class Prepared:
    secrets: Secrets
    database: DatabaseReport
    keys: KeyPlan


def prepare(settings: Settings, *, new_keys: bool = False) -> Prepared:
    """Check the database and the keys, apply the migrations and record the key check row;
    raises :class:`StartupError`."""
    target = settings.storage.target
    path = settings.storage.describe()
    try:
        report = inspect_target(target)
        evidence = read_key_evidence(target)
    except DatabaseUnusable as exc:
        raise StartupError(str(exc), EXIT_FAILURE) from None
    try:
        plan = settle_keys(settings, evidence, new_keys=new_keys)
    except KeysError as exc:
        raise StartupError(str(exc), EXIT_CONFIG) from None
    assert plan.secrets is not None  # settle_keys creates keys when allowed, else raises
    for note in plan.notes:
        log.warning("%s", note)
    try:
        asyncio.run(_migrate_and_record(settings, plan.secrets, replace=plan.replace))
    except Exception as exc:  # sqlite3.Error, OSError: whatever stops the schema's set-up
        raise StartupError(f"database {path}: cannot be set up: {exc}", EXIT_FAILURE) from None
    if not report.exists:  # created just now: say what it is
        report = inspect_target(target, write=False)
    return Prepared(secrets=plan.secrets, database=report, keys=plan)


async def _migrate_and_record(settings: Settings, secrets: Secrets, *, replace: bool) -> None:
    from storage.repository import Repository

    repository = Repository(settings.storage.target)
    try:
        await repository.connect()
        token, digest = check_value(secrets)
        await repository.record_key_check(token, digest, replace=replace)
    finally:
        await repository.close()
