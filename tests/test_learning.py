"""The topic model: features, training, explanation, storage form, the combination rule,
labels in SQLite, the learner's persistence, and the CSV/metrics helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot import train_model
from bot.anonymity import Secrets
from bot.config import TopicConfig
from bot.core.records import Draft, NewSubmission
from bot.core.workflow import Kind
from bot.evaluation import LabelResolver, read_rows, read_texts, score
from bot.learner import EXIT_TOO_FEW, EXIT_TRAINED, TopicLearner, catalogue_json
from bot.learning import (
    FLOORS,
    N_FEATURES,
    RULE_WEIGHTS,
    Example,
    Prediction,
    TopicModel,
    combine,
    counts,
    features,
    inverse_document_frequency,
    propose,
)
from bot.tagging import Tagger, TopicMatch
from storage.labels import LabelledExample, StoredModel
from storage.repository import Repository

ROADS = ["路灯坏了好几天", "村口的路面坑坑洼洼", "公交车班次太少", "桥上的护栏断了", "马路积水严重"]
SCHOOL = ["学校食堂太贵了", "孩子上学路太远", "幼儿园老师不够", "希望多开兴趣班", "课后托管没人管"]
EXAMPLES = [Example(t, "roads") for t in ROADS] + [Example(t, "school") for t in SCHOOL]
TOPICS = [
    TopicConfig(id="roads", names={"zh-Hans": "道路交通", "zh-Hant": "道路交通", "en": "Roads"}),
    TopicConfig(id="school", names={"zh-Hans": "教育", "en": "Schools"}, keywords=["学校"]),
    TopicConfig(id="other", names={"zh-Hans": "其他"}, fallback=True),
]


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.train(EXAMPLES)


# ---------------------------------------------------------------- features and model
def test_features_are_unit_length_and_do_not_cross_texts() -> None:
    both = features(["路灯", "公交"])
    alone = features(["路灯"])
    assert both.shape == (2, N_FEATURES)
    assert np.allclose((both.multiply(both)).sum(axis=1).A1, 1.0)
    assert (both[0] != alone[0]).nnz == 0  # "灯公" is no n-gram of either
    assert features(["路灯"]).nnz == 3  # 路, 灯, 路灯
    assert features([""]).nnz == 0


def test_features_are_sublinear_tf_idf_like_scikit_learns() -> None:
    """The same numbers as TfidfVectorizer(analyzer="char", ngram_range=(1, 3),
    sublinear_tf=True) fitted on the same texts (hashing aside: the columns differ)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["路灯路灯坏了", "路灯亮了", "公交车太少"]
    _, columns, _ = counts(texts)
    idf = inverse_document_frequency(columns, len(texts))
    ours = features(texts, idf)
    theirs = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False
    ).fit_transform(texts)
    for row in range(len(texts)):
        assert np.allclose(
            sorted(ours[row].data.tolist()), sorted(theirs[row].data.tolist()), atol=1e-6
        )
    # A column no training text had weighs nothing (as a word outside a vocabulary).
    unseen = features(["地铁"], idf)
    assert unseen.nnz == 0


def test_training_and_prediction(model: TopicModel) -> None:
    assert model.classes == ("roads", "school")
    assert model.predict("路灯又坏了").topic_id == "roads"
    assert model.predict("學校食堂太貴").topic_id == "school"  # Traditional is normalised
    prediction = model.predict("孩子上学太远")
    assert 0.5 < prediction.probability <= 1.0
    assert prediction.ngrams and all(g in "孩子上学太远" for g in prediction.ngrams)
    with pytest.raises(ValueError):
        TopicModel.train([Example("只有一类", "roads")])


def test_two_topics_give_two_rows_of_weights() -> None:
    two = TopicModel.train([Example("路灯坏了", "roads"), Example("学校太远", "school")])
    assert two.probabilities(["路灯"]).shape == (1, 2)


