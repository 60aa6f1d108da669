"""The statistical topic model (no Telegram, no storage here): TF-IDF-weighted character
n-grams of the normalised text, a linear classifier trained on labelled examples, its
explanation (the n-grams that weighed most), a pickle-free storage form, and the rule that
combines it with the keyword :class:`~bot.tagging.Tagger`.

Combination rule (:func:`propose`, :func:`combine`): each configured topic gets the score
``temperature * decision + rule_weight * rules``, where ``decision`` is the classifier's
margin for the topic (``-1``, "not this one", for a topic without labelled examples),
``rules`` is the keyword score that :class:`~bot.tagging.Tagger` gives the topic (0 when none
of its keywords occur), and a softmax of the scores gives each topic's probability. The
topic with the highest probability is proposed:

* if it is the rules' first topic, the rules' ranking is shown as it is (their keywords are
  the evidence);
* otherwise it comes first, marked as the model's (``source="model"``, with its probability
  and the n-grams that weighed most), followed by the rules' topics;
* if its probability is below ``floor``, the fallback topic is proposed instead.

``temperature``, ``rule_weight`` and ``floor`` are not constants: training chooses them by
cross-validation on the stored labels (:meth:`TopicModel.train`) and stores them with the
model. The temperature calibrates the probabilities (it minimises the held-out log loss).
The rule weight and floor maximise the held-out macro-F1 over the topics that have labels, where
a proposed fallback counts as a miss unless the label is the fallback topic. So the model
proposes the fallback only where that was the better guess on held-out labels. With no
labelled fallback examples, the floor comes out as 0 and the model never proposes the
fallback.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.tagging import Tagger, TopicMatch, normalise

# Features: character 1- to 3-grams of the normalised (Simplified, casefolded) text, hashed
# into 2**17 columns (:func:`feature_entries`). Each count n becomes 1 + ln(n) (sublinear tf),
# is multiplied by the column's inverse document frequency, computed from the training
# examples and stored with the model (a column no example had weighs 0), and each text's
# vector is scaled to unit length. 16 topics x 2**17 float32 = 8 MB in memory. Far less is
# stored: only the columns some example touched.
N_BITS = 17
N_FEATURES = 2**N_BITS
_MIX = tuple(
    np.uint64(m)
    for m in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93)
)
NGRAM_RANGE = (1, 3)
# The classifier: scikit-learn's LinearSVC (one-vs-rest linear SVM), classes weighted to
# balance them. Chosen by 5-fold cross-validation on the train split of
# tests/data/petitions_train.csv and the older labelled set (bench/tagger_model.py). Sublinear
# TF-IDF beat raw counts, LinearSVC beat SGD's logistic loss, and char 4-grams and word
# n-grams from jieba added nothing. C made little difference between 0.3 and 3.
C = 1.0
# Cross-validation at training time: 5 folds, 3 from LARGE examples on (each fold is one more
# fit: about 2 s for 5,000 examples).
FOLDS = 5
LARGE = 2000
# The rule weights and floors tried by cross-validation at training time. A floor of 0 means
# the fallback is never forced.
RULE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0)
FLOORS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6)
# With too few examples to cross-validate (fewer than FOLDS per topic on average), these.
DEFAULT_TEMPERATURE = 5.0
DEFAULT_RULE_WEIGHT = 0.5
ABSENT_DECISION = -1.0  # the margin a topic without labelled examples gets
FORMAT_VERSION = 2
FEATURES_ID = "char-1-3-sublinear-idf-v2"  # change with the features, so old models are refused
EXPLAIN_NGRAMS = 3
SEED = 0

Floats = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text: its topic and its weight when training."""

    text: str
    topic_id: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Prediction:
    """A topic for a text, its probability and the n-grams that weighed most."""

    topic_id: str
    probability: float
    ngrams: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Combination:
    """How the model's decisions and the rules' scores are combined (module docstring),
    and the held-out macro-F1 that cross-validation measured when choosing it."""

    temperature: float = DEFAULT_TEMPERATURE
    rule_weight: float = DEFAULT_RULE_WEIGHT
    floor: float = 0.0
    catalogue: str = ""  # Tagger.fingerprint of the catalogue it was chosen with
    cv: dict[str, float] = field(default_factory=dict)  # rules, model, combined; folds


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


