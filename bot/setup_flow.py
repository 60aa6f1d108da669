"""The Telegram side of ``jindianzi setup`` (#21): check a token with ``getMe``, then find
the first administrator, the groups and the channel by one-time codes, so that nobody has
to look up an id by hand.

- **Administrator**: whoever sends ``/start CODE`` to the bot in a private chat (or opens
  ``https://t.me/<bot>?start=CODE``, which sends it) becomes the first administrator; the
  code then stops working, and anyone else's ``/start`` with another code is told it is
  wrong.
- **Groups** (the office chat, the leading group): ``/link@<bot> CODE`` sent in the group.
  A command, because in groups a bot in privacy mode (Telegram's default) sees only
  commands, replies to its messages and mentions; the ``@<bot>`` suffix makes Telegram
  deliver it even when other bots are in the group. Once there is an administrator, only
  an administrator's ``/link`` counts.
- **Channel**: a post in the channel holding the code (the bot must be an administrator
  of the channel to see its posts); the bot deletes the post when it may.

Setup reads the bot's updates with ``getUpdates`` while it waits and confirms what it read,
so it runs before the bot serves (Telegram answers 409 Conflict while another process polls
or a webhook is set: :class:`SetupConflict`). The update that finished a step is confirmed
at the end (:meth:`Updates.confirm`), so the bot never sees the codes again.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Literal

from telegram import Bot, Chat, Message, Update
from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.config import Language
from bot.i18n import t
from bot.text import escape
from bot.transport.botapi import describe_rejection, reason

log = logging.getLogger(__name__)

CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
CODE_LENGTH = 8  # 31^8: about 8.5e11 codes
POLL_SECONDS = 5  # each long poll; a skipped step is noticed within this
GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)


class SetupFailed(Exception):
    """Setup cannot go on; one line for the operator, and the exit status."""

    def __init__(self, line: str, status: int) -> None:
        super().__init__(line)
        self.status = status


class SetupConflict(SetupFailed):
    """Another process reads this bot's updates (the bot running, or a webhook set)."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str
    name: str
    can_join_groups: bool


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    username: str | None

    def describe(self) -> str:
        handle = f", @{self.username}" if self.username else ""
        return f"{self.name} (id {self.id}{handle})"


@dataclass(frozen=True)
class LinkedChat:
    id: int
    type: str
    title: str

    def describe(self) -> str:
        return f"{self.title or '(no title)'} (id {self.id}, {self.type})"


def make_bot(token: str, base_url: str, base_file_url: str) -> Bot:
    return Bot(token, base_url=base_url, base_file_url=base_file_url)


async def check_token(bot: Bot, base_url: str) -> BotIdentity:
    """``getMe`` once: the bot's identity, or :class:`SetupFailed` (2: the token is
    rejected; 1: the Bot API cannot be reached), the bot's connections closed."""
    try:
        await bot.initialize()
    except InvalidToken as exc:
        await bot.shutdown()
        raise SetupFailed(describe_rejection(base_url, exc), 2) from None
    except (TelegramError, OSError) as exc:
        await bot.shutdown()
        raise SetupFailed(f"cannot reach the Bot API at {base_url}: {reason(exc)}", 1) from None
    me = bot.bot
    return BotIdentity(
        id=me.id,
        username=me.username or "",
        name=me.full_name,
        can_join_groups=bool(me.can_join_groups),
    )