def test_storage_form_round_trip_without_pickle(model: TopicModel) -> None:
    params, columns, values = model.to_blobs()
    assert json.loads(params)["classes"] == ["roads", "school"]
    again = TopicModel.from_blobs(params, columns, values)
    texts = ["路灯坏了", "学校食堂", "随便说说"]
    assert np.allclose(again.probabilities(texts), model.probabilities(texts))
    assert again.combination == model.combination
    assert len(columns) < N_FEATURES  # only the columns an example touched


def test_a_model_of_the_older_format_is_refused(model: TopicModel) -> None:
    params, columns, values = model.to_blobs()
    older = json.loads(params) | {"format": 1, "features": "char-1-3-mul64-v1"}
    with pytest.raises(ValueError, match="another format"):
        TopicModel.from_blobs(json.dumps(older), columns, values)


def test_tampered_storage_is_refused(model: TopicModel) -> None:
    params, columns, values = model.to_blobs()
    with pytest.raises(ValueError):
        TopicModel.from_blobs(params, columns, values[:-4])
    with pytest.raises(ValueError):
        TopicModel.from_blobs(params.replace('"format": 2', '"format": 3'), columns, values)
    for key, value in (("temperature", 0), ("floor", 1.5), ("rule_weight", -1)):
        with pytest.raises(ValueError):
            TopicModel.from_blobs(json.dumps(json.loads(params) | {key: value}), columns, values)
    nan = np.frombuffer(values, dtype="<f4").copy()
    nan[0] = np.nan
    with pytest.raises(ValueError):
        TopicModel.from_blobs(params, columns, nan.tobytes())
    far = np.frombuffer(columns, dtype="<i4").copy()
    far[-1] = N_FEATURES
    with pytest.raises(ValueError):
        TopicModel.from_blobs(params, far.tobytes(), values)


def test_suggest_keywords(model: TopicModel) -> None:
    found = model.suggest_keywords("roads", ROADS, 5)
    assert found and all(w > 0 for _, w in found)
    assert all(any(g in t for t in ROADS) for g, _ in found)
    assert model.suggest_keywords("nowhere", ROADS) == []


# ---------------------------------------------------------------- combination rule
RULE = TopicMatch("roads", 3.0, ("路灯",))
SECOND = TopicMatch("school", 2.0, ("学校",))
FALLBACK = TopicMatch("other", 0.0, ())
IDS = ["roads", "school", "other"]


def test_the_rules_ranking_is_shown_when_the_combined_best_is_the_rules_first() -> None:
    best = Prediction("roads", 0.7, ())
    assert combine([RULE, SECOND], best, fallback="other") == [RULE, SECOND]


def test_the_models_topic_comes_first_when_the_combination_prefers_another() -> None:
    best = Prediction("school", 0.8, ("上学",))
    first, *rest = combine([RULE, SECOND], best, fallback="other")
    assert first == TopicMatch("school", 0.8, ("上学",), "model")
    assert rest == [RULE, SECOND]  # the keywords that fired stay as evidence
    [offered] = combine([FALLBACK], Prediction("school", 0.3, ()), fallback="other")
    assert offered.source == "model" and offered.topic_id == "school"


def test_below_the_floor_the_fallback_is_proposed() -> None:
    unsure = Prediction("school", 0.25, ())
    assert combine([FALLBACK], unsure, fallback="other", floor=0.3) == [FALLBACK]
    assert combine([RULE], unsure, fallback="other", floor=0.3) == [FALLBACK, RULE]
    assert combine([FALLBACK], None, fallback="other") == [FALLBACK]


def with_combination(model: TopicModel, **changes: float) -> TopicModel:
    params, columns, values = model.to_blobs()
    return TopicModel.from_blobs(json.dumps(json.loads(params) | changes), columns, values)


