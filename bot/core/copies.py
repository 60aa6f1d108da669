"""Every copy of an item's card stays current.

Each card the bot sends is recorded as a copy with its chat and message
(:mod:`storage.copies`): the office's announcement and the leading group's copy when the
outbox delivers them (their :class:`~bot.core.records.Outgoing` carries a
:class:`~bot.core.records.CardSpec`), /show and /review at once (:func:`record`). When an
item changes, :func:`refresh` queues an edit of every copy through the outbox, each
rendered as its kind shows it and with the buttons of its chat's role: the office's
actions on office cards, none on the leading group's (a press is checked against the
presser's own role anyway). The delivery treats "message is not modified" as done and
forgets a copy Telegram will no longer let it edit.

What is kept of a copy in a private chat follows the anonymity design
(:func:`bot.anonymity.copy_placement`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.anonymity import copy_placement
from bot.config import Language
from bot.core.access import Role
from bot.core.cards import card_buttons, channel_post, item_card
from bot.core.env import Env
from bot.core.records import (
    CardCopy,
    CardSpec,
    Event,
    HistoryEntry,
    Outgoing,
    Submission,
    SubmissionSummary,
)
from bot.core.tasks import gone_card, task_buttons, task_card
from bot.i18n import resolve_language, t


class CopyKind(StrEnum):
    """How a copy is rendered."""

    ANNOUNCE = "announce"  # the office chat's announcement of a new item
    SHOW = "show"  # /show (and a card pressed that was sent before copies were recorded)
    REVIEW = "review"  # /review: also the "next" button
    GROUP = "group"  # the leading group's copy: no buttons; a reply is an instruction
    TASK = "task"  # a unit's task card (#18): the unit's buttons; a reply is a progress note
    CHANNEL = "channel"  # the item's post in the channel (#20): its 附议 count kept current


# Whose buttons each kind of copy shows.
ROLE_OF: dict[CopyKind, Role] = {
    CopyKind.ANNOUNCE: Role.ADMIN,
    CopyKind.SHOW: Role.ADMIN,
    CopyKind.REVIEW: Role.ADMIN,
    CopyKind.GROUP: Role.GROUP,
    CopyKind.TASK: Role.UNIT,
    CopyKind.CHANNEL: Role.RESIDENT,
}
HEADINGS = {CopyKind.ANNOUNCE: "admin.announce", CopyKind.GROUP: "group.card.heading"}


@dataclass(frozen=True)
class Origin:
    """The card a button was pressed on (its chat, message and the chat's language): it is
    refreshed with the others, and recorded as a copy if it was not yet."""

    chat_id: int
    message_id: int
    language: Language
    # How the pressed card is rendered if it has to be recorded now: a unit's press is on a
    # task card, never on the office's card (which names named senders in full).
    kind: str = "show"


def spec(kind: CopyKind, language: Language) -> CardSpec:
    return CardSpec(kind=kind.value, language=language)


def render_copy(
    env: Env,
    item: Submission,
    history: Sequence[HistoryEntry],
    events: Sequence[Event],
    copy: CardCopy,
    similar: Sequence[SubmissionSummary] = (),
) -> Outgoing | None:
    """The edit that makes ``copy`` show the item as it is now, exactly as a fresh card of
    its kind would (/show's and /review's with the similar items; None: the copy's chat can
    no longer be read, e.g. the keys changed)."""
    route = env.secrets.reencrypt(copy.chat_enc)
    if route is None:
        return None
    lang = resolve_language(copy.language)
    kind = CopyKind(copy.kind) if copy.kind in CopyKind.__members__.values() else CopyKind.SHOW
    if kind is CopyKind.TASK:
        return _task_copy(env, item, history, events, copy, route, lang)
    if kind is CopyKind.CHANNEL:
        post = channel_post(env.settings, item, env.secrets)
        if not post:
            return None
        # An edit of the post as it is now (its 附议 count), not a post to settle.
        return post[0].model_copy(
            update={"chat_enc": route, "copy_id": copy.id, "purpose": None, "card": None}
        )
    heading = t(lang, HEADINGS[kind]) if kind in HEADINGS else None
    office = ROLE_OF[kind] is Role.ADMIN
    card = item_card(
        lang,
        env.settings,
        item,
        # The leading group's copy shows the item, not the office's record of it.
        history=history if office else (),
        events=events if office else (),
        similar=similar if kind in (CopyKind.SHOW, CopyKind.REVIEW) else (),
        heading=heading,
        now=env.now(),
    )
    buttons = (
        card_buttons(lang, env.settings, item, review=kind is CopyKind.REVIEW, now=env.now())
        if office
        else ()
    )
    return Outgoing(chat_enc=route, text=card.text, buttons=buttons, copy_id=copy.id)


def _task_copy(
    env: Env,
    item: Submission,
    history: Sequence[HistoryEntry],
    events: Sequence[Event],
    copy: CardCopy,
    route: str,
    lang: Language,
) -> Outgoing:
    """A unit's task card as it is now, or, in a chat that is no longer the item's unit's
    (re-dispatched elsewhere, taken back), only that it is no longer theirs."""
    unit = env.settings.unit(item.unit_id)
    chat = env.secrets.decrypt_int(copy.chat_enc)
    reached = unit is not None and chat is not None and chat in (unit.chat_id, *unit.member_ids)
    if not reached:
        card = gone_card(lang, item)
        return Outgoing(chat_enc=route, text=card.text, copy_id=copy.id)
    card = task_card(lang, env.settings, item, history=history, events=events, now=env.now())
    return Outgoing(
        chat_enc=route, text=card.text, buttons=task_buttons(lang, item), copy_id=copy.id
    )


async def record(
    env: Env, item_id: int, kind: CopyKind, language: Language, chat_id: int, message_id: int
) -> None:
    """A card was sent directly (/show, /review): record it as a copy."""
    where = copy_placement(env.secrets, chat_id, message_id, item_id)
    await env.repository.add_card_copy(item_id, spec(kind, language), where)


async def _is_recorded(env: Env, item_id: int, origin: Origin) -> bool:
    where = copy_placement(env.secrets, origin.chat_id, origin.message_id, item_id)
    for copy in await env.repository.card_copies(item_id, place=where.place):
        if copy.message_id is not None:
            if copy.message_id == origin.message_id:
                return True
        elif env.secrets.decrypt_int(copy.message_enc) == origin.message_id:
            return True
    return False


class Renderer:
    """Renders the edits of an item's copies inside the transaction of its change
    (:func:`storage.copies.refresh_in`), counting them."""

    def __init__(self, env: Env, *, channel: bool = False) -> None:
        self.env = env
        self.count = 0
        # The channel post shows the item and its 附议 count only: edited when the count
        # changed (a 附议), not with every change of the item (the channel's flood limit).
        self.channel = channel

    def __call__(
        self,
        item: Submission,
        history: Sequence[HistoryEntry],
        events: Sequence[Event],
        similar: Sequence[SubmissionSummary],
        copies: Sequence[CardCopy],
    ) -> list[Outgoing]:
        chosen = [c for c in copies if self.channel or c.kind != CopyKind.CHANNEL]
        edits = [render_copy(self.env, item, history, events, c, similar) for c in chosen]
        found = [e for e in edits if e is not None]
        self.count += len(found)
        return found


async def adopt(env: Env, item_id: int, origin: Origin | None) -> None:
    """Record the card a button was pressed on as a copy, if it is not yet (a card sent
    before copies were recorded, or forgotten), so that it is refreshed with the others."""
    if origin is not None and not await _is_recorded(env, item_id, origin):
        kind = CopyKind.TASK if origin.kind == CopyKind.TASK else CopyKind.SHOW
        await record(env, item_id, kind, origin.language, origin.chat_id, origin.message_id)


async def refresh(env: Env, item_id: int, *, origin: Origin | None = None) -> int:
    """Queue an edit of every copy of the item's card to show it as it is now (the pressed
    card too); returns how many edits were queued. An action refreshes inside the
    transaction of its change instead (:class:`Renderer`), so that a replay queues none."""
    await adopt(env, item_id, origin)
    renderer = Renderer(env)
    await env.repository.refresh_copies(item_id, renderer)
    return renderer.count
