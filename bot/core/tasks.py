"""What a unit (承办单位) sees and is sent: its task card, its buttons, the lines of /tasks,
and the messages the loop owes to the unit, the office and the sender (#18).

A unit never sees a named sender's Telegram id or username, only the name the sender
chose to be named with, and nothing of an anonymous sender (匿名); nothing of another
unit: a task card that is no longer its unit's shows only that (:func:`gone_card`).

Callback data of the unit's buttons (no authority: the core checks the presser's unit):

    unit:sgn:<n>   签收                 unit:bnc:<n>   退单 (asks the reason)
    unit:ext:<n>   延期申请 (asks)      unit:not:<n>   办理进展 (asks)
    unit:fin:<n>   办结 (asks the answer)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.anonymity import Secrets
from bot.config import Language, Settings, UnitConfig
from bot.core.access import Action, unit_actions
from bot.core.cards import Buttons, Card, parts_to, summary_flags
from bot.core.presenters import kind_label, local_date, local_time, status_label, topic_label
from bot.core.records import (
    CardSpec,
    Event,
    HistoryEntry,
    Outgoing,
    Recipient,
    Submission,
    SubmissionSummary,
)
from bot.core.workflow import Move, format_reference
from bot.i18n import resolve_language, t, tn
from bot.text import FittedLines, escape, shorten

NOTE_CHARS = 300
MAX_NOTES = 10

# Each unit action's button: its label key and its callback action (``unit:<it>:<n>``).
UNIT_BUTTONS: dict[Action, tuple[str, str]] = {
    Action.SIGN: ("unit.action.sign", "sgn"),
    Action.NOTE: ("unit.action.note", "not"),
    Action.REQUEST_EXTENSION: ("unit.action.extension", "ext"),
    Action.FINISH: ("unit.action.finish", "fin"),
    Action.BOUNCE: ("unit.action.bounce", "bnc"),
}
UNIT_CALLBACKS = {callback: action for action, (_, callback) in UNIT_BUTTONS.items()}
# The loop's steps the unit sees on its card (the office's notes to it included).
UNIT_STEPS = frozenset(
    {
        Move.DISPATCH.value,
        Move.SIGN.value,
        Move.BOUNCE.value,
        Move.REQUEST_EXTENSION.value,
        Move.APPROVE_EXTENSION.value,
        Move.REFUSE_EXTENSION.value,
        Move.FINISH.value,
        Move.RETURN_DONE.value,
        Move.APPROVE_DONE.value,
        Move.REDO.value,
        "note",
    }
)
# The steps that hand the item to a unit (its record on the task card starts there).
HANDED_OVER = frozenset({Move.DISPATCH.value, Move.REDO.value})


def unit_name(settings: Settings, lang: Language, unit_id: str | None) -> str:
    unit = settings.unit(unit_id)
    return unit.name(lang) if unit is not None else (unit_id or "")


def sender_for_unit(lang: Language, item: Submission) -> str:
    """The sender as a unit may see them: the name of a named sender only."""
    if item.sender is None:
        return t(lang, "summary.anonymous")
    return escape(item.sender.name) or t(lang, "unit.card.named")


def step_label(lang: Language, entry: HistoryEntry) -> str:
    if entry.step:
        return t(lang, f"step.{entry.step}")
    return status_label(lang, entry.to_status)


def since_dispatch(history: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """The record of the item's latest dispatch or 重办 (what its current unit did and was
    told)."""
    start = max((i for i, e in enumerate(history) if e.step in HANDED_OVER), default=0)
    return [e for e in history[start:] if e.step in UNIT_STEPS]


def task_card(
    lang: Language,
    settings: Settings,
    item: Submission,
    *,
    history: Sequence[HistoryEntry] = (),
    events: Sequence[Event] = (),
    now: datetime | None = None,
) -> Card:
    """The unit's task card: reference, kind, topic, sender (as a unit may see them),
    deadline, the office's instruction and the leading group's 批示, the text, locations,
    the count of files (sent after the card), and the record since the dispatch."""
    tz = settings.campaign.tz
    card = FittedLines()
    card.add(
        t(
            lang,
            "unit.card.title",
            kind=kind_label(lang, item.kind),
            ref=format_reference(item.id),
            status=status_label(lang, item.status),
        ),
        t(lang, "field.topic", value=escape(topic_label(lang, settings, item.topic_id))),
        t(lang, "field.sender", value=sender_for_unit(lang, item)),
        t(lang, "field.date", value=local_time(item.created_at, tz)),
    )
    if item.deadline is not None:
        card.add(t(lang, "unit.card.deadline", date=local_date(item.deadline, tz)))
    if now is not None and (days := item.overdue_days(now)):
        card.add(tn(lang, "field.overdue", days, days=days))
    if item.sign_due is not None and item.signed_at is None:
        card.add(t(lang, "unit.card.sign_due", date=local_time(item.sign_due, tz)))
        if now is not None and item.unsigned(now):
            card.add(t(lang, "field.unsigned"))
    if item.requested_deadline is not None:
        card.add(t(lang, "field.extension_pending", date=local_date(item.requested_deadline, tz)))
    if item.reopen_count:
        card.add(t(lang, "field.reopened", count=str(item.reopen_count)))
    if item.dispatch_note:
        card.add_text(
            shorten(item.dispatch_note, NOTE_CHARS),
            lambda v: t(lang, "unit.card.instruction", value=v),
        )
    for event in events:
        if event.kind == "instruction":
            who, _, text = event.body.partition("|")
            card.add_text(shorten(text, NOTE_CHARS), _instruction(lang, who))
    files = [a for a in item.attachments if a.type != "location"]
    if files:
        card.add(t(lang, "field.attachments", value=str(len(files))))
    for place in (a for a in item.attachments if a.type == "location"):
        card.add(
            t(lang, "field.location", lat=f"{place.latitude:.5f}", lon=f"{place.longitude:.5f}")
        )
    card.add("")
    card.add_text(item.text, weight=8)
    if item.unit_answer:
        card.add("")
        card.add_text(item.unit_answer, lambda v: t(lang, "field.unit_answer", value=v), weight=3)
    notes = since_dispatch(history)[-MAX_NOTES:]
    if notes:
        card.add("", t(lang, "detail.history"))
        for entry in notes:
            line = f"{local_date(entry.at, tz)} {step_label(lang, entry)}"
            if entry.note:
                card.add_text(shorten(entry.note, NOTE_CHARS), f"{line} — ".__add__)
            else:
                card.add(line)
    card.add("", t(lang, "unit.card.hint"))
    text, shortened = card.fit()
    return Card(text, shortened)


def _instruction(lang: Language, who: str) -> Callable[[str], str]:
    return lambda v: t(lang, "event.instruction", who=escape(who), value=v)


def gone_card(lang: Language, item: Submission) -> Card:
    """What a unit's copy of a task card shows once the item is no longer its unit's."""
    return Card(t(lang, "unit.card.gone", ref=format_reference(item.id)), False)


def task_buttons(lang: Language, item: Submission) -> Buttons:
    n = item.id
    labels = [
        (t(lang, UNIT_BUTTONS[a][0]), f"unit:{UNIT_BUTTONS[a][1]}:{n}") for a in unit_actions(item)
    ]
    return tuple(tuple(labels[i : i + 2]) for i in range(0, len(labels), 2))


def unit_routes(secrets: Secrets, unit: UnitConfig) -> list[str]:
    """Where a unit is reached: its group, else each member's private chat (encrypted)."""
    if unit.chat_id:
        return [secrets.encrypt_int(unit.chat_id)]
    return [secrets.encrypt_int(member) for member in unit.member_ids]


