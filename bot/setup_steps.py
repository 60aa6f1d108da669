"""The dialogue of ``jindianzi setup`` (:mod:`bot.setup_cli`): the prompts in the terminal
(:class:`Terminal`), the steps in order and the file they end with (:class:`Setup`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from telegram import Bot

from bot.config import (
    LANGUAGES,
    CampaignSettings,
    ConfigError,
    format_validation_error,
)
from bot.config_file import render, write_config
from bot.logs import configure_logging
from bot.setup_cli import DEFAULT_BASE_URL, TOKEN_VARIABLE
from bot.setup_flow import (
    BotIdentity,
    LinkedChat,
    Person,
    Role,
    SetupFailed,
    Updates,
    check_token,
    make_bot,
    new_code,
    wait_for_admin,
    wait_for_channel,
    wait_for_group,
)

T = TypeVar("T")


class Terminal:
    """Prompts on standard input and output: plain lines, nothing a dumb terminal or an SSH
    session lacks. Lines are read from the file descriptor through the event loop, so a
    step can wait for Telegram and for Enter at once."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._buffer = b""

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    async def ask(self, question: str, default: str | None = None) -> str:
        if not self.interactive:
            if default is None:
                raise SetupFailed(f"{question}: no answer given (pass it as a flag)", 2)
            return default
        shown = f" [{default}]" if default else ""
        sys.stdout.write(f"{question}{shown}: ")
        sys.stdout.flush()
        line = await self.line()
        if line is None:
            raise SetupFailed("standard input closed", 1)
        return line.strip() or (default or "")

    async def yes(self, question: str, default: bool) -> bool:
        while True:
            answer = (await self.ask(f"{question} ({'Y/n' if default else 'y/N'})", "")).lower()
            if not answer:
                return default
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            self.say("Please answer y or n.")

    def secret(self, question: str) -> str:
        return getpass.getpass(f"{question}: ")

    async def line(self) -> str | None:
        """The next line of standard input (None at its end)."""
        while b"\n" not in self._buffer:
            chunk = await self._read()
            if not chunk:
                rest, self._buffer = self._buffer, b""
                return rest.decode(errors="replace") if rest else None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace")

    async def _read(self) -> bytes:
        loop = asyncio.get_running_loop()
        fd = sys.stdin.fileno()
        ready: asyncio.Future[bytes] = loop.create_future()

        def readable() -> None:
            if not ready.done():
                ready.set_result(os.read(fd, 4096))

        loop.add_reader(fd, readable)
        try:
            return await ready
        finally:
            loop.remove_reader(fd)