def test_propose_uses_the_stored_rule_weight_and_floor(model: TopicModel) -> None:
    tagger = Tagger(TOPICS)
    text = "学校门口的路面坑坑洼洼"  # the rules say school (学校), the model roads
    assert model.predict(text).topic_id == "roads"
    by_rules = with_combination(model, rule_weight=100.0, floor=0.0)
    assert propose(tagger, by_rules, [text], topics=IDS)[0][0] == tagger.tag(text)[0]
    by_model = with_combination(model, rule_weight=0.0, floor=0.0)
    [first, second] = propose(tagger, by_model, [text], topics=IDS)[0]
    assert (first.topic_id, first.source) == ("roads", "model") and second.topic_id == "school"
    unsure = with_combination(model, rule_weight=0.0, floor=1.0)
    assert propose(tagger, unsure, [text], topics=IDS)[0][0] == FALLBACK


def test_propose_explains_only_the_model_topics_it_shows(model: TopicModel) -> None:
    tagger = Tagger(TOPICS)
    [rules_only, from_model] = propose(tagger, model, ["学校门口", "孩子上学路太远了"], topics=IDS)
    assert rules_only[0] == tagger.tag("学校门口")[0]
    assert from_model[0].source == "model" and from_model[0].topic_id == "school"
    assert from_model[0].keywords
    assert propose(tagger, None, ["学校"], topics=IDS) == [tagger.tag("学校")]
    # A topic the model knows but the catalogue no longer has is never proposed.
    assert (
        propose(tagger, model, ["孩子上学路太远了"], topics=["roads", "other"])[0][0]
        != (from_model[0])
    )


# Enough labelled rows to cross-validate: the petition-style set's train split.
def petitions(limit: int | None = None) -> list[Example]:
    path = Path(__file__).parent / "data" / "petitions_train.csv"
    rows = read_rows(path.read_bytes())
    return [Example(r.text, r.label) for r in rows][:limit]


@pytest.fixture(scope="module")
def catalogue() -> list[TopicConfig]:
    from bot.config import load_settings

    return load_settings(Path(__file__).resolve().parent.parent / "config.example.toml").topics


def test_training_chooses_the_combination_by_cross_validation(
    catalogue: list[TopicConfig],
) -> None:
    tagger = Tagger(catalogue)
    trained = TopicModel.train(petitions(), tagger)
    c = trained.combination
    assert c.catalogue == tagger.fingerprint
    assert c.rule_weight in RULE_WEIGHTS and c.floor in FLOORS and c.temperature > 0
    assert set(c.cv) == {"rules", "model", "combined", "folds"}
    # The chosen pair is the best of the grid, so never below rules or model alone.
    assert c.cv["combined"] >= max(c.cv["rules"], c.cv["model"])
    # Without keywords the rules have nothing to add: combined is the model's own figure.
    bare = [t.model_copy(update={"keywords": []}) for t in catalogue]
    no_rules = TopicModel.train(petitions(), Tagger(bare)).combination
    assert no_rules.cv["combined"] == pytest.approx(no_rules.cv["model"])


def test_the_fallback_is_proposed_only_where_it_was_the_better_guess(
    catalogue: list[TopicConfig],
) -> None:
    # No labelled fallback rows: proposing the fallback is always a miss, so the floor is 0
    # and the model's best guess is always offered.
    rows = [e for e in petitions() if e.topic_id != "other"]
    trained = TopicModel.train(rows, Tagger(catalogue))
    assert trained.combination.floor == 0.0
    texts = ["你好", "谢谢你们", "隔壁王大爷家的狗天天晚上叫个不停"]
    proposals = propose(Tagger(catalogue), trained, texts, topics=[t.id for t in catalogue])
    assert all(p[0].topic_id != "other" for p in proposals)


