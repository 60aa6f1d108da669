"""Deadlines that chase by themselves (#19): reminders (催办) and supervision (督办).

The ladder (``[escalation]``), three independent ladders per item and round (a round is
one dispatch or 重办 of the item to a unit):

- the deadline's: ``before`` (the unit, ``remind_days_before`` working days before the
  deadline), ``due`` (on the deadline's day: the unit, and a line to the office),
  ``overdue<n>`` (the office, at once and again every ``overdue_every_days``);
- the sign-for limit's: ``unsigned_unit`` (the unit, once the limit passed), then
  ``unsigned_office`` (the office, one (working) day later);
- ``supervise`` (督办): after ``supervise_after_days`` overdue or at the
  ``supervise_at_reopening``-th 重办, the leading group gets the item with its history,
  the unit is told it is under supervision, the office is told.

In each ladder only the highest rung reached is sent, once (``reminders``): after
downtime the rungs missed meanwhile are not sent one after another. Rungs go out only in
working hours of working days (campaign time): one reached outside waits. Each rung is
recorded in the same transaction as its history row, its notices through the outbox (and so
through the flood limiter) and the edits of the item's card copies; the job's rungs go
:data:`RUNGS_PER_TRANSACTION` to a transaction
(:meth:`storage.escalation.EscalationQueries.record_rungs`), 催办 one
(:meth:`~storage.escalation.EscalationQueries.record_rung`).

:func:`chase` is the job's core function; :func:`urge` the office's 催办 button (one an
hour per item, recorded as well); both build what a rung writes by :func:`_rung_record`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.config import Language, Settings
from bot.core import cards, copies, deadlines, tasks
from bot.core.access import Action, Actor, system
from bot.core.acting import Change, Key, act
from bot.core.env import Env
from bot.core.presenters import local_date, local_time, status_label
from bot.core.records import HistoryEntry, Outgoing, Recipient, Submission, overdue_days
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import format_reference
from bot.i18n import resolve_language, t
from bot.text import escape
from storage.escalation import CHASED, Chased, RungRecord
from storage.rows import iso

log = logging.getLogger(__name__)

URGE_EVERY = timedelta(hours=1)
# The job's rungs are recorded this many to a transaction (an item's rungs together): one
# commit instead of one each after a long stop, the write lock held a short while only.
RUNGS_PER_TRANSACTION = 50
# Who each rung's message goes to (its text is ``escalation.unit.<rung>`` and
# ``escalation.office.<rung>``), the history note of each (``escalation.note.<rung>``;
# 督办's note is its reason), and the history steps.
TO_UNIT = frozenset({"before", "due", "unsigned_unit", "urge"})
TO_OFFICE = frozenset({"due", "overdue", "unsigned_office"})
NOTED = TO_UNIT | TO_OFFICE
STEPS = frozenset({"remind", "supervise", "urge"})
HISTORY_LINES = 30


@dataclass(frozen=True)
class Rung:
    """A rung reached: its ``name`` (the kind of message), the ``key`` it is recorded
    under in its round, and the days it counts (before the deadline, or overdue)."""

    name: str
    key: str
    days: int = 0


def working_hours(settings: Settings, now: datetime) -> bool:
    """Whether reminders may go out now: a working day, within the configured hours."""
    local = now.astimezone(settings.campaign.tz)
    esc = settings.escalation
    return deadlines.is_workday(local.date()) and esc.work_start <= local.time() < esc.work_end


def _days_left(settings: Settings, today: date, day: date) -> int:
    if settings.office.deadline_unit == "days":
        return (day - today).days
    return deadlines.workdays_between(today, day)


def _deadline_rung(settings: Settings, item: Chased, now: datetime) -> Rung | None:
    if item.deadline is None:
        return None
    tz = settings.campaign.tz
    today = now.astimezone(tz).date()
    day = item.deadline.astimezone(tz).date()
    esc = settings.escalation
    if today > day:
        late = overdue_days(item.deadline, item.status, now)
        step = (late - 1) // esc.overdue_every_days
        return Rung("overdue", f"overdue{step}@{day.isoformat()}", late)
    if today == day:
        return Rung("due", f"due@{day.isoformat()}")
    left = _days_left(settings, today, day)
    if esc.remind_days_before and left <= esc.remind_days_before:
        return Rung("before", f"before@{day.isoformat()}", left)
    return None


def _sign_rung(settings: Settings, item: Chased, now: datetime) -> Rung | None:
    if item.sign_due is None or item.status.value != "dispatched" or now <= item.sign_due:
        return None
    tz = settings.campaign.tz
    local = item.sign_due.astimezone(tz)
    office_at = datetime.combine(deadlines.add(settings, local.date(), 1), local.time(), tzinfo=tz)
    if now >= office_at:
        return Rung("unsigned_office", "unsigned_office")
    return Rung("unsigned_unit", "unsigned_unit")


def _supervise_rung(settings: Settings, item: Chased, now: datetime) -> Rung | None:
    esc = settings.escalation
    late = overdue_days(item.deadline, item.status, now)
    if late >= esc.supervise_after_days:
        return Rung("supervise", "supervise", late)
    if item.reopen_count >= esc.supervise_at_reopening:
        return Rung("supervise", "supervise", 0)
    return None


def due_rungs(settings: Settings, item: Chased, now: datetime) -> list[Rung]:
    """The rungs to send now: the highest reached of each ladder, unless already sent in
    the item's round."""
    reached = [
        _deadline_rung(settings, item, now),
        _sign_rung(settings, item, now),
        _supervise_rung(settings, item, now),
    ]
    return [r for r in reached if r is not None and r.key not in item.sent]


