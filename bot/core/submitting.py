"""Submitting: a resident's finished draft becomes an item with a reference number.

:func:`submit` decides everything about it: whether the campaign's current phase collects
its kind (:func:`out_of_phase`, also asked when the kind is chosen), the place it concerns
and the phase it arrived in, the resident's hourly quota (named items counted by sender id,
anonymous ones by their tags), what is stored of the sender (a named sender's id, chat and
name; for an anonymous one nothing but the encrypted reply route and the item's own tag,
derived by the repository), the office's announcement (queued in the same transaction;
recorded as a card copy when delivered), and a replay of the same confirmation after a
crash (acknowledged again, stored once).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core import cards, supporting
from bot.core.access import Action, Actor, permitted
from bot.core.acting import Key
from bot.core.env import Env
from bot.core.phases import not_collected, phase_id_at, phase_now
from bot.core.records import Draft, NewSubmission, Outgoing, Sender, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import Kind, format_reference
from bot.i18n import t, tn
from storage.base import NotFound

log = logging.getLogger(__name__)


def acknowledgement(actor: Actor, item_id: int, *, anonymous: bool) -> str:
    key = "ack.anonymous" if anonymous else "ack.named"
    return t(actor.language, key, ref=format_reference(item_id), num=item_id)


async def _acknowledge_again(env: Env, actor: Actor, key: Key) -> Result:
    """No draft: if this very update stored it before a crash, say so again."""
    stored = await env.repository.submission_from_update(key) if key is not None else None
    item = await env.repository.get_submission(stored) if stored is not None else None
    if item is None:
        return refused(Refusal.GONE, t(actor.language, "draft.gone"))
    message = acknowledgement(actor, item.id, anonymous=item.anonymous)
    return Result(ok=True, message=message, item=item, replayed=True)


async def over_quota(env: Env, actor: Actor) -> Result | None:
    """The refusal when the resident sent ``limits.max_submissions_per_hour`` items in the
    last hour (their draft stays: it can be sent later)."""
    limit = env.settings.limits.max_submissions_per_hour
    if not limit or actor.user_id is None:
        return None
    since = env.now() - timedelta(hours=1)
    recent = await env.repository.count_recent(user_id=actor.user_id, since=since)
    if recent < limit:
        return None
    return refused(Refusal.LIMIT, tn(actor.language, "limit.reached", limit, limit=limit))


def out_of_phase(env: Env, actor: Actor, kind: Kind) -> Result | None:
    """The refusal when the campaign's current phase does not collect ``kind`` (e.g. only
    problems during 查摆问题): why, and from when it is taken again (the draft stays)."""
    now = phase_now(env.settings, env.now())
    if now.collects(kind):
        return None
    return refused(Refusal.PHASE, not_collected(actor.language, env.settings, now, kind))


async def submit(
    env: Env,
    actor: Actor,
    draft: Draft | None,
    *,
    chat_id: int,
    username: str | None = None,
    key: Key,
) -> Result:
    """Store the resident's finished draft (kind, text, topic and identity chosen) as an
    item and queue its announcement; the draft is deleted in the same transaction."""
    if not permitted(actor, Action.SUBMIT) or actor.user_id is None:
        return refused(Refusal.FORBIDDEN, t(actor.language, "button.stale"))
    if draft is None:
        return await _acknowledge_again(env, actor, key)
    if draft.kind is None or draft.anonymous is None:
        return refused(Refusal.INVALID, t(actor.language, "flow.resume"))
    outside = out_of_phase(env, actor, draft.kind)  # the phase may have changed meanwhile
    if outside is not None:
        return outside
    quota = await over_quota(env, actor)
    if quota is not None:
        return quota
    settings, secrets = env.settings, env.secrets
    topic_id = draft.topic_id or settings.fallback_topic.id
    new = NewSubmission(
        kind=draft.kind,
        text=draft.text,
        topic_id=topic_id,
        suggested_topic_id=draft.evidence[0].topic_id if draft.evidence else topic_id,
        evidence=tuple(draft.evidence),
        language=actor.language,
        attachments=tuple(draft.attachments),
        sender=None
        if draft.anonymous
        else Sender(user_id=actor.user_id, chat_id=chat_id, name=actor.name, username=username),
        reply_route=secrets.encrypt_int(chat_id) if draft.anonymous else None,
        source_update_id=key,
        # A place no longer configured is not stored (the office could not place it).
        place_id=draft.place_id if draft.place_id in settings.place_index.by_id else None,
        phase_id=phase_id_at(settings, env.now()),
    )

    announced: list[Outgoing] = []

    def announce(item: Submission) -> list[Outgoing]:
        announced.extend(cards.announcement(settings, item, secrets))
        return announced

    try:
        item = await env.repository.create_submission(
            new, owner_id=actor.user_id, announce=announce
        )
    except NotFound:
        return refused(Refusal.GONE, t(actor.language, "draft.gone"))
    if item.topic_id != item.suggested_topic_id:
        env.learn()  # the resident's own choice was stored as a (light) label
    log.info(
        "submission stored ref=%s kind=%s anonymous=%s",
        format_reference(item.id),
        item.kind,
        item.anonymous,
    )
    message = acknowledgement(actor, item.id, anonymous=item.anonymous)
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    like = await supporting.similar_open(env, item)
    if like is not None:  # someone raised it already: offer to support theirs (附议)
        message += "\n\n" + t(actor.language, "ack.similar", ref=format_reference(like.id))
        buttons = ((cards.support_button(actor.language, like.id),),)
    return Result(
        ok=True,
        message=message,
        item=item,
        notices=tuple(announced),
        buttons=buttons,
    )