# ---------------------------------------------------------------- labels in the database
# (the labels' upsert and the stored model on SQLite and on PostgreSQL, #24)
async def test_labels_are_deduplicated_by_normalised_text(storage_target: str) -> None:
    repo = Repository(storage_target)
    await repo.connect()
    try:
        stored = await repo.add_labels(
            [
                LabelledExample("學校食堂太貴", "school", "import", 1.0),
                LabelledExample("学校食堂太贵", "school", "import", 1.0),  # same, Simplified
                LabelledExample("路灯坏了", "roads", "import", 1.0),
            ]
        )
        assert stored == 2
        assert await repo.add_labels([LabelledExample("路灯坏了", "roads", "import", 1.0)]) == 0
        # A resident's choice does not overwrite an import; an admin's does.
        assert not await repo.add_labels([LabelledExample("路灯坏了", "other", "resident", 0.5)])
        assert await repo.add_labels([LabelledExample("路灯坏了", "other", "admin", 3.0)])
        assert not await repo.add_labels([LabelledExample("路灯坏了", "roads", "import", 1.0)])
        assert await repo.label_counts() == {"school": 1, "other": 1}
    finally:
        await repo.close()


async def test_a_residents_own_topic_choice_is_a_light_label_without_sender(
    tmp_path: Path,
) -> None:
    secrets = Secrets.generate()
    repo = Repository(tmp_path / "db.sqlite3", secrets=secrets)
    await repo.connect()
    try:
        for topic, owner in (("school", 1), ("roads", 2)):
            await repo.save_draft(owner, Draft())
            await repo.create_submission(
                NewSubmission(
                    kind=Kind.SUGGESTION,
                    text=f"村里的事情{owner}",
                    topic_id=topic,
                    suggested_topic_id="roads",
                    evidence=(),
                    language="zh-Hans",
                    reply_route=secrets.encrypt_int(owner),
                ),
                owner_id=owner,
            )
        [label] = await repo.labelled_examples()  # the accepted proposal is not a label
        assert label == LabelledExample("村里的事情1", "school", "resident", 0.5)
        async with repo.reading() as db:
            info = await db.execute_fetchall("PRAGMA table_info(labelled_examples)")
        columns = [r[1] for r in info]
        assert not {"owner_tag", "sender_user_id", "reply_route"} & set(columns)
    finally:
        await repo.close()


async def test_the_learner_trains_saves_and_loads_after_a_restart(storage_target: str) -> None:
    path = storage_target
    repo = Repository(path)
    await repo.connect()
    await repo.add_labels(LabelledExample(e.text, e.topic_id, "import", 1.0) for e in EXAMPLES)
    learner = TopicLearner(repo, TOPICS)
    await learner.load()  # labels, no model: a training is scheduled
    await learner.idle()
    assert learner.model is not None
    before = learner.model.probabilities(["孩子上学"])
    await repo.close()

    again = Repository(path)
    await again.connect()
    restarted = TopicLearner(again, TOPICS)
    await restarted.load()
    assert restarted.model is not None and restarted._task is None  # loaded, not retrained
    assert np.allclose(restarted.model.probabilities(["孩子上学"]), before)
    matches = await restarted.propose(Tagger(TOPICS), "孩子上学路太远了")
    assert matches[0].topic_id == "school" and matches[0].source == "model"
    await again.close()


async def test_a_damaged_stored_model_is_ignored(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "db.sqlite3")
    await repo.connect()
    async with repo.transaction() as db:
        await db.execute(
            "INSERT INTO topic_model VALUES (1, '{\"format\": 99}', x'00', x'00', 'now')"
        )
    learner = TopicLearner(repo, TOPICS)
    await learner.load()
    assert learner.model is None
    await repo.close()


