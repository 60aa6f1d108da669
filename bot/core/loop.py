"""The units' loop (#18), one function per step, called the same way from a chat button, a
typed reply, a web form or a job (see :mod:`bot.core.acting`):

- the office's: :func:`dispatch` (派单, again after a 退单), :func:`take_back`,
  :func:`decide_extension`, :func:`approve_done` (审核通过: the unit's answer becomes the
  response, the sender is asked to rate it), :func:`return_done` (审核退回), :func:`reopen`
  (a rejected or merged item);
- the unit's: :func:`sign` (签收), :func:`bounce` (退单), :func:`request_extension`
  (延期申请), :func:`note` (办理进展), :func:`finish` (办结).

Each is one transaction with one history row (:meth:`storage.loop.LoopQueries.loop_step`),
its notices queued through the outbox with it: the unit's task card and the item's files,
the office's lines with one-tap decisions, the sender's news (through the encrypted route
when anonymous). A unit's people act on their unit's items only; the office on all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.config import Settings, UnitConfig
from bot.core import cards, copies, deadlines, tasks
from bot.core.access import NOTE_STATUSES, Action, Actor, may_work_on
from bot.core.acting import Change, Key, act, done_message
from bot.core.deadlines import BadDeadline
from bot.core.env import Env
from bot.core.handling import default_days
from bot.core.presenters import local_date, status_label
from bot.core.records import Attachment, Outgoing, Recipient, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import Move, Status, format_reference
from bot.i18n import resolve_language, t
from bot.text import escape

MAX_TEXT = 3000
DEFAULT_WORDS = frozenset({"默认", "默認", "default", "-", "—"})

# What a step stores besides its move: (note, columns, notices, what to tell the actor).
Plan = tuple[str | None, Mapping[str, object], list[Outgoing], str]


def _office_lines(
    env: Env, key: str, *, buttons: cards.Buttons = (), **values: str
) -> list[Outgoing]:
    """A line for the office chat (campaign language), maybe with one-tap decisions."""
    chat = env.settings.roles.office_chat_id
    if not chat:
        return []
    lang = resolve_language(env.settings.campaign.language)
    return cards.parts_to(
        env.secrets.encrypt_int(chat), t(lang, key, **values), Recipient.OFFICE, buttons=buttons
    )


def _office_files(env: Env, item: Submission, files: Sequence[Attachment]) -> list[Outgoing]:
    chat = env.settings.roles.office_chat_id
    if not chat:
        return []
    lang = resolve_language(env.settings.campaign.language)
    caption = t(lang, "unit.file.caption", ref=format_reference(item.id))
    route = env.secrets.encrypt_int(chat)
    return [
        Outgoing(chat_enc=route, text=caption, attachment=a, recipient=Recipient.OFFICE)
        for a in files
    ]


def _decision(env: Env, item_id: int, yes: tuple[str, str], no: tuple[str, str]) -> cards.Buttons:
    lang = resolve_language(env.settings.campaign.language)
    return (
        (
            (t(lang, yes[0]), f"adm:{yes[1]}:{item_id}"),
            (t(lang, no[0]), f"adm:{no[1]}:{item_id}"),
        ),
    )


def _unit_label(env: Env, unit_id: str | None) -> str:
    lang = resolve_language(env.settings.campaign.language)
    return escape(tasks.unit_name(env.settings, lang, unit_id))


def _day(env: Env, when: datetime | None) -> str:
    return local_date(when, env.settings.campaign.tz) if when else "—"


async def _step(
    env: Env,
    actor: Actor,
    action: Action,
    item_id: int,
    move: Move | str,
    plan: Callable[[Submission], Plan | Result],
    *,
    key: Key,
    origin: copies.Origin | None,
    as_unit: bool = False,
    files: Sequence[Attachment] = (),
    reopened: bool = False,
) -> Result:
    """One step: check the actor's unit (``as_unit``), make the plan from the item as it
    is, store it in one transaction."""

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        if as_unit and not may_work_on(actor, item):
            return refused(Refusal.FORBIDDEN, t(actor.language, "button.stale"), item)
        planned = plan(item)
        if isinstance(planned, Result):
            return planned
        note, columns, notices, message = planned
        after = await env.repository.loop_step(
            item.id,
            move,
            actor=actor.label(action),
            note=note,
            columns=columns,
            reopened=reopened,
            files=files,
            unit_id=item.unit_id,
            notices=notices,
            update_id=key,
            refresh=refresh,
        )
        moved = after.status if isinstance(move, Move) else None
        return Change(message, moved, tuple(notices))

    return await act(env, actor, action, item_id, write, key=key, origin=origin)


def parse_deadline_text(settings: Settings, now: datetime, text: str) -> datetime | BadDeadline:
    """A typed deadline as its end of day (see :func:`bot.core.deadlines.parse_deadline`)."""
    day = deadlines.parse_deadline(
        text,
        today=deadlines.today(settings, now),
        workdays=settings.office.deadline_unit == "workdays",
    )
    if isinstance(day, BadDeadline):
        return day
    return deadlines.end_of(day, settings.campaign.tz)


def _bad_deadline(actor: Actor, bad: BadDeadline, text: str, item: Submission | None) -> Result:
    return refused(
        Refusal.INVALID,
        t(actor.language, f"loop.deadline.{bad.reason}", value=escape(text)),
        item,
    )


def handover(env: Env, now: datetime, due: datetime, note: str | None) -> dict[str, object]:
    """The columns of an item handed to a unit (派单, or 重办 after a 不满意): a new deadline
    and sign-for limit, nothing signed, answered or asked for yet, the office's words."""
    return {
        "deadline": due,
        "judged_deadline": due,
        "dispatched_at": now,
        "sign_due": deadlines.sign_due(env.settings, now),
        "signed_at": None,
        "unit_answer": None,
        "unit_done_at": None,
        "requested_deadline": None,
        "dispatch_note": note,
    }


