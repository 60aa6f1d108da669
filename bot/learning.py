"""The statistical topic model (no Telegram, no storage here): character n-grams of the
normalised text, a linear classifier trained on labelled examples, its explanation (the
n-grams that weighed most), a pickle-free storage form, and the rule that combines it with
the keyword :class:`~bot.tagging.Tagger`.

Combination rule (:func:`combine`):

* rules fire and the model agrees, or is not confident (probability < ``CONFIDENT``), or
  there is no model: the rules' ranking, each topic with its keywords;
* rules fire and the model is confident and proposes another topic: the model's topic
  first, marked as the model's (``source="model"``, with its n-grams), then the rules';
* no rule fires: the model's topic, marked as such, when its probability reaches
  ``FLOOR``; else the fallback topic (the rules' answer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.tagging import Tagger, TopicMatch, normalise

# Features: character 1- to 3-grams of the normalised (Simplified, casefolded) text, hashed
# into 2**17 columns (:func:`features`). 16 topics x 2**17 float32 = 8 MB in memory, far
# less stored (only the columns some example touched are kept).
N_BITS = 17
N_FEATURES = 2**N_BITS
_MIX = tuple(
    np.uint64(m)
    for m in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93)
)
NGRAM_RANGE = (1, 3)
# SGD with the logistic loss (one-vs-rest): a maintained, fast, incrementally trainable
# linear model. alpha and epochs chosen by a small sweep on the labelled set's train split.
ALPHA = 1e-5
EPOCHS = 30
SEED = 0
# The model overrides rules that fire only when at least this confident; with no rule
# firing, it is offered from this probability on (below: the fallback topic). Chosen by
# 5-fold cross-validation on the labelled set's train split only (bench/tagger_model.py,
# choose_thresholds): the lowest values among the best; the test rows and the holdout file
# were not used.
CONFIDENT = 0.9
FLOOR = 0.4
FORMAT_VERSION = 1
FEATURES_ID = "char-1-3-mul64-v1"  # change with the hashing, so old models are refused
EXPLAIN_NGRAMS = 3

Floats = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text: its topic and its weight when training."""

    text: str
    topic_id: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Prediction:
    """The model's topic for a text, its probability and the n-grams that weighed most."""

    topic_id: str
    probability: float
    ngrams: tuple[str, ...]


def _codes(text: str) -> NDArray[np.uint64]:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint64)


def _hashes(codes: NDArray[np.uint64], n: int) -> NDArray[np.int64]:
    """The column of each n-gram of ``codes`` (one per start position): a multiplicative
    hash of the code points and the length, its top bits (stable across runs and
    machines, unlike Python's ``hash``)."""
    count = codes.size - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    h = np.full(count, (n * int(_MIX[0])) % 2**64, dtype=np.uint64)
    for k in range(n):
        h = (h ^ codes[k : k + count]) * _MIX[k + 1]
    return (h >> np.uint64(64 - N_BITS)).astype(np.int64)


def feature_entries(
    normals: Sequence[str],
) -> tuple[NDArray[np.int64], NDArray[np.int64], Floats]:
    """The non-zero entries (row, column, value; by row, then column) of the feature matrix
    of normalised texts: each text's character n-gram counts hashed into ``N_FEATURES``
    columns, scaled to unit (L2) length, as scikit-learn's HashingVectorizer does. Done in
    numpy over the whole batch at once (HashingVectorizer's Python loop alone would cost
    more per message than the whole speed budget)."""
    lengths = np.fromiter((len(t) for t in normals), dtype=np.int64, count=len(normals))
    codes = _codes("".join(normals))
    doc = np.repeat(np.arange(len(normals), dtype=np.int64), lengths)
    keys: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]
    for n in range(NGRAM_RANGE[0], NGRAM_RANGE[1] + 1):
        h = _hashes(codes, n)
        if h.size:
            same = doc[: h.size] == doc[n - 1 :]  # n-grams do not cross into the next text
            keys.append(doc[: h.size][same] * N_FEATURES + h[same])
    unique, counts = np.unique(np.concatenate(keys), return_counts=True)
    rows, cols = unique // N_FEATURES, unique % N_FEATURES
    values = counts.astype(np.float32)
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(normals)))
    values /= norms[rows].astype(np.float32)
    return rows, cols, values


def features(normals: Sequence[str]) -> Any:
    """:func:`feature_entries` as a SciPy CSR matrix (for training)."""
    from scipy.sparse import csr_matrix

    rows, cols, values = feature_entries(normals)
    return csr_matrix((values, (rows, cols)), shape=(len(normals), N_FEATURES))


def ngrams_with_columns(normal: str, *, min_n: int = 2) -> tuple[list[str], NDArray[np.int64]]:
    """The distinct n-grams of a normalised text (``min_n`` characters or more, readable
    ones only) and their columns."""
    codes = _codes(normal)
    grams: list[str] = []
    columns: list[NDArray[np.int64]] = []
    for n in range(max(min_n, NGRAM_RANGE[0]), NGRAM_RANGE[1] + 1):
        h = _hashes(codes, n)
        keep = [i for i in range(h.size) if _readable(normal[i : i + n])]
        grams += [normal[i : i + n] for i in keep]
        columns.append(h[keep])
    unique = dict.fromkeys(grams)
    column = dict(zip(grams, np.concatenate(columns).tolist() if columns else [], strict=True))
    return list(unique), np.array([column[g] for g in unique], dtype=np.int64)


