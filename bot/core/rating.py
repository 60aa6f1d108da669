"""回访/评价 (#18, step 7): the sender rates each answer once. A round is each answer the
sender receives; its rating buttons carry the round (``rate:<n>:<round>:<rating>``), so a
second press, or a press on an earlier answer's message, changes nothing and says so.

- 满意 / 基本满意: kept with the round; the office is told (it publishes and closes as
  before).
- 不满意 first asks why (:func:`ask_why`: one tap among :data:`UNSATISFIED_REASONS`), then
  :func:`rate` keeps the rating with the reason and sends the item back (重办): to the
  unit that gave the answer (a new task card, dispatched again with the kind's default
  deadline) or, if the office answered it itself, to the office (in progress). Its count of
  reopenings goes up, the office is told, and the next answer starts a new round. The
  sender may add their own words by replying to the confirmation (:func:`add_words`).
- :func:`close_unrated` (a job): an answer nobody rated within ``office.rating_days`` closes
  as 未评价, kept as a round of its own (``unrated``), counted apart.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core import cards, copies, deadlines, loop, tasks
from bot.core.access import Action, Actor, Role
from bot.core.acting import Change, Key, act
from bot.core.env import Env
from bot.core.handling import default_days
from bot.core.presenters import local_date
from bot.core.records import RATINGS, UNSATISFIED_REASONS, Outgoing, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import MOVES, UNIT_STATUSES, Move, Status
from bot.i18n import resolve_language, t
from bot.text import escape
from storage.ratings import AlreadyRated

MAX_WORDS = 1000
RATING_REASON = "rating_reason"  # the purpose of the confirmation a 不满意 sender replies to


def why_buttons(lang: str, item_id: int, round_: int) -> cards.Buttons:
    """The reasons of a 不满意, one tap each (two to a row)."""
    labels = [
        (t(lang, f"rating.reason.{r}"), f"rate:{item_id}:{round_}:unsatisfied:{r}")
        for r in UNSATISFIED_REASONS
    ]
    return tuple(tuple(labels[i : i + 2]) for i in range(0, len(labels), 2))


async def _own(env: Env, actor: Actor, item_id: int) -> bool:
    return (
        actor.has(Role.RESIDENT)
        and actor.user_id is not None
        and await env.repository.is_owner(item_id, user_id=actor.user_id)
    )


def _already(actor: Actor, item: Submission | None) -> Result:
    ref = item.reference if item is not None else ""
    return refused(Refusal.ILLEGAL, t(actor.language, "rate.already", ref=ref), item)


def _rateable(item: Submission, round_: int) -> bool:
    return (
        item.response is not None
        and item.status in (Status.ANSWERED, Status.PUBLISHED, Status.CLOSED)
        and item.rating_round == round_
    )


async def ask_why(env: Env, actor: Actor, item_id: int, round_: int | None) -> Result:
    """不满意 pressed: whether the sender may still rate this round (the caller then shows
    :func:`why_buttons`), or the refusal (already rated, or not theirs)."""
    if not await _own(env, actor, item_id):
        return refused(Refusal.FORBIDDEN, t(actor.language, "button.stale"))
    item = await env.repository.get_submission(item_id)
    if item is None:
        return refused(Refusal.NOT_FOUND, t(actor.language, "button.stale"))
    chosen = item.rating_round if round_ is None else round_
    rounds = {r.round for r in await env.repository.rating_rounds(item_id)}
    if not _rateable(item, chosen) or chosen in rounds:
        return _already(actor, item)
    return Result(ok=True, message=t(actor.language, "rate.why", ref=item.reference), item=item)


def _redo_plan(
    env: Env, item: Submission, reason_label: str
) -> tuple[Move | None, dict[str, object], list[Outgoing]]:
    """Where 不满意 sends the item (重办), the columns that go with it, and the notices of
    the unit (its new task card) and the office."""
    if item.status is Status.CLOSED:
        return None, {}, []  # closed by the office meanwhile: the office is told, it decides
    office_lang = resolve_language(env.settings.campaign.language)
    ref = item.reference
    unit = env.settings.unit(item.unit_id)
    if unit is None:
        notices = cards.office_notice(
            env.settings, env.secrets, "office.redo.office", ref=ref, reason=reason_label
        )
        return Move.REDO_OFFICE, {"unit_id": None, "sign_due": None}, notices
    now = env.now()
    due = deadlines.deadline_in(env.settings, now, default_days(env.settings, item))
    note = t(office_lang, "unit.redo.instruction", reason=reason_label)
    columns = loop.handover(env, now, due, note)
    after = item.model_copy(
        update={**columns, "status": Status.DISPATCHED, "reopen_count": item.reopen_count + 1}
    )
    notices = [
        *tasks.task_messages(env.settings, env.secrets, unit, after, now=now),
        *cards.office_notice(
            env.settings,
            env.secrets,
            "office.redo.unit",
            ref=ref,
            unit=escape(unit.name(office_lang)),
            reason=reason_label,
            deadline=local_date(due, env.settings.campaign.tz),
        ),
    ]
    return Move.REDO, columns, notices


async def rate(
    env: Env,
    actor: Actor,
    item_id: int,
    rating: str,
    *,
    round_: int | None = None,
    reason: str | None = None,
    key: Key,
) -> Result:
    """The sender rates the answer of ``round_`` (None: the current one); 不满意 needs a
    ``reason`` and sends the item back (see the module's docstring)."""
    if rating not in RATINGS or not await _own(env, actor, item_id):
        return refused(Refusal.FORBIDDEN, t(actor.language, "button.stale"))
    unsatisfied = rating == "unsatisfied"
    if unsatisfied and reason not in UNSATISFIED_REASONS:
        return refused(Refusal.INVALID, t(actor.language, "button.stale"))
    office_lang = resolve_language(env.settings.campaign.language)

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        chosen = item.rating_round if round_ is None else round_
        if not _rateable(item, chosen):
            return _already(actor, item)
        label = t(office_lang, f"rating.{rating}")
        redo: Move | None = None
        columns: dict[str, object] = {}
        notices: list[Outgoing] = []
        note = None
        if unsatisfied:
            reason_label = escape(t(office_lang, f"rating.reason.{reason}"))
            redo, columns, notices = _redo_plan(env, item, reason_label)
            note = reason_label
            label = f"{label}（{reason_label}）"
        if redo is None:
            notices += cards.office_notice(
                env.settings,
                env.secrets,
                "office.rating",
                ref=item.reference,
                rating=label,
            )
        sender_lang = resolve_language(item.language)
        thanks = t(actor.language, "rate.thanks", rating=t(actor.language, f"rating.{rating}"))
        if unsatisfied:
            # Through the outbox: the sender's reply to it adds their own words.
            key_name = "rate.redo" if redo is not None else "rate.unsatisfied_closed"
            notices += cards.to_sender(
                item,
                env.secrets,
                key_name,
                purpose=RATING_REASON,
                reason=escape(t(sender_lang, f"rating.reason.{reason}")),
            )
            thanks = ""
        try:
            await env.repository.rate_round(
                item.id,
                chosen,
                rating,
                reason=reason,
                redo=redo,
                columns=columns,
                actor=actor.label(Action.RATE),
                note=note,
                notices=notices,
                update_id=key,
                refresh=refresh,
            )
        except AlreadyRated:
            return _already(actor, item)
        moved = None if redo is None else MOVES[redo][1]
        return Change(thanks, moved, tuple(notices))

    return await act(env, actor, Action.RATE, item_id, write, key=key)


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


async def close_unrated(env: Env) -> list[int]:
    """Close as 未评价 every answer nobody rated within ``office.rating_days``; the items
    closed (each its own transaction; a rating that arrives first wins)."""
    before = env.now() - timedelta(days=env.settings.office.rating_days)
    closed = []
    for item_id in await env.repository.unrated_answers(before):
        renderer = copies.Renderer(env)
        if await env.repository.close_unrated(item_id, before, refresh=renderer):
            closed.append(item_id)
    return closed