def split_dispatch(text: str) -> tuple[str | None, str]:
    """A dispatch prompt's answer: the deadline (None: the default) and the instruction."""
    first, _, rest = text.strip().partition(" ")
    if first.lower() in DEFAULT_WORDS or not first:
        return None, rest.strip()
    return first, rest.strip()


# ------------------------------------------------------------------------- the office
async def dispatch(
    env: Env,
    actor: Actor,
    item_id: int,
    unit_id: str,
    *,
    deadline: str | None = None,
    instruction: str = "",
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """派单: to a unit, with a deadline (typed as days or a date, or the kind's default in
    the configured unit) and an optional instruction. The unit gets the task card and the
    item's files; the sender is told the unit's name and the deadline."""
    unit = env.settings.unit(unit_id)
    if unit is None:
        return refused(Refusal.INVALID, t(actor.language, "loop.unit_unknown"))
    now = env.now()
    due: datetime | None = None
    if deadline is not None:
        parsed = parse_deadline_text(env.settings, now, deadline)
        if isinstance(parsed, BadDeadline):
            return _bad_deadline(actor, parsed, deadline, None)
        due = parsed
    instruction = instruction.strip()[:MAX_TEXT]
    events = await env.repository.events(item_id)

    def plan(item: Submission) -> Plan:
        chosen = due or deadlines.deadline_in(env.settings, now, default_days(env.settings, item))
        columns = {"unit_id": unit.id, **handover(env, now, chosen, instruction or None)}
        after = item.model_copy(update={**columns, "status": Status.DISPATCHED, "signed_at": None})
        sender_lang = resolve_language(item.language)
        notices = [
            *tasks.task_messages(env.settings, env.secrets, unit, after, events=events, now=now),
            *cards.to_sender(
                item,
                env.secrets,
                "notify.dispatched",
                unit=escape(unit.name(sender_lang)),
                deadline=_day(env, chosen),
            ),
        ]
        lang = resolve_language(env.settings.campaign.language)
        note = f"{unit.name(lang)} → {_day(env, chosen)}" + (
            f"\n{instruction}" if instruction else ""
        )
        message = t(
            actor.language,
            "loop.dispatched",
            ref=format_reference(item.id),
            unit=escape(unit.name(actor.language)),
            deadline=_day(env, chosen),
        )
        return note, columns, notices, message

    return await _step(
        env, actor, Action.DISPATCH, item_id, Move.DISPATCH, plan, key=key, origin=origin
    )


async def take_back(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    """A returned item back to the office (handled by the office itself)."""

    def plan(item: Submission) -> Plan:
        message = done_message(actor, item, Status.IN_PROGRESS, notified=False)
        return None, {"unit_id": None, "sign_due": None}, [], message

    return await _step(
        env, actor, Action.TAKE_BACK, item_id, Move.TAKE_BACK, plan, key=key, origin=origin
    )


async def decide_extension(
    env: Env,
    actor: Actor,
    item_id: int,
    approve: bool,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """The office approves or refuses a 延期申请 with one tap: the deadline moves only on
    approval (the sender is told); the unit is told either way. An approval after the
    deadline moves the unit's deadline, not the one punctuality is judged by
    (:func:`deadlines.in_time`)."""
    action = Action.APPROVE_EXTENSION if approve else Action.REFUSE_EXTENSION
    move = Move.APPROVE_EXTENSION if approve else Move.REFUSE_EXTENSION

    def plan(item: Submission) -> Plan:
        requested = item.requested_deadline
        unit = env.settings.unit(item.unit_id)
        columns: dict[str, object] = {"requested_deadline": None}
        notices: list[Outgoing] = []
        told = "unit.told.extension_refused"
        if approve and requested is not None:
            columns["deadline"] = requested
            if deadlines.in_time(item, env.now()):
                columns["judged_deadline"] = requested
            told = "unit.told.extension_approved"
            notices += cards.to_sender(
                item, env.secrets, "notify.deadline_moved", deadline=_day(env, requested)
            )
        if unit is not None:
            notices += tasks.to_unit(
                env.settings,
                env.secrets,
                unit,
                told,
                ref=format_reference(item.id),
                date=_day(env, requested),
            )
        message = t(
            actor.language,
            "loop.extension.approved" if approve else "loop.extension.refused",
            ref=format_reference(item.id),
            date=_day(env, requested),
        )
        return _day(env, requested), columns, notices, message

    return await _step(env, actor, action, item_id, move, plan, key=key, origin=origin)


async def approve_done(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    """审核通过: the unit's answer becomes the response; the sender gets it (with the
    evidence photos) and is asked to rate it; the unit is told."""
    followers = await env.repository.followers(item_id)
    evidence = [
        f.attachment
        for f in await env.repository.unit_files(item_id)
        if f.step == Move.FINISH.value and f.attachment.type == "photo"
    ]
    now = env.now()

    def plan(item: Submission) -> Plan | Result:
        if not item.unit_answer:
            return refused(Refusal.INVALID, t(actor.language, "button.stale"), item)
        # The answer starts the next rating round (as the office's own response does).
        round_ = item.rating_round + 1
        answered = item.model_copy(update={"response": item.unit_answer, "rating_round": round_})
        notices = cards.response_notices(answered, env.secrets, followers)
        route = cards.sender_route(item, env.secrets)
        if route is not None:
            caption = t(resolve_language(item.language), "unit.file.caption", ref=item.reference)
            notices += [
                Outgoing(chat_enc=route, text=caption, attachment=a, recipient=Recipient.SENDER)
                for a in evidence
            ]
        unit = env.settings.unit(item.unit_id)
        if unit is not None:
            notices += tasks.to_unit(
                env.settings, env.secrets, unit, "unit.told.done_approved", ref=item.reference
            )
        columns = {
            "response": item.unit_answer,
            "responded_at": now,
            "done_at": now,
            "unit_answer": None,
            "rating_round": round_,
        }
        return None, columns, notices, done_message(actor, item, Status.ANSWERED, notified=True)

    return await _step(
        env, actor, Action.APPROVE_DONE, item_id, Move.APPROVE_DONE, plan, key=key, origin=origin
    )


async def return_done(
    env: Env,
    actor: Actor,
    item_id: int,
    note_text: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """审核退回: the unit's 办结 goes back to it with the office's note."""
    note_text = note_text.strip()[:MAX_TEXT]
    if not note_text:
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))

    def plan(item: Submission) -> Plan:
        unit = env.settings.unit(item.unit_id)
        notices = (
            tasks.to_unit(
                env.settings,
                env.secrets,
                unit,
                "unit.told.done_returned",
                ref=item.reference,
                note=escape(note_text),
            )
            if unit is not None
            else []
        )
        columns = {"unit_answer": None, "unit_done_at": None}
        message = t(actor.language, "loop.done_returned", ref=item.reference)
        return note_text, columns, notices, message

    return await _step(
        env, actor, Action.RETURN_DONE, item_id, Move.RETURN_DONE, plan, key=key, origin=origin
    )


async def reopen(
    env: Env,
    actor: Actor,
    item_id: int,
    reason: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """The office reopens a rejected or merged item, with a reason the sender is told."""
    reason = reason.strip()[:MAX_TEXT]
    if not reason:
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))

    def plan(item: Submission) -> Plan:
        notices = cards.to_sender(item, env.secrets, "notify.reopened", reason=escape(reason))
        return (
            reason,
            {},
            notices,
            done_message(actor, item, Status.REOPENED, notified=bool(notices)),
        )

    return await _step(
        env, actor, Action.REOPEN, item_id, Move.REOPEN, plan, key=key, origin=origin
    )


# ------------------------------------------------------------------------- the unit
async def sign(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    """签收 with one tap: who and when are recorded."""
    now = env.now()

    def plan(item: Submission) -> Plan:
        return None, {"signed_at": now}, [], t(actor.language, "loop.signed", ref=item.reference)

    return await _step(
        env, actor, Action.SIGN, item_id, Move.SIGN, plan, key=key, origin=origin, as_unit=True
    )


async def bounce(
    env: Env,
    actor: Actor,
    item_id: int,
    reason: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """退单 with a reason: the office decides (re-dispatch or take back), and sees every
    earlier 退单's reason with it."""
    reason = reason.strip()[:MAX_TEXT]
    if not reason:
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))
    history = await env.repository.history(item_id)
    earlier = [e.note for e in history if e.step == Move.BOUNCE.value and e.note]

    def plan(item: Submission) -> Plan:
        lang = resolve_language(env.settings.campaign.language)
        before = (
            "\n" + t(lang, "office.bounced.earlier", reasons=escape("；".join(earlier)))
            if earlier
            else ""
        )
        notices = _office_lines(
            env,
            "office.bounced",
            buttons=_decision(
                env, item.id, ("admin.action.dispatch", "dsp"), ("admin.action.take_back", "tbk")
            ),
            ref=item.reference,
            unit=_unit_label(env, item.unit_id),
            reason=escape(reason),
            earlier=before,
        )
        return reason, {}, notices, t(actor.language, "loop.bounced", ref=item.reference)

    return await _step(
        env, actor, Action.BOUNCE, item_id, Move.BOUNCE, plan, key=key, origin=origin, as_unit=True
    )


async def request_extension(
    env: Env,
    actor: Actor,
    item_id: int,
    text: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """延期申请: ``text`` is the new deadline (days or a date) and the reason; it must be
    later than the current deadline. The office decides with one tap."""
    wanted, _, reason = text.strip().partition(" ")
    reason = reason.strip()[:MAX_TEXT]
    if not reason:
        return refused(Refusal.INVALID, t(actor.language, "loop.extension.how"))
    parsed = parse_deadline_text(env.settings, env.now(), wanted)
    if isinstance(parsed, BadDeadline):
        return _bad_deadline(actor, parsed, wanted, None)

    def plan(item: Submission) -> Plan | Result:
        if item.deadline is not None and parsed <= item.deadline:
            return refused(
                Refusal.INVALID,
                t(actor.language, "loop.extension.not_later", deadline=_day(env, item.deadline)),
                item,
            )
        notices = _office_lines(
            env,
            "office.extension",
            buttons=_decision(
                env,
                item.id,
                ("admin.action.approve_extension", "exy"),
                ("admin.action.refuse_extension", "exn"),
            ),
            ref=item.reference,
            unit=_unit_label(env, item.unit_id),
            date=_day(env, parsed),
            deadline=_day(env, item.deadline),
            reason=escape(reason),
        )
        message = t(actor.language, "loop.extension.sent", ref=item.reference)
        return f"{_day(env, parsed)} {reason}", {"requested_deadline": parsed}, notices, message

    return await _step(
        env,
        actor,
        Action.REQUEST_EXTENSION,
        item_id,
        Move.REQUEST_EXTENSION,
        plan,
        key=key,
        origin=origin,
        as_unit=True,
    )


def _handled_by(env: Env, item: Submission, unit: UnitConfig | None) -> list[Outgoing]:
    """The sender told once which unit handles their item (if the unit's option says so)."""
    if unit is None or not unit.tell_sender or item.sender_told_unit:
        return []
    lang = resolve_language(item.language)
    return cards.to_sender(item, env.secrets, "notify.handling_unit", unit=escape(unit.name(lang)))


async def note(
    env: Env,
    actor: Actor,
    item_id: int,
    text: str,
    files: Sequence[Attachment] = (),
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """办理进展: a text and/or files; the office sees it (and the files); the sender may be
    told which unit handles the item."""
    text = text.strip()[:MAX_TEXT]
    if not text and not files:
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))

    def plan(item: Submission) -> Plan | Result:
        if item.status not in NOTE_STATUSES:
            lang = actor.language
            message = t(
                lang,
                "loop.note.not_now",
                ref=item.reference,
                status=status_label(lang, item.status),
            )
            return refused(Refusal.ILLEGAL, message, item)
        unit = env.settings.unit(item.unit_id)
        told = _handled_by(env, item, unit)
        notices = [
            *_office_lines(
                env,
                "office.note",
                ref=item.reference,
                unit=_unit_label(env, item.unit_id),
                text=escape(text) or "—",
            ),
            *_office_files(env, item, files),
            *told,
        ]
        columns = {"sender_told_unit": 1} if told else {}
        return text or None, columns, notices, t(actor.language, "loop.noted", ref=item.reference)

    return await _step(
        env,
        actor,
        Action.NOTE,
        item_id,
        "note",
        plan,
        key=key,
        origin=origin,
        as_unit=True,
        files=files,
    )


async def finish(
    env: Env,
    actor: Actor,
    item_id: int,
    answer: str,
    files: Sequence[Attachment] = (),
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """办结 with the answer and evidence: to the office's check (审核), which approves it or
    returns it with one tap."""
    answer = answer.strip()[:MAX_TEXT]
    if not answer:
        return refused(Refusal.INVALID, t(actor.language, "loop.finish.how"))
    now = env.now()

    def plan(item: Submission) -> Plan:
        notices = [
            *_office_lines(
                env,
                "office.finished",
                buttons=_decision(
                    env,
                    item.id,
                    ("admin.action.approve_done", "dok"),
                    ("admin.action.return_done", "dre"),
                ),
                ref=item.reference,
                unit=_unit_label(env, item.unit_id),
                answer=escape(answer),
            ),
            *_office_files(env, item, files),
        ]
        columns = {"unit_answer": answer, "unit_done_at": now, "requested_deadline": None}
        return answer, columns, notices, t(actor.language, "loop.finished", ref=item.reference)

    return await _step(
        env,
        actor,
        Action.FINISH,
        item_id,
        Move.FINISH,
        plan,
        key=key,
        origin=origin,
        as_unit=True,
        files=files,
    )
