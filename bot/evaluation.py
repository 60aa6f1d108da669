"""Labelled CSV files and tagging quality (no Telegram here): reading ``label,text`` rows,
resolving labels written as topic ids or names, and precision/recall/F1, macro-F1,
accuracy and a confusion table."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.config import TopicConfig
from bot.tagging import normalise


@dataclass(frozen=True, slots=True)
class LabelledRow:
    line: int  # the row's first line in the file
    label: str  # as written
    text: str


def read_rows(data: bytes) -> list[LabelledRow]:
    """Rows ``label,text`` of a UTF-8 CSV (optional BOM; quoted commas and newlines; a
    ``label,text`` header is skipped). Rows without text are left out."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    rows: list[LabelledRow] = []
    line = 1
    for index, record in enumerate(reader):
        start, line = line, reader.line_num + 1
        if not record or (index == 0 and [c.strip().lower() for c in record[:2]] == HEADER):
            continue
        label = record[0].strip()
        text = ",".join(record[1:]).strip() if len(record) > 2 else (record[1:] or [""])[0]
        if label and text.strip():
            rows.append(LabelledRow(start, label, text))
    return rows


HEADER = ["label", "text"]


def read_texts(data: bytes) -> list[str]:
    """Texts of a CSV: its ``text`` column if the header names one, else its last column."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    records = [r for r in reader if r]
    if not records:
        return []
    header = [c.strip().lower() for c in records[0]]
    if "text" in header:
        column = header.index("text")
        return [r[column] for r in records[1:] if len(r) > column and r[column].strip()]
    return [r[-1] for r in records if r[-1].strip()]


class LabelResolver:
    """Maps a label to a topic id: the id itself, or the topic's name in any language
    (compared normalised, so Traditional, Simplified and any letter case all match)."""

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        self._ids: dict[str, str] = {}
        for topic in topics:
            for name in (topic.id, *topic.names.values()):
                self._ids.setdefault(normalise(name).strip(), topic.id)

    def __call__(self, label: str) -> str | None:
        return self._ids.get(normalise(label).strip())


@dataclass
class Scores:
    """Quality of predicted topics against gold ones."""

    topics: list[str]
    per_topic: dict[str, tuple[float, float, float, int]]  # precision, recall, F1, support
    macro_f1: float
    accuracy: float
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (gold, predicted)
    total: int = 0


def score(gold: Sequence[str], predicted: Sequence[str], order: Iterable[str] = ()) -> Scores:
    """Per-topic precision, recall and F1 and their macro average over every topic that
    occurs as gold or predicted (a topic never predicted has precision 0), and accuracy."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    seen = set(gold) | set(predicted)
    topics = [t for t in order if t in seen] + sorted(seen - set(order))
    confusion = Counter(zip(gold, predicted, strict=True))
    per_topic: dict[str, tuple[float, float, float, int]] = {}
    for topic in topics:
        hit = confusion[(topic, topic)]
        said = sum(n for (_, p), n in confusion.items() if p == topic)
        support = sum(n for (g, _), n in confusion.items() if g == topic)
        precision = hit / said if said else 0.0
        recall = hit / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_topic[topic] = (precision, recall, f1, support)
    macro = sum(v[2] for v in per_topic.values()) / len(per_topic) if per_topic else 0.0
    right = sum(n for (g, p), n in confusion.items() if g == p)
    return Scores(
        topics,
        per_topic,
        macro,
        right / len(gold) if gold else 0.0,
        confusion,
        len(gold),
    )


def format_scores(scores: Scores, *, title: str) -> str:
    """The report printed by ``jindianzi tagger evaluate``."""
    width = max([len(t) for t in scores.topics] + [8])
    lines = [title, f"{'topic':<{width}}  precision  recall     F1  support"]
    for topic in scores.topics:
        p, r, f, n = scores.per_topic[topic]
        lines.append(f"{topic:<{width}}  {p:9.3f}  {r:6.3f}  {f:5.3f}  {n:7d}")
    lines += [
        f"macro-F1 {scores.macro_f1:.3f}",
        f"accuracy {scores.accuracy:.3f} ({scores.total} rows)",
        "",
        "confusion (rows: label, columns: proposed)",
    ]
    short = [t[:5] for t in scores.topics]
    lines.append(" " * width + "".join(f" {s:>5}" for s in short))
    for gold in scores.topics:
        cells = "".join(f" {scores.confusion[(gold, p)] or '.':>5}" for p in scores.topics)
        lines.append(f"{gold:<{width}}{cells}")
    return "\n".join(lines)
