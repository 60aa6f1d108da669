"""Who may do what: actors, their roles, and the one table of which role may take which
action on an item.

Every core function starts here (:func:`permitted`), whatever called it: a button in a
chat, a typed reply, a form of the web desk or a scheduled job. Callers only say who is
acting and where (:func:`identify`); the roles come from the configuration, never from
callback data or a form.

Roles:

- ``resident``: anyone in their private chat with the bot; acts on their own items only
  (checked against the item's sender or ownership tag by the core function). Known to the
  core by their Telegram id, from which the repository derives pseudonyms; an anonymous
  item never stores it.
- ``admin``: the campaign office (``roles.admin_ids``), in their private chat with the bot,
  in the office group or on the web desk; nowhere else (cards name named senders).
- ``group``: a member of the leading group, in that group.
- ``unit``: someone who works for an owner unit (承办单位, ``[[units]]``), for their unit's
  items only (the core function checks the item's unit): in the unit's group (anyone in
  it, or only its ``member_ids`` when the unit lists them) or, for a listed member, in
  their private chat with the bot.
- ``system``: a scheduled job or the command line.

An administrator in their private chat is also a resident there (they may send and follow
their own suggestions): an actor holds every role that applies at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.config import Language, Settings
from bot.core.records import DONE_STATUSES, Submission
from bot.core.workflow import CHASED_STATUSES, Move, Status, allowed_moves, office_targets


class Role(StrEnum):
    RESIDENT = "resident"
    ADMIN = "admin"
    GROUP = "group"
    UNIT = "unit"
    SYSTEM = "system"


class Place(StrEnum):
    """Where an actor acts from."""

    PRIVATE = "private"  # their private chat with the bot
    OFFICE = "office"  # the office group (roles.office_chat_id)
    LEADING_GROUP = "leading_group"  # roles.leading_group_chat_id
    UNIT = "unit"  # a unit's group ([[units]] chat_id)
    CHANNEL = "channel"  # the campaign's channel (roles.channel_id): its posts' buttons
    OTHER = "other"  # any other group or channel
    WEB = "web"  # the web desk (signed in)
    JOB = "job"  # a scheduled job, the command line


class Action(StrEnum):
    """Every action on an item (the web desk's URLs and the tests use these names)."""

    SUBMIT = "submit"
    VIEW = "view"  # the office's card of an item (/show, /review, the desk's page)
    ACCEPT = "accept"
    REJECT = "reject"
    DUPLICATE = "duplicate"
    FORWARD = "forward"  # to the leading group
    START = "start"  # start handling (in_progress)
    ASSIGN = "assign"  # owner and deadline
    ASK = "ask"  # ask the sender for more information
    RESPOND = "respond"  # the official response
    PUBLISH = "publish"  # to the channel
    CLOSE = "close"  # 销号
    SET_TOPIC = "set_topic"
    ANSWER = "answer"  # the sender answers the office's question
    RATE = "rate"  # the sender rates the response
    INSTRUCT = "instruct"  # the leading group's instruction (批示)
    # The units' loop (#18). The office's:
    DISPATCH = "dispatch"  # 派单 (again after a 退单)
    TAKE_BACK = "take_back"  # a returned item back to the office
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    APPROVE_DONE = "approve_done"  # 审核通过: the unit's answer becomes the response
    RETURN_DONE = "return_done"  # 审核退回, with a note
    REOPEN = "reopen"  # a rejected or merged item, with a reason
    URGE = "urge"  # 催办 by hand: remind the unit (#19)
    # The unit's (the office may record them too):
    TASK = "task"  # the unit's task card (/tasks)
    SIGN = "sign"  # 签收
    BOUNCE = "bounce"  # 退单, with a reason
    REQUEST_EXTENSION = "request_extension"  # 延期申请: a new date and a reason
    NOTE = "note"  # 办理进展
    FINISH = "finish"  # 办结: the answer and evidence
    ENTER = "enter"  # an item heard at a meeting, on the phone ... (bot.core.entering)
    CALLBACK = "callback"  # the result of a 回访 (call-back) of an entered item
    SUPPORT = "support"  # 附议 (me too): count once, follow the item
    SURVEY = "survey"  # send the satisfaction survey (群众满意度测评)
    SURVEY_ANSWER = "survey_answer"  # a resident's answer to it
    # The channel post's outcome settles a publication: published once it was delivered,
    # back to the status before when it failed for good (the outbox, as the system).
    SETTLE_PUBLISHING = "settle_publishing"


OFFICE_ACTIONS = frozenset(
    {
        Action.VIEW,
        Action.ACCEPT,
        Action.REJECT,
        Action.DUPLICATE,
        Action.FORWARD,
        Action.START,
        Action.ASSIGN,
        Action.ASK,
        Action.RESPOND,
        Action.PUBLISH,
        Action.CLOSE,
        Action.SET_TOPIC,
        Action.ENTER,
        Action.CALLBACK,
        Action.URGE,
    }
)
# The office's actions of the units' loop, and the move each makes.
LOOP_OFFICE_MOVES: dict[Action, Move] = {
    Action.DISPATCH: Move.DISPATCH,
    Action.TAKE_BACK: Move.TAKE_BACK,
    Action.APPROVE_EXTENSION: Move.APPROVE_EXTENSION,
    Action.REFUSE_EXTENSION: Move.REFUSE_EXTENSION,
    Action.APPROVE_DONE: Move.APPROVE_DONE,
    Action.RETURN_DONE: Move.RETURN_DONE,
    Action.REOPEN: Move.REOPEN,
}
OFFICE_ACTIONS = OFFICE_ACTIONS | frozenset(LOOP_OFFICE_MOVES)
# The unit's actions, and the move each makes (a note moves nothing).
UNIT_MOVES: dict[Action, Move | None] = {
    Action.TASK: None,
    Action.SIGN: Move.SIGN,
    Action.BOUNCE: Move.BOUNCE,
    Action.REQUEST_EXTENSION: Move.REQUEST_EXTENSION,
    Action.NOTE: None,
    Action.FINISH: Move.FINISH,
}
# Statuses in which a unit's progress note is taken.
NOTE_STATUSES = frozenset({Status.SIGNED, Status.EXTENSION_REQUESTED})
# The one table: the roles that may take each action.
PERMITTED: dict[Action, frozenset[Role]] = {
    **{action: frozenset({Role.ADMIN}) for action in OFFICE_ACTIONS},
    **{action: frozenset({Role.UNIT, Role.ADMIN}) for action in UNIT_MOVES},
    Action.SUBMIT: frozenset({Role.RESIDENT}),
    Action.ANSWER: frozenset({Role.RESIDENT}),
    Action.RATE: frozenset({Role.RESIDENT}),
    Action.SUPPORT: frozenset({Role.RESIDENT}),
    Action.SURVEY: frozenset({Role.ADMIN, Role.SYSTEM}),  # (the system: at a phase's end)
    Action.SURVEY_ANSWER: frozenset({Role.RESIDENT}),
    Action.INSTRUCT: frozenset({Role.GROUP}),
    Action.SETTLE_PUBLISHING: frozenset({Role.SYSTEM}),
}
# Actions that act on the actor's own item: the core function checks ownership.
OWN_ITEM_ACTIONS = frozenset({Action.ANSWER, Action.RATE})
# The status each status-changing action moves an item to.
TARGETS: dict[Action, Status] = {
    Action.ACCEPT: Status.ACCEPTED,
    Action.REJECT: Status.REJECTED,
    Action.DUPLICATE: Status.DUPLICATE,
    Action.FORWARD: Status.FORWARDED,
    Action.START: Status.IN_PROGRESS,
    Action.RESPOND: Status.ANSWERED,
    Action.PUBLISH: Status.PUBLISHING,  # published when the post went out
    Action.CLOSE: Status.CLOSED,
}


@dataclass(frozen=True)
class Actor:
    """Who acts: their roles here, their Telegram id (for a resident only to derive
    pseudonyms: never stored with an anonymous item), the name a leading group member
    signs instructions with, and the language they are answered in."""

    roles: frozenset[Role]
    language: Language
    user_id: int | None = None
    name: str = ""
    unit_id: str | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles

    def label(self, action: Action) -> str:
        """Who did it, as the item's history records it: ``admin:<id>``, ``group:<id>``,
        ``sender`` (never a resident's id) or ``system``."""
        roles = PERMITTED[action] & self.roles
        if Role.SYSTEM in self.roles or self.user_id is None:
            return "system"
        if Role.ADMIN in roles:
            return f"admin:{self.user_id}"
        if Role.GROUP in roles:
            return f"group:{self.user_id}"
        if Role.UNIT in roles:
            return f"unit:{self.unit_id}:{self.user_id}"
        return "sender"


def identify(
    settings: Settings,
    user_id: int | None,
    place: Place,
    *,
    language: Language,
    name: str = "",
    chat_id: int = 0,
) -> Actor:
    """The actor a user is at a place, with every role that applies there (from the
    configuration only)."""
    roles: set[Role] = set()
    admin = user_id is not None and user_id in settings.roles.admin_ids
    if place is Place.JOB:
        roles.add(Role.SYSTEM)
    if admin and place in (Place.PRIVATE, Place.OFFICE, Place.WEB):
        roles.add(Role.ADMIN)
    if place in (Place.PRIVATE, Place.CHANNEL) and user_id is not None:
        roles.add(Role.RESIDENT)  # (in the channel: only its posts' 附议 buttons)
    if place is Place.LEADING_GROUP and user_id is not None:
        roles.add(Role.GROUP)
    unit = unit_for(settings, user_id, place, chat_id)
    if unit is not None:
        roles.add(Role.UNIT)
    return Actor(frozenset(roles), language, user_id, name, unit)


def unit_for(settings: Settings, user_id: int | None, place: Place, chat_id: int) -> str | None:
    """The unit a user acts for at a place: in a unit's group, anyone in it (or only the
    unit's ``member_ids`` when it lists them); in a private chat or on the web desk, a
    listed member."""
    if user_id is None:
        return None
    if place is Place.UNIT:
        unit = settings.unit_of_chat(chat_id)
        if unit is not None and (not unit.member_ids or user_id in unit.member_ids):
            return unit.id
        return None
    if place in (Place.PRIVATE, Place.WEB):  # (the web desk: a member signed in)
        member = settings.unit_of_member(user_id)
        return member.id if member is not None else None
    return None


def system(language: Language) -> Actor:
    """A scheduled job or the command line."""
    return Actor(frozenset({Role.SYSTEM}), language)


def place_of(settings: Settings, chat_id: int, *, private: bool) -> Place:
    """The place of a chat."""
    roles = settings.roles
    if private:
        return Place.PRIVATE
    if roles.office_chat_id and chat_id == roles.office_chat_id:
        return Place.OFFICE
    if roles.leading_group_chat_id and chat_id == roles.leading_group_chat_id:
        return Place.LEADING_GROUP
    if settings.unit_of_chat(chat_id) is not None:
        return Place.UNIT
    if roles.channel_id and chat_id == roles.channel_id:
        return Place.CHANNEL
    return Place.OTHER


def permitted(actor: Actor, action: Action) -> bool:
    """Whether one of the actor's roles may take the action (ownership, for a resident's
    actions, the unit of a unit's, and the item's state are checked by the core function)."""
    return bool(actor.roles & PERMITTED[action]) or (
        Role.SYSTEM in actor.roles and action in OFFICE_ACTIONS
    )


def may_work_on(actor: Actor, item: Submission) -> bool:
    """Whether the actor may act on the item as its unit: the office (or the system) on
    every item, a unit's people on their unit's items only."""
    if actor.has(Role.ADMIN) or actor.has(Role.SYSTEM):
        return True
    return actor.has(Role.UNIT) and item.unit_id is not None and item.unit_id == actor.unit_id


def unit_actions(item: Submission) -> list[Action]:
    """The unit's actions the item's status allows now, in the order task cards show them."""
    moves = allowed_moves(item.status)
    actions = [a for a, move in UNIT_MOVES.items() if move is not None and move in moves]
    if item.status in NOTE_STATUSES:
        actions.insert(1 if Action.SIGN in actions else 0, Action.NOTE)
    return actions


def office_actions(settings: Settings, item: Submission) -> list[Action]:
    """The office's actions the item's status allows now, in the order cards show them:
    the status changes first, then owner and deadline, a question and the topic. Moving to
    the leading group or the channel needs that chat configured."""
    allowed = office_targets(item.status)
    configured = {
        Action.FORWARD: bool(settings.roles.leading_group_chat_id),
        Action.PUBLISH: bool(settings.roles.channel_id),
    }
    actions = [
        action
        for action, target in TARGETS.items()
        if target in allowed and configured.get(action, True)
    ]
    moves = allowed_moves(item.status)
    actions += [
        action
        for action, move in LOOP_OFFICE_MOVES.items()
        if move in moves and (action is not Action.DISPATCH or settings.units)
    ]
    if item.status in CHASED_STATUSES and item.unit_id is not None:
        actions.append(Action.URGE)
    if item.status not in DONE_STATUSES:
        if item.status is not Status.NEW and not settings.units:
            actions.append(Action.ASSIGN)  # the free-text owner, where there are no units
        actions += [Action.ASK, Action.SET_TOPIC]
    return actions


def available(actor: Actor, settings: Settings, item: Submission) -> list[Action]:
    """The actions on the item this actor may take now (the office's for an administrator
    or the system; a resident's own-item actions are offered in their own messages)."""
    return [a for a in office_actions(settings, item) if permitted(actor, a)]


def unit_available(actor: Actor, item: Submission) -> list[Action]:
    """The unit's actions on the item this actor may take now as its unit's member (the
    web desk's forms, as a task card's buttons): the item's status decides which, the
    actor's unit whether (the office records a unit's steps only in the chat)."""
    if not actor.has(Role.UNIT) or item.unit_id is None or item.unit_id != actor.unit_id:
        return []
    return [a for a in unit_actions(item) if permitted(actor, a)]
