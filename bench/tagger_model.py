"""The topic model (#7, #22): speed of rules + model next to rules alone, for chat-length
(<= 60 characters) and 200-character messages; training time for 5,000 examples; and quality
(macro-F1 over the labels present) of rules, model and both combined next to scikit-learn's
TF-IDF + LinearSVC pipeline as the baseline, on three data sets:

* ``petitions``: tests/data/petitions_train.csv / petitions_test.csv (long petition-style
  messages, #22), with the learning curve (100, 300 and all train rows);
* ``labelled``: tests/data/labelled_messages.csv, row i % 5 == 0 as test (short messages);
* ``holdout``: tests/data/holdout_messages.csv, with the labelled set's train rows.

Everything the bot's model chooses (its combination with the rules included) is chosen by
cross-validation on the train rows at training time; the test rows are only predicted."""

from __future__ import annotations

import csv
import random
import statistics
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.evaluation import score
from bot.learning import Example, TopicModel, propose
from bot.tagging import Tagger, normalise

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BATCH = 1000
SEED = 5
CURVE = (100, 300)

Rows = list[tuple[str, str]]  # (label, text)


def _rows(name: str) -> Rows:
    with (DATA / name).open(encoding="utf-8-sig", newline="") as fh:
        return [(r["label"], r["text"]) for r in csv.DictReader(fh)]


def _shuffled(rows: Rows) -> list[Example]:
    """Train rows shuffled with a fixed seed: the files are grouped by topic, so a prefix
    (for the learning curve) is then a sample of every topic."""
    examples = [Example(text, label) for label, text in rows]
    random.Random(SEED).shuffle(examples)
    return examples


def datasets() -> dict[str, tuple[list[Example], Rows]]:
    """name -> (train examples, test rows)."""
    labelled = _rows("labelled_messages.csv")
    train = [row for i, row in enumerate(labelled) if i % 5]
    return {
        "petitions": (_shuffled(_rows("petitions_train.csv")), _rows("petitions_test.csv")),
        "labelled": (_shuffled(train), [row for i, row in enumerate(labelled) if i % 5 == 0]),
        "holdout": (_shuffled(train), _rows("holdout_messages.csv")),
    }


def _tagger() -> tuple[Tagger, list[str]]:
    settings = load_settings(ROOT / "config.example.toml")
    return Tagger(settings.topics), [t.id for t in settings.topics]


def samples(messages: int) -> dict[str, list[str]]:
    """Sample traffic: chat-length messages (the labelled sets' rows of 60 characters or
    fewer) and 200-character ones (the petition texts run together and cut every 200)."""
    short = [t for _, t in _rows("labelled_messages.csv") + _rows("holdout_messages.csv")]
    short = [t for t in short if len(t) <= 60]
    joined = "".join(t for _, t in _rows("petitions_train.csv") + _rows("petitions_test.csv"))
    long = [joined[i : i + 200] for i in range(0, len(joined) - 199, 200)]
    return {
        "short": [short[i % len(short)] for i in range(messages)],
        "200": [long[i % len(long)] for i in range(messages)],
    }


def speed(messages: int, repeats: int, train_examples: int = 5000) -> dict[str, float]:
    """Messages per second on one core: rules alone and rules + model (batches of 1,000, the
    model's n-grams worked out wherever its topic is shown), for chat-length and
    200-character messages; seconds to train on ``train_examples`` examples (with the
    cross-validation that chooses the combination), under the key ``train``. Times are the
    CPU time of this process (``time.process_time``): on a machine shared with other work,
    wall-clock time also counts the time spent waiting for a core."""
    tagger, topics = _tagger()
    train, _ = datasets()["petitions"]
    labelled, _ = datasets()["labelled"]
    pool = train + labelled
    examples = [pool[i % len(pool)] for i in range(train_examples)]
    model = TopicModel.train(pool, tagger)
    figures: dict[str, list[float]] = {"train": []}
    for _ in range(repeats):
        for name, sample in samples(messages).items():
            started = time.process_time()
            for text in sample:
                tagger.tag(text)
            figures.setdefault(f"rules_{name}", []).append(
                messages / (time.process_time() - started)
            )
            started = time.process_time()
            for i in range(0, messages, BATCH):
                propose(tagger, model, sample[i : i + BATCH], topics=topics)
            figures.setdefault(f"combined_{name}", []).append(
                messages / (time.process_time() - started)
            )
        started = time.process_time()
        TopicModel.train(examples, tagger)
        figures["train"].append(time.process_time() - started)
    return {k: statistics.median(v) for k, v in figures.items()}


def _macro(gold: Sequence[str], predicted: Sequence[str], fallback: str) -> tuple[float, float]:
    """Macro-F1 over the labels present, and the fallback rate."""
    scores = score(gold, predicted, fallback=fallback)
    return scores.macro_f1, scores.fallback_rate