def _horizon(settings: Settings, now: datetime) -> datetime:
    """The latest deadline that may have a rung reached today."""
    today = deadlines.today(settings, now)
    ahead = deadlines.add(settings, today, settings.escalation.remind_days_before)
    return deadlines.end_of(ahead, settings.campaign.tz)


async def chase(env: Env) -> int:
    """The job: send every rung reached and not sent yet (nothing outside working hours);
    how many were sent."""
    settings = env.settings
    now = env.now()
    if not working_hours(settings, now):
        return 0
    items = await env.repository.chased(
        now=now,
        horizon=_horizon(settings, now),
        reopened=settings.escalation.supervise_at_reopening,
    )
    sent = 0
    actor = system(resolve_language(settings.campaign.language))
    batch: list[RungRecord] = []
    for chased in items:
        for rung in due_rungs(settings, chased, now):
            item = await env.repository.get_submission(chased.id)
            if item is None:
                break
            batch.append(await _rung_record(env, actor, item, chased.round, rung))
        if len(batch) >= RUNGS_PER_TRANSACTION:
            sent += await env.repository.record_rungs(batch)
            batch = []
    if batch:
        sent += await env.repository.record_rungs(batch)
    if sent:
        log.info("%d reminders and escalations sent", sent)
    return sent


# ------------------------------------------------------------------------- messages
def _lang(settings: Settings) -> Language:
    return resolve_language(settings.campaign.language)


def _office(env: Env, key: str, **values: str) -> list[Outgoing]:
    return cards.office_notice(env.settings, env.secrets, key, **values)


def _to_unit(env: Env, item: Submission, key: str, **values: str) -> list[Outgoing]:
    unit = env.settings.unit(item.unit_id)
    if unit is None:
        return []
    mine = {k: v for k, v in values.items() if k != "unit"}  # (its own name is not needed)
    return tasks.to_unit(env.settings, env.secrets, unit, key, **mine)


