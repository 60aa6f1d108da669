"""The units' indices (#19): per unit, the counts every rate of :mod:`bot.core.indices` is a
ratio of, over the items whose current round was dispatched in a period.

A period's whole UTC days are read from ``unit_days`` (migration 0036: per unit and day of
dispatch, the counts that do not depend on when they are read, kept by triggers), less what
depends on now: items still unsigned before their sign-for limit are not yet in 签收及时率's
base, items not done before their (judged) deadline not yet in 按时办结率's; both are read
from partial indexes of such items only. The part days at either end of the period are
counted from the items themselves, in one pass over the covering index of 0027/0036."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.indices import Counts
from storage.base import RepositoryBase
from storage.rows import iso

# The items of a stretch of the period with what each rate needs: the deadline punctuality
# is judged by (an extension approved after the deadline does not move it), done (the office
# approved the unit's 办结 in this round) and the latest rated round's rating, which
# submissions.rating holds (未评价 apart; migration 0036 keeps it so).
_ITEMS = (
    "SELECT unit_id, sign_due, signed_at, judged_deadline AS deadline, done_at, dispatched_at,"
    " reopen_count, rating AS rated,"
    " done_at IS NOT NULL AND done_at >= dispatched_at AS done"
    " FROM submissions INDEXED BY ix_submissions_unit_indices"
    " WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL"
    " AND dispatched_at >= ? AND dispatched_at < ?"
)
_COUNTS = (
    "SELECT unit_id, COUNT(*) AS items,"  # noqa: S608 (constants)
    " SUM(sign_due IS NOT NULL AND (signed_at IS NOT NULL OR sign_due < ?)) AS sign_base,"
    " SUM(signed_at IS NOT NULL AND signed_at <= sign_due) AS signed_in_time,"
    " SUM(done) AS done,"
    " SUM(deadline IS NOT NULL AND (done OR deadline < ?)) AS due_base,"
    " SUM(done AND deadline IS NOT NULL AND done_at <= deadline) AS done_in_time,"
    " SUM(done AND reopen_count = 0) AS solved,"
    " SUM(done AND reopen_count > 0) AS redone,"
    " SUM(CASE WHEN done THEN julianday(done_at) - julianday(dispatched_at) END) AS done_days,"
    " SUM(rated IS NOT NULL) AS rated,"
    " SUM(rated IN ('satisfied', 'basically')) AS satisfied"
    f" FROM ({_ITEMS}) AS period_items GROUP BY unit_id"
)
# Whole days: their sums, the sign-for base's and the deadline base's items not counted yet.
_DAYS = (
    "SELECT unit_id, SUM(items) AS items, SUM(sign_all) AS sign_base,"
    " SUM(signed_in_time) AS signed_in_time, SUM(done) AS done, SUM(due_all) AS due_base,"
    " SUM(done_in_time) AS done_in_time, SUM(solved) AS solved, SUM(redone) AS redone,"
    " SUM(done_ms) AS done_ms, SUM(rated) AS rated, SUM(satisfied) AS satisfied"
    " FROM unit_days WHERE day >= ? AND day < ? GROUP BY unit_id"
)
_NOT_YET_SIGN_DUE = (
    "SELECT unit_id, COUNT(*) AS n FROM submissions INDEXED BY ix_submissions_unsigned_due"
    " WHERE signed_at IS NULL AND sign_due IS NOT NULL AND unit_id IS NOT NULL"
    " AND dispatched_at IS NOT NULL AND sign_due >= ?"
    " AND dispatched_at >= ? AND dispatched_at < ? GROUP BY unit_id"
)
_NOT_YET_DUE = (
    "SELECT unit_id, COUNT(*) AS n FROM submissions INDEXED BY ix_submissions_undone_due"
    " WHERE (done_at IS NULL OR done_at < dispatched_at) AND judged_deadline IS NOT NULL"
    " AND unit_id IS NOT NULL AND dispatched_at IS NOT NULL AND judged_deadline >= ?"
    " AND dispatched_at >= ? AND dispatched_at < ? GROUP BY unit_id"
)
_MS_PER_DAY = 86_400_000


def whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The UTC midnights that bound the whole days within [start, end) (None: none)."""
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(days=1)
    last = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (first, last) if first < last else None


def _add(found: dict[str, Counts], more: Mapping[str, Counts]) -> None:
    for unit_id, counts in more.items():
        found[unit_id] = found.get(unit_id, Counts()) + counts


class IndexQueries(RepositoryBase):
    """The units' indices (mixed into :class:`storage.repository.Repository`)."""

    async def unit_counts_in(
        self, *, start: datetime, end: datetime, now: datetime
    ) -> dict[str, Counts]:
        """Per unit id: the counts of its items dispatched in [start, end)."""
        days = whole_days(start, end)
        if days is None:
            return await self.unit_counts_counted(start=start, end=end, now=now)
        first, last = days
        found = await self._days(first, last, now)
        for edge_start, edge_end in ((start, first), (last, end)):
            if edge_start < edge_end:
                _add(found, await self.unit_counts_counted(start=edge_start, end=edge_end, now=now))
        return found

    async def unit_counts_counted(
        self, *, start: datetime, end: datetime, now: datetime
    ) -> dict[str, Counts]:
        """The same counts from the items themselves (the part days of a period)."""
        # Plain placeholders, in the order they appear (PostgreSQL has no ?NNN): now twice,
        # then the period.
        params = (iso(now), iso(now), iso(start), iso(end))
        found: dict[str, Counts] = {}
        for r in await self._fetchall(_COUNTS, params):
            found[r["unit_id"]] = Counts(
                items=r["items"],
                sign_base=r["sign_base"] or 0,
                signed_in_time=r["signed_in_time"] or 0,
                done=r["done"] or 0,
                due_base=r["due_base"] or 0,
                done_in_time=r["done_in_time"] or 0,
                solved=r["solved"] or 0,
                redone=r["redone"] or 0,
                done_days=float(r["done_days"] or 0.0),
                rated=r["rated"] or 0,
                satisfied=r["satisfied"] or 0,
            )
        return found

    async def _days(self, first: datetime, last: datetime, now: datetime) -> dict[str, Counts]:
        """The whole days [first, last): their sums, less what is not due yet ``now``."""
        period = (iso(first), iso(last))
        found: dict[str, Counts] = {}
        for r in await self._fetchall(_DAYS, (first.date().isoformat(), last.date().isoformat())):
            found[r["unit_id"]] = Counts(
                items=int(r["items"]),
                sign_base=int(r["sign_base"]),
                signed_in_time=int(r["signed_in_time"]),
                done=int(r["done"]),
                due_base=int(r["due_base"]),
                done_in_time=int(r["done_in_time"]),
                solved=int(r["solved"]),
                redone=int(r["redone"]),
                done_days=int(r["done_ms"]) / _MS_PER_DAY,
                rated=int(r["rated"]),
                satisfied=int(r["satisfied"]),
            )
        for r in await self._fetchall(_NOT_YET_SIGN_DUE, (iso(now), *period)):
            counts = found.get(r["unit_id"], Counts())
            found[r["unit_id"]] = replace(counts, sign_base=counts.sign_base - int(r["n"]))
        for r in await self._fetchall(_NOT_YET_DUE, (iso(now), *period)):
            counts = found.get(r["unit_id"], Counts())
            found[r["unit_id"]] = replace(counts, due_base=counts.due_base - int(r["n"]))
        return {u: c for u, c in found.items() if c.items}
