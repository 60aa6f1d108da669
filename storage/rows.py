"""Rows to records (SQLite rows into :mod:`bot.core.records` models), stored time stamps, and the
stored forms of residents' data (random row ids, a draft's sealed text)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.core.records import (
    EXCERPT_CHARS,
    Attachment,
    Sender,
    Submission,
    SubmissionSummary,
    TopicEvidence,
)
from bot.core.workflow import Kind, Status


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def parse_dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def evidence_json(evidence: Iterable[TopicEvidence]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in evidence], ensure_ascii=False)


def attachment_record(row: aiosqlite.Row) -> Attachment:
    return Attachment(
        type=row["type"],
        file_id=row["file_id"],
        file_unique_id=row["file_unique_id"],
        file_name=row["file_name"],
        mime_type=row["mime_type"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        file_size=row["file_size"],
    )


def submission_record(row: aiosqlite.Row, attachments: list[Attachment]) -> Submission:
    sender = None
    if not row["anonymous"] and row["sender_user_id"] is not None:
        sender = Sender(
            user_id=row["sender_user_id"],
            chat_id=row["sender_chat_id"],
            name=row["sender_name"] or "",
            username=row["sender_username"],
        )
    return Submission(
        id=row["id"],
        kind=Kind(row["kind"]),
        text=row["text"],
        topic_id=row["topic_id"],
        suggested_topic_id=row["suggested_topic_id"],
        evidence=tuple(TopicEvidence.model_validate(e) for e in json.loads(row["evidence"])),
        anonymous=bool(row["anonymous"]),
        sender=sender,
        language=row["language"],
        status=Status(row["status"]),
        created_at=parse_dt(row["created_at"]),
        updated_at=parse_dt(row["updated_at"]),
        attachments=tuple(attachments),
        reply_route=row["reply_route"],
        owner=row["owner"],
        deadline=_optional_dt(row["deadline"]),
        duplicate_of=row["duplicate_of"],
        response=row["response"],
        responded_at=_optional_dt(row["responded_at"]),
        rating=row["rating"],
        rating_round=row["rating_round"],
        published_at=_optional_dt(row["published_at"]),
        channel_message_id=row["channel_message_id"],
        place_id=row["place_id"],
        phase_id=row["phase_id"],
        unit_id=row["unit_id"],
        dispatched_at=_optional_dt(row["dispatched_at"]),
        sign_due=_optional_dt(row["sign_due"]),
        signed_at=_optional_dt(row["signed_at"]),
        unit_done_at=_optional_dt(row["unit_done_at"]),
        done_at=_optional_dt(row["done_at"]),
        unit_answer=row["unit_answer"],
        requested_deadline=_optional_dt(row["requested_deadline"]),
        judged_deadline=_optional_dt(row["judged_deadline"]),
        dispatch_note=row["dispatch_note"],
        reopen_count=row["reopen_count"],
        sender_told_unit=bool(row["sender_told_unit"]),
        source=row["source"],
        support=row["support"],
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        claimed_by=row["claimed_by"],
        claimed_name=row["claimed_name"],
        claimed_until=_optional_dt(row["claimed_until"]),
        public_text=row["public_text"],
        public_unmasked=bool(row["public_unmasked"]),
    )


def _optional_dt(text: str | None) -> datetime | None:
    return None if text is None else parse_dt(text)


# The columns summary_record reads: the text's start only (EXCERPT_CHARS + 1, to know
# whether a list line cuts it).
SUMMARY_COLUMNS = (
    "id, kind, topic_id, status, created_at, deadline, owner, place_id, unit_id, sign_due,"
    f" reopen_count, support, substr(text, 1, {EXCERPT_CHARS + 1}) AS excerpt"
)


def summary_record(row: aiosqlite.Row) -> SubmissionSummary:
    return SubmissionSummary(
        id=row["id"],
        kind=Kind(row["kind"]),
        topic_id=row["topic_id"],
        status=Status(row["status"]),
        created_at=parse_dt(row["created_at"]),
        deadline=_optional_dt(row["deadline"]),
        excerpt=row["excerpt"],
        owner=row["owner"],
        place_id=row["place_id"],
        unit_id=_column(row, "unit_id"),
        sign_due=_optional_dt(_column(row, "sign_due")),
        reopen_count=_column(row, "reopen_count") or 0,
        support=_column(row, "support") or 0,
    )


def _column(row: aiosqlite.Row, name: str) -> Any:
    """A column the query may not have selected (summaries come from several queries)."""
    return row[name] if name in row.keys() else None  # noqa: SIM118 (Row: in = values)


# A draft is sealed as "<owner's draft pseudonym><separator><the Draft's JSON>".
DRAFT_SEPARATOR = "\n"


def new_row_id() -> str:
    """A random row id (drafts, conversations): never the same for two rows of one person."""
    return secrets.token_hex(16)


def seal_draft(owner: str, body: str) -> str:
    """The plain text sealed into a draft's row (JSON has no raw newline in it)."""
    return f"{owner}{DRAFT_SEPARATOR}{body}"