def _readable(ngram: str) -> bool:
    return all(c.isalnum() for c in ngram)


class TopicModel:
    """A trained linear model: one weight row per topic over the hashed n-gram columns."""

    def __init__(
        self,
        classes: Sequence[str],
        coef: Floats,
        intercept: Floats,
        *,
        examples: int = 0,
        trained_at: float = 0.0,
    ) -> None:
        if coef.shape != (len(classes), N_FEATURES) or intercept.shape != (len(classes),):
            raise ValueError("model shape does not match its classes")
        self.classes = tuple(classes)
        self.examples = examples
        self.trained_at = trained_at
        # One copy of the weights: features x classes (row-major, for X @ W), and the
        # classes x features view of it for explanations.
        self._weights = np.ascontiguousarray(np.asarray(coef, dtype=np.float32).T)
        self._coef = self._weights.T
        self._intercept = np.asarray(intercept, dtype=np.float32)

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, examples: Sequence[Example]) -> TopicModel:
        """Fit on the examples (each weighted); needs at least two topics."""
        topics = sorted({e.topic_id for e in examples})
        if len(topics) < 2:
            raise ValueError("training needs examples of at least two topics")
        from sklearn.linear_model import SGDClassifier  # imported by training only (75 MB)

        x = features([normalise(e.text) for e in examples])
        y = [e.topic_id for e in examples]
        weights = np.array([e.weight for e in examples], dtype=np.float64)
        model = SGDClassifier(
            loss="log_loss", alpha=ALPHA, max_iter=EPOCHS, tol=None, random_state=SEED
        )
        model.fit(x, y, sample_weight=weights)
        coef = np.asarray(model.coef_, dtype=np.float32)
        intercept = np.asarray(model.intercept_, dtype=np.float32)
        classes = [str(c) for c in model.classes_]
        if len(classes) == 2:  # binary: one row for the second class; make it two
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        return cls(classes, coef, intercept, examples=len(examples), trained_at=time.time())

    # ------------------------------------------------------------------ prediction
    def probabilities(self, normals: Sequence[str]) -> Floats:
        """One row per (normalised) text: each topic's probability (one-vs-rest logistic
        scores, normalised to sum 1, as scikit-learn does)."""
        rows, cols, values = feature_entries(normals)
        scores = np.zeros((len(normals), len(self.classes)), dtype=np.float32)
        if rows.size:
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            contributions = self._weights[cols] * values[:, None]
            scores[rows[starts]] = np.add.reduceat(contributions, starts, axis=0)
        scores += self._intercept
        probs: Floats = (1.0 / (1.0 + np.exp(-np.clip(scores, -30.0, 30.0)))).astype(np.float32)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def predict(self, text: str) -> Prediction:
        return self.predict_normalised([normalise(text)])[0]

    def predict_normalised(
        self, normals: Sequence[str], *, explain: bool = True
    ) -> list[Prediction]:
        probs = self.probabilities(normals)
        best = probs.argmax(axis=1)
        return [
            Prediction(
                self.classes[b],
                float(probs[i, b]),
                self.explain(normal, self.classes[b]) if explain else (),
            )
            for i, (normal, b) in enumerate(zip(normals, best, strict=True))
        ]

    def explain(self, normal: str, topic_id: str, k: int = EXPLAIN_NGRAMS) -> tuple[str, ...]:
        """The ``k`` n-grams of the (normalised) text that weigh most for the topic: readable
        ones (two characters or more, no spaces or punctuation), none inside another shown."""
        if topic_id not in self.classes:
            return ()
        row = self._coef[self.classes.index(topic_id)]
        codes = _codes(normal)
        weights, starts, sizes = [], [], []
        for n in range(max(2, NGRAM_RANGE[0]), NGRAM_RANGE[1] + 1):
            w = row[_hashes(codes, n)]
            positive = np.flatnonzero(w > 0)
            weights.append(w[positive])
            starts.append(positive)
            sizes.append(np.full(positive.size, n))
        if not weights:
            return ()
        weight, start, size = (np.concatenate(a) for a in (weights, starts, sizes))
        chosen: list[str] = []
        for i in np.argsort(-weight, kind="stable").tolist():
            gram = normal[start[i] : start[i] + size[i]]
            if _readable(gram) and not any(gram in c or c in gram for c in chosen):
                chosen.append(gram)
                if len(chosen) == k:
                    break
        return tuple(chosen)

    def suggest_keywords(
        self, topic_id: str, texts: Iterable[str], k: int = 20
    ) -> list[tuple[str, float]]:
        """Candidate keywords for a topic: the readable n-grams of its labelled texts that
        weigh most for it, ahead of their best weight for any other topic."""
        if topic_id not in self.classes:
            return []
        column: dict[str, int] = {}
        for text in texts:
            grams, cols = ngrams_with_columns(normalise(text))
            column.update(zip(grams, cols.tolist(), strict=True))
        if not column:
            return []
        ngrams = sorted(column)
        columns = np.array([column[g] for g in ngrams], dtype=np.int64)
        index = self.classes.index(topic_id)
        own = self._coef[index, columns]
        others = np.delete(self._coef[:, columns], index, axis=0)
        margin = own - (others.max(axis=0) if len(others) else 0.0)
        order = np.argsort(-margin, kind="stable")
        found: list[tuple[str, float]] = []
        for i in order:
            if margin[i] <= 0 or len(found) == k:
                break
            gram = ngrams[i]
            if not any(gram in g or g in gram for g, _ in found):
                found.append((gram, float(margin[i])))
        return found

    # ------------------------------------------------------------------ storage form
    def to_blobs(self) -> tuple[str, bytes, bytes]:
        """(JSON parameters, used columns as int32, their weights then intercepts as float32).

        No pickle: loading parses JSON and reads numbers, so a tampered database cannot run
        code."""
        used = np.flatnonzero(np.any(self._coef != 0, axis=0)).astype(np.int32)
        params = {
            "format": FORMAT_VERSION,
            "features": FEATURES_ID,
            "n_features": N_FEATURES,
            "ngram_range": list(NGRAM_RANGE),
            "classes": list(self.classes),
            "examples": self.examples,
            "trained_at": self.trained_at,
        }
        values = np.concatenate([self._coef[:, used].ravel(), self._intercept])
        return (
            json.dumps(params, ensure_ascii=False),
            used.astype("<i4").tobytes(),
            values.astype("<f4").tobytes(),
        )

    @classmethod
    def from_blobs(cls, params_json: str, columns: bytes, values: bytes) -> TopicModel:
        """The inverse of :meth:`to_blobs`; ValueError if the data does not fit."""
        params = json.loads(params_json)
        if (
            params.get("format") != FORMAT_VERSION
            or params.get("features") != FEATURES_ID
            or params.get("n_features") != N_FEATURES
            or params.get("ngram_range") != list(NGRAM_RANGE)
        ):
            raise ValueError("stored model has another format")
        classes = [str(c) for c in params["classes"]]
        used = np.frombuffer(columns, dtype="<i4").astype(np.int64)
        numbers = np.frombuffer(values, dtype="<f4").astype(np.float32)
        n = len(classes)
        if numbers.size != n * used.size + n or (used.size and used.min() < 0):
            raise ValueError("stored model is truncated")
        if used.size and used.max() >= N_FEATURES:
            raise ValueError("stored model has columns out of range")
        if not np.all(np.isfinite(numbers)):
            raise ValueError("stored model has non-finite weights")
        coef = np.zeros((n, N_FEATURES), dtype=np.float32)
        coef[:, used] = numbers[: n * used.size].reshape(n, used.size)
        return cls(
            classes,
            coef,
            numbers[n * used.size :],
            examples=int(params.get("examples", 0)),
            trained_at=float(params.get("trained_at", 0.0)),
        )