def to_unit(
    settings: Settings, secrets: Secrets, unit: UnitConfig, key: str, **values: str
) -> list[Outgoing]:
    """A line for the unit, in the campaign's language."""
    lang = resolve_language(settings.campaign.language)
    return [
        n
        for route in unit_routes(secrets, unit)
        for n in parts_to(route, t(lang, key, **values), Recipient.UNIT)
    ]


def task_messages(
    settings: Settings,
    secrets: Secrets,
    unit: UnitConfig,
    item: Submission,
    *,
    events: Sequence[Event] = (),
    now: datetime,
) -> list[Outgoing]:
    """The task card (recorded as a copy when delivered; a reply to it is a progress note)
    and the item's files sent again, to the unit's group or each member."""
    lang = resolve_language(settings.campaign.language)
    card = task_card(lang, settings, item, events=events, now=now)
    caption = t(lang, "unit.file.caption", ref=format_reference(item.id))
    messages: list[Outgoing] = []
    for route in unit_routes(secrets, unit):
        messages.append(
            Outgoing(
                chat_enc=route,
                text=card.text,
                buttons=task_buttons(lang, item),
                purpose="task_card",
                card=CardSpec(kind="task", language=lang),
                recipient=Recipient.UNIT,
            )
        )
        if card.shortened:
            messages += parts_to(route, escape(item.text), Recipient.UNIT)
        for attachment in item.attachments:
            messages.append(
                Outgoing(
                    chat_enc=route, text=caption, attachment=attachment, recipient=Recipient.UNIT
                )
            )
    return messages


def task_lines(
    lang: Language, settings: Settings, items: Sequence[SubmissionSummary], now: datetime
) -> list[str]:
    """The lines of /tasks: reference, status, deadline, flags."""
    tz = settings.campaign.tz
    lines = []
    for s in items:
        line = t(
            lang,
            "unit.tasks.line",
            ref=format_reference(s.id),
            status=status_label(lang, s.status),
            deadline=local_date(s.deadline, tz) if s.deadline else "—",
        )
        lines.append(line + summary_flags(lang, s, now))
    return lines
