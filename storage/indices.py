"""The units' indices (#19) in one SQL pass: per unit, the counts every rate of
:mod:`bot.core.indices` is a ratio of, over the items whose current round was dispatched in
a period (read from the covering index of migration 0027)."""

from __future__ import annotations

from datetime import datetime

from bot.core.indices import Counts
from storage.base import RepositoryBase
from storage.rows import iso

# The items of the period, with what each rate needs: the deadline punctuality is judged by
# (migration 0036: an extension approved after the deadline does not move it), done (the
# office approved the unit's 办结 in this round), and the latest rated round's rating
# (未评价 apart: when the latest round went unrated, submissions.rating is NULL and the
# ratings table is read).
_ITEMS = (
    "SELECT unit_id, sign_due, signed_at, judged_deadline AS deadline, done_at, dispatched_at,"
    " reopen_count,"
    " done_at IS NOT NULL AND done_at >= dispatched_at AS done,"
    " COALESCE(rating, CASE WHEN rating_round > 1 THEN (SELECT r.rating FROM ratings r"
    "  WHERE r.submission_id = submissions.id AND r.rating != 'unrated'"
    "  ORDER BY r.round DESC LIMIT 1) END) AS rated"
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


class IndexQueries(RepositoryBase):
    """The units' indices (mixed into :class:`storage.repository.Repository`)."""

    async def unit_counts_in(
        self, *, start: datetime, end: datetime, now: datetime
    ) -> dict[str, Counts]:
        """Per unit id: the counts of its items dispatched in [start, end)."""
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
