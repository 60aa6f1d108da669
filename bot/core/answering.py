"""Answers that come back from outside the office: the sender's answer to the office's
question and the leading group's instruction (批示) (the sender's rating of the response is
:mod:`bot.core.rating`).
Each is attached to its item, told to the office through the outbox, and keyed by the
update it came in (a replay stores nothing twice and tells the office nothing twice).

Who may answer is decided here: the item's own sender (by their Telegram id, from which
the repository derives the anonymous item's tag; never stored) for answers, a
member of the leading group (in that group) for instructions.
"""

from __future__ import annotations

from bot.core import cards
from bot.core.access import Action, Actor, Role
from bot.core.acting import Key, add_event
from bot.core.env import Env
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import format_reference
from bot.i18n import t
from bot.text import escape

MAX_ANSWER_CHARS = 3000
NAME_CHARS = 60


async def _own(env: Env, actor: Actor, item_id: int) -> bool:
    """Whether the actor is (still) the item's sender."""
    return (
        actor.has(Role.RESIDENT)
        and actor.user_id is not None
        and await env.repository.is_owner(item_id, user_id=actor.user_id)
    )


def _stale(actor: Actor) -> Result:
    return refused(Refusal.FORBIDDEN, t(actor.language, "button.stale"))


async def answer_question(env: Env, actor: Actor, item_id: int, text: str, *, key: Key) -> Result:
    """The sender's answer to the office's question: an event of the item; the office is
    told."""
    text = text[:MAX_ANSWER_CHARS]
    if not text.strip() or not await _own(env, actor, item_id):
        return refused(Refusal.FORBIDDEN if text.strip() else Refusal.INVALID)
    ref = format_reference(item_id)

    return await add_event(
        env,
        actor,
        Action.ANSWER,
        item_id,
        kind="answer",
        body=text,
        notices=lambda _: cards.office_notice(
            env.settings, env.secrets, "office.answer", ref=ref, text=escape(text)
        ),
        message=t(actor.language, "notify.answer_saved", ref=ref),
        key=key,
    )


async def instruct(env: Env, actor: Actor, item_id: int, text: str, *, key: Key) -> Result:
    """A leading group member's instruction (批示), signed with their name; the office is
    told."""
    text = text[:MAX_ANSWER_CHARS]
    if not text.strip():
        return refused(Refusal.INVALID)
    ref = format_reference(item_id)
    who = actor.name[:NAME_CHARS]

    return await add_event(
        env,
        actor,
        Action.INSTRUCT,
        item_id,
        kind="instruction",
        body=f"{who}|{text}",
        notices=lambda _: cards.office_notice(
            env.settings,
            env.secrets,
            "office.instruction",
            ref=ref,
            who=escape(who),
            text=escape(text),
        ),
        message=t(actor.language, "group.instruction.saved"),
        key=key,
    )