def baselines(train: Sequence[Example], texts: Sequence[str]) -> dict[str, list[str]]:
    """The baseline's predictions: scikit-learn's TfidfVectorizer (character 1-3-grams) +
    LinearSVC on the raw texts, with scikit-learn's defaults (``baseline``) and with C and
    sublinear_tf chosen by 5-fold cross-validation on the train rows (``baseline_tuned``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    x = [e.text for e in train]
    y = [e.topic_id for e in train]

    def pipeline() -> Any:
        return Pipeline(
            [
                ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3))),
                ("svm", LinearSVC()),
            ]
        )

    plain = pipeline().fit(x, y)
    grid = {"tfidf__sublinear_tf": [False, True], "svm__C": [0.1, 0.3, 1.0, 3.0, 10.0]}
    with warnings.catch_warnings():  # a class of fewer than 5 rows in a small curve point
        warnings.simplefilter("ignore")
        tuned = GridSearchCV(pipeline(), grid, cv=5, scoring="f1_macro").fit(x, y)
    return {
        "baseline": [str(p) for p in plain.predict(list(texts))],
        "baseline_tuned": [str(p) for p in tuned.predict(list(texts))],
    }


@dataclass
class Quality:
    """Macro-F1 (over the test rows' labels) and fallback rate by what proposes."""

    macro: dict[str, float]
    fallback: dict[str, float]
    combination: str  # the combination training chose, for the record


def quality(name: str, train: Sequence[Example], test: Rows, *, tagger: Tagger) -> Quality:
    topics = sorted(tagger.topic_ids)
    texts = [t for _, t in test]
    gold = [label for label, _ in test]
    model = TopicModel.train(train, tagger)
    normals = [normalise(t) for t in texts]
    predicted = {
        "rules": [tagger.tag_normalised(n)[0].topic_id for n in normals],
        "model": [p.topic_id for p in model.predict_normalised(normals, explain=False)],
        "combined": [m[0].topic_id for m in propose(tagger, model, texts, topics=topics)],
        **baselines(train, texts),
    }
    macro, fallback = {}, {}
    for what, got in predicted.items():
        macro[what], fallback[what] = _macro(gold, got, tagger.fallback_id)
    c = model.combination
    chosen = (
        f"temperature {c.temperature:.1f}, rule weight {c.rule_weight:.1f}, floor {c.floor:.1f}"
    )
    return Quality(macro, fallback, chosen)


def learning_curve(tagger: Tagger) -> dict[int, dict[str, float]]:
    """Macro-F1 on the petition test rows after training on the first 100, 300 and all
    train rows (shuffled): model, combined and the tuned baseline."""
    train, test = datasets()["petitions"]
    curve = {}
    for size in (*CURVE, len(train)):
        q = quality("petitions", train[:size], test, tagger=tagger)
        curve[size] = {k: q.macro[k] for k in ("model", "combined", "baseline_tuned")}
    return curve


def all_quality() -> tuple[dict[str, Quality], dict[int, dict[str, float]]]:
    tagger, _ = _tagger()
    results = {
        name: quality(name, train, test, tagger=tagger)
        for name, (train, test) in datasets().items()
    }
    return results, learning_curve(tagger)


def resident_weight(
    weights: Sequence[float] = (0.0, 0.5, 1.0), right: Sequence[float] = (0.6, 0.9)
) -> dict[tuple[float, float], tuple[float, float, int]]:
    """Simulation: what residents' own topic choices add, by the weight they get.

    The first 300 train rows of the labelled set are the office's labels; the other 200
    arrive from residents, each shown the combined proposal of a model trained on the 300.
    A resident who sees the right topic accepts it (not recorded, as in the bot); one who
    sees a wrong topic changes it, to the right topic with probability ``right``, else to
    another topic at random, and that choice is recorded with the weight tried. Returns, per
    (right, weight), macro-F1 of the combined tagger on the labelled set's test rows and on
    the holdout file, and the labels recorded."""
    tagger, topics = _tagger()
    sets = datasets()
    train, test = sets["labelled"]
    _, holdout = sets["holdout"]
    office, residents = train[:300], train[300:]
    base = TopicModel.train(office, tagger)
    shown = propose(tagger, base, [e.text for e in residents], topics=topics)
    results: dict[tuple[float, float], tuple[float, float, int]] = {}
    for chance in right:
        rng = random.Random(7)
        chosen: list[Example] = []
        for example, proposed in zip(residents, shown, strict=True):
            if proposed[0].topic_id == example.topic_id:
                continue
            if rng.random() < chance:
                topic = example.topic_id
            else:
                wrong = (proposed[0].topic_id, example.topic_id)
                topic = rng.choice([t for t in topics if t not in wrong])
            chosen.append(Example(example.text, topic))
        for weight in weights:
            extra = [Example(e.text, e.topic_id, weight) for e in chosen] if weight else []
            model = TopicModel.train(office + extra, tagger)
            figures = []
            for rows in (test, holdout):
                got = propose(tagger, model, [t for _, t in rows], topics=topics)
                gold = [label for label, _ in rows]
                figures.append(_macro(gold, [m[0].topic_id for m in got], tagger.fallback_id)[0])
            results[(chance, weight)] = (figures[0], figures[1], len(chosen))
    return results
