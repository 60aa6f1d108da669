"""Publishing with a preview (#17, point 10): 公开 first shows the clerk exactly what the
channel post will be, personal data masked by default (:mod:`bot.core.masking`), with
确认发布, 编辑 (a public summary in place of the resident's text, which stays as sent in
the ledger) and the choice to publish unmasked. 确认发布 carries a digest of the post it
confirmed: if the post changed meanwhile (another clerk edited it, the response changed),
the new preview is shown instead of publishing what nobody saw. The publication itself
is :func:`bot.core.handling.publish`, as from the web desk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.core import cards, claiming, copies, handling
from bot.core.access import Action, Actor, office_actions
from bot.core.acting import Change, Key, act, illegal, load
from bot.core.env import Env
from bot.core.records import Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import IllegalTransition, Status, format_reference
from bot.i18n import t, tn


@dataclass(frozen=True)
class Preview:
    """The post exactly as it would go out, and the note with the clerk's choices."""

    post: str
    note: str
    buttons: cards.Buttons


def digest(post: str) -> str:
    """What 确认发布 carries of the post it confirms (a letter first: callback syntax)."""
    return "h" + hashlib.sha256(post.encode()).hexdigest()[:10]


async def preview(env: Env, actor: Actor, item_id: int, *, note: str = "") -> Result | Preview:
    """The preview of the item's channel post, or why it cannot be published now."""
    loaded = await load(env, actor, Action.PUBLISH, item_id)
    if isinstance(loaded, Result):
        return loaded
    item = loaded
    lang = actor.language
    if Action.PUBLISH not in office_actions(env.settings, item):
        return illegal(actor, item, IllegalTransition(item.status, Status.PUBLISHED))
    held = claiming.held_elsewhere(env, actor, item)
    if held is not None:
        return held
    post = cards.channel_post(env.settings, item, env.secrets)
    if not post:
        return refused(Refusal.NOT_CONFIGURED, t(lang, "admin.no_channel"), item)
    text = post[0].text
    hidden = cards.public_text(item)[1]
    ref = format_reference(item.id)
    lines = [note] if note else []
    lines.append(t(lang, "publish.preview", ref=ref))
    if item.public_unmasked:
        lines.append(t(lang, "publish.unmasked"))
    elif hidden:
        lines.append(tn(lang, "publish.masked", hidden, n=hidden))
    if item.public_text is not None:
        lines.append(t(lang, "publish.summary_used"))
    return Preview(text, "\n".join(lines), _buttons(actor, item, text))


def _buttons(actor: Actor, item: Submission, post: str) -> cards.Buttons:
    lang, n = actor.language, item.id
    masking = (
        (t(lang, "publish.action.mask"), f"adm:pmk:{n}")
        if item.public_unmasked
        else (t(lang, "publish.action.unmask"), f"adm:pum:{n}")
    )
    return (
        ((t(lang, "publish.action.confirm"), f"adm:pok:{n}:{digest(post)}"),),
        ((t(lang, "publish.action.edit"), f"adm:ped:{n}"), masking),
    )


async def confirm(
    env: Env,
    actor: Actor,
    item_id: int,
    confirmed: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result | Preview:
    """确认发布: publish, if the post is still the one previewed; else the new preview.
    ``origin``: the preview's chat, told once the post is out (the preview is no card)."""
    shown = await preview(env, actor, item_id)
    if not isinstance(shown, Preview):
        return shown
    if digest(shown.post) != confirmed:
        changed = t(actor.language, "publish.changed", ref=format_reference(item_id))
        return await preview(env, actor, item_id, note=changed)
    return await handling.publish(env, actor, item_id, key=key, told=origin)


async def edit(env: Env, actor: Actor, item_id: int, text: str, *, key: Key) -> Result:
    """编辑: the public summary the post shows instead of the resident's text (which the
    ledger keeps as sent); the summary is kept as an event of the item's record."""
    if not text.strip():
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        await env.repository.set_public(
            item.id, actor=actor.label(Action.PUBLISH), text=text, update_id=key, refresh=refresh
        )
        return Change(t(actor.language, "publish.edited", ref=format_reference(item.id)))

    return await act(env, actor, Action.PUBLISH, item_id, write, key=key)


async def set_masking(env: Env, actor: Actor, item_id: int, *, unmasked: bool, key: Key) -> Result:
    """Publish the personal data found as written (the clerk's choice), or masked again."""

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        await env.repository.set_public(
            item.id,
            actor=actor.label(Action.PUBLISH),
            unmasked=unmasked,
            update_id=key,
            refresh=refresh,
        )
        return Change("")

    return await act(env, actor, Action.PUBLISH, item_id, write, key=key)
