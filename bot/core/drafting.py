"""Composing a submission: what may be added to a draft, when it is ready, topic proposals.

Pure functions over :class:`bot.core.records.Draft`; problems come back as translation keys with
their details so the handler can answer in the user's language.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from bot.config import LimitsSettings
from bot.core.records import Attachment, Draft, TopicEvidence
from bot.tagging import TopicMatch
from bot.text import clean_text

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+|$)(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class AddResult:
    """The new draft, or the translation key of the reason nothing was added."""

    draft: Draft
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def add_content(
    draft: Draft,
    *,
    text: str | None,
    attachment: Attachment | None,
    limits: LimitsSettings,
) -> AddResult:
    """Add a message's text (or caption) and attachment to the draft, within the limits."""
    cleaned = clean_text(text) if text else ""
    if not cleaned and attachment is None:
        return AddResult(draft, "input.empty")
    if attachment is not None and len(draft.attachments) >= limits.max_attachments:
        return AddResult(draft, "input.too_many_attachments", {"limit": limits.max_attachments})
    if cleaned:
        if len(draft.parts) >= limits.max_parts:
            return AddResult(draft, "input.too_many_parts", {"limit": limits.max_parts})
        if draft.text_length + len(cleaned) > limits.max_text_chars:
            return AddResult(
                draft,
                "input.too_long",
                {
                    "chars": len(cleaned),
                    "have": draft.text_length,
                    "limit": limits.max_text_chars,
                },
            )
    parts = [*draft.parts, cleaned] if cleaned else list(draft.parts)
    attachments = [*draft.attachments, attachment] if attachment else list(draft.attachments)
    # New content invalidates an earlier topic proposal: it is made again for the whole text.
    return AddResult(
        draft.model_copy(
            update={"parts": parts, "attachments": attachments, "topic_id": None, "evidence": []}
        )
    )


def ready_problem(draft: Draft, limits: LimitsSettings) -> str | None:
    """Why the draft cannot go on to the topic step yet (a translation key), or None."""
    if not draft.parts and not draft.attachments:
        return "compose.empty"
    if not draft.attachments and draft.text_length < limits.min_text_chars:
        return "compose.too_short"
    return None


class Step(IntEnum):
    """The steps of the flow, in order."""

    KIND = 1
    COMPOSE = 2
    TOPIC = 3
    PLACE = 4
    IDENTITY = 5
    CONFIRM = 6


def needed_step(draft: Draft, limits: LimitsSettings, places: Collection[str] = ()) -> Step:
    """The earliest step the draft still needs. A button of a later step (an old message,
    or a forged press) must not skip it: the flow goes back to this one. ``places`` are the
    configured places' ids: with none, no place is asked; a place no longer configured is
    asked again."""
    if draft.kind is None:
        return Step.KIND
    if ready_problem(draft, limits) is not None:
        return Step.COMPOSE
    if draft.topic_id is None:
        return Step.TOPIC
    if places and not place_known(draft, places):
        return Step.PLACE
    if draft.anonymous is None:
        return Step.IDENTITY
    return Step.CONFIRM


def place_known(draft: Draft, places: Collection[str]) -> bool:
    """Whether the draft's place step is done: a configured place, or skipped."""
    return draft.place_asked and (draft.place_id is None or draft.place_id in places)


def with_place(draft: Draft, place_id: str | None) -> Draft:
    """The draft with its place chosen (None: skipped, "不确定"): not asked again."""
    return draft.model_copy(update={"place_id": place_id, "place_asked": True})


def evidence_of(matches: Sequence[TopicMatch], *, keep: int = 3) -> list[TopicEvidence]:
    """What the office sees of the tagger's top matches (the keywords, the model's score)."""
    return [
        TopicEvidence(
            topic_id=m.topic_id,
            score=m.score,
            keywords=m.keywords,
            source="model" if m.source == "model" else "rule",
        )
        for m in matches[:keep]
    ]


def with_proposal(draft: Draft, matches: Sequence[TopicMatch], *, keep: int = 3) -> Draft:
    """The draft with the tagger's best topic proposed and the evidence for the top ones."""
    evidence = evidence_of(matches, keep=keep)
    return draft.model_copy(update={"topic_id": matches[0].topic_id, "evidence": evidence})


def command_name(text: str) -> str | None:
    """``report`` for ``/report@jindianzi_bot 路灯坏了``."""
    match = _COMMAND.match(text)
    return match[1].lower() if match else None


def command_argument(text: str) -> str:
    """Everything after the command, newlines kept: ``路灯坏了`` for ``/report 路灯坏了``."""
    match = _COMMAND.match(text)
    return match[2].strip() if match else ""
