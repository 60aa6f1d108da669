"""``jindianzi tagger ...``: train the topic model from a labelled CSV file, evaluate the
tagging on one, tag messages from stdin, and suggest keywords from the labelled examples.

The model and the labels live in the bot's database (``storage.path``); these commands are
safe while the bot runs (SQLite WAL; the bot picks up a model trained here at its next
start or its next training).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.anonymity import existing_secrets
from bot.config import Settings, load_settings
from bot.evaluation import LabelResolver, format_scores, read_rows, read_texts, score
from bot.learner import train_examples
from bot.learning import Example, TopicModel, propose
from bot.logs import configure_logging
from bot.tagging import Tagger, TopicMatch, normalise
from storage.labels import SOURCE_WEIGHTS, LabelledExample, StoredModel
from storage.repository import Repository

EXIT_OK = 0
EXIT_INPUT = 2
MODES = ("combined", "rules", "model")
BATCH = 1000


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    tagger = sub.add_parser("tagger", help="train, evaluate and try the topic tagger")
    commands = tagger.add_subparsers(dest="tagger_command", required=True, metavar="ACTION")
    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="precision/recall/F1 per topic, macro-F1, accuracy and a confusion table",
    )
    evaluate.add_argument("file", type=Path, help="CSV file of rows label,text")
    evaluate.add_argument(
        "--mode", choices=MODES, default="combined", help="what proposes (default: combined)"
    )
    train = commands.add_parser(
        "train", parents=[common], help="import labelled rows (deduplicated) and train"
    )
    train.add_argument("file", type=Path, help="CSV file of rows label,text")
    tag = commands.add_parser(
        "tag", parents=[common], help="tag messages from stdin (one a line, or CSV with --csv)"
    )
    tag.add_argument("--csv", action="store_true", help="stdin is CSV (its text column)")
    suggest = commands.add_parser(
        "suggest-keywords",
        parents=[common],
        help="propose keywords from the labelled examples (the model's weightiest n-grams)",
    )
    suggest.add_argument("topic", nargs="?", help="topic id or name (default: every topic)")
    suggest.add_argument("--count", type=int, default=15, help="keywords per topic")


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    configure_logging(args.log_level)
    command = args.tagger_command
    if command == "evaluate":
        return evaluate(settings, args.file, args.mode)
    if command == "train":
        return train(settings, args.file)
    if command == "tag":
        return tag(settings, sys.stdin.buffer.read(), as_csv=args.csv)
    return suggest_keywords(settings, args.topic, args.count)


def _topic_ids(settings: Settings) -> list[str]:
    return [t.id for t in settings.topics]


async def _with_repository(settings: Settings) -> Repository:
    # The keys, if there are any, only to convert a database of an earlier version.
    repository = Repository(settings.storage.target, secrets=existing_secrets(settings.anonymity))
    await repository.connect()
    return repository


def _stored_model(settings: Settings) -> TopicModel | None:
    """The model in the database, if there is a database and a model in it."""
    if not settings.storage.stored:
        return None

    async def load() -> StoredModel | None:
        repository = await _with_repository(settings)
        try:
            return await repository.load_model()
        finally:
            await repository.close()

    stored = asyncio.run(load())
    if stored is None:
        return None
    try:
        return TopicModel.from_blobs(stored.params, stored.columns, stored.weights)
    except (ValueError, KeyError, TypeError) as exc:
        print(f"stored model ignored: {exc}", file=sys.stderr)
        return None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return None


def _resolved(
    settings: Settings, data: bytes, path: Path
) -> tuple[list[tuple[str, str]], dict[str, list[int]]] | None:
    """(topic id, text) of each row, and the unknown labels with their lines."""
    try:
        rows = read_rows(data)
    except (UnicodeDecodeError, csv.Error) as exc:
        print(f"{path}: not a UTF-8 CSV file ({exc})", file=sys.stderr)
        return None
    resolve = LabelResolver(settings.topics)
    known: list[tuple[str, str]] = []
    unknown: dict[str, list[int]] = {}
    for row in rows:
        topic_id = resolve(row.label)
        if topic_id is None:
            unknown.setdefault(row.label, []).append(row.line)
        else:
            known.append((topic_id, row.text))
    return known, unknown


def _report_unknown(unknown: dict[str, list[int]]) -> None:
    for label, lines in sorted(unknown.items()):
        where = ", ".join(str(n) for n in lines[:5]) + (" ..." if len(lines) > 5 else "")
        print(f"unknown label {label!r}: {len(lines)} row(s), line(s) {where}", file=sys.stderr)


def proposals(
    tagger: Tagger, model: TopicModel | None, texts: Sequence[str], topics: Sequence[str]
) -> list[list[TopicMatch]]:
    found: list[list[TopicMatch]] = []
    for start in range(0, len(texts), BATCH):
        found += propose(tagger, model, texts[start : start + BATCH], topics=topics)
    return found


def predict(
    mode: str,
    tagger: Tagger,
    model: TopicModel | None,
    texts: Sequence[str],
    topics: Sequence[str],
) -> list[str]:
    """The topic each text gets: from the rules, the model alone, or both combined."""
    if mode == "rules" or model is None:
        return [tagger.tag(text)[0].topic_id for text in texts]
    if mode == "model":
        return [p.topic_id for p in model.predict_normalised(_normals(texts), explain=False)]
    return [m[0].topic_id for m in proposals(tagger, model, texts, topics)]


def _normals(texts: Sequence[str]) -> list[str]:
    return [normalise(t) for t in texts]


def evaluate(settings: Settings, path: Path, mode: str) -> int:
    data = _read(path)
    resolved = None if data is None else _resolved(settings, data, path)
    if resolved is None:
        return EXIT_INPUT
    rows, unknown = resolved
    _report_unknown(unknown)
    model = None if mode == "rules" else _stored_model(settings)
    if mode != "rules" and model is None:
        print("no trained model in the database: evaluating the rules only", file=sys.stderr)
        mode = "rules"
    topics = _topic_ids(settings)
    tagger = Tagger(settings.topics)
    predicted = predict(mode, tagger, model, [t for _, t in rows], topics)
    scores = score([g for g, _ in rows], predicted, topics, fallback=tagger.fallback_id)
    skipped = sum(len(v) for v in unknown.values())
    title = f"{path}: {len(rows)} rows ({skipped} with unknown labels skipped), mode {mode}"
    print(format_scores(scores, title=title))
    return EXIT_OK


def train(settings: Settings, path: Path) -> int:
    data = _read(path)
    resolved = None if data is None else _resolved(settings, data, path)
    if resolved is None:
        return EXIT_INPUT
    rows, unknown = resolved
    _report_unknown(unknown)
    weight = SOURCE_WEIGHTS["import"]
    labels = [LabelledExample(text, topic_id, "import", weight) for topic_id, text in rows]

    async def run() -> tuple[int, int, TopicModel | None, float]:
        repository = await _with_repository(settings)
        try:
            stored = await repository.add_labels(labels)
            examples = await repository.labelled_examples()
            started = time.perf_counter()
            model = train_examples(
                [Example(e.text, e.topic_id, e.weight) for e in examples], Tagger(settings.topics)
            )
            seconds = time.perf_counter() - started
            if model is not None:
                await repository.save_model(StoredModel(*model.to_blobs()))
            return stored, len(examples), model, seconds
        finally:
            await repository.close()

    stored, total, model, seconds = asyncio.run(run())
    print(f"{path}: {len(rows)} rows read, {stored} new or changed labels, {total} in all")
    if model is None:
        print("not trained: labelled examples of at least two topics are needed")
        return EXIT_OK
    print(
        f"trained on {model.examples} examples of {len(model.classes)} topics"
        f" in {seconds:.2f} s; saved to {settings.storage.describe()}"
    )
    c = model.combination
    if c.cv:
        print(
            f"cross-validation ({c.cv['folds']:.0f} folds) macro-F1: rules {c.cv['rules']:.3f},"
            f" model {c.cv['model']:.3f}, combined {c.cv['combined']:.3f}"
        )
    else:
        print("too few examples to cross-validate: default combination")
    print(
        f"combination: temperature {c.temperature:.2f}, rule weight {c.rule_weight:.2f},"
        f" floor {c.floor:.2f}"
    )
    return EXIT_OK


def tag(settings: Settings, data: bytes, *, as_csv: bool) -> int:
    try:
        texts = read_texts(data) if as_csv else data.decode("utf-8-sig").splitlines()
    except (UnicodeDecodeError, csv.Error) as exc:
        print(f"stdin: not UTF-8 text ({exc})", file=sys.stderr)
        return EXIT_INPUT
    texts = [t for t in texts if t.strip()]
    model = _stored_model(settings)
    found = proposals(Tagger(settings.topics), model, texts, _topic_ids(settings))
    for matches in found:
        best = matches[0]
        if best.source == "model":
            evidence = f"p={best.score:.2f} " + " ".join(best.keywords)
        else:
            evidence = " ".join(best.keywords) or "-"
        print(f"{best.topic_id}\t{best.source}\t{evidence}")
    return EXIT_OK


def suggest_keywords(settings: Settings, topic: str | None, count: int) -> int:
    resolve = LabelResolver(settings.topics)
    wanted = _topic_ids(settings)
    if topic is not None:
        topic_id = resolve(topic)
        if topic_id is None:
            print(f"unknown topic {topic!r}", file=sys.stderr)
            return EXIT_INPUT
        wanted = [topic_id]
    if not settings.storage.stored:
        print(f"No database at {settings.storage.path}.", file=sys.stderr)
        return EXIT_INPUT

    async def load() -> tuple[list[LabelledExample], StoredModel | None]:
        repository = await _with_repository(settings)
        try:
            return await repository.labelled_examples(), await repository.load_model()
        finally:
            await repository.close()

    examples, stored = asyncio.run(load())
    model = None if stored is None else _stored_model(settings)
    if model is None:
        print("no trained model: run `jindianzi tagger train FILE` first", file=sys.stderr)
        return EXIT_INPUT
    for topic_id in wanted:
        config = settings.topic(topic_id)
        assert config is not None
        configured = set(config.keywords)
        texts = [e.text for e in examples if e.topic_id == topic_id]
        found = model.suggest_keywords(topic_id, texts, count)
        shown = [f"{g}{'*' if g in configured else ''} ({w:.2f})" for g, w in found]
        print(f"{topic_id} ({len(texts)} examples): {', '.join(shown) or '-'}")
    print("(* already a configured keyword)")
    return EXIT_OK
