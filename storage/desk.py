"""The web desk's queue query: filters, Chinese full-text search, sorting and keyset paging
that stays fast at a million items (no OFFSET: a page starts after the last row of the
previous one, on indexed columns)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.core.records import DONE_STATUSES
from bot.core.workflow import Kind, Status
from storage.base import MAX_SQLITE_INT, RepositoryBase
from storage.office import place_clause, text_clauses
from storage.rows import iso, parse_dt

Sort = Literal["new", "old", "deadline"]
SORTS: tuple[Sort, ...] = ("new", "old", "deadline")
# Counting stops here ("10000+"): an exact count over a million rows costs more than the page.
COUNT_CAP = 10_000
# The queue shows the start of each text; the rest is never read for it.
TEXT_HEAD_CHARS = 160
# A one- or two-character term (common in Chinese: 路灯, 噪音) has no index: the trigram
# index needs three. Such a search reads at most this many items (in the page's order,
# after its cursor) per page; when the page is not full by then, it says how far it read
# and its "next" link reads on from there. Each page therefore costs a bounded time at any
# size, where an unbounded scan for a rare word read every text of the store.
SCAN_WINDOW = 20_000
_OPEN = tuple(s.value for s in Status if s not in DONE_STATUSES)


@dataclass(frozen=True)
class QueueFilter:
    """What the clerk asked for. Empty fields do not filter."""

    statuses: tuple[Status, ...] = ()
    kind: Kind | None = None
    topic_id: str | None = None
    anonymous: bool | None = None  # True: only 匿名, False: only named
    overdue: bool = False  # past the deadline and still open
    created_from: datetime | None = None  # inclusive
    created_until: datetime | None = None  # exclusive
    terms: tuple[str, ...] = ()  # every term must occur in the text
    place_ids: tuple[str, ...] = ()  # any of these places (a place and those under it)
    sort: Sort = "new"
    # A unit member's queue (#18) is restricted to their unit; the desk passes its id. The
    # office's unit filter is the same field.
    unit_id: str | None = None
    # Dispatched and not signed for (未签收) within the sign-for limit.
    unsigned: bool = False


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or, going back, before) this row in the sort order:
    its sort key as stored (created_at, or deadline) and its id (ties)."""

    id: int
    key: str
    backwards: bool = False

    def encode(self) -> str:
        return f"{'b' if self.backwards else 'a'}{self.id}~{self.key}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """A cursor from a URL, or None when it is not one (never an exception)."""
        if len(text) < 4 or text[0] not in "ab" or len(text) > 80:
            return None
        number, _, key = text[1:].partition("~")
        if not number.isascii() or not number.isdigit() or len(number) > 19:
            return None
        value = int(number)
        if not 0 < value <= MAX_SQLITE_INT:
            return None
        try:
            parse_dt(key)
        except ValueError:
            return None
        return cls(id=value, key=key, backwards=text[0] == "b")


@dataclass(frozen=True)
class QueueRow:
    id: int
    kind: Kind
    topic_id: str
    status: Status
    created_at: datetime
    deadline: datetime | None
    anonymous: bool
    text_head: str  # the first TEXT_HEAD_CHARS characters (not escaped)
    place_id: str | None = None
    unit_id: str | None = None
    sign_due: datetime | None = None
    sort_key: str = field(default="", repr=False)  # the sort column as stored


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    count: int | None  # matching items, at most COUNT_CAP + 1; None: not counted
    next: Cursor | None
    previous: Cursor | None
    # A short-term search that stopped reading (SCAN_WINDOW) before the page was full: the
    # sort key it read to (the next link reads on from there).
    scanned_to: datetime | None = None

    @property
    def count_capped(self) -> bool:
        return self.count is not None and self.count > COUNT_CAP


def filter_clauses(query: QueueFilter, now: datetime) -> tuple[list[str], list[object]]:
    """The WHERE clauses of a filter on ``submissions`` (fixed SQL fragments; every value
    is a parameter): the queue's, and the ledger's when it is downloaded from the desk."""
    clauses: list[str] = []
    params: list[object] = []
    if query.statuses:
        clauses.append(f"status IN ({', '.join('?' for _ in query.statuses)})")
        params += [s.value for s in query.statuses]
    if query.kind is not None:
        clauses.append("kind = ?")
        params.append(query.kind.value)
    if query.topic_id is not None:
        clauses.append("topic_id = ?")
        params.append(query.topic_id)
    if query.place_ids:
        clauses.append(place_clause(len(query.place_ids)))
        params += query.place_ids
    if query.anonymous is not None:
        clauses.append("anonymous = ?")
        params.append(int(query.anonymous))
    if query.overdue:
        clauses.append(
            f"deadline IS NOT NULL AND deadline < ? AND status IN ({', '.join('?' for _ in _OPEN)})"
        )
        params += [iso(now), *_OPEN]
    if query.created_from is not None:
        clauses.append("created_at >= ?")
        params.append(iso(query.created_from))
    if query.created_until is not None:
        clauses.append("created_at < ?")
        params.append(iso(query.created_until))
    if query.sort == "deadline":
        clauses.append("deadline IS NOT NULL")
    if query.unit_id is not None:
        # A unit member's queue (#18): the items dispatched to their unit.
        clauses.append("unit_id = ?")
        params.append(query.unit_id)
    if query.unsigned:
        # As Submission.unsigned: dispatched, past the sign-for limit (status's own index).
        clauses.append("status = 'dispatched' AND sign_due IS NOT NULL AND sign_due < ?")
        params.append(iso(now))
    text, text_params = text_clauses(query.terms)
    return clauses + text, params + text_params


def short_terms(query: QueueFilter) -> bool:
    """Whether a term of the search has no index (fewer than three characters)."""
    return any(len(term) < 3 for term in query.terms)


def _index(query: QueueFilter) -> str:
    """The index hint of a page in arrival order (SQLite has no statistics to choose by, and
    without them prefers an equality index and sorts every match, which at a million
    items costs a second). One status or one topic: their own (x, created_at) index,
    which SQLite picks itself. Overdue items by deadline: the open-deadline index. Searches
    and other deadline orders: SQLite's choice. Anything else: the covering created_at
    index, read in order and filtered without row reads."""
    if query.overdue and query.sort == "deadline" and not query.terms:
        return " INDEXED BY ix_submissions_open_deadline"  # (deadline, status): covering
    if query.sort == "deadline" or query.terms or query.overdue:
        return ""
    if query.unsigned:
        return " INDEXED BY ix_submissions_status_created"  # (status, created_at), 0011
    if query.unit_id is not None:
        return " INDEXED BY ix_submissions_unit_created"  # (unit_id, created_at), 0028
    if len(query.statuses) == 1 or query.topic_id is not None or query.place_ids:
        return ""  # (a place: its own (place_id, created_at) index, 0015)
    return " INDEXED BY ix_submissions_created_groups"


def _column(query: QueueFilter) -> str:
    """The sort column: arrival (created_at, whose index also holds kind, status, topic and
    anonymity, so filters on those read no rows) or the deadline."""
    return "deadline" if query.sort == "deadline" else "created_at"


def _ascending(query: QueueFilter, backwards: bool) -> bool:
    ascending = query.sort in ("old", "deadline")
    return not ascending if backwards else ascending


def _order(query: QueueFilter, backwards: bool) -> str:
    direction = "ASC" if _ascending(query, backwards) else "DESC"
    return f"ORDER BY {_column(query)} {direction}, id {direction}"


def _after(query: QueueFilter, cursor: Cursor) -> tuple[str, list[object]]:
    """The keyset condition: rows after the cursor in the direction of travel."""
    op = ">" if _ascending(query, cursor.backwards) else "<"
    column = _column(query)
    return (
        f"({column} {op} ? OR ({column} = ? AND id {op} ?))",
        [cursor.key, cursor.key, cursor.id],
    )


class DeskQueries(RepositoryBase):
    """The web desk's queries (mixed into :class:`storage.repository.Repository`)."""

    async def queue_page(
        self,
        query: QueueFilter,
        *,
        cursor: Cursor | None = None,
        limit: int = 50,
        now: datetime | None = None,
    ) -> QueuePage:
        """One page of the queue: at most ``limit`` rows after (or before) ``cursor``."""
        now = now or self.clock()
        clauses, params = filter_clauses(query, now)
        where = " AND ".join(clauses) or "1 = 1"
        page_clauses, page_params = list(clauses), list(params)
        if cursor is not None:
            condition, values = _after(query, cursor)
            page_clauses.append(condition)
            page_params += values
        backwards = cursor is not None and cursor.backwards
        # Only fixed fragments are joined into the SQL; values are bound parameters.
        sql = (
            "SELECT id, kind, topic_id, status, created_at, deadline, anonymous, place_id,"  # noqa: S608
            " unit_id, sign_due,"
            f" substr(text, 1, {TEXT_HEAD_CHARS}) AS head FROM submissions{_index(query)}"
            f" WHERE {' AND '.join(page_clauses) or '1 = 1'} {_order(query, backwards)} LIMIT ?"
        )
        window_end: Cursor | None = None
        if short_terms(query):
            # Bounded: the matches among the next SCAN_WINDOW items of the order (without
            # the text terms: the index's order), and where that window ends.
            base, base_params = filter_clauses(replace(query, terms=()), now)
            if cursor is not None:
                base.append(condition)
                base_params += values
            window = (
                f"SELECT id FROM submissions{_index(replace(query, terms=()))}"  # noqa: S608
                f" WHERE {' AND '.join(base) or '1 = 1'} {_order(query, backwards)} LIMIT ?"
            )
            sql = sql.replace(" WHERE ", f" WHERE id IN ({window}) AND ", 1)
            page_params = [*base_params, SCAN_WINDOW, *page_params]
            end = await self._fetchone(
                f"SELECT id, {_column(query)} AS sort_key FROM submissions"  # noqa: S608
                f"{_index(replace(query, terms=()))} WHERE {' AND '.join(base) or '1 = 1'}"
                f" {_order(query, backwards)} LIMIT 1 OFFSET ?",
                (*base_params, SCAN_WINDOW - 1),
            )
            if end is not None:
                window_end = Cursor(end["id"], end["sort_key"], backwards=backwards)
        rows = await self._fetchall(sql, (*page_params, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        items = [
            QueueRow(
                id=r["id"],
                kind=Kind(r["kind"]),
                topic_id=r["topic_id"],
                status=Status(r["status"]),
                created_at=parse_dt(r["created_at"]),
                deadline=parse_dt(r["deadline"]) if r["deadline"] else None,
                anonymous=bool(r["anonymous"]),
                text_head=r["head"],
                place_id=r["place_id"],
                unit_id=r["unit_id"],
                sign_due=parse_dt(r["sign_due"]) if r["sign_due"] else None,
                sort_key=r[_column(query)],
            )
            for r in rows
        ]
        count: int | None = None
        if not (more or cursor is not None or window_end is not None):
            count = len(items)  # the whole result is on this page
        elif not short_terms(query):
            # A one- or two-character term has no index (LIKE reads every text): such a
            # search is not counted beyond its page.
            counted = await self._fetchone(
                f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM submissions{_index(query)}"  # noqa: S608
                f" WHERE {where} LIMIT ?) AS capped",
                (*params, COUNT_CAP + 1),
            )
            count = int(counted["n"]) if counted else 0
        has_next = more if not backwards else cursor is not None
        has_previous = (cursor is not None) if not backwards else more
        first, last = (items[0], items[-1]) if items else (None, None)
        following = Cursor(last.id, last.sort_key) if has_next and last else None
        preceding = (
            Cursor(first.id, first.sort_key, backwards=True) if has_previous and first else None
        )
        scanned_to = None
        if window_end is not None and not more:
            # The window ended before the page filled: read on from its end.
            scanned_to = parse_dt(window_end.key)
            if backwards:
                preceding = window_end
            else:
                following = Cursor(window_end.id, window_end.key)
        return QueuePage(
            rows=items, count=count, next=following, previous=preceding, scanned_to=scanned_to
        )


def first_line(text: str, limit: int = 80) -> str:
    """The first non-empty line of a text, at most ``limit`` characters."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


__all__: Sequence[str] = (
    "COUNT_CAP",
    "SORTS",
    "Cursor",
    "DeskQueries",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "filter_clauses",
    "first_line",
)
