"""Python steps of migrations: conversions SQL cannot do because they need the keys.

Migration 0012 (#13) replaces every value that linked an anonymous item to a person or to
the same person's other items. Before it, one keyed hash per person (``owner_hash`` =
HMAC("user:<id>"), today's :meth:`bot.anonymity.Secrets.person`) keyed the language row,
the draft (stored in plain) and every anonymous item of that person. From it, under the
same key, the step derives what the bot now looks for: the language key, the draft's
owner pseudonym (encrypted on a draft with a random id, its body sealed), and per-item
ownership tags, so ``/my`` keeps working for existing anonymous senders. Plain message ids
of private chats become keyed hashes (or go, where no reply needs matching), and every
encrypted chat in the outbox and the followers gets a fresh token (the same token used to
appear in several rows). The old tables are emptied and dropped; ``secure_delete``
overwrites what they held, and the caller truncates the write-ahead log afterwards.

The step runs inside the migration's transaction (see :mod:`storage.migrations`): all or
nothing, exactly once.
"""

from __future__ import annotations

import aiosqlite

from bot.anonymity import Namespace, Secrets, message_reference
from storage.migrations import Step
from storage.rows import new_row_id, seal_draft


class ConversionError(RuntimeError):
    """A database needs converting and the keys to do it are missing or do not fit."""


def conversion_steps(secrets: Secrets | None) -> dict[int, Step]:
    async def unlinkable(db: aiosqlite.Connection) -> None:
        await convert_0012(db, secrets)

    return {12: unlinkable}


async def _rows(db: aiosqlite.Connection, sql: str) -> list[aiosqlite.Row]:
    return list(await db.execute_fetchall(sql))


async def convert_0012(db: aiosqlite.Connection, secrets: Secrets | None) -> None:
    users = await _rows(db, "SELECT owner_hash, language FROM users_old")
    drafts = await _rows(db, "SELECT owner_hash, body FROM drafts_old")
    anonymous = await _rows(
        db,
        "SELECT id, owner_tag AS owner_hash, reply_route FROM submissions WHERE anonymous = 1",
    )
    outbox = await _rows(db, "SELECT id, chat_enc, message_id, purpose FROM outbox")
    followers = await _rows(db, "SELECT submission_id, duplicate_id, chat_enc FROM followers")
    if secrets is None:
        if users or drafts or anonymous or outbox or followers:
            raise ConversionError(
                "this database was written by an earlier version and must be converted with"
                " the anonymity keys (migration 0012): start the bot once ('jindianzi run')"
                " with its key file, or make the key file available to this command"
            )
    else:
        _check_keys(secrets, anonymous, outbox)
        await _convert(db, secrets, users, drafts, anonymous, outbox, followers)
    for table in ("users_old", "drafts_old"):
        await db.execute(f"DELETE FROM {table}")  # noqa: S608  (fixed names)
        await db.execute(f"DROP TABLE {table}")


def _check_keys(
    secrets: Secrets, anonymous: list[aiosqlite.Row], outbox: list[aiosqlite.Row]
) -> None:
    """Refuse to convert with keys that did not write this database: the ownership tags
    derived from its owner hashes would then match nobody, for good."""
    token = next(
        (r["reply_route"] for r in anonymous if r["reply_route"]),
        outbox[0]["chat_enc"] if outbox else None,
    )
    if token is None or secrets.decrypt(token) is not None:
        return
    raise ConversionError(
        "the anonymity keys do not fit this database (its encrypted routes cannot be read):"
        " start with the key file this database was written with"
    )


async def _convert(
    db: aiosqlite.Connection,
    secrets: Secrets,
    users: list[aiosqlite.Row],
    drafts: list[aiosqlite.Row],
    anonymous: list[aiosqlite.Row],
    outbox: list[aiosqlite.Row],
    followers: list[aiosqlite.Row],
) -> None:
    await db.executemany(
        "INSERT OR REPLACE INTO languages (key, language) VALUES (?, ?)",
        [
            (secrets.tag(Namespace.LANGUAGE, r["owner_hash"]), r["language"])
            for r in users
            if r["language"]
        ],
    )
    await db.executemany(
        "INSERT INTO drafts (id, body) VALUES (?, ?)",
        [
            (
                new_row_id(),
                secrets.seal(seal_draft(secrets.tag(Namespace.DRAFT, r["owner_hash"]), r["body"])),
            )
            for r in drafts
        ],
    )
    await db.executemany(
        "UPDATE submissions SET owner_tag = ? WHERE id = ?",
        [(secrets.tag(Namespace.OWN, r["owner_hash"], r["id"]), r["id"]) for r in anonymous],
    )
    converted = []
    for r in outbox:
        chat = secrets.decrypt_int(r["chat_enc"])
        if chat is None:
            continue
        message_id, message_key = (
            (None, None)
            if r["message_id"] is None
            else message_reference(secrets, chat, r["message_id"], r["purpose"])
        )
        converted.append((secrets.encrypt_int(chat), message_id, message_key, r["id"]))
    await db.executemany(
        "UPDATE outbox SET chat_enc = ?, message_id = ?, message_key = ? WHERE id = ?", converted
    )
    await db.executemany(
        "UPDATE followers SET chat_enc = ? WHERE submission_id = ? AND duplicate_id = ?",
        [
            (fresh, r["submission_id"], r["duplicate_id"])
            for r in followers
            if (fresh := secrets.reencrypt(r["chat_enc"])) is not None
        ],
    )
