"""Supporting (附议, "me too"): a resident says an item matters to them too.

:func:`support` is the one action, whether the button was pressed under the item's post in
the channel or under the acknowledgement of the resident's own, very similar item
(:func:`similar_open`). The item's support count goes up once per person (the person's
support tag for that item: :meth:`bot.anonymity.Secrets.support_tag`, anonymous or named
alike, linking none of their other items or supports), and they follow the item: its
response and later changes reach their private chat like a duplicate's sender's.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from bot.core import copies
from bot.core.access import Action, Actor, Role, permitted
from bot.core.acting import Key
from bot.core.env import Env
from bot.core.records import DONE_STATUSES, Submission
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import Status, format_reference
from bot.i18n import t

# Statuses whose items can no longer be supported (turned down or merged into another).
NOT_SUPPORTED = frozenset({Status.REJECTED, Status.DUPLICATE})
# How alike two texts must be (difflib's ratio) for the acknowledgement to offer 附议.
SIMILAR_RATIO = 0.6
CANDIDATES = 10
# The item's card copies (the channel post's 附议 count among them) are edited at most this
# often: a burst of 附议 under a post is one edit (the channel's flood limit is tight).
EDIT_HOLD_SECONDS = 10.0


async def support(env: Env, actor: Actor, item_id: int, *, key: Key) -> Result:
    """Count the actor's support of the item (once) and let them follow it. ``actor`` is
    a resident (their Telegram id is their private chat: the notices go there)."""
    lang = actor.language
    if not permitted(actor, Action.SUPPORT) or actor.user_id is None:
        return refused(Refusal.FORBIDDEN, t(lang, "button.stale"))
    item = await env.repository.get_submission(item_id)
    ref = format_reference(item_id)
    if item is None:
        return refused(Refusal.NOT_FOUND, t(lang, "admin.not_found", ref=ref))
    if item.status in NOT_SUPPORTED:
        return refused(Refusal.ILLEGAL, t(lang, "support.closed", ref=ref), item)
    if actor.has(Role.RESIDENT) and await env.repository.is_owner(item_id, user_id=actor.user_id):
        return refused(Refusal.INVALID, t(lang, "support.own", ref=ref), item)
    added = await env.repository.add_support(
        item_id,
        env.secrets.support_tag(actor.user_id, item_id),
        chat_enc=env.secrets.encrypt_int(actor.user_id),
        language=lang,
        refresh=copies.Renderer(env, channel=True),
        hold=EDIT_HOLD_SECONDS,
    )
    after = await env.repository.get_submission(item_id) or item
    message_key = "support.done" if added else "support.already"
    message = t(lang, message_key, ref=ref, n=after.support)
    return Result(ok=True, message=message, item=after, replayed=not added)


async def similar_open(env: Env, item: Submission) -> Submission | None:
    """An earlier open item whose text is very like this one's (the office has not merged
    them yet): offered for 附议 in the acknowledgement."""
    for summary in await env.repository.similar(item, limit=CANDIDATES):
        if summary.status in DONE_STATUSES or summary.status in NOT_SUPPORTED:
            continue
        other = await env.repository.get_submission(summary.id)
        if other is None:
            continue
        ratio = SequenceMatcher(None, item.text, other.text, autojunk=False).ratio()
        if ratio >= SIMILAR_RATIO:
            return other
    return None
