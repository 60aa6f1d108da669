"""The keyword tagger: normalisation, evidence, ranking, fallback, robustness, and accuracy on
the labelled sets in tests/data (see tests/data/README.md for how they were written)."""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings, TopicConfig, load_settings
from bot.tagging import LEAD_WEIGHT, OCCURRENCE_WEIGHT, Tagger, TopicMatch, normalise

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def topic(tid: str, keywords: list[str], *, fallback: bool = False) -> TopicConfig:
    return TopicConfig(id=tid, names={"zh-Hans": tid}, keywords=keywords, fallback=fallback)


SMALL = [
    topic("lights", ["路灯", "路灯坏了", "street light"]),
    topic("rubbish", ["垃圾", "清运", "卫生"]),
    topic("roads", ["道路", "路面", "road"]),
    topic("health", ["卫生院", "医生"]),
    topic("other", [], fallback=True),
]
SMALL_TAGGER = Tagger(SMALL)


@pytest.fixture(scope="module")
def example() -> Settings:
    return load_settings(EXAMPLE)


@pytest.fixture(scope="module")
def tagger(example: Settings) -> Tagger:
    return Tagger(example.topics)


# ---------------------------------------------------------------- normalisation
def test_normalise_width_script_and_case() -> None:
    assert normalise("ＡＢＣ１２３") == "abc123"
    assert normalise("路燈壞了") == "路灯坏了"
    assert normalise("Street LIGHT") == "street light"
    assert normalise("幹部　推諉") == "干部 推诿"  # the ideographic space too
    assert normalise("３号樓，ＯＫ！") == "3号楼,ok!"


def test_normalise_is_full_nfkc() -> None:
    # Not only full-width ASCII: every compatibility form NFKC knows.
    assert normalise("①号楼，１００㎡…") == "1号楼,100m2..."
    assert normalise("ｶﾀｶﾅ") == "カタカナ"  # half-width katakana


def test_normalise_survives_lone_surrogates_and_control_characters() -> None:
    assert normalise("路燈\ud800壞了?") == "路灯\ufffd坏了?"
    assert normalise("\x00路燈\x1b") == "\x00路灯\x1b"
    assert normalise("") == ""


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=200))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


# ---------------------------------------------------------------- evidence and ranking
def test_evidence_lists_the_configured_keywords_that_fired() -> None:
    [best, second] = SMALL_TAGGER.tag("村口路灯坏了，旁边的垃圾也没人清运")
    # "路灯" lies inside "路灯坏了": counted once, the longer keyword shown. A short text is
    # all lead: every keyword counts LEAD_WEIGHT times.
    assert best == TopicMatch("lights", 4.0 * LEAD_WEIGHT, ("路灯坏了",))
    assert second == TopicMatch("rubbish", 4.0 * LEAD_WEIGHT, ("垃圾", "清运"))


def test_a_keyword_inside_a_longer_one_of_another_topic_does_not_count() -> None:
    [health] = SMALL_TAGGER.tag("卫生院晚上没有医生")
    assert (health.topic_id, health.keywords) == ("health", ("卫生院", "医生"))
    assert health.score == 5.0 * LEAD_WEIGHT
    # It counts where it also occurs on its own.
    ranked = SMALL_TAGGER.tag("卫生院门口的卫生太差")
    assert [(m.topic_id, m.keywords) for m in ranked] == [
        ("health", ("卫生院",)),
        ("rubbish", ("卫生",)),
    ]
    # Only its free occurrences count: one of the two "卫生" is inside "卫生院".
    assert ranked[1].score == SMALL_TAGGER.tag("卫生太差")[0].score


def test_a_repeated_keyword_counts_more_with_diminishing_returns() -> None:
    once, twice, four = (SMALL_TAGGER.tag("垃圾" * n)[0].score for n in (1, 2, 4))
    assert once == 2.0 * LEAD_WEIGHT
    assert once < twice < four
    assert four - twice < 2 * (twice - once)  # the third and fourth add less than the second
    assert twice == pytest.approx(once * (1 + OCCURRENCE_WEIGHT * math.log(2)), abs=1e-3)


def test_a_keyword_in_the_lead_weighs_more_than_the_same_later() -> None:
    filler = "，".join(["我们楼下的住户都很着急"] * 4)
    early = SMALL_TAGGER.tag(f"关于路面的问题。{filler}。另外门口有垃圾。")
    late = SMALL_TAGGER.tag(f"关于门口垃圾的问题。{filler}。另外路面也坏了。")
    assert [m.topic_id for m in early] == ["roads", "rubbish"]
    assert [m.topic_id for m in late] == ["rubbish", "roads"]
    assert early[0].score == LEAD_WEIGHT * early[1].score


def test_a_keyword_listed_under_two_topics_counts_half_for_each() -> None:
    shared = Tagger(
        [
            topic("housing", ["小区", "物业"]),
            topic("security", ["小区", "小偷"]),
            topic("other", [], fallback=True),
        ]
    )
    ranked = shared.tag("小区里来了小偷")
    assert [(m.topic_id, m.score) for m in ranked] == [
        ("security", (1.0 + 2.0) * LEAD_WEIGHT),
        ("housing", 1.0 * LEAD_WEIGHT),
    ]


