"""The reports' queries: digest figures, statistics, ledger rows, and the record of which
scheduled digests were sent (so none is sent twice or skipped)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

import aiosqlite

from bot.core.records import DONE_STATUSES, Outgoing, Rating, overdue_days
from bot.core.reports import LISTED, DigestData, LedgerRow, OverdueItem, Stats
from bot.core.workflow import Kind, Status
from storage.base import RepositoryBase
from storage.desk import QueueFilter, filter_clauses
from storage.outbox import enqueue
from storage.rows import iso, parse_dt

LEDGER_BATCH = 500
# Items created in [?, ?) by kind, status, topic and anonymity: from the items, and for
# whole UTC days [?, ?) from the counters (0007).
_ITEM_GROUPS = (
    "SELECT kind, status, topic_id, anonymous, COUNT(*) AS n FROM submissions"
    " WHERE created_at >= ? AND created_at < ? GROUP BY kind, status, topic_id, anonymous"
)
_COUNTED_GROUPS = (
    "SELECT kind, status, topic_id, anonymous, SUM(n) AS n FROM daily_counts"
    " WHERE day >= ? AND day < ? GROUP BY kind, status, topic_id, anonymous"
)
# The same by place, phase and kind ('' for none), the counters of 0015.
_ITEM_PLACES = (
    "SELECT COALESCE(place_id, '') AS place_id, COALESCE(phase_id, '') AS phase_id, kind,"
    " COUNT(*) AS n FROM submissions WHERE created_at >= ? AND created_at < ?"
    " GROUP BY 1, 2, 3"
)
_COUNTED_PLACES = (
    "SELECT place_id, phase_id, kind, SUM(n) AS n FROM daily_place_counts"
    " WHERE day >= ? AND day < ? GROUP BY place_id, phase_id, kind"
)


class PlaceCount(NamedTuple):
    """Items of one place, phase and kind (None: not said, outside the phases)."""

    place_id: str | None
    phase_id: str | None
    kind: Kind
    n: int


class ReportQueries(RepositoryBase):
    """Queries of the reports (mixed into :class:`storage.repository.Repository`)."""

    async def digest_data(self, *, since: datetime, until: datetime) -> DigestData:
        window = (iso(since), iso(until))
        new = await self._fetchall(
            "SELECT kind, topic_id, COUNT(*) AS n FROM submissions"
            " WHERE created_at >= ? AND created_at < ? GROUP BY kind, topic_id",
            window,
        )
        by_kind: Counter[Kind] = Counter()
        by_topic: Counter[str] = Counter()
        for r in new:
            by_kind[Kind(r["kind"])] += r["n"]
            by_topic[r["topic_id"]] += r["n"]
        review = await self._fetchone("SELECT COUNT(*) AS n FROM submissions WHERE status = 'new'")
        forwarded = await self._fetchall(
            "SELECT id FROM submissions WHERE status = 'forwarded' ORDER BY id LIMIT ?",
            (LISTED + 1,),
        )
        forwarded_count = await self._fetchone(
            "SELECT COUNT(*) AS n FROM submissions WHERE status = 'forwarded'"
        )
        overdue_rows = await self._fetchall(
            # Without statistics SQLite may prefer the status index (half of all items).
            "SELECT id, owner, unit_id, deadline, status FROM submissions"  # noqa: S608
            " INDEXED BY ix_submissions_open_deadline"
            f" WHERE deadline IS NOT NULL AND deadline < ? AND status IN {_OPEN}"
            " ORDER BY deadline",
            (iso(until),),
        )
        overdue = [
            OverdueItem(
                id=r["id"],
                owner=r["owner"],
                unit_id=r["unit_id"],
                days=overdue_days(parse_dt(r["deadline"]), Status(r["status"]), until),
            )
            for r in overdue_rows
        ]
        unsigned = await self._fetchall(
            "SELECT id FROM submissions WHERE status = 'dispatched' AND sign_due < ?"
            " ORDER BY id LIMIT ?",
            (iso(until), LISTED + 1),
        )
        loop_counts = await self._fetchone(
            "SELECT SUM(status = 'dispatched' AND sign_due < ?) AS unsigned,"
            " SUM(status = 'returned') AS returned,"
            " SUM(status = 'extension_requested') AS extensions,"
            " SUM(status = 'done_pending') AS checks FROM submissions"
            " WHERE status IN ('dispatched', 'returned', 'extension_requested', 'done_pending')",
            (iso(until),),
        )
        loop = {k: (loop_counts[k] or 0) if loop_counts else 0 for k in _LOOP_COUNTS}
        published = await self._fetchone(
            "SELECT COUNT(*) AS n FROM submissions WHERE published_at >= ? AND published_at < ?",
            window,
        )
        week = await self._fetchall(
            "SELECT topic_id, COUNT(*) AS n FROM submissions WHERE created_at >= ?"
            " AND created_at < ? GROUP BY topic_id ORDER BY n DESC, topic_id LIMIT 5",
            (iso(until - timedelta(days=7)), iso(until)),
        )
        places_week = await self.place_counts(start=until - timedelta(days=7), end=until)
        return DigestData(
            since=since,
            until=until,
            new_by_kind=dict(by_kind),
            new_by_topic=dict(by_topic),
            awaiting_review=review["n"] if review else 0,
            forwarded=[r["id"] for r in forwarded],
            forwarded_count=forwarded_count["n"] if forwarded_count else 0,
            overdue=[o for o in overdue if o.days > 0],
            published=published["n"] if published else 0,
            satisfaction=await self._ratings(),
            unrated=await self._unrated(),
            top_topics_week=[(r["topic_id"], r["n"]) for r in week],
            active_places=sorted({c.place_id for c in places_week if c.place_id and c.n > 0}),
            unsigned=[r["id"] for r in unsigned],
            unsigned_count=loop["unsigned"],
            returned=loop["returned"],
            extensions=loop["extensions"],
            checks=loop["checks"],
        )

    async def _unrated(self) -> int:
        """Items whose latest answer nobody rated in time (closed as 未评价, #18)."""
        row = await self._fetchone(
            "SELECT COUNT(*) AS n FROM ratings r JOIN submissions s ON s.id = r.submission_id"
            " AND r.round = s.rating_round WHERE r.rating = 'unrated'"
        )
        return row["n"] if row else 0

    async def _ratings(self, window: tuple[str, str] | None = None) -> dict[Rating, int]:
        if window is None:
            rows = await self._fetchall(
                "SELECT rating, COUNT(*) AS n FROM submissions WHERE rating IS NOT NULL"
                " GROUP BY rating"
            )
        else:
            rows = await self._fetchall(
                "SELECT rating, COUNT(*) AS n FROM submissions WHERE rating IS NOT NULL"
                " AND created_at >= ? AND created_at < ? GROUP BY rating",
                window,
            )
        return {r["rating"]: r["n"] for r in rows}

    async def _counted(
        self, start: datetime, end: datetime, *, counters: str, items: str
    ) -> list[aiosqlite.Row]:
        """Groups of items created in [start, end): whole UTC days from the ``counters``
        query (over days), the partial days at both ends from the ``items`` query (over
        instants). The caller adds up the groups that come back more than once."""
        first_day = start.astimezone(UTC).date()
        if datetime.combine(first_day, time(), tzinfo=UTC) < start:
            first_day += timedelta(days=1)
        last_day = end.astimezone(UTC).date()  # whole days are [first_day, last_day)
        if last_day <= first_day:
            return await self._fetchall(items, (iso(start), iso(end)))
        head_end = datetime.combine(first_day, time(), tzinfo=UTC)
        tail_start = datetime.combine(last_day, time(), tzinfo=UTC)
        rows = await self._fetchall(counters, (first_day.isoformat(), last_day.isoformat()))
        rows += await self._fetchall(items, (iso(start), iso(head_end)))
        rows += await self._fetchall(items, (iso(tail_start), iso(end)))
        return rows

    async def _group_counts(self, start: datetime, end: datetime) -> list[aiosqlite.Row]:
        """Items created in [start, end) by kind, status, topic and anonymity."""
        return await self._counted(start, end, counters=_COUNTED_GROUPS, items=_ITEM_GROUPS)

    async def place_counts(self, *, start: datetime, end: datetime) -> list[PlaceCount]:
        """Items created in [start, end) by place, phase and kind."""
        rows = await self._counted(start, end, counters=_COUNTED_PLACES, items=_ITEM_PLACES)
        totals: Counter[tuple[str, str, str]] = Counter()
        for r in rows:
            totals[(r["place_id"], r["phase_id"], r["kind"])] += r["n"]
        return [
            PlaceCount(place or None, phase or None, Kind(kind), n)
            for (place, phase, kind), n in sorted(totals.items())
            if n
        ]

    async def stats(self, *, start: datetime, end: datetime) -> Stats:
        window = (iso(start), iso(end))
        groups = await self._group_counts(start, end)
        by_kind: Counter[Kind] = Counter()
        by_status: Counter[Status] = Counter()
        by_topic: Counter[str] = Counter()
        anonymous = 0
        for r in groups:
            by_kind[Kind(r["kind"])] += r["n"]
            by_status[Status(r["status"])] += r["n"]
            by_topic[r["topic_id"]] += r["n"]
            anonymous += r["n"] if r["anonymous"] else 0
        responded = await self._fetchone(
            "SELECT COUNT(*) AS n FROM submissions WHERE created_at >= ? AND created_at < ?"
            " AND first_response_at IS NOT NULL",
            window,
        )
        median = None
        count = responded["n"] if responded else 0
        if count:
            middle = await self._fetchone(
                "SELECT (julianday(first_response_at) - julianday(created_at)) * 24 AS hours"
                " FROM submissions WHERE created_at >= ? AND created_at < ?"
                " AND first_response_at IS NOT NULL ORDER BY hours LIMIT 1 OFFSET ?",
                (*window, (count - 1) // 2),
            )
            median = float(middle["hours"]) if middle else None
        timely = await self._fetchone(
            "SELECT COUNT(*) AS n, SUM(responded_at <= deadline) AS ok FROM submissions"
            " WHERE created_at >= ? AND created_at < ? AND deadline IS NOT NULL"
            " AND responded_at IS NOT NULL",
            window,
        )
        by_place: Counter[str] = Counter()
        by_phase: Counter[str] = Counter()
        for count in await self.place_counts(start=start, end=end):
            by_place[count.place_id or ""] += count.n
            by_phase[count.phase_id or ""] += count.n
        return Stats(
            start=start,
            end=end,
            total=sum(by_kind.values()),
            by_place=dict(by_place),
            by_phase=dict(by_phase),
            by_kind=dict(by_kind),
            by_status=dict(by_status),
            by_topic=dict(by_topic),
            anonymous=anonymous,
            median_first_response_hours=median,
            answered_with_deadline=timely["n"] if timely else 0,
            answered_in_time=(timely["ok"] or 0) if timely else 0,
            satisfaction=await self._ratings(window),
        )

    async def daily_topic_counts(
        self, *, start: datetime, end: datetime, utc_offset_minutes: int
    ) -> list[tuple[str, str, int]]:
        """(local day, topic id, items) for items created in [start, end)."""
        rows = await self._fetchall(
            "SELECT date(created_at, ? || ' minutes') AS day, topic_id, COUNT(*) AS n"
            " FROM submissions WHERE created_at >= ? AND created_at < ?"
            " GROUP BY day, topic_id ORDER BY day, topic_id",
            (f"{utc_offset_minutes:+d}", iso(start), iso(end)),
        )
        return [(r["day"], r["topic_id"], r["n"]) for r in rows]

    async def funnel(self, *, start: datetime, end: datetime) -> dict[Status, int]:
        """How many items created in [start, end) ever reached each status."""
        rows = await self._fetchall(
            "SELECT h.to_status AS status, COUNT(DISTINCT h.submission_id) AS n"
            " FROM history h JOIN submissions s ON s.id = h.submission_id"
            " WHERE s.created_at >= ? AND s.created_at < ? GROUP BY h.to_status",
            (iso(start), iso(end)),
        )
        return {Status(r["status"]): r["n"] for r in rows}

    async def ledger(
        self,
        *,
        start: datetime,
        end: datetime,
        now: datetime,
        only: QueueFilter | None = None,
    ) -> AsyncIterator[LedgerRow]:
        """The ledger lines of items created in [start, end), oldest first, in batches;
        ``only``: just the items that match a filter of the desk's queue (status, kind,
        topic, named or anonymous, overdue, words; its sort plays no part)."""
        clauses, params = filter_clauses(replace(only, sort="new"), now) if only else ([], [])
        # Only fixed fragments are joined into the SQL; values are bound parameters.
        sql = (
            "SELECT s.*, (SELECT body FROM events e WHERE e.submission_id = s.id"  # noqa: S608
            " AND e.kind = 'instruction' ORDER BY e.id DESC LIMIT 1) AS instruction,"
            " (SELECT group_concat(h.step || '|' || h.note, char(10)) FROM history h"
            " WHERE h.submission_id = s.id AND h.step IN"
            " ('approve_extension', 'refuse_extension')) AS extensions,"
            " (SELECT group_concat(r.rating || '|' || COALESCE(r.reason, '') || '|'"
            " || replace(COALESCE(r.text, ''), char(10), ' '), char(10)) FROM"
            " (SELECT * FROM ratings r WHERE r.submission_id = s.id ORDER BY r.round) r)"
            " AS rounds"
            " FROM submissions s WHERE s.created_at >= ? AND s.created_at < ? AND s.id > ?"
            f"{''.join(f' AND {clause}' for clause in clauses)} ORDER BY s.id LIMIT ?"
        )
        last = 0
        while True:
            rows = await self._fetchall(sql, (iso(start), iso(end), last, *params, LEDGER_BATCH))
            if not rows:
                return
            for r in rows:
                deadline = parse_dt(r["deadline"]) if r["deadline"] else None
                status = Status(r["status"])
                instruction = r["instruction"]
                yield LedgerRow(
                    id=r["id"],
                    created_at=parse_dt(r["created_at"]),
                    kind=Kind(r["kind"]),
                    topic_id=r["topic_id"],
                    text=r["text"],
                    sender_name=None
                    if r["anonymous"]
                    else (r["sender_name"] or r["contact_name"] or ""),
                    status=status,
                    owner=r["owner"],
                    deadline=deadline,
                    overdue_days=overdue_days(deadline, status, now),
                    instruction=instruction.partition("|")[2] if instruction else None,
                    response=r["response"],
                    published_at=parse_dt(r["published_at"]) if r["published_at"] else None,
                    rating=r["rating"],
                    place_id=r["place_id"],
                    phase_id=r["phase_id"],
                    unit_id=r["unit_id"],
                    dispatched_at=_when(r["dispatched_at"]),
                    signed_at=_when(r["signed_at"]),
                    done_at=_when(r["done_at"]),
                    extensions=_extensions(r["extensions"]),
                    reopen_count=r["reopen_count"],
                    rounds=_rounds(r["rounds"]),
                    source=r["source"],
                    support=r["support"],
                )
            last = rows[-1]["id"]

    # ------------------------------------------------------------------ scheduled digests
    async def first_submitted_at(self) -> datetime | None:
        """When the first item was submitted (None before any)."""
        row = await self._fetchone("SELECT MIN(created_at) AS first FROM submissions", ())
        return parse_dt(row["first"]) if row and row["first"] else None

    async def digest_sent(self, kind: str, period: str) -> bool:
        row = await self._fetchone(
            "SELECT 1 FROM digests WHERE kind = ? AND period = ?", (kind, period)
        )
        return row is not None

    async def last_digest_at(self, kind: str) -> datetime | None:
        row = await self._fetchone("SELECT MAX(sent_at) AS at FROM digests WHERE kind = ?", (kind,))
        return parse_dt(row["at"]) if row and row["at"] else None

    async def record_digest(self, kind: str, period: str, notices: Sequence[Outgoing]) -> bool:
        """Queue a scheduled digest once per period: False if it was already sent."""
        now = self.clock()
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO digests (kind, period, sent_at) VALUES (?, ?, ?)",
                (kind, period, iso(now)),
            )
            if cur.rowcount == 0:
                return False
            await enqueue(db, notices, submission_id=None, now=now)
        return True


# Every status in which an item is still open (its deadline runs).
_OPEN = "(" + ", ".join(f"'{s.value}'" for s in sorted(set(Status) - DONE_STATUSES)) + ")"
_LOOP_COUNTS = ("unsigned", "returned", "extensions", "checks")


def _when(text: str | None) -> datetime | None:
    return parse_dt(text) if text else None


def _extensions(text: str | None) -> tuple[tuple[str, bool], ...]:
    """The decided extensions of an item, from its history (step|date per line)."""
    if not text:
        return ()
    decided = (line.partition("|") for line in text.split("\n"))
    return tuple((when, step == "approve_extension") for step, _, when in decided)


def _rounds(text: str | None) -> tuple[tuple[str, str, str], ...]:
    """Each rating round of an item, in order: (rating, reason, the sender's words)."""
    if not text:
        return ()
    parts = (line.split("|", 2) for line in text.split("\n"))
    return tuple((p[0], p[1], p[2]) for p in parts if len(p) == 3)
