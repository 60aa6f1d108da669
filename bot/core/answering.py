"""Answers that come back from outside the office: the sender's answer to the office's
question, the leading group's instruction (批示), and the sender's rating of the response
(one per round; 不满意 with its reason sends the item back: :mod:`bot.core.rating`).
Each is attached to its item, told to the office through the outbox, and keyed by the
update it came in (a replay stores nothing twice and tells the office nothing twice).

Who may answer is decided here: the item's own sender (by their Telegram id, from which
the repository derives the anonymous item's tag; never stored) for answers and ratings, a
member of the leading group (in that group) for instructions.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import cards, copies, rating, tasks
from bot.core.access import Action, Actor, Role
from bot.core.acting import Change, Key, act, add_event
from bot.core.env import Env
from bot.core.presenters import attachments_line
from bot.core.records import (
    RATINGS,
    UNSATISFIED_REASONS,
    Attachment,
    Outgoing,
    Rated,
    Rating,
    Submission,
)
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import MOVES, UNIT_STATUSES, format_reference
from bot.i18n import resolve_language, t
from bot.text import escape
from storage.base import NotFound

MAX_ANSWER_CHARS = 3000
MAX_WORDS = 1000  # the sender's own words on a 不满意
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
    env: Env,
    actor: Actor,
    item_id: int,
    chosen: str,
    *,
    round_: int = 1,
    reason: str | None = None,
    key: Key,
) -> Result:
    """The sender's satisfaction with the answer that started rating round ``round_`` (满意 /
    基本满意 / 不满意), once per round; the office is told (coalesced with the item's other
    ratings: :func:`bot.core.cards.office_notice`). 不满意 needs a ``reason`` (one of
    :data:`UNSATISFIED_REASONS`, asked first: :func:`bot.core.rating.ask_why`) and sends the
    item back (重办, :func:`bot.core.rating.redo_plan`): to the unit that gave the answer, or
    to the office; the sender's confirmation comes through the outbox (a reply to it adds
    their own words). A second rating of the round is refused as done, one on the buttons of
    an older answer as stale: nothing is written, nobody is told, and the sender reads why
    (a chat shows it in the button's toast only, so that a flood of presses makes no flood
    of messages)."""
    if chosen not in RATINGS or not await _own(env, actor, item_id):
        return _stale(actor)
    return await _rating(
        env, actor, Action.RATE, item_id, chosen, round_=round_, reason=reason, key=key
    )


async def record_callback(
    env: Env,
    actor: Actor,
    item_id: int,
    chosen: str,
    *,
    round_: int = 1,
    reason: str | None = None,
    key: Key,
) -> Result:
    """The office records what the person behind an entered item said when called back
    (回访) about the answer of rating round ``round_``: the item's rating, as if they had
    pressed it themselves, once per round like theirs (a second press of the task's buttons
    is refused as done, one on an older answer's task as stale); 不满意 sends it back (重办)
    as theirs does, for the reason "other" (the clerk heard it on the phone)."""
    if chosen not in RATINGS:
        return _stale(actor)
    item = await env.repository.get_submission(item_id)
    if item is not None and not item.entered:  # its sender rates it themselves
        return _stale(actor)
    if chosen == "unsatisfied" and reason not in UNSATISFIED_REASONS:
        reason = "other"
    return await _rating(
        env, actor, Action.CALLBACK, item_id, chosen, round_=round_, reason=reason, key=key
    )


async def _rating(
    env: Env,
    actor: Actor,
    action: Action,
    item_id: int,
    chosen: str,
    *,
    round_: int,
    reason: str | None,
    key: Key,
) -> Result:
    callback = action is Action.CALLBACK
    unsatisfied = chosen == "unsatisfied"
    if unsatisfied and reason not in UNSATISFIED_REASONS:
        return refused(Refusal.INVALID, t(actor.language, "button.stale"))
    given: Rating = chosen  # type: ignore[assignment]
    ref = format_reference(item_id)
    office_lang = resolve_language(env.settings.campaign.language)

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        if item.response is None or not 1 <= round_ <= item.rating_round:
            return _stale(actor)
        label = t(office_lang, f"rating.{given}")
        plan = rating.RedoPlan()
        notices: list[Outgoing] = []
        if unsatisfied:
            reason_label = escape(t(office_lang, f"rating.reason.{reason}"))
            plan = rating.redo_plan(env, item, reason_label)
            notices += plan.notices
            label = f"{label}（{reason_label}）"
        if plan.move is None:
            told = "office.callback_rating" if callback else "office.rating"
            notices += cards.office_notice(env.settings, env.secrets, told, ref=ref, rating=label)
        if unsatisfied:
            notices += rating.unsatisfied_notice(env, item, reason, redone=plan.move is not None)
        try:
            rated = await env.repository.rate(
                item.id,
                given,
                round_=round_,
                reason=reason,
                redo=plan.move,
                columns=plan.columns,
                actor=actor.label(action),
                note=plan.note,
                notices=notices,
                update_id=key,
                refresh=refresh,
            )
        except NotFound:  # answered again (a new round) since it was read
            return _stale(actor)
        lang = actor.language
        if callback and rated.outcome == "already":
            before = t(lang, f"rating.{rated.rating}")
            return refused(Refusal.DONE, t(lang, "callback.already", ref=ref, rating=before), item)
        if rated.outcome != "rated":
            return rating.refusal(actor, item, rated)
        mine = t(lang, f"rating.{given}")
        if callback:
            message = t(lang, "callback.recorded", ref=ref, rating=mine)
        else:  # (不满意 is confirmed through the outbox: the sender replies with their words.)
            message = "" if unsatisfied else t(lang, "rate.thanks", rating=mine)
        moved = None if plan.move is None else MOVES[plan.move][1]
        return Change(message, moved, tuple(notices))

    return await act(env, actor, action, item_id, write, key=key)


async def ask_why(env: Env, actor: Actor, item_id: int, round_: int = 1) -> Result:
    """不满意 pressed: whether the sender may still rate the answer of ``round_`` (the
    caller then shows :func:`bot.core.rating.why_buttons`), or the refusal, as
    :func:`rate` would give it (not theirs; rated before: done; a newer answer: stale)."""
    if not await _own(env, actor, item_id):
        return _stale(actor)
    item = await env.repository.get_submission(item_id)
    if item is None or item.response is None or not 1 <= round_ <= item.rating_round:
        return _stale(actor)
    rounds = {r.round: r.rating for r in await env.repository.rating_rounds(item_id)}
    if round_ in rounds:
        return rating.refusal(actor, item, Rated(outcome="already", rating=rounds[round_]))
    if round_ != item.rating_round:
        return rating.refusal(actor, item, Rated(outcome="stale"))
    return Result(ok=True, message=t(actor.language, "rate.why", ref=item.reference), item=item)


async def add_words(env: Env, actor: Actor, item_id: int, text: str, *, key: Key) -> Result:
    """The sender's own words on their 不满意 (a reply to its confirmation): kept with the
    round; the office and the unit now handling it are told."""
    text = text.strip()[:MAX_WORDS]
    if not text or not await _own(env, actor, item_id):
        return refused(Refusal.INVALID if not text else Refusal.FORBIDDEN)

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        notices = cards.office_notice(
            env.settings, env.secrets, "office.rating_words", ref=item.reference, text=escape(text)
        )
        unit = env.settings.unit(item.unit_id)
        if unit is not None and item.status in UNIT_STATUSES:
            notices += tasks.to_unit(
                env.settings,
                env.secrets,
                unit,
                "unit.told.rating_words",
                ref=item.reference,
                text=escape(text),
            )
        stored = await env.repository.add_rating_text(
            item.id, text, notices=notices, update_id=key, refresh=refresh
        )
        if not stored:
            return refused(Refusal.INVALID, "", item)
        return Change(
            t(actor.language, "rate.words_saved", ref=item.reference), None, tuple(notices)
        )

    return await act(env, actor, Action.RATE, item_id, write, key=key)