class Setup:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        interactive = not args.non_interactive and sys.stdin.isatty()
        self.term = Terminal(interactive)
        self.target: Path = args.config or Path("config.toml")

    async def run(self) -> int:
        # The terminal is the dialogue's: only warnings (or what --log-level DEBUG asks for).
        level = "WARNING" if self.args.log_level == "INFO" else self.args.log_level
        configure_logging(level)
        term, target = self.term, self.target
        term.say("金点子 (Jindianzi) set-up")
        term.say(f"This writes {target.absolute()}; nothing is written before the end.")
        overwrite = await self._may_overwrite()

        base_url = self.args.base_url or DEFAULT_BASE_URL
        base_file_url = self.args.base_file_url or _file_url(base_url)
        token, from_env = self._token_source()
        bot, identity, token = await self._checked_token(token, base_url, base_file_url, level)
        in_file = await self._token_in_file(from_env)

        campaign = await self._campaign()
        database = self.args.database or await term.ask(
            "Database file (relative paths are taken from the file's folder)", "jindianzi.sqlite3"
        )
        key_file = self.args.key_file or await term.ask(
            "Anonymity key file (keep it apart from database backups)", "jindianzi.keys"
        )
        try:
            updates = Updates(bot, identity, campaign.language)
            roles = await self._roles(updates, identity, campaign.name)
            await updates.confirm()
        finally:
            await bot.shutdown()

        telegram: dict[str, Any] = {"token": token if in_file else ""}
        if base_url != DEFAULT_BASE_URL or self.args.base_file_url:
            telegram.update(base_url=base_url, base_file_url=base_file_url)
        answers = {
            "telegram": telegram,
            "storage": {"path": database},
            "anonymity": {"key_file": key_file},
            "roles": roles,
            "campaign": {
                "name": campaign.name,
                "timezone": campaign.timezone,
                "language": campaign.language,
            },
        }
        try:
            write_config(target, render(answers), overwrite=overwrite)
        except ConfigError as exc:
            raise SetupFailed(exc.report().replace("\n", " "), 2) from None
        term.say()
        term.say(f"Wrote {target.absolute()} (mode 0600).")
        if in_file:
            term.say("The token is in the file: keep it readable only by the bot's account.")
        else:
            term.say(
                f"The token is NOT in the file: set {TOKEN_VARIABLE} in the bot's environment "
                "(e.g. the systemd unit's EnvironmentFile, README: Deploying)."
            )
        term.say()
        from bot.cli import check_config

        status = check_config(target)
        term.say()
        prefix = "" if in_file else f"{TOKEN_VARIABLE}=... "
        term.say(f"Start the bot with: {prefix}jindianzi run --config {target.absolute()}")
        return status

    async def _checked_token(
        self, token: str, base_url: str, base_file_url: str, level: str
    ) -> tuple[Bot, BotIdentity, str]:
        """The bot for a token getMe accepts: the one given, or (in a terminal) the one
        typed, asked again while Telegram rejects it."""
        term = self.term
        given = bool(token)
        while True:
            if not token:
                token = term.secret("Bot token from @BotFather (input hidden)").strip()
            configure_logging(level, secrets=[token])  # never in a log line, whatever fails
            bot = make_bot(token, base_url, base_file_url)
            try:
                identity = await check_token(bot, base_url)
            except SetupFailed as exc:
                if not term.interactive or given:
                    raise
                term.say(f"  {exc}")
                token = ""
                continue
            term.say(f"Token OK: @{identity.username} ({identity.name}).")
            if not identity.can_join_groups:
                term.say(
                    "  Warning: this bot may not be added to groups (@BotFather: "
                    "/setjoingroups); the office and leading groups need it."
                )
            return bot, identity, token

    async def _may_overwrite(self) -> bool:
        if not self.target.exists():
            return False
        if self.args.force:
            return True
        if self.term.interactive and await self.term.yes(
            f"{self.target} exists. Overwrite it?", False
        ):
            return True
        raise SetupFailed(f"{self.target} exists: nothing written (--force overwrites it)", 2)

    def _token_source(self) -> tuple[str, bool]:
        if self.args.token:
            return self.args.token.strip(), False
        from_env = os.environ.get(TOKEN_VARIABLE, "").strip()
        if from_env:
            self.term.say(f"Using the token in {TOKEN_VARIABLE}.")
            return from_env, True
        if not self.term.interactive:
            raise SetupFailed(f"no token: pass --token or set {TOKEN_VARIABLE}", 2)
        return "", False

    async def _token_in_file(self, from_env: bool) -> bool:
        if self.args.token_in:
            return bool(self.args.token_in == "file")  # noqa: S105 (where, not what)
        if not self.term.interactive:
            return not from_env  # a token given in the environment stays there
        return await self.term.yes(
            f"Write the token into {self.target.name} (mode 0600)? Otherwise set "
            f"{TOKEN_VARIABLE} in the bot's environment",
            not from_env,
        )

    async def _campaign(self) -> CampaignSettings:
        defaults = CampaignSettings()
        while True:
            name = self.args.campaign or await self.term.ask("Campaign name", defaults.name)
            language = self.args.language or await self.term.ask(
                f"Default language ({', '.join(LANGUAGES)})", defaults.language
            )
            zone = self.args.timezone or await self.term.ask("Time zone", defaults.timezone)
            try:
                return _validated(CampaignSettings, name=name, language=language, timezone=zone)
            except SetupFailed as exc:
                if not self.term.interactive or self.args.campaign:
                    raise
                self.term.say(f"  {exc}")

    async def _roles(
        self, updates: Updates, identity: BotIdentity, campaign: str
    ) -> dict[str, Any]:
        term, args = self.term, self.args
        handle = f"@{identity.username}"
        admins: list[int] = list(dict.fromkeys(args.admin or []))
        if not admins:
            code = new_code()
            term.say()
            term.say("1. The first administrator. In Telegram, open")
            term.say(f"     https://t.me/{identity.username}?start={code}")
            term.say(f"   or send {handle} this message:")
            term.say(f"     /start {code}")
            term.say("   Whoever sends this code becomes the administrator (one person).")
            person: Person | None = await self._step(
                wait_for_admin(updates, code, campaign=campaign), "the administrator"
            )
            if person is not None:
                admins = [person.id]
                term.say(f"   Administrator: {person.describe()}")
            else:
                term.say("   Skipped: nobody can review items until an administrator is added.")
        roles: dict[str, Any] = {"admin_ids": admins}
        steps: list[tuple[str, str, int | None, Role | None]] = [
            ("office_chat_id", "the office group (办公室)", args.office_chat, "office"),
            (
                "leading_group_chat_id",
                "the leading group (领导小组)",
                args.leading_group,
                "leading",
            ),
            ("channel_id", "the public channel", args.channel, None),
        ]
        for number, (key, what, given, role) in enumerate(steps, start=2):
            if given is not None:
                roles[key] = given
                continue
            code = new_code()
            term.say()
            if role is not None:
                term.say(
                    f"{number}. {what.capitalize()}: add {handle} to the group, then send there:"
                )
                term.say(f"     /link@{identity.username} {code}")
                waiting: Awaitable[LinkedChat] = wait_for_group(
                    updates, code, role=role, admins=admins, campaign=campaign
                )
            else:
                term.say(
                    f"{number}. {what.capitalize()}: add {handle} to the channel as an "
                    "administrator allowed to post, then post this in the channel:"
                )
                term.say(f"     {code}")
                term.say("   (the bot deletes the post)")
                waiting = wait_for_channel(updates, code)
            chat = await self._step(waiting, what)
            roles[key] = chat.id if chat is not None else 0
            term.say(f"   {what.capitalize()}: {chat.describe()}" if chat else "   Skipped.")
        return roles

    async def _step(self, waiting: Awaitable[T], what: str) -> T | None:
        """Wait for a step's code; None when skipped (Enter) or, non-interactive, after
        ``--wait`` seconds (fatal for the administrator: a campaign needs one)."""
        task = asyncio.ensure_future(waiting)
        if not self.term.interactive:
            self.term.say(f"   Waiting up to {self.args.wait:.0f} s...")
            try:
                return await asyncio.wait_for(task, self.args.wait)
            except TimeoutError:
                if what == "the administrator":
                    raise SetupFailed(
                        f"no code for {what} within {self.args.wait:.0f} s (--admin USER_ID "
                        "gives one)",
                        2,
                    ) from None
                return None
        self.term.say("   Waiting... (press Enter to skip this step, Ctrl-C to stop)")
        enter = asyncio.ensure_future(self.term.line())
        try:
            done, _ = await asyncio.wait({task, enter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, enter):
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pending
        return task.result() if task in done else None


def _file_url(base_url: str) -> str:
    """The file endpoint beside a Bot API endpoint (``.../bot`` -> ``.../file/bot``)."""
    head, sep, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot" if sep else base_url.rstrip("/") + "/file/bot"


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], **values: Any) -> M:
    try:
        return model(**values)
    except ValidationError as exc:
        raise SetupFailed("; ".join(format_validation_error(exc)), 2) from None