def model_match(prediction: Prediction) -> TopicMatch:
    return TopicMatch(
        prediction.topic_id, round(prediction.probability, 3), prediction.ngrams, "model"
    )


def combine(
    rules: Sequence[TopicMatch],
    prediction: Prediction | None,
    *,
    topics: Iterable[str],
    confident: float = CONFIDENT,
    floor: float = FLOOR,
) -> list[TopicMatch]:
    """The topics to propose, best first, from the rules' ranking and the model's prediction
    (the module docstring states the rule). A prediction of a topic no longer configured is
    ignored."""
    if prediction is None or prediction.topic_id not in set(topics):
        return list(rules)
    fired = bool(rules) and rules[0].score > 0
    if not fired:
        return [model_match(prediction)] if prediction.probability >= floor else list(rules)
    if prediction.probability >= confident and prediction.topic_id != rules[0].topic_id:
        return [model_match(prediction), *rules]
    return list(rules)


def propose(
    tagger: Tagger,
    model: TopicModel | None,
    texts: Sequence[str],
    *,
    topics: Iterable[str],
) -> list[list[TopicMatch]]:
    """Rules and model together for a batch of texts: each text normalised once, the model
    run over the whole batch, its n-grams worked out only where its topic is shown."""
    normals = [normalise(text) for text in texts]
    ranked = [tagger.tag_normalised(normal) for normal in normals]
    if model is None:
        return ranked
    topic_ids = set(topics)
    probs = model.probabilities(normals)
    best = probs.argmax(axis=1)
    results = []
    for i, (normal, rules) in enumerate(zip(normals, ranked, strict=True)):
        topic_id = model.classes[best[i]]
        bare = Prediction(topic_id, float(probs[i, best[i]]), ())
        combined = combine(rules, bare, topics=topic_ids)
        if combined and combined[0].source == "model":
            explained = Prediction(topic_id, bare.probability, model.explain(normal, topic_id))
            combined[0] = model_match(explained)
        results.append(combined)
    return results
