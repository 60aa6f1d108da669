"""Bulk actions on the queue: one action, with one set of inputs (one reason, one topic,
one owner), on the items a clerk ticked, after a confirmation that lists them.

Nothing here decides anything about an item: each selected item goes through the same
:class:`web.actions.CoreAction` (so the same core function, with the same authorisation
by role) as the item page's form, one at a time through :func:`bot.core.bulk.apply` (the
chat lists' bulk path too), each with a request key of its own derived from the
confirmation form's key (:func:`item_key`). The same confirmation sent
twice (a double click, a reload) gives every item the same key again, so nothing changes
twice, and the outcome says so. An item the action does not fit is refused with the
reason: the core's own for a status change (e.g. an illegal move from that item's
status), else that the action is not offered in the item's status (the core's table of
what a status allows, :func:`bot.core.access.office_actions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from bot.config import Language
from bot.core import bulk as core_bulk
from bot.core.access import TARGETS, Action, permitted
from bot.core.bulk import item_key as item_key  # (re-exported: the desk and its tests)
from bot.core.presenters import status_label
from bot.core.records import Submission
from bot.core.results import Result
from bot.core.workflow import format_reference
from bot.i18n import t, tn
from storage.desk import first_line
from storage.repository import Repository
from web.actions import KEY_FIELD, ActionRegistry, CoreAction
from web.viewer import Viewer

# What makes sense for many items at once (not a question, a response or a duplicate's
# original: those are one item's).
BULK = (
    Action.ACCEPT,
    Action.REJECT,
    Action.SET_TOPIC,
    Action.ASSIGN,
    Action.DISPATCH,
    Action.FORWARD,
    Action.START,
    Action.CLOSE,
)
# Status changes: the core itself refuses one the item's status (or a missing chat) does
# not allow, with its reason.
STATUS_CHANGES = frozenset(action.value for action in TARGETS)
# Actions whose inputs are chosen on the confirmation page, next to the items they go to
# (派单: the unit and the deadline), not on the queue's form.
CHOSEN_ON_CONFIRM = frozenset({Action.DISPATCH.value})
MAX_ITEMS = 100
ITEM_FIELD = "item"
ACTION_FIELD = "action"


def offered(registry: ActionRegistry, viewer: Viewer) -> list[CoreAction]:
    """The bulk actions the viewer's role may take (the core's table), in menu order."""
    out = []
    for name in BULK:
        action = registry.get(name.value)
        if not isinstance(action, CoreAction) or not permitted(action.actor(viewer), name):
            continue
        if name is Action.DISPATCH and not action.env.settings.units:
            continue  # no unit to choose (the core's table offers 派单 only with units)
        out.append(action)
    return out


def chosen_ids(values: Sequence[str]) -> list[int]:
    """The ticked items' numbers, in order, each once (anything else is dropped)."""
    ids: list[int] = []
    for value in values:
        raw = value.strip()
        if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) > 0:
            number = int(raw)
            if number not in ids:
                ids.append(number)
    return ids


@dataclass(frozen=True)
class BulkRequest:
    """A bulk form as sent: the action, its inputs, the items; ``problems`` (in the
    viewer's language) say why it cannot go on, empty when it can."""

    action: CoreAction | None
    values: dict[str, str]
    ids: list[int]
    problems: list[str]


def read(
    lang: Language, actions: Sequence[CoreAction], form: Mapping[str, str], ids: Sequence[str]
) -> BulkRequest:
    by_name = {action.name: action for action in actions}
    action = by_name.get(form.get(ACTION_FIELD, ""))
    chosen = chosen_ids(ids)
    problems: list[str] = []
    values: dict[str, str] = {}
    if action is None:
        problems.append(t(lang, "web.bulk.choose"))
    else:
        for field in action.fields:
            values[field.name] = form.get(field.name, "").strip()[:3000]
            if field.required and not values[field.name]:
                problems.append(t(lang, "web.bulk.missing", field=t(lang, field.label_key)))
    if not chosen:
        problems.append(t(lang, "web.bulk.none"))
    elif len(chosen) > MAX_ITEMS:
        problems.append(tn(lang, "web.bulk.too_many", MAX_ITEMS, n=MAX_ITEMS))
    return BulkRequest(action, values, chosen, problems)


def not_now(lang: Language, item: Submission) -> str:
    return t(
        lang,
        "web.bulk.not_now",
        ref=format_reference(item.id),
        status=status_label(lang, item.status),
    )


@dataclass(frozen=True)
class PreviewLine:
    """An item in the confirmation: what it is now, and whether the action fits it."""

    id: int
    reference: str
    status: str
    text: str
    possible: bool
    note: str  # why not, when it does not fit


async def preview(
    repository: Repository, viewer: Viewer, action: CoreAction, ids: Sequence[int]
) -> list[PreviewLine]:
    lang = viewer.language
    lines = []
    for number in ids:
        item = await repository.get_submission(number)
        reference = format_reference(number)
        if item is None or not viewer.may_see(item):
            missing = t(lang, "admin.not_found", ref=reference)
            lines.append(PreviewLine(number, reference, "", "", False, missing))
            continue
        possible = action.available(viewer, item)
        lines.append(
            PreviewLine(
                id=number,
                reference=reference,
                status=status_label(lang, item.status),
                text=first_line(item.text, 60),
                possible=possible,
                note="" if possible else not_now(lang, item),
            )
        )
    return lines


@dataclass(frozen=True)
class OutcomeLine:
    """What the action did to one item: done, or refused with the reason; ``again``: this
    very form had done it before (nothing done twice)."""

    id: int
    reference: str
    ok: bool
    again: bool
    message: Markup
    status: str  # the item's status afterwards


async def apply(
    repository: Repository,
    viewer: Viewer,
    action: CoreAction,
    ids: Sequence[int],
    values: Mapping[str, str],
    form_key: int,
) -> list[OutcomeLine]:
    """Run the action on each item, one after another, each through the core
    (:func:`bot.core.bulk.apply`: a key per item, nothing done twice)."""
    lang = viewer.language
    found: dict[int, Submission] = {}

    async def run(number: int, key: int) -> Result:
        item = found[number]
        if action.available(viewer, item) or action.name in STATUS_CHANGES:
            outcome = await action.run(viewer, item, {**values, KEY_FIELD: str(key)})
            return Result(ok=outcome.ok, message=outcome.message)
        return Result(ok=False, message=str(Markup.escape(not_now(lang, item))))

    lines: dict[int, OutcomeLine] = {}
    for number in ids:
        item = await repository.get_submission(number)
        if item is None or not viewer.may_see(item):  # out of scope looks like not there
            reference = format_reference(number)
            missing = Markup.escape(t(lang, "admin.not_found", ref=reference))
            lines[number] = OutcomeLine(number, reference, False, False, missing, "")
        else:
            found[number] = item
    outcomes = await core_bulk.apply(action.env, list(found), form_key, run)
    for done in outcomes:
        number = done.id
        if done.again:
            message = Markup.escape(t(lang, "web.bulk.again"))
        else:
            # The core's message is Telegram's HTML subset, every user value escaped.
            message = Markup(done.result.message if done.result else "")  # noqa: S704
        after = await repository.get_submission(number) or found[number]
        lines[number] = OutcomeLine(
            number,
            format_reference(number),
            done.ok,
            done.again,
            message,
            status_label(lang, after.status),
        )
    return [lines[number] for number in ids]
