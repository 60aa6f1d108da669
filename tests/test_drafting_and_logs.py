"""Drafting rules (limits, readiness, commands), the state machine, and log redaction."""

from __future__ import annotations

import io
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import drafting
from bot.config import LimitsSettings
from bot.logs import REDACTED, RedactSecrets, configure_logging
from bot.records import Attachment, Draft
from bot.tagging import TopicMatch
from bot.workflow import FINAL_STATUSES, IllegalTransition, Status, check_transition

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
    assert drafting.submit_problem(Draft(parts=["足够长的内容"])) == "draft.incomplete"


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


def test_state_machine_has_a_way_to_close_and_refuses_skips() -> None:
    check_transition(Status.NEW, Status.ACCEPTED)
    check_transition(Status.ANSWERED, Status.CLOSED)
    with pytest.raises(IllegalTransition, match=r"new.*published"):
        check_transition(Status.NEW, Status.PUBLISHED)
    for status in FINAL_STATUSES:
        with pytest.raises(IllegalTransition, match="final"):
            check_transition(status, Status.NEW)
    assert {Status.REJECTED, Status.DUPLICATE, Status.CLOSED} == FINAL_STATUSES


def test_secrets_are_redacted_from_messages_arguments_and_tracebacks() -> None:
    secret = "123456:SECRET-TOKEN-abcdef"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([secret, "short"]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("url https://api/bot%s/getMe", secret)
        logger.warning(f"inline {secret}")
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logger.exception("boom")
        logger.warning("a short value stays")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert secret not in out
    assert out.count(REDACTED) == 3
    assert "a short value stays" in out


def test_library_debug_output_stays_quiet() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", stream=io.StringIO())
        for name in ("telegram", "aiosqlite", "httpx"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
        assert logging.getLogger("handlers.resident").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
