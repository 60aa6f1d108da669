"""Answers that come back from outside the office: the sender's answer to the office's
question, the leading group's instruction (批示), and the sender's rating of the response.
Each is attached to its item, told to the office through the outbox, and keyed by the
update it came in (a replay stores nothing twice and tells the office nothing twice).

Who may answer is decided here: the item's own sender (by their Telegram id, from which
the repository derives the anonymous item's tag; never stored) for answers and ratings, a
member of the leading group (in that group) for instructions.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import cards, copies
from bot.core.access import Action, Actor, Role
from bot.core.acting import Change, Key, act, add_event
from bot.core.env import Env
from bot.core.presenters import attachments_line
from bot.core.records import RATINGS, Attachment, Rating, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import format_reference
from bot.i18n import t
from bot.text import escape
from storage.base import NotFound

MAX_ANSWER_CHARS = 3000
NAME_CHARS = 60


async def _own(env: Env, actor: Actor, item_id: int) -> bool:
    """Whether the actor is (still) the item's sender."""
    return (
        actor.has(Role.RESIDENT)
        and actor.user_id is not None
        and await env.repository.is_owner(item_id, user_id=actor.user_id)
    )


def _for_office(env: Env, text: str, attachments: Sequence[Attachment]) -> str:
    """What came, for the office's notice: the text (escaped) and a line naming the files."""
    shown = escape(text)
    if attachments:
        files = attachments_line(env.settings.campaign.language, attachments)
        shown = f"{shown}\n{files}" if shown else files
    return shown


def _stale(actor: Actor) -> Result:
    return refused(Refusal.FORBIDDEN, t(actor.language, "button.stale"))


async def answer_question(
    env: Env,
    actor: Actor,
    item_id: int,
    text: str,
    *,
    key: Key,
    attachments: Sequence[Attachment] = (),
) -> Result:
    """The sender's answer to the office's question (text, and a photo, voice note,
    document or location): an event of the item, its files added to the item's; the
    question is answered (closed) and the office is told."""
    text = text[:MAX_ANSWER_CHARS]
    if not text.strip() and not attachments:
        return refused(Refusal.INVALID)
    if not await _own(env, actor, item_id):
        return refused(Refusal.FORBIDDEN)
    ref = format_reference(item_id)
    shown = _for_office(env, text, attachments)

    return await add_event(
        env,
        actor,
        Action.ANSWER,
        item_id,
        kind="answer",
        body=text,
        notices=lambda _: cards.office_notice(
            env.settings, env.secrets, "office.answer", ref=ref, text=shown
        ),
        message=t(actor.language, "notify.answer_saved", ref=ref),
        key=key,
        attachments=attachments,
    )


async def instruct(
    env: Env,
    actor: Actor,
    item_id: int,
    text: str,
    *,
    key: Key,
    attachments: Sequence[Attachment] = (),
) -> Result:
    """A leading group member's instruction (批示), signed with their name: text, or a
    voice note or photo (with or without caption), whose file joins the item's (kept by its
    Telegram id, shown with the item's other files); the office is told."""
    text = text[:MAX_ANSWER_CHARS]
    if not text.strip() and not attachments:
        return refused(Refusal.INVALID)
    ref = format_reference(item_id)
    who = actor.name[:NAME_CHARS]
    shown = _for_office(env, text, attachments)

    return await add_event(
        env,
        actor,
        Action.INSTRUCT,
        item_id,
        kind="instruction",
        body=f"{who}|{text or attachments_line(env.settings.campaign.language, attachments)}",
        notices=lambda _: cards.office_notice(
            env.settings,
            env.secrets,
            "office.instruction",
            ref=ref,
            who=escape(who),
            text=shown,
        ),
        message=t(actor.language, "group.instruction.saved"),
        key=key,
        attachments=attachments,
    )


async def rate(
    env: Env, actor: Actor, item_id: int, rating: str, *, round_: int = 1, key: Key
) -> Result:
    """The sender's satisfaction with the answer that started rating round ``round_`` (满意 /
    基本满意 / 不满意), once per round; the office is told (coalesced with the item's other
    ratings: :func:`bot.core.cards.office_notice`). A second rating of the round is refused
    as done, one on the buttons of an older answer as stale: nothing is written, nobody is
    told, and the sender reads why (a chat shows it in the button's toast only, so that a
    flood of presses makes no flood of messages)."""
    if rating not in RATINGS or not await _own(env, actor, item_id):
        return _stale(actor)
    return await _rating(env, actor, Action.RATE, item_id, rating, round_=round_, key=key)


async def record_callback(
    env: Env, actor: Actor, item_id: int, rating: str, *, round_: int = 1, key: Key
) -> Result:
    """The office records what the person behind an entered item said when called back
    (回访) about the answer of rating round ``round_``: the item's rating, as if they had
    pressed it themselves, once per round like theirs (a second press of the task's buttons
    is refused as done, one on an older answer's task as stale)."""
    if rating not in RATINGS:
        return _stale(actor)
    item = await env.repository.get_submission(item_id)
    if item is not None and not item.entered:  # its sender rates it themselves
        return _stale(actor)
    return await _rating(env, actor, Action.CALLBACK, item_id, rating, round_=round_, key=key)


async def _rating(
    env: Env, actor: Actor, action: Action, item_id: int, rating: str, *, round_: int, key: Key
) -> Result:
    chosen: Rating = rating  # type: ignore[assignment]
    callback = action is Action.CALLBACK
    ref = format_reference(item_id)

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        if item.response is None or not 1 <= round_ <= item.rating_round:
            return _stale(actor)
        office_lang = env.settings.campaign.language
        notices = cards.office_notice(
            env.settings,
            env.secrets,
            "office.callback_rating" if callback else "office.rating",
            ref=ref,
            rating=t(office_lang, f"rating.{chosen}"),
        )
        try:
            rated = await env.repository.rate(
                item.id,
                chosen,
                round_=round_,
                actor=actor.label(action),
                notices=notices,
                update_id=key,
                refresh=refresh,
            )
        except NotFound:  # answered again (a new round) since it was read
            return _stale(actor)
        lang = actor.language
        if rated.outcome == "stale":
            return refused(Refusal.STALE, t(lang, "rate.stale", ref=ref), item)
        if rated.outcome == "already":
            before = t(lang, f"rating.{rated.rating}")
            done = "callback.already" if callback else "rate.already"
            return refused(Refusal.DONE, t(lang, done, ref=ref, rating=before), item)
        label = t(lang, f"rating.{chosen}")
        message = (
            t(lang, "callback.recorded", ref=ref, rating=label)
            if callback
            else t(lang, "rate.thanks", rating=label)
        )
        return Change(message, notices=tuple(notices))

    return await act(env, actor, action, item_id, write, key=key)
