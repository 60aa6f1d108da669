"""回访/评价 (#15.6, #18, step 7): what a rating does besides being kept. A round is each
answer the sender receives (``submissions.rating_round`` counts them); its rating buttons
carry the round (``rate:<n>:<round>:<rating>``), so a second press, or a press on an
earlier answer's message, changes nothing and says so. The rating itself is one core
function, :func:`bot.core.answering.rate` (with :func:`bot.core.answering.ask_why` before a
不满意 and :func:`bot.core.answering.add_words` after it); this module holds its parts:

- 满意 / 基本满意: kept with the round; the office is told (it publishes and closes as
  before).
- 不满意 first asks why (:func:`why_buttons`: one tap among :data:`UNSATISFIED_REASONS`),
  then is kept with the reason and sends the item back (重办, :func:`redo_plan`): to the
  unit that gave the answer (a new task card, dispatched again with the kind's default
  deadline) or, if the office answered it itself, to the office (in progress). Its count of
  reopenings goes up, the office is told, and the next answer starts a new round. The
  sender may add their own words by replying to the confirmation (:func:`unsatisfied_notice`).
- :func:`close_unrated` (a job): an answer nobody rated within ``office.rating_days`` closes
  as 未评价, kept as a round of its own (``unrated``), counted apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core import cards, copies, deadlines, loop, tasks
from bot.core.access import Actor
from bot.core.env import Env
from bot.core.handling import default_days
from bot.core.presenters import local_date
from bot.core.records import UNSATISFIED_REASONS, Outgoing, Rated, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import MOVES, Move, Status
from bot.i18n import resolve_language, t
from bot.text import escape

RATING_REASON = "rating_reason"  # the purpose of the confirmation a 不满意 sender replies to


def why_buttons(lang: str, item_id: int, round_: int) -> cards.Buttons:
    """The reasons of a 不满意, one tap each (two to a row)."""
    labels = [
        (t(lang, f"rating.reason.{r}"), f"rate:{item_id}:{round_}:unsatisfied:{r}")
        for r in UNSATISFIED_REASONS
    ]
    return tuple(tuple(labels[i : i + 2]) for i in range(0, len(labels), 2))


def refusal(actor: Actor, item: Submission, rated: Rated) -> Result:
    """Why a press rated nothing: its round was rated before (done), or a newer answer came
    since (stale)."""
    lang = actor.language
    if rated.outcome == "stale":
        return refused(Refusal.STALE, t(lang, "rate.stale", ref=item.reference), item)
    before = t(lang, f"rating.{rated.rating}")
    return refused(Refusal.DONE, t(lang, "rate.already", ref=item.reference, rating=before), item)


@dataclass(frozen=True)
class RedoPlan:
    """Where a 不满意 sends the item (重办; no move: it stays where it is), the columns
    that go with it, the history note, and the notices of the unit (its new task card) and
    the office."""

    move: Move | None = None
    columns: Mapping[str, object] = field(default_factory=dict)
    note: str | None = None
    notices: list[Outgoing] = field(default_factory=list)


def redo_plan(env: Env, item: Submission, reason_label: str) -> RedoPlan:
    """The 重办 of ``item`` for a 不满意 with ``reason_label`` (the office's language)."""
    if item.status not in MOVES[Move.REDO][0]:
        # Closed by the office meanwhile (or its channel post on its way): the rating and
        # reason are kept, the office is told, it decides.
        return RedoPlan()
    office_lang = resolve_language(env.settings.campaign.language)
    ref = item.reference
    unit = env.settings.unit(item.unit_id)
    if unit is None:
        notices = cards.office_notice(
            env.settings, env.secrets, "office.redo.office", ref=ref, reason=reason_label
        )
        columns: Mapping[str, object] = {"unit_id": None, "sign_due": None}
        return RedoPlan(Move.REDO_OFFICE, columns, reason_label, notices)
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
    return RedoPlan(Move.REDO, columns, reason_label, notices)


def unsatisfied_notice(
    env: Env, item: Submission, reason: str | None, *, redone: bool
) -> list[Outgoing]:
    """The sender's confirmation of their 不满意 (through the outbox: their reply to it adds
    their own words, :func:`bot.core.answering.add_words`)."""
    sender_lang = resolve_language(item.language)
    # Not sent back: closed by the office meanwhile, or its answer on its way to the
    # channel (publishing): then the sender hears that, and that the office decides (it
    # is told the rating and reason as for any rating), not that it was closed.
    closed = "rate.unsatisfied_publishing" if item.status is Status.PUBLISHING else None
    return cards.to_sender(
        item,
        env.secrets,
        "rate.redo" if redone else closed or "rate.unsatisfied_closed",
        purpose=RATING_REASON,
        reason=escape(t(sender_lang, f"rating.reason.{reason}")),
    )


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
