"""The units' loop (#18): one method stores any step of it (派单, 签收, 退单, 延期, 办理进展,
办结, 审核, 重开) in one transaction: the status move checked by the state machine, the
step's columns, one history row naming the step, the unit's files, the notices and the
edits of the item's card copies; and the queries of a unit's tasks and of the units'
counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime

import aiosqlite

from bot.core.records import Attachment, Outgoing, Submission, SubmissionSummary, UnitFile
from bot.core.workflow import UNIT_STATUSES, Move, Status, advance
from storage.base import NotFound, RepositoryBase
from storage.copies import Renderer, refresh_in
from storage.effects import Replayed, claim_update
from storage.outbox import enqueue
from storage.rows import SUMMARY_COLUMNS, attachment_record, iso, summary_record

# The columns a step may set (values are always bound parameters).
STEP_COLUMNS = frozenset(
    {
        "unit_id",
        "owner",
        "deadline",
        "dispatched_at",
        "sign_due",
        "signed_at",
        "unit_done_at",
        "done_at",
        "unit_answer",
        "requested_deadline",
        "judged_deadline",
        "dispatch_note",
        "response",
        "responded_at",
        "sender_told_unit",
        "rating_round",
    }
)
_COUNTS = (
    "unit_id, COUNT(*) AS open, SUM(deadline IS NOT NULL AND deadline < ?) AS overdue,"
    " SUM(status = 'dispatched' AND sign_due IS NOT NULL AND sign_due < ?) AS unsigned"
)
_OPEN_UNIT = "(" + ", ".join(f"'{s.value}'" for s in sorted(UNIT_STATUSES)) + ")"


def _value(value: object) -> object:
    return iso(value) if isinstance(value, datetime) else value


class LoopQueries(RepositoryBase):
    """Queries of the units' loop (mixed into :class:`storage.repository.Repository`)."""

    async def loop_step(
        self,
        submission_id: int,
        step: Move | str,
        *,
        actor: str,
        note: str | None = None,
        columns: Mapping[str, object] | None = None,
        reopened: bool = False,
        files: Sequence[Attachment] = (),
        unit_id: str | None = None,
        notices: Sequence[Outgoing] = (),
        update_id: int | None = None,
        refresh: Renderer | None = None,
    ) -> Submission:
        """Store one step. ``step`` is a :class:`Move` (checked against the item's status,
        raising IllegalTransition) or a step that keeps the status (``"note"``)."""
        now = self.clock()
        with suppress(Replayed):
            async with self.transaction() as db:
                await claim_update(db, update_id, now)
                await self.step_in(
                    db,
                    submission_id,
                    step,
                    actor=actor,
                    note=note,
                    columns=columns,
                    reopened=reopened,
                    files=files,
                    unit_id=unit_id,
                    now=now,
                )
                await enqueue(db, notices, submission_id=submission_id, now=now)
                await refresh_in(db, submission_id, refresh, now)
        result = await self.get_submission(submission_id)
        assert result is not None
        return result

    @staticmethod
    async def step_in(
        db: aiosqlite.Connection,
        submission_id: int,
        step: Move | str,
        *,
        actor: str,
        note: str | None,
        columns: Mapping[str, object] | None = None,
        reopened: bool = False,
        files: Sequence[Attachment] = (),
        unit_id: str | None = None,
        now: datetime,
    ) -> Status:
        """Inside an open transaction: check and apply one step, with its history row and
        files; the status it leads to."""
        columns = dict(columns or {})
        unknown = set(columns) - STEP_COLUMNS
        if unknown:
            raise ValueError(f"not a step column: {sorted(unknown)}")
        async with db.execute(
            "SELECT status FROM submissions WHERE id = ?", (submission_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(submission_id)
        current = Status(row["status"])
        target = advance(current, step) if isinstance(step, Move) else current
        sets = ["status = ?", "updated_at = ?"] + [f"{c} = ?" for c in columns]
        params = [target.value, iso(now), *(_value(v) for v in columns.values())]
        if reopened:
            sets.append("reopen_count = reopen_count + 1")
        await db.execute(
            f"UPDATE submissions SET {', '.join(sets)} WHERE id = ?",  # noqa: S608
            (*params, submission_id),
        )
        await db.execute(
            "INSERT INTO history (submission_id, at, actor, from_status, to_status,"
            " note, step) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (submission_id, iso(now), actor, current.value, target.value, note, str(step)),
        )
        await db.executemany(
            "INSERT INTO unit_files (submission_id, unit_id, step, type, file_id,"
            " file_unique_id, file_name, mime_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    submission_id,
                    unit_id or "",
                    str(step),
                    a.type,
                    a.file_id,
                    a.file_unique_id,
                    a.file_name,
                    a.mime_type,
                )
                for a in files
            ],
        )
        return target

    async def unit_files(self, submission_id: int) -> list[UnitFile]:
        rows = await self._fetchall(
            "SELECT step, type, file_id, file_unique_id, file_name, mime_type,"
            " NULL AS latitude, NULL AS longitude, NULL AS file_size FROM unit_files"
            " WHERE submission_id = ? ORDER BY id",
            (submission_id,),
        )
        return [UnitFile(step=r["step"], attachment=attachment_record(r)) for r in rows]

    async def unit_tasks(self, unit_id: str, *, limit: int = 30) -> list[SubmissionSummary]:
        """The unit's open items, the oldest deadline first."""
        rows = await self._fetchall(
            f"SELECT {SUMMARY_COLUMNS} FROM submissions"  # noqa: S608
            f" WHERE unit_id = ? AND status IN {_OPEN_UNIT}"
            " ORDER BY deadline IS NULL, deadline, id LIMIT ?",
            (unit_id, limit),
        )
        return [summary_record(r) for r in rows]

    async def unit_counts(self, now: datetime) -> dict[str, tuple[int, int, int]]:
        """Per unit id: (open, overdue, unsigned) items."""
        stamp = iso(now)
        rows = await self._fetchall(
            f"SELECT {_COUNTS} FROM submissions WHERE unit_id IS NOT NULL"  # noqa: S608
            f" AND status IN {_OPEN_UNIT} GROUP BY unit_id",
            (stamp, stamp),
        )
        return {r["unit_id"]: (r["open"], r["overdue"] or 0, r["unsigned"] or 0) for r in rows}
