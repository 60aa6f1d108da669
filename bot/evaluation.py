"""Labelled CSV files and tagging quality (no Telegram here): reading ``label,text`` rows,
resolving labels written as topic ids or names, and precision/recall/F1, macro-F1 (over the
labels in the file), accuracy, the fallback rate and a confusion table."""

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
    """Quality of predicted topics against gold ones, over the topics that occur as gold."""

    topics: list[str]  # the gold labels, in catalogue order: what macro-F1 averages over
    per_topic: dict[str, tuple[float, float, float, int]]  # precision, recall, F1, support
    macro_f1: float
    accuracy: float
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (gold, predicted)
    total: int = 0
    fallback_rate: float = 0.0  # share of rows the fallback topic was proposed for
    fallback: str | None = None
    others: list[str] = field(default_factory=list)  # topics only proposed, never gold


def score(
    gold: Sequence[str],
    predicted: Sequence[str],
    order: Iterable[str] = (),
    *,
    fallback: str | None = None,
) -> Scores:
    """Per-topic precision, recall and F1 and their macro average over the topics present
    as gold labels (``sklearn.metrics`` with ``labels=`` them: a topic that is only proposed,
    such as the fallback on a file without fallback rows, is a miss for its rows, not a
    topic of F1 0 in the average), accuracy, and how often ``fallback`` was proposed.

    scikit-learn is imported here, not at the top: the bot process imports this module
    (through the command line's parser) and must not load it."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    order = list(order)
    present = set(gold)
    topics = [t for t in order if t in present] + sorted(present - set(order))
    proposed_only = set(predicted) - present
    others = [t for t in order if t in proposed_only] + sorted(proposed_only - set(order))
    per_topic: dict[str, tuple[float, float, float, int]] = {}
    macro = accuracy = 0.0
    if gold:
        precision, recall, f1, support = precision_recall_fscore_support(
            gold, predicted, labels=topics, zero_division=0
        )
        for i, topic in enumerate(topics):
            per_topic[topic] = (
                float(precision[i]),
                float(recall[i]),
                float(f1[i]),
                int(support[i]),
            )
        macro = float(f1_score(gold, predicted, labels=topics, average="macro", zero_division=0))
        accuracy = float(accuracy_score(gold, predicted))
    fallbacks = sum(p == fallback for p in predicted) if fallback is not None else 0
    return Scores(
        topics,
        per_topic,
        macro,
        accuracy,
        Counter(zip(gold, predicted, strict=True)),
        len(gold),
        fallbacks / len(predicted) if predicted else 0.0,
        fallback,
        others,
    )


def format_scores(scores: Scores, *, title: str) -> str:
    """The report printed by ``jindianzi tagger evaluate``."""
    columns = scores.topics + scores.others
    width = max([len(t) for t in columns] + [8])
    lines = [title, f"{'topic':<{width}}  precision  recall     F1  support"]
    for topic in scores.topics:
        p, r, f, n = scores.per_topic[topic]
        lines.append(f"{topic:<{width}}  {p:9.3f}  {r:6.3f}  {f:5.3f}  {n:7d}")
    fallback = ""
    if scores.fallback is not None:
        fallback = f"; fallback {scores.fallback} proposed for {scores.fallback_rate:.1%} of rows"
    lines += [
        f"macro-F1 {scores.macro_f1:.3f} over the {len(scores.topics)} labels in the file"
        + fallback,
        f"accuracy {scores.accuracy:.3f} ({scores.total} rows)",
        "",
        "confusion (rows: label, columns: proposed)",
    ]
    short = [t[:5] for t in columns]
    lines.append(" " * width + "".join(f" {s:>5}" for s in short))
    for gold in scores.topics:
        cells = "".join(f" {scores.confusion[(gold, p)] or '.':>5}" for p in columns)
        lines.append(f"{gold:<{width}}{cells}")
    return "\n".join(lines)
