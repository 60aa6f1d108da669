"""What the bot keeps about residents, and how it finds a resident's own items, without any
value that links a person's rows to each other or to their anonymous items.

- **Language choice**: a row under ``tag(lang, person)``; no timestamps.
- **Drafts**: each draft a row with a *random* id (a new one for every draft, so two
  drafts of one person share nothing) and one sealed (encrypted, padded) value: the
  owner's draft pseudonym and the draft. The map owner → row is built at
  :meth:`ResidentQueries.load_residents` by unsealing them and kept in memory as a hint
  only: several worker processes share the table (#24), so a row the map names is read
  and its owner checked, and when the map names no row (or a row that is gone), the rows
  it does not know are read and unsealed first (:meth:`ResidentQueries._find_drafts`):
  a draft another worker started or deleted is seen by the next update here.
- **Language choices** are read from the table at each update (another worker may have
  written one).
- **Ownership**: a named item carries its sender's id; an anonymous one only
  ``owner_tag = tag(own, person, item id)``: different for every item, and "is this
  resident the sender of #N" is one HMAC. Listing a resident's items (``/my``) checks
  the tags of the anonymous items still linked to someone (:meth:`ResidentQueries.
  own_items`); what was found is remembered in memory per person, so a later call checks
  only newer items (those found are checked again to be still linked: another worker may
  have unlinked them). The hourly quota counts the same way over the last hour's items.
- **Unlinking** (:meth:`ResidentQueries.unlink_closed`): a set time after an anonymous
  item is closed, its reply route, its tag and every copy of its sender's encrypted chat
  are deleted: then not even the keys lead from the item to a person.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

import aiosqlite

from bot.core.records import Draft, SubmissionSummary
from bot.core.workflow import FINAL_STATUSES
from storage.base import MAX_SQLITE_INT
from storage.clamps import ClampQueries
from storage.rows import (
    DRAFT_SEPARATOR,
    SUMMARY_COLUMNS,
    iso,
    new_row_id,
    seal_draft,
    summary_record,
)

SCAN_BATCH = 5000  # anonymous items whose tags are checked per read when listing /my
OWN_MEMO = 1000
# PostgreSQL: seconds within which a draft's insert commits once its number was handed out.
DRAFTS_SETTLE = 30.0
# The map of the drafts' owners is checked against the table once it has grown by this many.
DRAFTS_PRUNE = 1000  # residents whose anonymous items found so far are remembered
_FINAL = "(" + ", ".join(f"'{s.value}'" for s in sorted(FINAL_STATUSES)) + ")"
# When the item (alias {0}) last reached a final status.
_LAST_FINAL = (
    "(SELECT MAX(at) FROM history h WHERE h.submission_id = {0}.id"  # noqa: S608
    " AND h.to_status IN " + _FINAL + ")"
)
# Anonymous items still linked, final since before ?, and (a merged duplicate, whose sender
# follows the original) their original too. Built from constants only.
UNLINK_CANDIDATES = (
    "SELECT s.id, s.reply_route, s.duplicate_of FROM submissions s"  # noqa: S608
    " WHERE s.anonymous = 1 AND s.reply_route IS NOT NULL"
    f" AND s.status IN {_FINAL} AND {_LAST_FINAL.format('s')} < ?"
    " AND (s.duplicate_of IS NULL OR EXISTS (SELECT 1 FROM submissions o"
    f" WHERE o.id = s.duplicate_of AND o.status IN {_FINAL}"
    f" AND {_LAST_FINAL.format('o')} < ?))"
)
# The supporters (附议) of an item closed that long ago no longer need to be told anything.
FORGET_SUPPORTERS = (
    "UPDATE supporters SET chat_enc = NULL WHERE chat_enc IS NOT NULL"  # noqa: S608
    " AND submission_id IN (SELECT s.id FROM submissions s"
    f" WHERE s.status IN {_FINAL} AND {_LAST_FINAL.format('s')} < ?)"
)


class _DraftMemo:
    """The drafts (their JSON, or None for none) read or written while one update is
    handled: one resident's updates are handled one at a time, by one worker, in order
    (the inbox's claims, #24), so what this update read or wrote stays the truth until it
    is done, and a second read needs neither the database nor the key."""

    def __init__(self) -> None:
        self.bodies: dict[int, str | None] = {}
        self.open = True


# Set by :func:`remembering_drafts` for the handling of one update (and closed after it:
# a job scheduled meanwhile runs with a copy of this context, but must read afresh).
_MEMO: ContextVar[_DraftMemo | None] = ContextVar("drafts_memo", default=None)


@contextmanager
def remembering_drafts() -> Iterator[None]:
    """While one update is handled: read each resident's draft at most once."""
    memo = _DraftMemo()
    token = _MEMO.set(memo)
    try:
        yield
    finally:
        memo.open = False
        _MEMO.reset(token)


def _memo() -> dict[int, str | None] | None:
    memo = _MEMO.get()
    return memo.bodies if memo is not None and memo.open else None


class ResidentQueries(ClampQueries):
    """Residents' languages, drafts and ownership (mixed into the repository)."""

    # Filled by load_residents, a hint (see the module's docstring): for each draft owner
    # (their draft pseudonym) the row id of their draft; the ids of the rows read so far
    # that this key cannot unseal (nobody can resume them); and how far the rows have been
    # read, by their number in the order they were added (``drafts.seq``).
    _drafts: dict[str, str] | None = None
    _unreadable: set[str]
    _kept: int  # rows in the map after the last prune
    _marks: deque[tuple[float, int]]
    # person -> (highest item id checked, ids of their linked anonymous items found).
    _own: OrderedDict[str, tuple[int, list[int]]]

    async def load_residents(self) -> None:
        """Read the owners of the drafts (at connect)."""
        self._own = OrderedDict()
        if self._secrets is None:
            return
        self._drafts, self._unreadable, self._kept = {}, set(), 0
        self._marks = deque([(0.0, 0)])
        await self._find_drafts()

    def forget_residents(self) -> None:
        self._drafts = None
        self._own = OrderedDict()

    # ------------------------------------------------------------------ languages
    async def get_language(self, user_id: int) -> str | None:
        """The language the user chose with /lang, if any (read from the table: another
        worker may have written it)."""
        key = self.secrets.language_key(user_id)
        memo = _memo()
        owner = self.secrets.keys(user_id).draft
        row_id = None if memo is None or user_id in memo else (self._drafts or {}).get(owner)
        if row_id is None:
            row = await self._fetchone("SELECT language FROM languages WHERE key = ?", (key,))
            return None if row is None else str(row["language"])
        # Handling an update of a resident with a draft: the draft, which the update reads
        # next, comes with the language in one trip (checked as get_draft checks it).
        row = await self._fetchone(
            "SELECT (SELECT language FROM languages WHERE key = ?) AS language,"
            " (SELECT body FROM drafts WHERE id = ?) AS body",
            (key, row_id),
        )
        assert row is not None and memo is not None
        found, body = (None, None) if row["body"] is None else self._unseal_draft(row["body"])
        if body is not None and found == owner:
            memo[user_id] = body
        return None if row["language"] is None else str(row["language"])

    async def set_language(self, user_id: int, language: str) -> None:
        key = self.secrets.language_key(user_id)
        await self._write(
            "INSERT INTO languages (key, language) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET language = excluded.language",
            (key, language),
        )

    # ------------------------------------------------------------------ drafts
    def _draft_map(self) -> dict[str, str]:
        if self._drafts is None:
            raise RuntimeError("repository not connected (or opened without the keys)")
        return self._drafts

    def _unseal_draft(self, sealed: str) -> tuple[str | None, str | None]:
        """(owner's draft pseudonym, the draft's JSON) of a stored draft, or Nones."""
        plain = self.secrets.unseal(sealed)
        if plain is None or DRAFT_SEPARATOR not in plain:
            return None, None
        owner, _, body = plain.partition(DRAFT_SEPARATOR)
        return owner, body

    def _read_from(self) -> int:
        """The number after which rows may still appear. On SQLite one writer commits at a
        time, so rows appear in the order of their numbers: the highest read so far. On
        PostgreSQL numbers are handed out before the commits, which come in any order; a
        row numbered below one already read commits within :data:`DRAFTS_SETTLE`, so the
        rows numbered above what was read that long ago are read again (those known are
        skipped)."""
        if not self.postgresql:
            return self._marks[-1][1]
        settled = time.monotonic() - DRAFTS_SETTLE
        while len(self._marks) > 1 and self._marks[1][0] <= settled:
            self._marks.popleft()
        return self._marks[0][1]

    async def _find_drafts(self) -> None:
        """Unseal the drafts added since the last look (by another worker, or before this
        start) and put their owners in the map."""
        drafts = self._draft_map()
        known = set(drafts.values()) | self._unreadable
        now = time.monotonic()
        rows = await self._fetchall(
            "SELECT seq, id FROM drafts WHERE seq > ? ORDER BY seq", (self._read_from(),)
        )
        if rows:
            self._marks.append((now, max(self._marks[-1][1], rows[-1]["seq"])))
            if not self.postgresql:
                self._marks.popleft()
        await self._unseal_rows([r["id"] for r in rows if r["id"] not in known])
        if len(drafts) + len(self._unreadable) > 2 * self._kept + DRAFTS_PRUNE:
            await self._prune_drafts()

    async def _unseal_rows(self, ids: list[str]) -> None:
        """Put the owners of these draft rows in the map (or the rows among the unreadable)."""
        drafts = self._draft_map()
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            found_rows = await self._fetchall(
                f"SELECT id, body FROM drafts WHERE id IN ({', '.join('?' * len(batch))})",  # noqa: S608
                batch,
            )
            for row in found_rows:
                found, _ = self._unseal_draft(row["body"])
                if found is None:  # written under another key: nobody can resume it
                    self._unreadable.add(row["id"])
                else:
                    drafts[found] = row["id"]

    async def _prune_drafts(self) -> None:
        """Forget the rows deleted meanwhile (by any worker), so that the map does not grow
        forever with the drafts other workers submitted; and read any row the numbers
        missed (on PostgreSQL, an insert that took longer than DRAFTS_SETTLE to commit)."""
        drafts = self._draft_map()
        present = {r["id"] for r in await self._fetchall("SELECT id FROM drafts")}
        for owner, row_id in list(drafts.items()):
            if row_id not in present:
                del drafts[owner]
        self._unreadable &= present
        await self._unseal_rows(sorted(present - set(drafts.values()) - self._unreadable))
        self._kept = len(drafts) + len(self._unreadable)

    async def draft_row(self, user_id: int) -> str | None:
        """The id of the row that holds this resident's draft, if any (the map's, checked
        against the table when it names none)."""
        owner = self.secrets.keys(user_id).draft
        row_id = self._draft_map().get(owner)
        if row_id is None:
            await self._find_drafts()
            row_id = self._draft_map().get(owner)
        return row_id

    async def get_draft(self, user_id: int) -> Draft | None:
        memo = _memo()
        if memo is not None and user_id in memo:
            known = memo[user_id]
            return None if known is None else Draft.model_validate_json(known)
        body = await self._read_draft(user_id)
        if memo is not None:
            memo[user_id] = body
        return None if body is None else Draft.model_validate_json(body)

    async def _read_draft(self, user_id: int) -> str | None:
        owner = self.secrets.keys(user_id).draft
        for _ in range(2):
            row_id = await self.draft_row(user_id)
            if row_id is None:
                return None
            row = await self._fetchone("SELECT body FROM drafts WHERE id = ?", (row_id,))
            found, body = (None, None) if row is None else self._unseal_draft(row["body"])
            if body is not None and found == owner:
                return body
            # The row the map named is gone (submitted or cancelled by another worker): the
            # table is read again, once, for a newer draft of the same resident.
            self._draft_map().pop(owner, None)
        return None

    async def save_draft(self, user_id: int, draft: Draft) -> None:
        owner = self.secrets.keys(user_id).draft
        memo = _memo()
        if memo is not None and user_id in memo and memo[user_id] is None:
            # This update found no draft: a new one, without looking for it again.
            row_id = self._draft_map().get(owner)
        else:
            row_id = await self.draft_row(user_id)
        if row_id is None:
            row_id = self._draft_map()[owner] = new_row_id()
        body = draft.model_dump_json()
        if memo is not None:
            memo.pop(user_id, None)  # until the write is done
        await self._write(
            "INSERT INTO drafts (id, body) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (row_id, self.secrets.seal(seal_draft(owner, body))),
        )
        if memo is not None:
            memo[user_id] = body

    async def delete_draft(self, user_id: int) -> bool:
        row_id = await self.draft_row(user_id)
        if row_id is None:
            return False
        removed = await self._write("DELETE FROM drafts WHERE id = ?", (row_id,), counted=True)
        self.forget_draft(user_id)
        self.note_sensitive_deletion()
        return removed > 0

    def forget_draft(self, user_id: int) -> None:
        """The resident's draft is gone (its deletion committed): the next one gets a new
        row id."""
        if self._drafts is not None:
            self._drafts.pop(self.secrets.keys(user_id).draft, None)
        memo = _memo()
        if memo is not None:
            memo[user_id] = None

    # ------------------------------------------------------------------ ownership
    async def owned_among(self, user_id: int, ids: Iterable[int]) -> set[int]:
        """Which of these items this Telegram user sent (named by id, anonymous by tag)."""
        wanted = sorted({i for i in ids if 0 < i <= MAX_SQLITE_INT})
        if not wanted:
            return set()
        rows = await self._fetchall(
            "SELECT id, sender_user_id, owner_tag, reply_route FROM submissions"  # noqa: S608
            f" WHERE id IN ({', '.join('?' * len(wanted))})",
            wanted,
        )
        matches = self.secrets.owner_matcher(user_id)

        def owns(row: aiosqlite.Row) -> bool:
            if row["sender_user_id"] is not None:
                return bool(row["sender_user_id"] == user_id)
            return row["reply_route"] is not None and matches(row["id"], row["owner_tag"] or "")

        return {r["id"] for r in rows if owns(r)}

    async def is_owner(self, submission_id: int, *, user_id: int) -> bool:
        """Whether this Telegram user sent the submission (and, if anonymous, is still
        linked to it)."""
        return submission_id in await self.owned_among(user_id, [submission_id])

    async def own_items(self, user_id: int) -> list[int]:
        """Ids of all the user's items still linked to them, newest first."""
        named = await self._fetchall(
            "SELECT id FROM submissions WHERE sender_user_id = ?", (user_id,)
        )
        return sorted(
            {r["id"] for r in named} | set(await self._own_anonymous(user_id)), reverse=True
        )

    async def _own_anonymous(self, user_id: int) -> list[int]:
        person = self.secrets.person(user_id)
        checked, found = self._own.pop(person, (0, []))
        matches = self.secrets.owner_matcher(user_id)
        found = list(found)
        while True:
            rows = await self._fetchall(
                "SELECT id, owner_tag FROM submissions WHERE anonymous = 1"
                " AND reply_route IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
                (checked, SCAN_BATCH),
            )
            found += [r["id"] for r in rows if matches(r["id"], r["owner_tag"] or "")]
            if rows:
                checked = rows[-1]["id"]
            if len(rows) < SCAN_BATCH:
                break
        found = await self._still_linked(found)
        self._own[person] = (checked, found)
        while len(self._own) > OWN_MEMO:
            self._own.popitem(last=False)
        return found

    async def _still_linked(self, ids: list[int]) -> list[int]:
        """Those of ``ids`` still linked to their sender (another worker may have unlinked
        some since they were found)."""
        linked: set[int] = set()
        for start in range(0, len(ids), SCAN_BATCH):
            batch = ids[start : start + SCAN_BATCH]
            rows = await self._fetchall(
                "SELECT id FROM submissions WHERE reply_route IS NOT NULL"  # noqa: S608
                f" AND id IN ({', '.join('?' * len(batch))})",
                batch,
            )
            linked |= {r["id"] for r in rows}
        return [i for i in ids if i in linked]

    async def list_own(
        self, *, user_id: int, offset: int = 0, limit: int = 10
    ) -> tuple[list[SubmissionSummary], int]:
        """A user's submissions, newest first, and their total count."""
        ids = await self.own_items(user_id)
        page = ids[offset : offset + limit]
        if not page:
            return [], len(ids)
        rows = await self._fetchall(
            f"SELECT {SUMMARY_COLUMNS} FROM submissions"  # noqa: S608
            f" WHERE id IN ({', '.join('?' * len(page))}) ORDER BY id DESC",
            page,
        )
        return [summary_record(r) for r in rows], len(ids)

    async def count_recent(self, *, user_id: int, since: datetime) -> int:
        """Submissions of one person since then (the hourly quota): named by id, anonymous
        by checking the tags of the items of that hour. Items created in the future (the
        clock ran ahead) are brought back to now first (storage.clamps), so they count for
        an hour, not until the clock catches up with them."""
        await self.clamp_creation_if_needed()
        named = await self._fetchone(
            "SELECT COUNT(*) AS n FROM submissions WHERE sender_user_id = ? AND created_at >= ?",
            (user_id, iso(since)),
        )
        recent = await self._fetchall(
            "SELECT id, owner_tag FROM submissions INDEXED BY ix_submissions_created"
            " WHERE created_at >= ? AND anonymous = 1 AND reply_route IS NOT NULL",
            (iso(since),),
        )
        matches = self.secrets.owner_matcher(user_id)
        mine = sum(1 for r in recent if matches(r["id"], r["owner_tag"] or ""))
        return (int(named["n"]) if named else 0) + mine

    # ------------------------------------------------------------------ unlinking
    async def unlink_candidates(self, before: datetime) -> list[tuple[int, str, int | None]]:
        """(id, reply route, original) of the anonymous items still linked whose last
        status change to a final status (and their original's, for a duplicate, whose
        sender follows it) is older than ``before``."""
        rows = await self._fetchall(UNLINK_CANDIDATES, (iso(before), iso(before)))
        return [(r["id"], r["reply_route"], r["duplicate_of"]) for r in rows]

    async def unlink_closed(self, before: datetime) -> int:
        """Unlink every anonymous item closed before ``before`` from its sender: its reply
        route and ownership tag, the follower row of a merged duplicate, and every message
        of the outbox (for it or the original it followed) addressed to its sender lose
        the sender's chat. Returns how many items were unlinked."""
        async with self.transaction() as db:
            forgotten = await db.execute(FORGET_SUPPORTERS, (iso(before),))
        if forgotten.rowcount:
            self.note_sensitive_deletion()
        candidates = await self.unlink_candidates(before)
        if not candidates:
            return 0
        secrets = self.secrets
        async with self.transaction() as db:
            for item_id, route, original in candidates:
                chat = secrets.decrypt_int(route)
                messages = await db.execute_fetchall(
                    "SELECT id, chat_enc FROM outbox WHERE submission_id IN (?, ?)",
                    (item_id, item_id if original is None else original),
                )
                to_sender = [
                    (r["id"],)
                    for r in messages
                    if chat is not None and secrets.decrypt_int(r["chat_enc"]) == chat
                ]
                await db.executemany(
                    "UPDATE outbox SET chat_enc = '', message_key = NULL WHERE id = ?", to_sender
                )
                await db.execute("DELETE FROM followers WHERE duplicate_id = ?", (item_id,))
                # A random tag (NOT NULL is required of anonymous rows) that matches nobody.
                await db.execute(
                    "UPDATE submissions SET reply_route = NULL, owner_tag = ? WHERE id = ?",
                    (new_row_id(), item_id),
                )
        self._own.clear()
        self.note_sensitive_deletion()
        return len(candidates)
