"""Answers that come back from outside the office: the sender's answer to the office's
question, the leading group's instruction (批示), and the sender's rating of the response.
Each is attached to its item, told to the office through the outbox, and keyed by the
update it came in (a replay stores nothing twice and tells the office nothing twice).

Who may answer is decided here: the item's own sender (by their Telegram id, from which
the repository derives the anonymous item's tag; never stored) for answers and ratings, a
member of the leading group (in that group) for instructions.
"""

from __future__ import annotations

from bot.core import cards, copies
from bot.core.access import Action, Actor, Role
from bot.core.acting import Change, Key, act, add_event
from bot.core.env import Env
from bot.core.records import RATINGS, Rating, Submission
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


async def rate(env: Env, actor: Actor, item_id: int, rating: str, *, key: Key) -> Result:
    """The sender's satisfaction with the response (满意 / 基本满意 / 不满意); the office is
    told."""
    if rating not in RATINGS or not await _own(env, actor, item_id):
        return _stale(actor)
    return await _rating(env, actor, Action.RATE, item_id, rating, key=key)


async def record_callback(
    env: Env, actor: Actor, item_id: int, rating: str, *, key: Key
) -> Result:
    """The office records what the person behind an entered item said when called back
    (回访) about the response: the item's rating, as if they had pressed it themselves."""
    if rating not in RATINGS:
        return _stale(actor)
    item = await env.repository.get_submission(item_id)
    if item is not None and not item.entered:  # its sender rates it themselves
        return _stale(actor)
    return await _rating(env, actor, Action.CALLBACK, item_id, rating, key=key)


async def _rating(
    env: Env, actor: Actor, action: Action, item_id: int, rating: str, *, key: Key
) -> Result:
    chosen: Rating = rating  # type: ignore[assignment]
    callback = action is Action.CALLBACK

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        if item.response is None:
            return _stale(actor)
        office_lang = env.settings.campaign.language
        notices = cards.office_notice(
            env.settings,
            env.secrets,
            "office.callback_rating" if callback else "office.rating",
            ref=format_reference(item.id),
            rating=t(office_lang, f"rating.{chosen}"),
        )
        await env.repository.rate(
            item.id,
            chosen,
            actor=actor.label(action),
            notices=notices,
            update_id=key,
            refresh=refresh,
        )
        label = t(actor.language, f"rating.{chosen}")
        ref = format_reference(item.id)
        message = (
            t(actor.language, "callback.recorded", ref=ref, rating=label)
            if callback
            else t(actor.language, "rate.thanks", rating=label)
        )
        return Change(message, notices=tuple(notices))

    return await act(env, actor, action, item_id, write, key=key)