def test_more_evidence_ranks_higher_and_ties_keep_catalogue_order() -> None:
    ranked = SMALL_TAGGER.tag("垃圾没人清运，路面也坏了")
    assert [m.topic_id for m in ranked] == ["rubbish", "roads"]
    assert ranked[0].score > ranked[1].score
    tie = SMALL_TAGGER.tag("路面上有垃圾")
    assert [(m.topic_id, m.score) for m in tie] == [("rubbish", 3.0), ("roads", 3.0)]


def test_nothing_fires_gives_the_fallback_alone() -> None:
    for text in ("你好", "", "   ", "\x00\x01", "谢谢你们"):
        assert SMALL_TAGGER.tag(text) == [TopicMatch("other", 0.0, ())]


def test_keywords_written_in_traditional_full_width_or_upper_case_still_match() -> None:
    tagger = Tagger(
        [topic("lights", ["路燈", "STREET LIGHT", "ＬＥＤ"]), topic("other", [], fallback=True)]
    )
    assert tagger.tag("路灯不亮")[0].keywords == ("路燈",)
    assert tagger.tag("the street light is out")[0].keywords == ("STREET LIGHT",)
    assert tagger.tag("換個led燈吧")[0].keywords == ("ＬＥＤ",)


def test_traditional_text_matches_simplified_keywords() -> None:
    assert SMALL_TAGGER.tag("衛生院晚上沒有醫生")[0].topic_id == "health"


def test_latin_keywords_match_whole_words_and_plurals() -> None:
    assert SMALL_TAGGER.tag("the ROADS are broken")[0].keywords == ("road",)
    assert SMALL_TAGGER.tag("three street lights are out")[0].topic_id == "lights"
    assert SMALL_TAGGER.tag("railroads and broadband")[0].topic_id == "other"
    assert SMALL_TAGGER.tag("修road的钱呢")[0].topic_id == "roads"  # Chinese around it is fine


def test_catalogue_without_exactly_one_fallback_is_refused() -> None:
    with pytest.raises(ValueError, match="fallback"):
        Tagger([topic("a", ["x"])])
    with pytest.raises(ValueError, match="fallback"):
        Tagger([topic("a", [], fallback=True), topic("b", [], fallback=True)])


def test_huge_and_repetitive_text_is_tagged_quickly() -> None:
    # Linear, not quadratic, in the number of occurrences of a keyword.
    ranked = SMALL_TAGGER.tag("卫生院的卫生" * 50_000)
    assert [m.topic_id for m in ranked] == ["health", "rubbish"]


# ---------------------------------------------------------------- properties
def check_ranking(tagger: Tagger, ids: set[str], text: str) -> list[TopicMatch]:
    ranked = tagger.tag(text)
    assert ranked
    assert {m.topic_id for m in ranked} <= ids
    assert len({m.topic_id for m in ranked}) == len(ranked)
    scores = [m.score for m in ranked]
    assert scores == sorted(scores, reverse=True)
    normal = normalise(text)
    for match in ranked:
        assert (match.score == 0) == (match.keywords == ())
        # The evidence is true: every keyword shown occurs in the text.
        assert all(normalise(k) in normal for k in match.keywords)
    return ranked


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=400))
def test_tag_never_fails_and_ranks_known_topics(text: str) -> None:
    check_ranking(SMALL_TAGGER, {t.id for t in SMALL}, text)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_tag_on_texts_full_of_catalogue_keywords(
    example: Settings, tagger: Tagger, data: st.DataObject
) -> None:
    keywords = sorted({k for t in example.topics for k in t.keywords})
    parts = data.draw(
        st.lists(st.sampled_from(keywords) | st.text(max_size=3) | st.just("，"), max_size=12)
    )
    # Spaces between the parts: Latin keywords only count as whole words ("appapp" has no "app").
    ranked = check_ranking(tagger, {t.id for t in example.topics}, " ".join(parts))
    if any(p in keywords for p in parts):
        # The longest keyword found is never hidden, so some topic scores.
        assert ranked[0].score > 0