def counts(normals: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64], Floats]:
    """The n-gram counts of normalised texts as (row, column, count) entries, by row, then
    column. Done in numpy over the whole batch at once (scikit-learn's vectorisers loop in
    Python, which alone would cost more per message than the whole speed budget)."""
    lengths = np.fromiter((len(t) for t in normals), dtype=np.int64, count=len(normals))
    codes = _codes("".join(normals))
    doc = np.repeat(np.arange(len(normals), dtype=np.int64), lengths)
    keys: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]
    for n in range(NGRAM_RANGE[0], NGRAM_RANGE[1] + 1):
        h = _hashes(codes, n)
        if h.size:
            same = doc[: h.size] == doc[n - 1 :]  # n-grams do not cross into the next text
            keys.append(doc[: h.size][same] * N_FEATURES + h[same])
    unique, number = np.unique(np.concatenate(keys), return_counts=True)
    return unique // N_FEATURES, unique % N_FEATURES, number.astype(np.float32)


def inverse_document_frequency(columns: NDArray[np.int64], documents: int) -> Floats:
    """ln((1 + documents) / (1 + df)) + 1 per column that occurs (df > 0), else 0: what
    scikit-learn's TfidfVectorizer computes for its vocabulary (smooth_idf)."""
    df = np.bincount(columns, minlength=N_FEATURES)
    idf = np.zeros(N_FEATURES, dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log((1.0 + documents) / (1.0 + df[seen])) + 1.0
    return idf


def feature_entries(
    normals: Sequence[str], idf: Floats | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64], Floats]:
    """The non-zero entries (row, column, value; by row, then column) of the feature matrix
    of normalised texts: 1 + ln(count) per n-gram, times its ``idf`` (columns of idf 0
    left out) if given, each row scaled to unit (L2) length."""
    rows, cols, number = counts(normals)
    values = (1.0 + np.log(number)).astype(np.float32)
    if idf is not None:
        values *= idf[cols]
        keep = values > 0
        rows, cols, values = rows[keep], cols[keep], values[keep]
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(normals)))
    values /= norms[rows].astype(np.float32)
    return rows, cols, values


def features(normals: Sequence[str], idf: Floats | None = None) -> Any:
    """:func:`feature_entries` as a SciPy CSR matrix (for training)."""
    from scipy.sparse import csr_matrix

    rows, cols, values = feature_entries(normals, idf)
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


def softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return result


def rule_scores(rankings: Sequence[Sequence[TopicMatch]], topics: Sequence[str]) -> Any:
    """One row per text, one column per topic: the score the rules gave it (0 if none)."""
    index = {t: i for i, t in enumerate(topics)}
    matrix = np.zeros((len(rankings), len(topics)), dtype=np.float64)
    for row, ranking in enumerate(rankings):
        for match in ranking:
            column = index.get(match.topic_id)
            if column is not None and match.score > 0:
                matrix[row, column] = match.score
    return matrix


