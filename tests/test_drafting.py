"""Drafting rules: what may be added to a draft, when it is ready, topic proposals,
commands with their text on the same line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import LimitsSettings
from bot.core import drafting
from bot.core.drafting import Step
from bot.core.records import Attachment, Draft
from bot.core.workflow import Kind
from bot.tagging import TopicMatch

LIMITS = LimitsSettings(max_text_chars=100, max_parts=3, max_attachments=2, min_text_chars=4)
PHOTO = Attachment(type="photo", file_id="P")


def test_text_and_attachments_accumulate_and_reset_the_topic() -> None:
    draft = Draft(topic_id="roads")
    result = drafting.add_content(draft, text=" 路灯坏了 ", attachment=PHOTO, limits=LIMITS)
    assert result.problem is None
    assert result.draft.parts == ["路灯坏了"] and result.draft.attachments == [PHOTO]
    assert result.draft.topic_id is None  # proposed again for the whole text


@pytest.mark.parametrize(
    ("draft", "text", "attachment", "problem"),
    [
        (Draft(), "\x00 ", None, "input.empty"),
        (Draft(parts=["一" * 98]), "一二三", None, "input.too_long"),
        (Draft(parts=["a", "b", "c"]), "d", None, "input.too_many_parts"),
        (Draft(attachments=[PHOTO, PHOTO]), None, PHOTO, "input.too_many_attachments"),
    ],
)
def test_what_cannot_be_added_is_refused_and_the_draft_kept(
    draft: Draft, text: str | None, attachment: Attachment | None, problem: str
) -> None:
    result = drafting.add_content(draft, text=text, attachment=attachment, limits=LIMITS)
    assert result.problem == problem
    assert result.draft == draft


def test_readiness() -> None:
    assert drafting.ready_problem(Draft(), LIMITS) == "compose.empty"
    assert drafting.ready_problem(Draft(parts=["短"]), LIMITS) == "compose.too_short"
    assert drafting.ready_problem(Draft(parts=["短"], attachments=[PHOTO]), LIMITS) is None


def test_the_needed_step_is_the_earliest_one_missing() -> None:
    ready = Draft(kind=Kind.PROBLEM, parts=["足够长的内容"], topic_id="a", anonymous=True)
    assert drafting.needed_step(ready, LIMITS) is Step.CONFIRM
    assert drafting.needed_step(ready.model_copy(update={"anonymous": None}), LIMITS) is (
        Step.IDENTITY
    )
    # New text drops the proposal: the topic is needed again, the identity choice stays.
    added = drafting.add_content(ready, text="再补充一句", attachment=None, limits=LIMITS).draft
    assert added.anonymous is True
    assert drafting.needed_step(added, LIMITS) is Step.TOPIC
    assert drafting.needed_step(ready.model_copy(update={"parts": ["短"]}), LIMITS) is (
        Step.COMPOSE
    )
    assert drafting.needed_step(ready.model_copy(update={"kind": None}), LIMITS) is Step.KIND


def test_proposal_takes_the_best_match_and_keeps_evidence() -> None:
    matches = [TopicMatch("a", 4.0, ("路灯坏了",)), TopicMatch("b", 2.0, ("垃圾",))]
    draft = drafting.with_proposal(Draft(parts=["x"]), matches, keep=1)
    assert draft.topic_id == "a"
    assert [(e.topic_id, e.keywords) for e in draft.evidence] == [("a", ("路灯坏了",))]


@pytest.mark.parametrize(
    ("text", "name", "argument"),
    [
        ("/report 路灯坏了", "report", "路灯坏了"),
        ("/Suggest@jindianzi_bot  多种树\n第二行", "suggest", "多种树\n第二行"),
        ("/report", "report", ""),
        ("路灯坏了", None, ""),
    ],
)
def test_commands_with_inline_text(text: str, name: str | None, argument: str) -> None:
    assert drafting.command_name(text) == name
    assert drafting.command_argument(text) == argument


@given(st.text())
def test_command_parsing_never_fails(text: str) -> None:
    name = drafting.command_name(text)
    argument = drafting.command_argument(text)
    if name is None:
        assert argument == ""
    else:
        assert argument in text