def _history_text(env: Env, item: Submission, history: list[HistoryEntry]) -> str:
    lang = _lang(env.settings)
    tz = env.settings.campaign.tz
    lines = [t(lang, "escalation.group.history", ref=format_reference(item.id))]
    for entry in history[-HISTORY_LINES:]:
        label = t(lang, f"step.{entry.step}") if entry.step else status_label(lang, entry.to_status)
        line = f"{local_time(entry.at, tz)} {escape(label)}"
        if entry.note:
            line += " — " + escape(" ".join(entry.note.split())[:200])
        lines.append(line)
    return "\n".join(lines)


async def _notices(env: Env, item: Submission, rung: Rung) -> tuple[str, list[Outgoing]]:
    """The history note and the messages of a rung."""
    settings = env.settings
    lang = _lang(settings)
    tz = settings.campaign.tz
    ref = format_reference(item.id)
    unit = escape(tasks.unit_name(settings, lang, item.unit_id))
    deadline = local_date(item.deadline, tz) if item.deadline else "—"
    values = {"ref": ref, "unit": unit, "date": deadline, "days": str(rung.days)}
    if item.sign_due is not None:
        values["time"] = local_time(item.sign_due, tz)
    name = rung.name
    notices: list[Outgoing] = []
    if name in TO_UNIT:
        notices += _to_unit(env, item, f"escalation.unit.{name}", **values)
    if name in TO_OFFICE:
        notices += _office(env, f"escalation.office.{name}", **values)
    if name == "supervise":
        reason = (
            t(lang, "escalation.reason.overdue", days=str(rung.days))
            if rung.days
            else t(lang, "escalation.reason.reopened", count=str(item.reopen_count))
        )
        values["reason"] = reason
        history = await env.repository.history(item.id)
        group = cards.group_card(env.settings, item, env.secrets)
        if group:
            heading = t(lang, "escalation.group.supervised", **values)
            route = group[0].chat_enc
            notices += cards.parts_to(route, heading, Recipient.GROUP)
            notices += group
            notices += cards.parts_to(route, _history_text(env, item, history), Recipient.GROUP)
        # Without a leading group the office supervises the item itself, and says so.
        by = "supervised" if group else "supervised_by_office"
        notices += _to_unit(env, item, f"escalation.unit.{by}", **values)
        notices += _office(env, f"escalation.office.{by}", **values)
        return reason, notices
    return t(lang, f"escalation.note.{name}", **values), notices


async def _rung_record(
    env: Env,
    actor: Actor,
    item: Submission,
    round_: str,
    rung: Rung,
    refresh: copies.Renderer | None = None,
) -> RungRecord:
    """What recording and sending one rung (or the office's 催办) writes."""
    note, notices = await _notices(env, item, rung)
    return RungRecord(
        submission_id=item.id,
        round=round_,
        rung=rung.key,
        step={"supervise": "supervise", "urge": "urge"}.get(rung.name, "remind"),
        actor=actor.label(Action.URGE),
        note=note,
        notices=notices,
        refresh=refresh or copies.Renderer(env),
    )


async def urge(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    """催办 by hand: the office reminds the unit of an item it holds, at most once an hour
    per item; recorded in the item's history."""
    now = env.now()

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        lang = actor.language
        if item.status not in CHASED or item.unit_id is None:
            status = status_label(lang, item.status)
            message = t(lang, "escalation.urge.not_now", ref=item.reference, status=status)
            return refused(Refusal.ILLEGAL, message, item)
        round_ = iso(item.dispatched_at) if item.dispatched_at else ""
        rung = Rung("urge", f"urge@{iso(now)}")
        record = await _rung_record(env, actor, item, round_, rung, refresh)
        last = await env.repository.record_rung(record, not_since=URGE_EVERY, update_id=key)
        if last is not None:
            message = t(
                lang,
                "escalation.urge.recent",
                ref=item.reference,
                time=local_time(last, env.settings.campaign.tz),
            )
            return refused(Refusal.INVALID, message, item)
        return Change(t(lang, "escalation.urge.sent", ref=item.reference))

    return await act(env, actor, Action.URGE, item_id, write, key=key, origin=origin)