class TopicModel:
    """A trained linear model: one weight row per topic over the hashed n-gram columns, the
    columns' IDF, and the combination with the rules (:class:`Combination`)."""

    def __init__(
        self,
        classes: Sequence[str],
        coef: Floats,
        intercept: Floats,
        idf: Floats,
        *,
        combination: Combination | None = None,
        examples: int = 0,
        trained_at: float = 0.0,
    ) -> None:
        if (
            coef.shape != (len(classes), N_FEATURES)
            or intercept.shape != (len(classes),)
            or idf.shape != (N_FEATURES,)
        ):
            raise ValueError("model shape does not match its classes")
        self.classes = tuple(classes)
        self.examples = examples
        self.trained_at = trained_at
        self.combination = combination or Combination()
        # One copy of the weights: features x classes (row-major, for X @ W), and the
        # classes x features view of it for explanations.
        self._weights = np.ascontiguousarray(np.asarray(coef, dtype=np.float32).T)
        self._coef = self._weights.T
        self._intercept = np.asarray(intercept, dtype=np.float32)
        self._idf = np.asarray(idf, dtype=np.float32)

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, examples: Sequence[Example], tagger: Tagger | None = None) -> TopicModel:
        """Fit on the examples (each weighted); needs at least two topics.

        With a ``tagger``, the combination with its rules is chosen by cross-validation
        (module docstring); without one, the rules weigh :data:`DEFAULT_RULE_WEIGHT`."""
        topics = sorted({e.topic_id for e in examples})
        if len(topics) < 2:
            raise ValueError("training needs examples of at least two topics")
        normals = [normalise(e.text) for e in examples]
        labels = np.array([topics.index(e.topic_id) for e in examples])
        weights = np.array([e.weight for e in examples], dtype=np.float64)
        combination = Combination()
        if tagger is not None:
            rules = rule_scores([tagger.tag_normalised(n) for n in normals], topics)
            combination = _choose_combination(
                normals, labels, weights, topics, rules, tagger.fallback_id, tagger.fingerprint
            )
        coef, intercept, idf = _fit(normals, labels, weights, len(topics))
        return cls(
            topics,
            coef,
            intercept,
            idf,
            combination=combination,
            examples=len(examples),
            trained_at=time.time(),
        )

    # ------------------------------------------------------------------ prediction
    def decisions(self, normals: Sequence[str]) -> Floats:
        """One row per (normalised) text: the classifier's margin for each class."""
        rows, cols, values = feature_entries(normals, self._idf)
        scores = np.zeros((len(normals), len(self.classes)), dtype=np.float32)
        if rows.size:
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            contributions = np.take(self._weights, cols, axis=0)  # faster than [cols]
            contributions *= values[:, None]
            scores[rows[starts]] = np.add.reduceat(contributions, starts, axis=0)
        scores += self._intercept
        return scores

    def scores(self, normals: Sequence[str], topics: Sequence[str], rules: Any = None) -> Any:
        """``temperature * decision (+ rule_weight * rules)`` per text and topic of
        ``topics`` (a topic the model has no class for gets :data:`ABSENT_DECISION`)."""
        decisions = self.decisions(normals).astype(np.float64)
        index = {c: i for i, c in enumerate(self.classes)}
        matrix = np.full((len(normals), len(topics)), ABSENT_DECISION, dtype=np.float64)
        for column, topic in enumerate(topics):
            if topic in index:
                matrix[:, column] = decisions[:, index[topic]]
        matrix *= self.combination.temperature
        if rules is not None:
            matrix += self.combination.rule_weight * rules
        return matrix

    def probabilities(self, normals: Sequence[str]) -> Floats:
        """One row per (normalised) text: each class's calibrated probability, the model
        alone (rules not counted)."""
        probs: Floats = softmax(self.scores(normals, self.classes)).astype(np.float32)
        return probs

    def predict(self, text: str) -> Prediction:
        return self.predict_normalised([normalise(text)])[0]

    def predict_normalised(
        self, normals: Sequence[str], *, explain: bool = True
    ) -> list[Prediction]:
        """The model alone: its most probable class for each text."""
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
        """The ``k`` n-grams of the (normalised) text that weigh most for the topic (weight
        times IDF): readable ones (two characters or more, no spaces or punctuation), none
        inside another shown."""
        return self.explain_batch([normal], [topic_id], k)[0]

    def explain_batch(
        self, normals: Sequence[str], topic_ids: Sequence[str], k: int = EXPLAIN_NGRAMS
    ) -> list[tuple[str, ...]]:
        """:meth:`explain` for each text and its topic, the n-grams of the whole batch
        hashed and weighed at once (numpy's cost per call dwarfs a short text's)."""
        if not normals:
            return []
        text = "".join(normals)
        lengths = np.fromiter((len(t) for t in normals), dtype=np.int64, count=len(normals))
        doc = np.repeat(np.arange(len(normals), dtype=np.int64), lengths)
        index = {c: i for i, c in enumerate(self.classes)}
        class_of = np.array([index.get(t, -1) for t in topic_ids], dtype=np.int64)
        codes = _codes(text)
        found: list[tuple[Any, Any, Any, Any]] = []
        for n in range(max(2, NGRAM_RANGE[0]), NGRAM_RANGE[1] + 1):
            columns = _hashes(codes, n)
            if not columns.size:
                continue
            starts = np.flatnonzero(doc[: columns.size] == doc[n - 1 :])  # within one text
            docs = doc[starts]
            classes = class_of[docs]
            known = classes >= 0
            starts, docs, classes = starts[known], docs[known], classes[known]
            columns = columns[starts]
            weight = self._coef[classes, columns] * self._idf[columns]
            positive = weight > 0
            found.append(
                (docs[positive], starts[positive], np.full(positive.sum(), n), weight[positive])
            )
        chosen: list[list[str]] = [[] for _ in normals]
        if not found:
            return [()] * len(normals)
        docs, starts, sizes, weights = (np.concatenate(a) for a in zip(*found, strict=True))
        # By text, then weight (heaviest first); equal weights keep shorter, earlier n-grams.
        for i in np.lexsort((-weights, docs)).tolist():
            shown = chosen[docs[i]]
            if len(shown) == k:
                continue
            gram = text[starts[i] : starts[i] + sizes[i]]
            if _readable(gram) and not any(gram in c or c in gram for c in shown):
                shown.append(gram)
        return [tuple(c) for c in chosen]

    def suggest_keywords(
        self, topic_id: str, texts: Iterable[str], k: int = 20
    ) -> list[tuple[str, float]]:
        """Candidate keywords for a topic: the readable n-grams of its labelled texts that
        weigh most for it (weight times IDF), ahead of their best weight for any other
        topic."""
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
        weighed = self._coef[:, columns] * self._idf[columns]
        own = weighed[index]
        others = np.delete(weighed, index, axis=0)
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
        """(JSON parameters, used columns as int32, their weights, the intercepts and their
        IDF as float32).

        No pickle: loading parses JSON and reads numbers, so a tampered database cannot run
        code."""
        used = np.flatnonzero(self._idf > 0).astype(np.int32)
        combination = self.combination
        params = {
            "format": FORMAT_VERSION,
            "features": FEATURES_ID,
            "n_features": N_FEATURES,
            "ngram_range": list(NGRAM_RANGE),
            "classes": list(self.classes),
            "examples": self.examples,
            "trained_at": self.trained_at,
            "temperature": combination.temperature,
            "rule_weight": combination.rule_weight,
            "floor": combination.floor,
            "catalogue": combination.catalogue,
            "cv": combination.cv,
        }
        values = np.concatenate([self._coef[:, used].ravel(), self._intercept, self._idf[used]])
        return (
            json.dumps(params, ensure_ascii=False),
            used.astype("<i4").tobytes(),
            values.astype("<f4").tobytes(),
        )

    @classmethod
    def from_blobs(cls, params_json: str, columns: bytes, values: bytes) -> TopicModel:
        """The inverse of :meth:`to_blobs`; ValueError if the data does not fit (a model of
        an older format included: the learner then trains a new one)."""
        params = json.loads(params_json)
        if (
            not isinstance(params, dict)
            or params.get("format") != FORMAT_VERSION
            or params.get("features") != FEATURES_ID
            or params.get("n_features") != N_FEATURES
            or params.get("ngram_range") != list(NGRAM_RANGE)
        ):
            raise ValueError("stored model has another format")
        classes = [str(c) for c in params["classes"]]
        used = np.frombuffer(columns, dtype="<i4").astype(np.int64)
        numbers = np.frombuffer(values, dtype="<f4").astype(np.float32)
        n, u = len(classes), used.size
        if numbers.size != n * u + n + u or (u and used.min() < 0):
            raise ValueError("stored model is truncated")
        if u and (used.max() >= N_FEATURES or np.unique(used).size != u):
            raise ValueError("stored model has columns out of range")
        if not np.all(np.isfinite(numbers)) or np.any(numbers[n * u + n :] <= 0):
            raise ValueError("stored model has invalid weights")
        combination = Combination(
            temperature=float(params["temperature"]),
            rule_weight=float(params["rule_weight"]),
            floor=float(params["floor"]),
            catalogue=str(params.get("catalogue", "")),
            cv={str(k): float(v) for k, v in dict(params.get("cv", {})).items()},
        )
        if (
            not math.isfinite(combination.temperature)
            or combination.temperature <= 0
            or not math.isfinite(combination.rule_weight)
            or combination.rule_weight < 0
            or not 0 <= combination.floor <= 1
        ):
            raise ValueError("stored model has invalid combination parameters")
        coef = np.zeros((n, N_FEATURES), dtype=np.float32)
        coef[:, used] = numbers[: n * u].reshape(n, u)
        idf = np.zeros(N_FEATURES, dtype=np.float32)
        idf[used] = numbers[n * u + n :]
        return cls(
            classes,
            coef,
            numbers[n * u : n * u + n],
            idf,
            combination=combination,
            examples=int(params.get("examples", 0)),
            trained_at=float(params.get("trained_at", 0.0)),
        )