class Updates:
    """``getUpdates`` for setup: long polls, each batch confirmed by the next call."""

    def __init__(self, bot: Bot, identity: BotIdentity, language: Language) -> None:
        self.bot = bot
        self.identity = identity
        self.language = language
        self._offset: int | None = None

    async def batch(self) -> tuple[Update, ...]:
        try:
            updates = await self.bot.get_updates(
                offset=self._offset,
                timeout=POLL_SECONDS,
                allowed_updates=[Update.MESSAGE, Update.CHANNEL_POST],
            )
        except Conflict as exc:
            raise SetupConflict(
                "another process reads this bot's updates (Telegram answers 409 Conflict: "
                f"{exc.message}): stop the bot (and run it without --webhook once, which "
                "removes a webhook) during setup",
                1,
            ) from None
        except (TelegramError, OSError) as exc:
            log.warning("cannot reach the Bot API: %s; retrying", reason(exc))
            return ()
        if updates:
            self._offset = updates[-1].update_id + 1
        return updates

    async def confirm(self) -> None:
        """Confirm what was read: the next reader (the bot) starts after it. At most one
        update is fetched by this, and it is left unconfirmed for the bot."""
        if self._offset is None:
            return
        try:
            await self.bot.get_updates(offset=self._offset, timeout=0, limit=1)
        except (TelegramError, OSError) as exc:
            log.warning("could not confirm the updates read during setup: %s", reason(exc))

    async def say(self, chat_id: int, key: str, **values: str) -> None:
        try:
            await self.bot.send_message(
                chat_id, t(self.language, key, **values), parse_mode=ParseMode.HTML
            )
        except TelegramError as exc:  # the step's result does not depend on the answer
            log.warning("could not answer in chat %s: %s", chat_id, reason(exc))


def _command(message: Message, name: str, bot_username: str) -> list[str] | None:
    """The arguments of ``/name`` or ``/name@bot_username`` in ``message``, else None."""
    words = (message.text or "").split()
    if not words:
        return None
    command, at, addressee = words[0].partition("@")
    if command.lower() != f"/{name}" or (at and addressee.lower() != bot_username.lower()):
        return None
    return words[1:]


async def wait_for_admin(updates: Updates, code: str, *, campaign: str) -> Person:
    """The first private ``/start CODE``'s sender (see the module's docstring)."""
    while True:
        for update in await updates.batch():
            message = update.message
            if message is None or message.chat.type != Chat.PRIVATE or message.from_user is None:
                continue
            args = _command(message, "start", updates.identity.username)
            if not args:  # a plain /start (someone finding the bot): not for setup
                continue
            if args != [code]:
                await updates.say(message.chat.id, "setup.wrong_code")
                continue
            user = message.from_user
            await updates.say(message.chat.id, "setup.admin_done", campaign=escape(campaign))
            return Person(id=user.id, name=user.full_name, username=user.username)


Role = Literal["office", "leading"]
ROLE_KEYS: dict[Role, str] = {"office": "setup.role.office", "leading": "setup.role.leading"}


async def wait_for_group(
    updates: Updates, code: str, *, role: Role, admins: list[int], campaign: str
) -> LinkedChat:
    """The group where ``/link CODE`` was sent (by an administrator, once there is one)."""
    while True:
        for update in await updates.batch():
            message = update.message
            if message is None or message.from_user is None:
                continue
            args = _command(message, "link", updates.identity.username)
            if args != [code]:
                continue
            chat = message.chat
            if chat.type not in GROUP_TYPES:
                await updates.say(chat.id, "setup.link_in_group")
                continue
            if admins and message.from_user.id not in admins:
                await updates.say(chat.id, "setup.not_admin")
                continue
            label = t(updates.language, ROLE_KEYS[role])
            await updates.say(chat.id, "setup.chat_linked", campaign=escape(campaign), role=label)
            return LinkedChat(id=chat.id, type=chat.type, title=chat.title or "")


async def wait_for_channel(updates: Updates, code: str) -> LinkedChat:
    """The channel where a post holding the code appeared; the post is deleted if the bot
    may (a code left in a public channel means nothing, but it is noise)."""
    while True:
        for update in await updates.batch():
            post = update.channel_post
            if post is None or code not in (post.text or "").split():
                continue
            try:
                await post.delete()
            except TelegramError as exc:
                log.info("the code's post was not deleted: %s", reason(exc))
            chat = post.chat
            return LinkedChat(id=chat.id, type=chat.type, title=chat.title or "")
