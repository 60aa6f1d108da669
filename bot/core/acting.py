"""The one sequence every action on an item goes through, whoever calls it.

:func:`act`: load the item → check the actor's role (:mod:`bot.core.access`) → store the
change with its notices in one transaction, keyed by the update or request it is applied
for (:mod:`storage.effects`: a replay changes nothing and queues nothing again) → on an
illegal move, refuse with the reason → refresh every copy of the item's card → say what
happened, in the actor's language. Each action module (:mod:`bot.core.reviewing`,
:mod:`bot.core.handling`, :mod:`bot.core.answering`) only supplies what its action
stores.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.core import claiming, copies
from bot.core.access import Action, Actor, permitted
from bot.core.env import Env
from bot.core.presenters import status_label
from bot.core.records import Attachment, Outgoing, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import IllegalTransition, Status, format_reference
from bot.i18n import t
from storage.base import NotFound

log = logging.getLogger(__name__)

# An idempotency key: the Telegram update, or the web form's request, the action is
# applied for (None: none, e.g. a job that checks its own record).
Key = int | None


@dataclass(frozen=True)
class Change:
    """What an action stored: the status the item moved to (if any), the notices queued
    with it, and what to tell the actor."""

    message: str
    status: Status | None = None
    notices: tuple[Outgoing, ...] = field(default=())


# Stores the change (with ``refresh`` passed to the repository, which queues the edits of
# the item's card copies in the same transaction); returns it, or a refusal of its input.
Write = Callable[[Submission, copies.Renderer], Awaitable[Change | Result]]


def illegal(actor: Actor, item: Submission, exc: IllegalTransition) -> Result:
    """Refused by the state machine, with the reason."""
    lang = actor.language
    message = t(
        lang,
        "admin.illegal",
        ref=format_reference(item.id),
        current=status_label(lang, exc.current),
        target=status_label(lang, exc.target),
    )
    return refused(Refusal.ILLEGAL, message, item)


def done_message(actor: Actor, item: Submission, target: Status, *, notified: bool) -> str:
    lang = actor.language
    return t(
        lang,
        "admin.done",
        ref=format_reference(item.id),
        status=status_label(lang, target),
        notified=t(lang, "admin.notified") if notified else "",
    )


async def load(env: Env, actor: Actor, action: Action, item_id: int) -> Submission | Result:
    """The item, if it exists and the actor's roles allow the action (else the refusal)."""
    item = await env.repository.get_submission(item_id)
    if item is None:
        ref = format_reference(item_id)
        return refused(Refusal.NOT_FOUND, t(actor.language, "admin.not_found", ref=ref))
    if not permitted(actor, action):
        return refused(Refusal.FORBIDDEN, t(actor.language, "button.stale"), item)
    return item


async def act(
    env: Env,
    actor: Actor,
    action: Action,
    item_id: int,
    write: Write,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """Run ``write`` (which stores the change, claiming ``key`` and refreshing the item's
    card copies in its transaction) as the actor (see the module's docstring)."""
    loaded = await load(env, actor, action, item_id)
    if isinstance(loaded, Result):
        return loaded
    item = loaded
    replayed = key is not None and await env.repository.update_applied(key)
    if not replayed:
        held = await claiming.check(env, actor, action, item)
        if held is not None:
            refreshed = await copies.refresh(env, item.id, origin=origin) if origin else 0
            return replace(held, refreshed=refreshed)
    await copies.adopt(env, item.id, origin)
    renderer = copies.Renderer(env)
    try:
        change = await write(item, renderer)
    except IllegalTransition as exc:
        # The card pressed showed a move that is no longer possible: show it as it is.
        refreshed = await copies.refresh(env, item.id) if origin else 0
        return replace(illegal(actor, item, exc), refreshed=refreshed)
    except NotFound:
        ref = format_reference(item_id)
        return refused(Refusal.NOT_FOUND, t(actor.language, "admin.not_found", ref=ref))
    if isinstance(change, Result):  # refused by the action itself (its input)
        return change
    after = await env.repository.get_submission(item.id) or item
    if change.status is not None and not replayed:
        log.info("ref=%s -> %s by %s", format_reference(item.id), change.status, action.value)
    return Result(
        ok=True,
        message=change.message,
        item=after,
        status=change.status,
        notices=() if replayed else change.notices,
        refreshed=renderer.count,
        replayed=replayed,
    )


async def add_event(
    env: Env,
    actor: Actor,
    action: Action,
    item_id: int,
    *,
    kind: str,
    body: str,
    notices: Callable[[Submission], list[Outgoing]],
    message: str,
    key: Key,
    origin: copies.Origin | None = None,
    attachments: Sequence[Attachment] = (),
) -> Result:
    """An action that adds an event to the item's record (a question, an answer, an
    instruction) and queues ``notices(item)`` with it; ``attachments`` (files or
    locations that came with it) are added to the item's."""

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        queued = notices(item)
        await env.repository.add_event(
            item.id,
            actor=actor.label(action),
            kind=kind,
            body=body,
            notices=queued,
            attachments=attachments,
            update_id=key,
            refresh=refresh,
        )
        return Change(message, notices=tuple(queued))

    return await act(env, actor, action, item_id, write, key=key, origin=origin)
