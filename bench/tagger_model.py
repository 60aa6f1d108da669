"""The topic model (#7): speed of rules + model next to rules alone, training time for 5,000
examples, and quality (macro-F1) of rules, model and both combined on the labelled set's
train/test split (row index i % 5 == 0 is test) and on the holdout file, with the learning
curve; the combination thresholds are picked by cross-validation on the train split only."""

from __future__ import annotations

import csv
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from bot.config import load_settings
from bot.evaluation import score
from bot.learning import CONFIDENT, FLOOR, Example, TopicModel, combine, propose
from bot.tagging import Tagger, TopicMatch, normalise

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BATCH = 1000
SEED = 5


def _rows(name: str) -> list[tuple[str, str]]:
    with (DATA / name).open(encoding="utf-8-sig", newline="") as fh:
        return [(r["label"], r["text"]) for r in csv.DictReader(fh)]


def split() -> tuple[list[Example], list[tuple[str, str]], list[tuple[str, str]]]:
    """Train rows (shuffled with a fixed seed: the file is grouped by topic, so a prefix
    is a sample of all topics), test rows, holdout rows."""
    rows = _rows("labelled_messages.csv")
    train = [Example(t, label) for i, (label, t) in enumerate(rows) if i % 5]
    random.Random(SEED).shuffle(train)
    test = [row for i, row in enumerate(rows) if i % 5 == 0]
    return train, test, _rows("holdout_messages.csv")


def speed(messages: int, repeats: int) -> dict[str, float]:
    """Messages per second: rules alone, rules + model (batches of 1,000, the model's
    n-grams worked out wherever its topic is shown); seconds to train on 5,000 examples."""
    settings = load_settings(ROOT / "config.example.toml")
    tagger = Tagger(settings.topics)
    topics = [t.id for t in settings.topics]
    train, test, holdout = split()
    examples = [train[i % len(train)] for i in range(5000)]
    texts = [t for _, t in test + holdout] + [e.text for e in train]
    sample = [texts[i % len(texts)] for i in range(messages)]
    figures: dict[str, list[float]] = {"rules": [], "combined": [], "train_5000": []}
    model = TopicModel.train(train)
    for _ in range(repeats):
        started = time.perf_counter()
        for text in sample:
            tagger.tag(text)
        figures["rules"].append(messages / (time.perf_counter() - started))
        started = time.perf_counter()
        for i in range(0, messages, BATCH):
            propose(tagger, model, sample[i : i + BATCH], topics=topics)
        figures["combined"].append(messages / (time.perf_counter() - started))
        started = time.perf_counter()
        TopicModel.train(examples)
        figures["train_5000"].append(time.perf_counter() - started)
    return {k: statistics.median(v) for k, v in figures.items()}


def _macro(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return score(gold, predicted).macro_f1


def _predict(
    tagger: Tagger,
    model: TopicModel,
    texts: Sequence[str],
    topics: Sequence[str],
    confident: float,
    floor: float,
) -> dict[str, list[str]]:
    normals = [normalise(t) for t in texts]
    rules = [tagger.tag_normalised(n) for n in normals]
    predictions = model.predict_normalised(normals, explain=False)
    combined: list[list[TopicMatch]] = [
        combine(r, p, topics=topics, confident=confident, floor=floor)
        for r, p in zip(rules, predictions, strict=True)
    ]
    return {
        "rules": [r[0].topic_id for r in rules],
        "model": [p.topic_id for p in predictions],
        "combined": [c[0].topic_id for c in combined],
    }


def choose_thresholds(
    tagger: Tagger, train: Sequence[Example], topics: Sequence[str], folds: int = 5
) -> list[tuple[float, float, float]]:
    """(confident, floor, mean macro-F1) for each pair tried, by k-fold CV on ``train``."""
    floors = (0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.01)  # 1.01: never (rules only)
    grid = [(c, f) for c in (0.6, 0.7, 0.8, 0.9, 1.01) for f in floors]
    totals = dict.fromkeys(grid, 0.0)
    for k in range(folds):
        fit = [e for i, e in enumerate(train) if i % folds != k]
        held = [e for i, e in enumerate(train) if i % folds == k]
        model = TopicModel.train(fit)
        gold = [e.topic_id for e in held]
        for c, f in grid:
            got = _predict(tagger, model, [e.text for e in held], topics, c, f)["combined"]
            totals[(c, f)] += _macro(gold, got) / folds
    return sorted(((c, f, v) for (c, f), v in totals.items()), key=lambda r: -r[2])


def quality() -> dict[str, float]:
    """Macro-F1 by what proposes, on test and holdout, and the learning curve."""
    settings = load_settings(ROOT / "config.example.toml")
    tagger = Tagger(settings.topics)
    topics = [t.id for t in settings.topics]
    train, test, holdout = split()
    figures: dict[str, float] = {}
    for size in (100, 300, len(train)):
        model = TopicModel.train(train[:size])
        for name, rows in (("test", test), ("holdout", holdout)):
            gold = [label for label, _ in rows]
            got = _predict(tagger, model, [t for _, t in rows], topics, CONFIDENT, FLOOR)
            for mode, predicted in got.items():
                if mode == "rules" and size != len(train):
                    continue
                suffix = "" if size == len(train) else f"_{size}"
                figures[f"{name}_{mode}{suffix}"] = _macro(gold, predicted)
    return figures


def resident_weight(
    weights: Sequence[float] = (0.0, 0.5, 1.0), right: Sequence[float] = (0.6, 0.9)
) -> dict[tuple[float, float], tuple[float, float, int]]:
    """Simulation: what residents' own topic choices add, by the weight they get.

    The first 300 train rows are the office's labels; the other 200 arrive from residents,
    each shown the combined proposal of a model trained on the 300. A resident who sees the
    right topic accepts it (not recorded, as in the bot); one who sees a wrong topic changes
    it, to the right topic with probability ``right``, else to another topic at random, and
    that choice is recorded with the weight tried. Returns, per (right, weight), macro-F1 of
    the combined tagger on the test split and on the holdout file, and the labels recorded."""
    settings = load_settings(ROOT / "config.example.toml")
    tagger = Tagger(settings.topics)
    topics = [t.id for t in settings.topics]
    train, test, holdout = split()
    office, residents = train[:300], train[300:]
    base = TopicModel.train(office)
    shown = _predict(tagger, base, [e.text for e in residents], topics, CONFIDENT, FLOOR)
    results: dict[tuple[float, float], tuple[float, float, int]] = {}
    for chance in right:
        rng = random.Random(7)
        chosen: list[Example] = []
        for example, proposed in zip(residents, shown["combined"], strict=True):
            if proposed == example.topic_id:
                continue
            if rng.random() < chance:
                topic = example.topic_id
            else:
                topic = rng.choice([t for t in topics if t not in (proposed, example.topic_id)])
            chosen.append(Example(example.text, topic))
        for weight in weights:
            extra = [Example(e.text, e.topic_id, weight) for e in chosen] if weight else []
            model = TopicModel.train(office + extra)
            figures = []
            for rows in (test, holdout):
                got = _predict(tagger, model, [t for _, t in rows], topics, CONFIDENT, FLOOR)
                figures.append(_macro([label for label, _ in rows], got["combined"]))
            results[(chance, weight)] = (figures[0], figures[1], len(chosen))
    return results
