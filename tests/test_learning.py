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
from bot.evaluation import LabelResolver, read_rows, read_texts, score
from bot.learner import EXIT_TOO_FEW, EXIT_TRAINED, TopicLearner
from bot.learning import (
    CONFIDENT,
    FLOOR,
    N_FEATURES,
    Example,
    Prediction,
    TopicModel,
    combine,
    features,
    propose,
)
from bot.records import Draft, NewSubmission
from bot.tagging import Tagger, TopicMatch
from bot.workflow import Kind
from storage.labels import LabelledExample
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
    assert len(columns) < N_FEATURES  # only the columns an example touched


def test_tampered_storage_is_refused(model: TopicModel) -> None:
    params, columns, values = model.to_blobs()
    with pytest.raises(ValueError):
        TopicModel.from_blobs(params, columns, values[:-4])
    with pytest.raises(ValueError):
        TopicModel.from_blobs(params.replace('"format": 1', '"format": 2'), columns, values)
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
FALLBACK = TopicMatch("other", 0.0, ())
IDS = ["roads", "school", "other"]


def test_rules_that_fire_win_unless_the_model_is_confident_and_disagrees() -> None:
    unsure = Prediction("school", CONFIDENT - 0.01, ("学校",))
    assert combine([RULE], unsure, topics=IDS) == [RULE]
    agrees = Prediction("roads", 0.99, ("路灯",))
    assert combine([RULE], agrees, topics=IDS) == [RULE]
    sure = Prediction("school", CONFIDENT, ("学校",))
    first, second = combine([RULE], sure, topics=IDS)
    assert first == TopicMatch("school", CONFIDENT, ("学校",), "model") and second == RULE


def test_with_no_rule_firing_the_model_is_offered_from_the_floor() -> None:
    assert combine([FALLBACK], Prediction("school", FLOOR - 0.01, ()), topics=IDS) == [FALLBACK]
    [offered] = combine([FALLBACK], Prediction("school", FLOOR, ("上学",)), topics=IDS)
    assert offered.source == "model" and offered.topic_id == "school"
    assert combine([FALLBACK], None, topics=IDS) == [FALLBACK]
    gone = Prediction("retired_topic", 0.99, ())
    assert combine([FALLBACK], gone, topics=IDS) == [FALLBACK]


def test_propose_explains_only_the_model_topics_it_shows(model: TopicModel) -> None:
    tagger = Tagger(TOPICS)
    [rules_only, from_model] = propose(tagger, model, ["学校门口", "孩子上学路太远了"], topics=IDS)
    assert rules_only[0] == TopicMatch("school", 2.0, ("学校",))
    assert from_model[0].source == "model" and from_model[0].topic_id == "school"
    assert from_model[0].keywords
    assert propose(tagger, None, ["学校"], topics=IDS) == [tagger.tag("学校")]


# ---------------------------------------------------------------- labels in SQLite
async def test_labels_are_deduplicated_by_normalised_text(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "db.sqlite3")
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


async def test_the_learner_trains_saves_and_loads_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    repo = Repository(path)
    await repo.connect()
    await repo.add_labels(LabelledExample(e.text, e.topic_id, "import", 1.0) for e in EXAMPLES)
    learner = TopicLearner(repo, IDS)
    await learner.load()  # labels, no model: a training is scheduled
    await learner.idle()
    assert learner.model is not None
    before = learner.model.probabilities(["孩子上学"])
    await repo.close()

    again = Repository(path)
    await again.connect()
    restarted = TopicLearner(again, IDS)
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
    learner = TopicLearner(repo, IDS)
    await learner.load()
    assert learner.model is None
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


def test_scores() -> None:
    scores = score(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["b", "a"])
    assert scores.topics == ["b", "a"]
    precision, recall, f1, support = scores.per_topic["a"]
    assert (precision, recall, support) == (1.0, 0.5, 2) and f1 == pytest.approx(2 / 3)
    assert scores.per_topic["b"][0] == pytest.approx(2 / 3) and scores.per_topic["b"][1] == 1.0
    assert scores.accuracy == 0.75
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert scores.confusion[("a", "b")] == 1
    with pytest.raises(ValueError):
        score(["a"], [])


async def test_the_training_process_saves_the_model_or_says_too_few(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    repo = Repository(path)
    await repo.connect()
    await repo.add_labels([LabelledExample("路灯坏了", "roads", "import", 1.0)])
    assert train_model.main([str(path), ",".join(IDS)]) == EXIT_TOO_FEW
    await repo.add_labels(LabelledExample(e.text, e.topic_id, "import", 1.0) for e in EXAMPLES)
    assert train_model.main([str(path), "roads,other"]) == EXIT_TOO_FEW
    assert train_model.main([str(path), ",".join(IDS)]) == EXIT_TRAINED
    stored = await repo.load_model()
    assert stored is not None
    model = TopicModel.from_blobs(stored.params, stored.columns, stored.weights)
    assert model.classes == ("roads", "school")
    assert model.examples == len(EXAMPLES) + 1  # and the lone first label
    await repo.close()
