"""认领 (#17, point 9): a clerk working on an item claims it, so that two clerks never
answer one item.

A claim is taken by the 认领 button, or by starting an action that answers or decides for
the item (a prompt: 答复, 请提交人补充, 退回, 合并, 指派, 派单 ...; 公开). It names the clerk
on every office copy of the card (正在由 X 处理) and holds for :data:`CLAIM_FOR` after the
clerk's last action on the item; then it is gone by itself, or at once by 放弃认领. While
another clerk's claim holds, those actions are refused with who holds it and until when;
the one-tap moves stay open to anyone (the state machine refuses a second one). Every
action goes through :func:`check` in :func:`bot.core.acting.act`, so a chat button, a typed
reply and the web desk obey the same claim. The claim lives on the item's row
(:mod:`storage.claims`), not in a process's memory.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.core import copies
from bot.core.access import Action, Actor, Role
from bot.core.env import Env
from bot.core.presenters import local_time
from bot.core.records import DONE_STATUSES, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import format_reference
from bot.i18n import t

CLAIM_FOR = timedelta(minutes=15)

# Actions that answer or decide for the item: one clerk's at a time.
CLAIMING = frozenset(
    {
        Action.REJECT,
        Action.DUPLICATE,
        Action.ASK,
        Action.ASSIGN,
        Action.RESPOND,
        Action.RETURN_DONE,
        Action.REOPEN,
        Action.DISPATCH,
        Action.PUBLISH,
    }
)


def _clerk(actor: Actor) -> int | None:
    """The clerk's id, if the actor is one (the office's role, a known person)."""
    return actor.user_id if actor.has(Role.ADMIN) else None


def until_label(env: Env, until: datetime) -> str:
    return local_time(until, env.settings.campaign.tz)[-5:]


def held_elsewhere(env: Env, actor: Actor, item: Submission) -> Result | None:
    """The refusal if another clerk's claim on the item holds now."""
    held = item.claim(env.now())
    if held is None or held[0] == _clerk(actor) or item.status in DONE_STATUSES:
        return None
    assert item.claimed_until is not None
    message = t(
        actor.language,
        "claim.held",
        ref=format_reference(item.id),
        name=held[1],
        until=until_label(env, item.claimed_until),
    )
    return refused(Refusal.CLAIMED, message, item)


async def check(env: Env, actor: Actor, action: Action, item: Submission) -> Result | None:
    """Before an action: refuse a claiming one while another clerk holds the item; else
    take the claim (a claiming action) or move the clerk's own on (any action of theirs).
    The action's own transaction refreshes the cards."""
    clerk = _clerk(actor)
    if clerk is None:
        return None
    if action in CLAIMING:
        refusal = held_elsewhere(env, actor, item)
        if refusal is not None:
            return refusal
        await env.repository.set_claim(item.id, (clerk, _name(actor), env.now() + CLAIM_FOR))
    elif item.claim(env.now()) is not None:
        await env.repository.renew_claim(item.id, clerk, env.now() + CLAIM_FOR)
    return None


def _name(actor: Actor) -> str:
    return actor.name or str(actor.user_id)


async def claim(
    env: Env,
    actor: Actor,
    item_id: int,
    *,
    origin: copies.Origin | None = None,
    to_act: bool = False,
) -> Result:
    """认领: the item is the clerk's for :data:`CLAIM_FOR` after their last action on it.
    ``to_act``: taken as the clerk starts an action (a prompt); a closed item (which such
    an action may reopen) is then not refused but left unclaimed."""
    return await _set(env, actor, item_id, take=True, origin=origin, to_act=to_act)


async def release(
    env: Env, actor: Actor, item_id: int, *, origin: copies.Origin | None = None
) -> Result:
    """放弃认领: only the clerk who holds it (another's claim ends by itself)."""
    return await _set(env, actor, item_id, take=False, origin=origin)


async def _set(
    env: Env,
    actor: Actor,
    item_id: int,
    *,
    take: bool,
    origin: copies.Origin | None,
    to_act: bool = False,
) -> Result:
    lang = actor.language
    ref = format_reference(item_id)
    item = await env.repository.get_submission(item_id)
    if item is None:
        return refused(Refusal.NOT_FOUND, t(lang, "admin.not_found", ref=ref))
    clerk = _clerk(actor)
    if clerk is None:
        return refused(Refusal.FORBIDDEN, t(lang, "button.stale"), item)
    refusal = held_elsewhere(env, actor, item)
    if refusal is not None:  # (the pressed card shows who holds it)
        return replace(refusal, refreshed=await copies.refresh(env, item_id, origin=origin))
    if take and item.status in DONE_STATUSES:
        if to_act:
            return Result(ok=True, item=item)
        return refused(Refusal.ILLEGAL, t(lang, "claim.done", ref=ref), item)
    await copies.adopt(env, item_id, origin)
    renderer = copies.Renderer(env)
    until = env.now() + CLAIM_FOR
    held = item.claim(env.now())
    # The clerk's own claim moved on within the minute the cards show: nothing to redraw
    # (an edit to the same text is a call Telegram refuses as "not modified").
    same = (
        take
        and held is not None
        and held[0] == clerk
        and item.claimed_until is not None
        and until_label(env, item.claimed_until) == until_label(env, until)
    )
    await env.repository.set_claim(
        item_id,
        (clerk, _name(actor), until) if take else None,
        refresh=None if same else renderer,
    )
    after = await env.repository.get_submission(item_id) or item
    message = (
        t(lang, "claim.taken", ref=ref, until=until_label(env, until))
        if take
        else t(lang, "claim.released", ref=ref)
    )
    return Result(ok=True, message=message, item=after, refreshed=renderer.count)
