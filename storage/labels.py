"""Labelled examples for the topic model and the trained model, mixed into the repository.

An example is keyed by the SHA-256 of its normalised text, so the same message imported
twice, or in Traditional and Simplified script, is one example; a newer label replaces
an older one unless the older came from a weightier source (an admin's correction is not
overwritten by a resident's choice or an import).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.tagging import normalise
from storage.base import RepositoryBase
from storage.rows import iso

# Which source may replace which: a label replaces one of equal or lower rank.
SOURCE_RANK = {"resident": 0, "import": 1, "admin": 2}
# The weight each source gives an example when the model trains: an admin's correction in
# /review counts three times an imported row; a resident's own change of the proposed topic
# half (residents pick loosely; accepting the proposal is not recorded at all, since it
# would only teach the model its own guesses).
SOURCE_WEIGHTS = {"import": 1.0, "admin": 3.0, "resident": 0.5}


@dataclass(frozen=True, slots=True)
class LabelledExample:
    text: str
    topic_id: str
    source: str
    weight: float


@dataclass(frozen=True, slots=True)
class StoredModel:
    params: str
    columns: bytes
    weights: bytes
    # When it was saved (as stored): another worker's training shows as a new value (#24).
    trained_at: str = ""


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).strip().encode("utf-8", "surrogatepass")).hexdigest()


async def add_label(
    db: aiosqlite.Connection,
    example: LabelledExample,
    *,
    now: str,
    submission_id: int | None = None,
) -> bool:
    """Insert or replace (by rank) one example inside an open transaction; True if stored."""
    rank = SOURCE_RANK[example.source]
    cur = await db.execute(
        "INSERT INTO labelled_examples (text_hash, text, topic_id, source, weight,"
        " submission_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (text_hash) DO UPDATE SET topic_id = excluded.topic_id,"
        " source = excluded.source, weight = excluded.weight,"
        " submission_id = COALESCE(excluded.submission_id, labelled_examples.submission_id),"
        " updated_at = excluded.updated_at"
        " WHERE (CASE labelled_examples.source WHEN 'resident' THEN 0 WHEN 'import' THEN 1"
        " ELSE 2 END) <= ?"
        " AND (labelled_examples.topic_id, labelled_examples.source, labelled_examples.weight)"
        " IS NOT (excluded.topic_id, excluded.source, excluded.weight)",
        (
            text_hash(example.text),
            example.text,
            example.topic_id,
            example.source,
            example.weight,
            submission_id,
            now,
            now,
            rank,
        ),
    )
    return cur.rowcount > 0


SAVE_MODEL = (
    "INSERT INTO topic_model (id, params, columns, weights, trained_at)"
    " VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET params = excluded.params,"
    " columns = excluded.columns, weights = excluded.weights, trained_at = excluded.trained_at"
)
SELECT_LABELS = "SELECT text, topic_id, source, weight FROM labelled_examples ORDER BY id"


def labels_and_save_sync(
    path: Path, train: Callable[[list[LabelledExample]], StoredModel | None], now: str
) -> StoredModel | None:
    """For the training process (plain sqlite3): read every label, train, save the model."""
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA busy_timeout=30000")
        rows = db.execute(SELECT_LABELS).fetchall()
        stored = train([LabelledExample(r[0], r[1], r[2], float(r[3])) for r in rows])
        if stored is not None:
            with db:
                db.execute(SAVE_MODEL, (stored.params, stored.columns, stored.weights, now))
    return stored


class LabelQueries(RepositoryBase):
    """Reads and writes of ``labelled_examples`` and ``topic_model``."""

    async def add_labels(self, examples: Iterable[LabelledExample]) -> int:
        """Store examples in one transaction; how many were new or changed."""
        now = iso(self.clock())
        stored = 0
        async with self.transaction() as db:
            for example in examples:
                stored += await add_label(db, example, now=now)
        return stored

    async def add_submission_label(
        self, submission_id: int, topic_id: str, *, source: str, weight: float
    ) -> bool:
        """Label a stored submission's text (no sender data is copied)."""
        now = iso(self.clock())
        async with self.transaction() as db:
            async with db.execute(
                "SELECT text FROM submissions WHERE id = ?", (submission_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None or not str(row["text"]).strip():
                return False
            example = LabelledExample(str(row["text"]), topic_id, source, weight)
            return await add_label(db, example, now=now, submission_id=submission_id)

    async def labelled_examples(self) -> list[LabelledExample]:
        rows = await self._fetchall(SELECT_LABELS)
        return [
            LabelledExample(r["text"], r["topic_id"], r["source"], float(r["weight"])) for r in rows
        ]

    async def label_counts(self) -> dict[str, int]:
        rows = await self._fetchall(
            "SELECT topic_id, COUNT(*) AS n FROM labelled_examples GROUP BY topic_id"
        )
        return {r["topic_id"]: int(r["n"]) for r in rows}

    async def save_model(self, model: StoredModel) -> None:
        async with self.transaction() as db:
            await db.execute(
                SAVE_MODEL, (model.params, model.columns, model.weights, iso(self.clock()))
            )

    async def model_version(self) -> str | None:
        """What tells one saved model from the next (when and what was saved), None if none:
        a worker that did not train it sees that it changed (several workers, #24)."""
        row = await self._fetchone("SELECT trained_at, params FROM topic_model WHERE id = 1")
        return None if row is None else f"{row[0]}|{row[1]}"

    async def load_model(self) -> StoredModel | None:
        row = await self._fetchone(
            "SELECT params, columns, weights, trained_at FROM topic_model WHERE id = 1"
        )
        if row is None:
            return None
        return StoredModel(
            row["params"], bytes(row["columns"]), bytes(row["weights"]), str(row["trained_at"])
        )