# ---------------------------------------------------------------- the labelled sets
def load_rows(name: str) -> list[tuple[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return [(row["label"], row["text"]) for row in csv.DictReader(fh)]


def is_test_row(index: int) -> bool:
    """The fixed split of labelled_messages.csv for learned taggers (tests/data/README.md)."""
    return index % 5 == 0


def script(text: str) -> str:
    """en (no Chinese), zh-Hant (OpenCC changes it) or zh-Hans."""
    nfkc = unicodedata.normalize("NFKC", text).casefold()
    if not re.search("[\u3400-\u9fff]", nfkc):
        return "en"
    return "zh-Hant" if normalise(text) != nfkc else "zh-Hans"


def scores(tagger: Tagger, rows: list[tuple[str, str]]) -> tuple[float, float]:
    """Top-1 accuracy and macro-F1 over the labels present."""
    predicted = [tagger.tag(text)[0].topic_id for _, text in rows]
    gold = [label for label, _ in rows]
    pairs = list(zip(predicted, gold, strict=True))
    accuracy = sum(p == g for p, g in pairs) / len(rows)
    f1s = []
    for label in sorted(set(gold)):
        tp = sum(p == g == label for p, g in pairs)
        fp = sum(p == label != g for p, g in pairs)
        fn = sum(g == label != p for p, g in pairs)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return accuracy, sum(f1s) / len(f1s)


def test_labelled_set_composition(example: Settings) -> None:
    rows = load_rows("labelled_messages.csv")
    ids = {t.id for t in example.topics}
    labels = Counter(label for label, _ in rows)
    assert len(rows) >= 600
    assert set(labels) == ids
    assert min(labels.values()) >= 25, labels
    scripts = Counter(script(text) for _, text in rows)
    assert scripts["zh-Hant"] >= 0.15 * len(rows) and scripts["en"] >= 0.04 * len(rows), scripts
    assert len({text for _, text in rows}) == len(rows), "duplicate messages"
    # The fixed split holds every topic on both sides.
    test_labels = Counter(label for i, (label, _) in enumerate(rows) if is_test_row(i))
    assert set(test_labels) == ids and min(test_labels.values()) >= 5, test_labels


def test_holdout_set_covers_the_catalogue(example: Settings) -> None:
    rows = load_rows("holdout_messages.csv")
    assert {label for label, _ in rows} == {t.id for t in example.topics}


def test_accuracy_on_the_set_the_catalogue_was_tuned_on(tagger: Tagger) -> None:
    rows = load_rows("labelled_messages.csv")
    accuracy, macro_f1 = scores(tagger, rows)
    print(f"\nlabelled set: n={len(rows)} accuracy={accuracy:.3f} macro-F1={macro_f1:.3f}")
    by_script = {}
    for name in ("zh-Hans", "zh-Hant", "en"):
        part = [r for r in rows if script(r[1]) == name]
        by_script[name] = scores(tagger, part)
        print(f"  {name}: n={len(part)} accuracy={by_script[name][0]:.3f}")
    # Measured 0.936 / 0.938 (zh-Hans 0.925, zh-Hant 0.960, en 0.979) with the catalogue of
    # issue #22 (0.957 / 0.958 before it, which was tuned on these rows alone).
    assert accuracy >= 0.92 and macro_f1 >= 0.92
    # Traditional text is normalised, so it is tagged about as well as Simplified.
    assert by_script["zh-Hant"][0] >= by_script["zh-Hans"][0] - 0.05
    assert by_script["en"][0] >= 0.85


def test_accuracy_on_messages_written_after_the_catalogue(tagger: Tagger) -> None:
    """The held-out set was never used to tune keywords: the honest figure for keyword
    rules (misses mostly fall back to 其他, which the resident then corrects). The floor
    guards against a catalogue change that makes it worse."""
    rows = load_rows("holdout_messages.csv")
    accuracy, macro_f1 = scores(tagger, rows)
    print(f"\nheld-out set: n={len(rows)} accuracy={accuracy:.3f} macro-F1={macro_f1:.3f}")
    # Measured 0.772.
    assert accuracy >= 0.70


# ---------------------------------------------------------------- the petition-style set (#22)
PETITIONS = ("petitions_train.csv", "petitions_test.csv")


def test_petition_set_composition(example: Settings) -> None:
    """Long messages, every topic of the shipped catalogue on both sides of the split, in
    both scripts (tests/data/README.md)."""
    train, test = (load_rows(name) for name in PETITIONS)
    ids = {t.id for t in example.topics}
    both = Counter(label for label, _ in train + test)
    assert set(both) == ids and min(both.values()) >= 50, both
    for rows in (train, test):
        assert {label for label, _ in rows} == ids
        hant = Counter(label for label, text in rows if script(text) == "zh-Hant")
        assert set(hant) == ids, hant  # Traditional rows in every topic
        lengths = [len(text) for _, text in rows]
        assert sum(n >= 100 for n in lengths) >= 0.95 * len(rows)
    texts = [normalise(text) for _, text in train + test]
    assert len(set(texts)) == len(texts), "duplicate messages"
    per_topic = Counter(label for label, _ in test)
    assert set(per_topic.values()) == {17}  # positions 0, 3, 6, ... of each topic's 50


def test_the_shipped_catalogue_untrained_on_petition_style_messages(tagger: Tagger) -> None:
    """The catalogue was tuned on the train split only; the test split's figure is the honest
    one (issue #22's target for real messages: 0.70). The floors guard against a change that
    makes either worse."""
    figures = {}
    for name in PETITIONS:
        rows = load_rows(name)
        fallback = sum(tagger.tag(text)[0].topic_id == "other" for _, text in rows) / len(rows)
        figures[name] = scores(tagger, rows)
        print(f"\n{name}: n={len(rows)} macro-F1={figures[name][1]:.3f} fallback={fallback:.1%}")
    # Measured 0.792 (train, tuned there) and 0.751 (test).
    assert figures["petitions_train.csv"][1] >= 0.76
    assert figures["petitions_test.csv"][1] >= 0.72
