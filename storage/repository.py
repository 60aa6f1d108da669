"""The repository: the one class through which the bot reads and writes SQLite.

Submissions and conversation states are here; residents' languages, drafts and ownership
are in :mod:`storage.residents`, the office's (review queue, search, events) in
:mod:`storage.office`, the outbox's in :mod:`storage.outbox` and the topic model's (labels,
the model) in :mod:`storage.labels`, mixed into the same class. One transaction per
user-visible action; callers acknowledge to the user only after the method returned, i.e.
after the commit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import aiosqlite

from bot.anonymity import Secrets
from bot.core.records import NewSubmission, Outgoing, Submission
from bot.core.workflow import Status
from storage.base import Clock, NotFound, RepositoryBase, add_attachments
from storage.clamps import ClampQueries
from storage.copies import CopyQueries
from storage.desk import DeskQueries
from storage.effects import EffectQueries
from storage.escalation import EscalationQueries
from storage.imports import ImportQueries
from storage.inbox import InboxQueries
from storage.indices import IndexQueries
from storage.keycheck import KeyCheckQueries
from storage.labels import SOURCE_WEIGHTS, LabelledExample, LabelQueries, add_label
from storage.leases import LeaseQueries
from storage.loop import LoopQueries
from storage.office import OfficeQueries
from storage.outbox import OutboxQueries, enqueue
from storage.questions import QuestionQueries
from storage.ratings import RatingQueries
from storage.reports import ReportQueries
from storage.residents import ResidentQueries
from storage.rows import evidence_json, iso, new_row_id, utc_now
from storage.space import SpaceQueries
from storage.survey import SurveyQueries
from storage.web import WebQueries
from storage.working import WorkingQueries

__all__ = ["Clock", "NotFound", "Repository", "utc_now"]


class Repository(
    QuestionQueries,
    ResidentQueries,
    OfficeQueries,
    LoopQueries,
    EscalationQueries,
    IndexQueries,
    RatingQueries,
    ReportQueries,
    OutboxQueries,
    CopyQueries,
    InboxQueries,
    EffectQueries,
    LabelQueries,
    DeskQueries,
    WebQueries,
    ClampQueries,
    SpaceQueries,
    KeyCheckQueries,
    SurveyQueries,
    ImportQueries,
    WorkingQueries,
    LeaseQueries,
    RepositoryBase,
):
    """All persistence of the bot. Create, ``await connect()``, use, ``await close()``.

    Several worker processes may share the database (#24): what a resident's update needs
    (their language, their draft, the open questions) is read from the tables, and the map
    of the drafts' owners kept in memory is only a hint checked against them (see
    :class:`storage.residents.ResidentQueries`)."""

    def __init__(
        self, path: Path | str, *, clock: Clock = utc_now, secrets: Secrets | None = None
    ) -> None:
        super().__init__(path, clock=clock, secrets=secrets)
        self._own = OrderedDict()

    async def connect(self) -> None:
        await super().connect()
        if self._drafts is None:
            await self.load_residents()

    async def close(self) -> None:
        await super().close()
        self.forget_residents()  # a reconnect reads them afresh

    # ------------------------------------------------------------------ submissions
    async def create_submission(
        self,
        new: NewSubmission,
        *,
        owner_id: int,
        announce: Callable[[Submission], Sequence[Outgoing]] | None = None,
    ) -> Submission:
        """Store a submission with its attachments and first history entry, and delete the
        draft it came from (the draft of ``owner_id``, the sender's Telegram id), in one
        transaction. Raises NotFound if the draft is already gone (a second press of
        "confirm"), so nothing is stored twice. An anonymous item keeps, instead of its
        sender, its own ownership tag (see :mod:`storage.residents`)."""
        draft_row = await self.draft_row(owner_id)
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM drafts WHERE id = ?", (draft_row,))
            if draft_row is None or cur.rowcount == 0:
                raise NotFound("draft")
            submission = await self._insert_submission(
                db, new, owner_id=owner_id, actor="sender", announce=announce
            )
        self.forget_draft(owner_id)
        self.note_sensitive_deletion()
        return submission

    async def enter_submission(
        self,
        new: NewSubmission,
        *,
        actor: str,
        announce: Callable[[Submission], Sequence[Outgoing]] | None = None,
    ) -> Submission:
        """Store an item the office entered on someone's behalf (bot.core.entering): no
        draft and no Telegram sender; its history begins with ``actor`` (the clerk). An
        anonymous one gets a random ownership tag, which nobody's pseudonym matches."""
        async with self.transaction() as db:
            return await self._insert_submission(
                db, new, owner_id=None, actor=actor, announce=announce
            )

    async def _insert_submission(
        self,
        db: aiosqlite.Connection,
        new: NewSubmission,
        *,
        owner_id: int | None,
        actor: str,
        announce: Callable[[Submission], Sequence[Outgoing]] | None,
    ) -> Submission:
        now = self.clock()
        now_s = iso(now)
        sender = new.sender
        anonymous = new.anonymous
        route = new.reply_route if sender is None else None
        cur = await db.execute(
            "INSERT INTO submissions (kind, text, topic_id, suggested_topic_id, evidence,"
            " anonymous, owner_tag, reply_route, sender_user_id, sender_chat_id, sender_name,"
            " sender_username, language, status, created_at, updated_at, source_update_id,"
            " place_id, phase_id, source, contact_name, contact_phone)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.kind.value,
                new.text,
                new.topic_id,
                new.suggested_topic_id,
                evidence_json(new.evidence),
                int(anonymous),
                # Anonymous: a placeholder until the tag (which needs the id) is set; an
                # entered one keeps it (random: nobody owns it).
                new_row_id() if anonymous else None,
                route,
                sender.user_id if sender else None,
                sender.chat_id if sender else None,
                sender.name if sender else None,
                sender.username if sender else None,
                new.language,
                Status.NEW.value,
                now_s,
                now_s,
                new.source_update_id,
                new.place_id,
                new.phase_id,
                new.source,
                None if anonymous else new.contact_name,
                None if anonymous else new.contact_phone,
            ),
        )
        submission_id = cur.lastrowid
        assert submission_id is not None
        if anonymous and owner_id is not None:
            await db.execute(
                "UPDATE submissions SET owner_tag = ? WHERE id = ?",
                (self.secrets.own_tag(owner_id, submission_id), submission_id),
            )
        await add_attachments(db, submission_id, new.attachments)
        await db.execute(
            "INSERT INTO history (submission_id, at, actor, from_status, to_status, note)"
            " VALUES (?, ?, ?, NULL, ?, NULL)",
            (submission_id, now_s, actor, Status.NEW.value),
        )
        if new.topic_id != new.suggested_topic_id and new.text.strip():
            # The sender chose another topic than proposed: a light label (only the
            # text and the topic; nothing about the sender).
            label = LabelledExample(new.text, new.topic_id, "resident", SOURCE_WEIGHTS["resident"])
            await add_label(db, label, now=now_s, submission_id=submission_id)
        submission = Submission(
            id=submission_id,
            kind=new.kind,
            text=new.text,
            topic_id=new.topic_id,
            suggested_topic_id=new.suggested_topic_id,
            evidence=new.evidence,
            anonymous=anonymous,
            sender=sender,
            language=new.language,
            status=Status.NEW,
            created_at=now,
            updated_at=now,
            attachments=new.attachments,
            reply_route=route,
            place_id=new.place_id,
            phase_id=new.phase_id,
            source=new.source,
            contact_name=None if anonymous else new.contact_name,
            contact_phone=None if anonymous else new.contact_phone,
        )
        if announce is not None:
            await enqueue(db, announce(submission), submission_id=submission_id, now=now)
        return submission

    # ------------------------------------------------------------------ conversations
    async def load_conversations(self, name: str) -> list[tuple[str, str, str]]:
        """(row id, encrypted key, JSON state) of every stored conversation of that handler."""
        rows = await self._fetchall(
            "SELECT id, key_enc, state FROM conversations WHERE name = ?", (name,)
        )
        return [(r["id"], r["key_enc"], r["state"]) for r in rows]

    async def save_conversation(
        self, name: str, row_id: str, key_enc: str, state_json: str | None
    ) -> None:
        """Store a conversation's state under its row id (random for each conversation:
        see :mod:`bot.transport.persistence`), or delete it (``state_json`` None)."""
        if state_json is None:
            await self._write("DELETE FROM conversations WHERE name = ? AND id = ?", (name, row_id))
            self.note_sensitive_deletion()
        else:
            await self._write(
                "INSERT INTO conversations (name, id, key_enc, state) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name, id) DO UPDATE SET state = excluded.state",
                (name, row_id, key_enc, state_json),
            )

    # ------------------------------------------------------------------ maintenance
    async def integrity_check(self) -> list[str]:
        if self.postgresql:  # the server checks its pages (data checksums); reachable is "ok"
            rows = await self._fetchall("SELECT 'ok'")
            return [str(r[0]) for r in rows]
        rows = await self._fetchall("PRAGMA integrity_check")
        return [str(r[0]) for r in rows]

    async def checkpoint(self) -> None:
        if self.postgresql:  # the server checkpoints on its own
            return
        async with self.reading() as db:
            await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