# ---------------------------------------------------------------------- training helpers
def _fit(
    normals: Sequence[str], labels: Any, weights: Any, n_classes: int
) -> tuple[Floats, Floats, Floats]:
    """IDF from the texts, then LinearSVC on their features: (coef, intercept, idf) with
    one row per class (classes absent from ``labels`` get weights 0, intercept -1)."""
    from sklearn.svm import LinearSVC  # imported by training only (75 MB)

    _, columns, _ = counts(normals)  # one entry per text and column: document frequencies
    idf = inverse_document_frequency(columns, len(normals))
    present = np.unique(labels)
    coef = np.zeros((n_classes, N_FEATURES), dtype=np.float32)
    intercept = np.full(n_classes, ABSENT_DECISION, dtype=np.float32)
    if present.size < 2:  # a single class seen: it is always proposed
        intercept[present] = 1.0
        return coef, intercept, idf
    svm = LinearSVC(C=C, class_weight="balanced", random_state=SEED)
    svm.fit(features(normals, idf), labels, sample_weight=weights)
    fitted = np.asarray(svm.coef_, dtype=np.float32)
    bias = np.asarray(svm.intercept_, dtype=np.float32)
    if present.size == 2:  # binary: one row for the second class; make it two
        fitted, bias = np.vstack([-fitted, fitted]), np.concatenate([-bias, bias])
    coef[present] = fitted
    intercept[present] = bias
    return coef, intercept, idf


