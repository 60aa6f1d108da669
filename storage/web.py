"""The web desk's sessions, one-time login links and the Mini App login data already used.

Tokens are random and reach the database only as their SHA-256 (``token_hash``): the
browser (a cookie) or the link holds the token itself. Every lookup compares the expiry
with the repository's clock, so an expired session or link is refused even before the
rows are purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from storage.base import RepositoryBase
from storage.rows import iso, parse_dt

Via = Literal["telegram", "link"]


@dataclass(frozen=True)
class StoredSession:
    user_id: int
    language: str
    csrf: str
    via: Via
    created_at: datetime
    expires_at: datetime


class WebQueries(RepositoryBase):
    """Queries of the web desk (mixed into :class:`storage.repository.Repository`)."""

    async def create_web_session(
        self,
        token_hash: str,
        *,
        user_id: int,
        language: str,
        csrf: str,
        via: Via,
        expires_at: datetime,
        initdata_hash: str | None = None,
        initdata_expires_at: datetime | None = None,
    ) -> bool:
        """Store a new session. With ``initdata_hash`` (Mini App login data, hashed), the
        data is marked used in the same transaction; if it was used before, nothing is
        stored and False is returned (each login data is exchanged once)."""
        now = iso(self.clock())
        async with self.transaction() as db:
            await self._purge_web(db, now)
            if initdata_hash is not None:
                assert initdata_expires_at is not None
                cur = await db.execute(
                    "INSERT OR IGNORE INTO web_initdata_used (data_hash, expires_at) VALUES (?, ?)",
                    (initdata_hash, iso(initdata_expires_at)),
                )
                if cur.rowcount == 0:
                    return False
            await db.execute(
                "INSERT INTO web_sessions (token_hash, user_id, language, csrf, via,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_hash, user_id, language, csrf, via, now, iso(expires_at)),
            )
        return True

    @staticmethod
    async def _purge_web(db: aiosqlite.Connection, now: str) -> None:
        """Drop expired sessions, links and used login data (inside a transaction)."""
        for table in ("web_sessions", "web_login_links", "web_initdata_used"):
            await db.execute(f"DELETE FROM {table} WHERE expires_at < ?", (now,))  # noqa: S608

    async def use_initdata(self, initdata_hash: str, *, expires_at: datetime) -> bool:
        """Mark Mini App login data used; False if it was already."""
        count = await self._write(
            "INSERT OR IGNORE INTO web_initdata_used (data_hash, expires_at) VALUES (?, ?)",
            (initdata_hash, iso(expires_at)),
            counted=True,
        )
        return count > 0

    async def web_session(self, token_hash: str) -> StoredSession | None:
        """The session with that token, unless it has expired."""
        row = await self._fetchone(
            "SELECT user_id, language, csrf, via, created_at, expires_at FROM web_sessions"
            " WHERE token_hash = ? AND expires_at > ?",
            (token_hash, iso(self.clock())),
        )
        if row is None:
            return None
        return StoredSession(
            user_id=row["user_id"],
            language=row["language"],
            csrf=row["csrf"],
            via=row["via"],
            created_at=parse_dt(row["created_at"]),
            expires_at=parse_dt(row["expires_at"]),
        )

    async def set_web_session_language(self, token_hash: str, language: str) -> None:
        await self._write(
            "UPDATE web_sessions SET language = ? WHERE token_hash = ?", (language, token_hash)
        )

    async def end_web_session(self, token_hash: str) -> None:
        await self._write("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))

    async def create_login_link(
        self, token_hash: str, *, user_id: int, language: str, expires_at: datetime
    ) -> None:
        now = iso(self.clock())
        async with self.transaction() as db:
            await self._purge_web(db, now)
            await db.execute(
                "INSERT INTO web_login_links (token_hash, user_id, language, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, language, now, iso(expires_at)),
            )

    async def use_login_link(self, token_hash: str) -> tuple[int, str] | None:
        """(user id, language) of a valid, unused link, which is used up by this call;
        None for an unknown, expired or already used one."""
        now = iso(self.clock())
        async with (
            self.transaction() as db,
            db.execute(
                "UPDATE web_login_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                " AND expires_at > ? RETURNING user_id, language",
                (now, token_hash, now),
            ) as cur,
        ):
            row = await cur.fetchone()
        return None if row is None else (int(row["user_id"]), str(row["language"]))