async def test_a_model_of_the_older_format_or_catalogue_is_retrained_at_start_up(
    tmp_path: Path, model: TopicModel
) -> None:
    """The stored model changed format (#22) without a migration: the table is the same, an
    older model is refused when read, and the labels train a new one."""
    repo = Repository(tmp_path / "db.sqlite3")
    await repo.connect()
    await repo.add_labels(LabelledExample(e.text, e.topic_id, "import", 1.0) for e in EXAMPLES)
    params, columns, values = model.to_blobs()
    older = json.loads(params) | {"format": 1, "features": "char-1-3-mul64-v1"}
    await repo.save_model(StoredModel(json.dumps(older), columns, values))
    learner = TopicLearner(repo, TOPICS)
    await learner.load()
    await learner.idle()
    assert learner.model is not None
    assert learner.model.combination.catalogue == learner.tagger.fingerprint
    # The catalogue's keywords change: the stored model is used until a new one is trained.
    edited = [t.model_copy(update={"keywords": [*t.keywords, "课堂"]}) for t in TOPICS]
    changed = TopicLearner(repo, edited)
    await changed.load()
    assert changed.model is not None and changed._task is not None
    await changed.idle()
    assert changed.model.combination.catalogue == Tagger(edited).fingerprint
    await repo.close()


# ---------------------------------------------------------------- CSV and metrics
def test_read_rows_handles_bom_quotes_newlines_and_header() -> None:
    data = '\ufefflabel,text\nroads,"路灯, 坏了"\n\nschool,"第一行\n第二行"\nother,\n'.encode()
    rows = read_rows(data)
    assert [(r.line, r.label, r.text) for r in rows] == [
        (2, "roads", "路灯, 坏了"),
        (4, "school", "第一行\n第二行"),
    ]
    assert read_rows(b"roads,a,b\n")[0].text == "a,b"  # an unquoted comma stays in the text
    assert read_texts("text,x\n路灯,1\n".encode()) == ["路灯"]
    assert read_texts("路灯坏了\n".encode()) == ["路灯坏了"]


def test_labels_resolve_by_id_or_name_in_any_language() -> None:
    resolve = LabelResolver(TOPICS)
    assert resolve("roads") == "roads"
    assert resolve("道路交通") == resolve("ROADS") == "roads"
    assert resolve("學校") is None and resolve("Schools") == "school"
    assert resolve("教育") == "school"


def test_scores_are_scikit_learns_over_the_labels_in_the_file() -> None:
    from sklearn.metrics import f1_score

    gold = ["a", "a", "b", "b", "c"]
    predicted = ["a", "other", "b", "other", "a"]
    scores = score(gold, predicted, ["b", "a", "c", "other"], fallback="other")
    assert scores.topics == ["b", "a", "c"]  # the file's labels: never "other"
    assert scores.others == ["other"]
    assert scores.macro_f1 == pytest.approx(
        f1_score(gold, predicted, labels=["a", "b", "c"], average="macro", zero_division=0)
    )
    # Not the average over gold and proposed together, which counts "other" as a 4th topic.
    assert scores.macro_f1 != pytest.approx(f1_score(gold, predicted, average="macro"))
    precision, recall, f1, support = scores.per_topic["a"]
    assert (precision, recall, support) == (0.5, 0.5, 2) and f1 == pytest.approx(0.5)
    assert scores.per_topic["c"] == (0.0, 0.0, 0.0, 1)
    assert scores.accuracy == 0.4 and scores.fallback_rate == 0.4
    assert scores.confusion[("b", "other")] == 1
    with pytest.raises(ValueError):
        score(["a"], [])


