"""The residents' satisfaction survey (migration 0023): who was sent a round (by their
survey tag, once), which questions each answered (once), and the answers as counts only,
apart from any tag (mixed into :class:`storage.repository.Repository`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.records import Outgoing
from storage.base import RepositoryBase
from storage.outbox import enqueue
from storage.rows import iso


class SurveyQueries(RepositoryBase):
    async def survey_chats(self, phase_id: str | None) -> list[tuple[int, str]]:
        """(private chat, language) of everyone who submitted through the bot (in that
        phase, if given), named or anonymous and still linked, each once: the newest
        item's language. Items the office entered have nobody to ask."""
        phase = " AND phase_id = ?" if phase_id is not None else ""
        params: tuple[str, ...] = (phase_id,) if phase_id is not None else ()
        rows = await self._fetchall(
            "SELECT anonymous, sender_chat_id, reply_route, language FROM submissions"  # noqa: S608
            f" WHERE source = 'chat'{phase} ORDER BY id DESC",
            params,
        )
        chats: dict[int, str] = {}
        for r in rows:
            chat = r["sender_chat_id"] if not r["anonymous"] else None
            if r["anonymous"] and r["reply_route"]:
                chat = self.secrets.decrypt_int(r["reply_route"])
            if chat is not None:
                chats.setdefault(chat, r["language"])
        return list(chats.items())

    async def send_survey(
        self,
        round_id: str,
        surveys: Sequence[tuple[str, Outgoing]],
        *,
        automatic: bool = False,
        office: Sequence[Outgoing] = (),
    ) -> list[Outgoing] | None:
        """Queue each (tag, message) whose tag was not sent this round yet; those queued.
        ``automatic`` (a phase's end): only if the round was not sent automatically before
        (None: it was; nothing queued), recorded in the same transaction with ``office``'s
        line, so it happens once however often the bot restarts (migration 0030)."""
        sent: list[Outgoing] = []
        now = self.clock()
        async with self.transaction() as db:
            if automatic:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO survey_auto (round, sent_at) VALUES (?, ?)",
                    (round_id, iso(now)),
                )
                if not cur.rowcount:
                    return None
            for tag, message in surveys:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO survey_recipients (round, tag) VALUES (?, ?)",
                    (round_id, tag),
                )
                if cur.rowcount:
                    await enqueue(db, [message], submission_id=None, now=now)
                    sent.append(message)
            if automatic:
                await db.execute(
                    "UPDATE survey_auto SET recipients = ? WHERE round = ?", (len(sent), round_id)
                )
                await enqueue(db, office, submission_id=None, now=now)
        return sent

    async def automatic_surveys(self) -> set[str]:
        """The rounds already sent at their phase's end."""
        return {r["round"] for r in await self._fetchall("SELECT round FROM survey_auto")}

    async def answer_survey(self, round_id: str, tag: str, question: str, answer: str) -> bool:
        """Count one answer of a recipient of the round, once per question; False when
        they were not sent it or had answered that question."""
        async with self.transaction() as db:
            sent = await db.execute_fetchall(
                "SELECT 1 FROM survey_recipients WHERE round = ? AND tag = ?", (round_id, tag)
            )
            if not list(sent):
                return False
            cur = await db.execute(
                "INSERT OR IGNORE INTO survey_answered (round, tag, question) VALUES (?, ?, ?)",
                (round_id, tag, question),
            )
            if not cur.rowcount:
                return False
            await db.execute(
                "INSERT INTO survey_counts (round, question, answer, n) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (round, question, answer) DO UPDATE SET n = survey_counts.n + 1",
                (round_id, question, answer),
            )
        return True

    async def survey_results(self) -> dict[str, tuple[int, dict[str, dict[str, int]]]]:
        """For each round: how many were sent it, and the answers' counts by question."""
        results: dict[str, tuple[int, dict[str, dict[str, int]]]] = {}
        for r in await self._fetchall(
            "SELECT round, COUNT(*) AS n FROM survey_recipients GROUP BY round ORDER BY round"
        ):
            results[r["round"]] = (int(r["n"]), {})
        for r in await self._fetchall("SELECT round, question, answer, n FROM survey_counts"):
            _, counts = results.setdefault(r["round"], (0, {}))
            counts.setdefault(r["question"], {})[r["answer"]] = int(r["n"])
        return results
