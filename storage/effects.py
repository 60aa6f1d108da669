"""Effects keyed by the update that caused them, so a replayed update changes nothing.

After a crash the durable inbox replays every update whose handled mark was not written,
including some whose effects were already committed. Each action an update causes (a
rating, a sender's answer, the leading group's instruction, an admin's button or reply)
calls :func:`claim_update` first inside its own transaction: the first time it inserts the
update id and the effect goes ahead; on a replay the id is there and :class:`Replayed` rolls
the transaction back, so the effect (and the notices it would queue) is skipped and the
caller just acknowledges again. One effect transaction per update; callers that are not
updates (the CLI, a future web form) pass None.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.base import RepositoryBase
from storage.rows import iso


class Replayed(Exception):
    """The update's effect is already in the database (raised inside the transaction)."""


async def claim_update(db: aiosqlite.Connection, update_id: int | None, now: datetime) -> None:
    """Inside a transaction, before the effect: claim ``update_id`` (rolled back with the
    transaction), or raise :class:`Replayed` if it was claimed before. None: nothing."""
    if update_id is None:
        return
    cur = await db.execute(
        "INSERT OR IGNORE INTO update_effects (update_id, applied_at) VALUES (?, ?)",
        (update_id, iso(now)),
    )
    if cur.rowcount != 1:
        raise Replayed(update_id)


class EffectQueries(RepositoryBase):
    """(Mixed into :class:`storage.repository.Repository`.)"""

    async def update_applied(self, update_id: int) -> bool:
        """Whether an effect of this update is already in the database (a replay)."""
        row = await self._fetchone("SELECT 1 FROM update_effects WHERE update_id = ?", (update_id,))
        return row is not None

    async def purge_update_effects(self, before: datetime) -> int:
        """Forget claims older than ``before`` (no update that old can be replayed)."""
        return await self._write(
            "DELETE FROM update_effects WHERE applied_at < ?", (iso(before),), counted=True
        )