async def test_the_training_process_saves_the_model_or_says_too_few(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    repo = Repository(path)
    await repo.connect()
    await repo.add_labels([LabelledExample("路灯坏了", "roads", "import", 1.0)])
    assert train_model.main([str(path)], catalogue_json(TOPICS)) == EXIT_TOO_FEW
    await repo.add_labels(LabelledExample(e.text, e.topic_id, "import", 1.0) for e in EXAMPLES)
    without_school = [t for t in TOPICS if t.id != "school"]
    assert train_model.main([str(path)], catalogue_json(without_school)) == EXIT_TOO_FEW
    assert train_model.main([str(path)], catalogue_json(TOPICS)) == EXIT_TRAINED
    stored = await repo.load_model()
    assert stored is not None
    model = TopicModel.from_blobs(stored.params, stored.columns, stored.weights)
    assert model.classes == ("roads", "school")
    assert model.examples == len(EXAMPLES) + 1  # and the lone first label
    await repo.close()


def test_a_batch_is_explained_as_each_text_alone(model: TopicModel) -> None:
    texts = ["孩子上学路太远了", "路灯坏了好几天", "学", "", "路面坑坑洼洼，学校门口也是"]
    topics = ["school", "roads", "school", "roads", "nowhere"]
    batch = model.explain_batch(texts, topics)
    alone = [model.explain_batch([t], [topic])[0] for t, topic in zip(texts, topics, strict=True)]
    assert batch == alone
    assert batch[0] and all(g in texts[0] for g in batch[0])
    assert batch[2:] == [(), (), ()]  # no n-gram of 2+ characters; empty; unknown topic


NO_SCIKIT_LEARN = """
import asyncio, sys
from pathlib import Path
from bot.cli import _parser
from bot.config import load_settings
from bot.learner import TopicLearner
from bot.tagging import Tagger
from storage.repository import Repository

_parser()  # the command line, with `tagger`'s parser, as `jindianzi run` builds it

async def main() -> None:
    settings = load_settings(Path(sys.argv[1]))
    repository = Repository(Path(sys.argv[2]))
    await repository.connect()
    learner = TopicLearner(repository, settings.topics)
    await learner.load()
    assert learner.model is not None and learner._task is None
    print(await learner.propose(Tagger(settings.topics), "村口的路灯坏了三天，晚上孩子放学很危险"))
    await repository.close()

asyncio.run(main())
print(sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "scipy"}))
"""


async def test_the_bot_process_never_imports_scikit_learn(
    tmp_path: Path, catalogue: list[TopicConfig]
) -> None:
    """Training runs in its own process; the bot's own (loading, proposing, its command
    line's parsers) loads neither scikit-learn nor SciPy."""
    import asyncio
    import sys

    from tests.processes import EXAMPLE_CONFIG, ROOT

    path = tmp_path / "db.sqlite3"
    repo = Repository(path)
    await repo.connect()
    await repo.add_labels(
        LabelledExample(e.text, e.topic_id, "import", 1.0) for e in petitions(200)
    )
    await repo.close()
    assert train_model.main([str(path)], catalogue_json(catalogue)) == EXIT_TRAINED
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        NO_SCIKIT_LEARN,
        str(EXAMPLE_CONFIG),
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    proposal, modules = out.decode().strip().splitlines()[-2:]
    assert "TopicMatch" in proposal
    assert modules == "[]"


async def test_a_worker_loads_the_model_another_worker_trained(tmp_path: Path) -> None:
    """Several workers (#24): the leader trains; another worker, started before, finds the
    new model at its next refresh (and only then loads it)."""
    path = tmp_path / "db.sqlite3"
    leader_repo, other_repo = Repository(path), Repository(path)
    await leader_repo.connect()
    await other_repo.connect()
    try:
        other = TopicLearner(other_repo, TOPICS)
        await other.load()  # nothing stored yet
        assert other.model is None and not await other.refresh()
        await leader_repo.add_labels(
            LabelledExample(e.text, e.topic_id, "import", 1.0) for e in EXAMPLES
        )
        leader = TopicLearner(leader_repo, TOPICS)
        assert await leader.retrain() is not None
        assert not await leader.refresh()  # its own model: nothing to load
        assert await other.refresh()
        assert other.model is not None and leader.model is not None
        assert np.allclose(
            other.model.probabilities(["孩子上学"]), leader.model.probabilities(["孩子上学"])
        )
        assert not await other.refresh()  # loaded once
    finally:
        await other_repo.close()
        await leader_repo.close()
