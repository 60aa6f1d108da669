"""Reviewing an item: accept it, reject it (with the reason the sender is told), merge it
into an earlier one as a duplicate, pass it to the leading group, correct its topic.

Each is one function, called the same way from a card's button, an administrator's reply
to the bot's question, a form of the web desk or a job; who may call it is decided by
:mod:`bot.core.access` inside :func:`bot.core.acting.act`.
"""

from __future__ import annotations

from bot.core import cards, copies
from bot.core.access import TARGETS, Action, Actor
from bot.core.acting import Change, Key, act, done_message
from bot.core.env import Env
from bot.core.presenters import topic_label
from bot.core.records import Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import Status, format_reference
from bot.i18n import t
from bot.text import escape
from storage.labels import SOURCE_WEIGHTS


async def change_status(
    env: Env,
    actor: Actor,
    item_id: int,
    action: Action,
    *,
    key: Key,
    note: str | None = None,
    origin: copies.Origin | None = None,
) -> Result:
    """A status change that needs nothing but a note (accept, start handling, close,
    reject): the sender, and the senders of merged duplicates, are told in their
    language."""
    target = TARGETS[action]

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        followers = await env.repository.followers(item.id)
        notices = cards.status_notice(item, target, env.secrets, reason=note, followers=followers)
        await env.repository.change_status(
            item.id,
            target,
            actor=actor.label(action),
            note=note,
            notices=notices,
            update_id=key,
            refresh=refresh,
        )
        message = done_message(actor, item, target, notified=bool(notices))
        return Change(message, target, tuple(notices))

    return await act(env, actor, action, item_id, write, key=key, origin=origin)


async def accept(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    return await change_status(env, actor, item_id, Action.ACCEPT, key=key, origin=origin)


async def reject(
    env: Env,
    actor: Actor,
    item_id: int,
    reason: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """Not accepted, with the reason the sender is told."""
    if not reason.strip():
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))
    return await change_status(
        env, actor, item_id, Action.REJECT, key=key, note=reason, origin=origin
    )


async def mark_duplicate(
    env: Env,
    actor: Actor,
    item_id: int,
    original_id: int | None,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """Merged into an earlier item: its sender follows the original from now on."""

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        original = await env.repository.get_submission(original_id) if original_id else None
        if original is None or original.id == item.id or original.status is Status.DUPLICATE:
            return refused(Refusal.INVALID, t(actor.language, "admin.duplicate.bad"), item)
        route = cards.sender_route(item, env.secrets)
        notices = cards.duplicate_notices(item, original, env.secrets)
        await env.repository.mark_duplicate(
            item.id,
            original.id,
            actor=actor.label(Action.DUPLICATE),
            follower=(route, item.language) if route else None,
            notices=notices,
            update_id=key,
            refresh=refresh,
        )
        message = done_message(actor, item, Status.DUPLICATE, notified=True)
        return Change(message, Status.DUPLICATE, tuple(notices))

    return await act(env, actor, Action.DUPLICATE, item_id, write, key=key, origin=origin)


async def forward(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    """A copy of the card to the leading group (never a Telegram forward): a member's
    reply to it is an instruction."""

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        copies_out = cards.group_card(env.settings, item, env.secrets)
        if not copies_out:
            return refused(Refusal.NOT_CONFIGURED, t(actor.language, "admin.no_group"), item)
        await env.repository.change_status(
            item.id,
            Status.FORWARDED,
            actor=actor.label(Action.FORWARD),
            notices=copies_out,
            update_id=key,
            refresh=refresh,
        )
        message = t(actor.language, "admin.forwarded", ref=format_reference(item.id))
        return Change(message, Status.FORWARDED, tuple(copies_out))

    return await act(env, actor, Action.FORWARD, item_id, write, key=key, origin=origin)


async def set_topic(
    env: Env,
    actor: Actor,
    item_id: int,
    topic_id: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """Correct the item's topic (or confirm it): either way a label for the topic model,
    which is retrained in the background."""
    if env.settings.topic(topic_id) is None:
        return refused(Refusal.INVALID, t(actor.language, "button.stale"))

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        replayed = key is not None and await env.repository.update_applied(key)
        if topic_id != item.topic_id:
            await env.repository.set_topic(
                item.id,
                topic_id,
                actor=actor.label(Action.SET_TOPIC),
                update_id=key,
                refresh=refresh,
            )
        elif not replayed:  # confirmed as it is: a label for the topic model all the same
            await env.repository.add_submission_label(
                item.id, topic_id, source="admin", weight=SOURCE_WEIGHTS["admin"]
            )
            await env.repository.refresh_copies(item.id, refresh)  # (the pressed one)
        env.learn()
        name = escape(topic_label(actor.language, env.settings, topic_id))
        message = t(actor.language, "admin.topic.set", ref=format_reference(item.id), topic=name)
        return Change(message)

    return await act(env, actor, Action.SET_TOPIC, item_id, write, key=key, origin=origin)
