"""What a resident may see of one item (/status): their own item in full; an item they
follow, because the office merged their submission into it as a duplicate, by its public
state only (kind, topic, status with times, the official response): never its sender, its
text or the office's notes. The office sees any item in full. Decided here, for every
caller."""

from __future__ import annotations

from bot.core.access import Actor, Role
from bot.core.env import Env
from bot.core.presenters import public_detail, submission_detail
from bot.core.results import Refusal, Result, refused


async def follows(env: Env, actor: Actor, item_id: int) -> bool:
    """Whether one of the actor's own submissions was merged into this item."""
    if not actor.has(Role.RESIDENT) or actor.user_id is None:
        return False
    merged = await env.repository.duplicates_of(item_id)
    return bool(await env.repository.owned_among(actor.user_id, merged))


async def status(env: Env, actor: Actor, item_id: int) -> Result:
    """The item as this actor may see it (``message``, HTML), or refused as not found: an
    item the actor may not see is indistinguishable from one that does not exist."""
    item = await env.repository.get_submission(item_id)
    if item is None:
        return refused(Refusal.NOT_FOUND)
    lang, settings = actor.language, env.settings
    own = (
        actor.has(Role.RESIDENT)
        and actor.user_id is not None
        and await env.repository.is_owner(item_id, user_id=actor.user_id)
    )
    if actor.has(Role.ADMIN) or own:
        history = await env.repository.history(item_id)
        return Result(ok=True, message=submission_detail(lang, settings, item, history), item=item)
    if await follows(env, actor, item_id):
        history = await env.repository.history(item_id)
        return Result(ok=True, message=public_detail(lang, settings, item, history), item=item)
    return refused(Refusal.NOT_FOUND)