def _folds(labels: Any, folds: int) -> Any:
    """A fold number per example: each class's examples dealt round-robin in a seeded
    order, so every class is spread over the folds."""
    rng = np.random.default_rng(SEED)
    fold = np.zeros(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        fold[rng.permutation(members)] = np.arange(members.size) % folds
    return fold


def _macro_f1(gold: Any, predicted: Any, labels: Sequence[int], weights: Any) -> float:
    """Weighted macro-F1 over ``labels`` (what sklearn.metrics.f1_score computes with
    ``labels=``, ``average="macro"`` and ``sample_weight``; here in numpy, as it runs for
    every pair of the grid). A prediction outside ``labels`` (-1: a fallback without
    labels) is a miss."""
    wanted = np.asarray(labels)
    hit = np.bincount(gold[gold == predicted], weights[gold == predicted], wanted.max() + 1)
    said = np.bincount(predicted[predicted >= 0], weights[predicted >= 0], wanted.max() + 1)
    true = np.bincount(gold, weights, wanted.max() + 1)
    denominator = said[: wanted.max() + 1][wanted] + true[wanted]
    f1 = np.divide(2 * hit[wanted], denominator, out=np.zeros(wanted.size), where=denominator > 0)
    return float(f1.mean())


def _choose_combination(
    normals: Sequence[str],
    labels: Any,
    weights: Any,
    topics: Sequence[str],
    rules: Any,
    fallback: str,
    catalogue: str,
) -> Combination:
    """The temperature, rule weight and floor, by cross-validation (module docstring)."""
    from scipy.optimize import minimize_scalar  # training only

    n_classes = len(topics)
    folds = FOLDS if len(normals) <= LARGE else 3
    if len(normals) < FOLDS * n_classes:
        return Combination(catalogue=catalogue)
    fold = _folds(labels, folds)
    decisions = np.zeros((len(normals), n_classes), dtype=np.float64)
    for k in range(folds):
        fit, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        texts = [normals[i] for i in fit.tolist()]
        coef, intercept, idf = _fit(texts, labels[fit], weights[fit], n_classes)
        model = TopicModel(topics, coef, intercept, idf)
        decisions[held] = model.decisions([normals[i] for i in held.tolist()])
    rows = np.arange(len(normals))

    def log_loss(temperature: float) -> float:
        probs = softmax(temperature * decisions)[rows, labels]
        return float(-(weights * np.log(probs + 1e-12)).sum() / weights.sum())

    temperature = float(minimize_scalar(log_loss, bounds=(0.05, 100.0), method="bounded").x)
    present = sorted(set(labels.tolist()))
    fallback_class = topics.index(fallback) if fallback in topics else -1

    def proposed(rule_weight: float, floor: float) -> Any:
        probs = softmax(temperature * decisions + rule_weight * rules)
        best = probs.argmax(axis=1)
        return np.where(probs[rows, best] < floor, fallback_class, best)

    by_rules = np.where(rules.max(axis=1) > 0, rules.argmax(axis=1), fallback_class)
    tried = {
        (w, f): _macro_f1(labels, proposed(w, f), present, weights)
        for w in RULE_WEIGHTS
        for f in FLOORS
    }
    # Best held-out macro-F1; among equals, the lowest floor (a guess before the fallback).
    (rule_weight, floor), combined = max(tried.items(), key=lambda i: (i[1], -i[0][1], -i[0][0]))
    cv = {
        "rules": _macro_f1(labels, by_rules, present, weights),
        "model": tried[(0.0, 0.0)],
        "combined": combined,
        "folds": float(folds),
    }
    return Combination(temperature, rule_weight, floor, catalogue, cv)


# ---------------------------------------------------------------------- the combination
def model_match(prediction: Prediction) -> TopicMatch:
    return TopicMatch(
        prediction.topic_id, round(prediction.probability, 3), prediction.ngrams, "model"
    )


def combine(
    rules: Sequence[TopicMatch],
    best: Prediction | None,
    *,
    fallback: str,
    floor: float = 0.0,
) -> list[TopicMatch]:
    """The topics to propose, best first, from the rules' ranking and the combined best
    topic (the module docstring states the rule). ``best`` None: the rules alone."""
    if best is None:
        return list(rules)
    fired = [m for m in rules if m.score > 0]
    if best.probability < floor:
        return [TopicMatch(fallback, 0.0, ()), *fired]
    if fired and fired[0].topic_id == best.topic_id:
        return fired
    return [model_match(best), *fired]


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
    ids = [t for t in topics if t in tagger.topic_ids]
    if not ids:
        return ranked
    probs = softmax(model.scores(normals, ids, rule_scores(ranked, ids)))
    best = probs.argmax(axis=1)
    floor = model.combination.floor
    results = []
    for i, rules in enumerate(ranked):
        bare = Prediction(ids[best[i]], float(probs[i, best[i]]), ())
        results.append(combine(rules, bare, fallback=tagger.fallback_id, floor=floor))
    shown = [i for i, r in enumerate(results) if r[0].source == "model"]
    explained = model.explain_batch([normals[i] for i in shown], [ids[best[i]] for i in shown])
    for i, ngrams in zip(shown, explained, strict=True):
        first = results[i][0]
        results[i][0] = model_match(Prediction(first.topic_id, float(probs[i, best[i]]), ngrams))
    return results
