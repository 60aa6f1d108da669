"""The actions the desk offers on an item, and the one way they run.

An action on an item is one core function (issue 16's core layer), called the same way
from a chat button, a typed reply, the desk and a scheduled job, with the authorisation by
role decided there; the desk never repeats a handler's logic. This module is the desk's
side of that contract: an :class:`ItemAction` names the action, says whether the viewer
may take it on the item now (by asking the core: the state machine and the viewer's
role), lists its form fields, and runs it through the core function. The item page shows a
form for each available action; a POST to ``/items/{id}/actions/{name}`` (CSRF-checked,
the viewer and the item's scope checked again) runs it and shows its outcome.

The office's actions are registered by :func:`office_registry`: each a
:class:`CoreAction` that calls its core function (:mod:`bot.core.reviewing`,
:mod:`bot.core.handling`) as the viewer, whose roles :func:`bot.core.access.identify`
gives them on the desk; which actions a viewer sees is the core's answer
(:func:`bot.core.access.available`), the same that decides a card's buttons. A form
carries a request key (a negative number, apart from Telegram's update ids), so a form
sent twice changes nothing twice. The units' loop (#18) adds its actions the same way;
bulk actions on the queue will run the same actions on several items.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from bot.core import escalation, handling, loop, reviewing
from bot.core.access import Action, Actor, Place, available, identify, unit_available
from bot.core.env import Env
from bot.core.records import Submission
from bot.core.results import Result
from web.viewer import Viewer

KEY_FIELD = "key"


@dataclass(frozen=True)
class ActionField:
    """One input of an action's form."""

    name: str
    label_key: str  # catalogue key of its label
    kind: Literal["text", "textarea", "select", "date"] = "text"
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for "select"
    required: bool = False


@dataclass(frozen=True)
class Outcome:
    """What an action did, for the viewer (``message`` already in their language)."""

    ok: bool
    message: str


class ItemAction(Protocol):
    @property
    def name(self) -> str:
        """In the URL: [a-z_]+."""

    @property
    def label_key(self) -> str: ...

    @property
    def fields(self) -> Sequence[ActionField]: ...

    def available(self, viewer: Viewer, item: Submission) -> bool:
        """Whether the viewer may take this action on the item in its current state."""

    async def run(self, viewer: Viewer, item: Submission, form: Mapping[str, str]) -> Outcome:
        """Take the action through its core function."""


class ActionRegistry:
    """The actions the desk offers, by name."""

    def __init__(self, actions: Iterable[ItemAction] = ()) -> None:
        self._actions: dict[str, ItemAction] = {}
        for action in actions:
            self.register(action)

    def register(self, action: ItemAction) -> None:
        if action.name in self._actions:
            raise ValueError(f"action {action.name!r} registered twice")
        self._actions[action.name] = action

    def get(self, name: str) -> ItemAction | None:
        return self._actions.get(name)

    def available(self, viewer: Viewer, item: Submission) -> list[ItemAction]:
        return [a for a in self._actions.values() if a.available(viewer, item)]


def new_form_key() -> int:
    """A request key for one rendering of a form: negative, so never a Telegram update id."""
    return -1 - secrets.randbelow(2**62)


def form_key(form: Mapping[str, str]) -> int | None:
    raw = form.get(KEY_FIELD, "")
    if not raw.startswith("-") or not raw[1:].isdigit() or len(raw) > 20:
        return None
    return int(raw)


Run = Callable[[Env, Actor, int, Mapping[str, str], int | None], Awaitable[Result]]


@dataclass(frozen=True)
class CoreAction:
    """An office action on the desk: its form, and the core function it runs."""

    action: Action
    label_key: str
    call: Run
    env: Env
    fields: Sequence[ActionField] = field(default=())
    # A unit's step (#18: 签收, 办理进展, 退单, 延期申请, 办结), offered to its members.
    unit: bool = False

    @property
    def name(self) -> str:
        return self.action.value

    def actor(self, viewer: Viewer) -> Actor:
        return identify(self.env.settings, viewer.user_id, Place.WEB, language=viewer.language)

    def available(self, viewer: Viewer, item: Submission) -> bool:
        actor = self.actor(viewer)
        if self.unit:
            return self.action in unit_available(actor, item)
        return self.action in available(actor, self.env.settings, item)

    async def run(self, viewer: Viewer, item: Submission, form: Mapping[str, str]) -> Outcome:
        result = await self.call(self.env, self.actor(viewer), item.id, form, form_key(form))
        return Outcome(ok=result.ok, message=result.message)


def _text(form: Mapping[str, str], name: str) -> str:
    return form.get(name, "").strip()[:3000]


def _due(form: Mapping[str, str]) -> date | None:
    try:
        return date.fromisoformat(form.get("due", ""))
    except ValueError:
        return None


def plain(function: Callable[..., Awaitable[Result]]) -> Run:
    """A core function that takes no input but the item."""

    async def run(env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None) -> Result:
        return await function(env, who, n, key=key)

    return run


def with_text(function: Callable[..., Awaitable[Result]], name: str) -> Run:
    """A core function that takes one text of the form (a reason, a note, an answer)."""

    async def run(env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None) -> Result:
        return await function(env, who, n, _text(form, name), key=key)

    return run


def office_registry(env: Env) -> ActionRegistry:
    """The office's actions on an item, each through its core function."""
    office = env.settings.campaign.language
    lang_topics = tuple((tp.id, tp.name(office)) for tp in env.settings.topics)
    reason = ActionField("reason", "web.form.reason", "textarea", required=True)
    original = ActionField("original", "web.form.original", required=True)
    owner = ActionField("owner", "web.form.owner", required=True)
    due = ActionField("due", "web.form.due", "date")
    question = ActionField("question", "web.form.question", "textarea", required=True)
    response = ActionField("response", "web.form.response", "textarea", required=True)
    topic = ActionField("topic", "web.field.topic", "select", choices=lang_topics)

    async def duplicate(
        env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None
    ) -> Result:
        raw = form.get("original", "").strip().lstrip("#＃")
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
        return await reviewing.mark_duplicate(env, who, n, number, key=key)

    async def assign(
        env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None
    ) -> Result:
        chosen = handling.Assignment(_text(form, "owner"), due=_due(form))
        return await handling.assign(env, who, n, chosen, key=key)

    async def set_topic(
        env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None
    ) -> Result:
        return await reviewing.set_topic(env, who, n, form.get("topic", ""), key=key)

    actions = [
        CoreAction(Action.ACCEPT, "admin.action.accept", plain(reviewing.accept), env),
        CoreAction(
            Action.REJECT,
            "admin.action.reject",
            with_text(reviewing.reject, "reason"),
            env,
            (reason,),
        ),
        CoreAction(Action.DUPLICATE, "admin.action.duplicate", duplicate, env, (original,)),
        CoreAction(Action.FORWARD, "admin.action.forward", plain(reviewing.forward), env),
        CoreAction(Action.START, "admin.action.in_progress", plain(handling.start), env),
        CoreAction(
            Action.RESPOND,
            "admin.action.answer",
            with_text(handling.respond, "response"),
            env,
            (response,),
        ),
        CoreAction(Action.PUBLISH, "admin.action.publish", plain(handling.publish), env),
        CoreAction(Action.CLOSE, "admin.action.closed", plain(handling.close), env),
        CoreAction(Action.ASSIGN, "admin.action.assign", assign, env, (owner, due)),
        CoreAction(
            Action.ASK,
            "admin.action.ask",
            with_text(handling.ask_sender, "question"),
            env,
            (question,),
        ),
        CoreAction(Action.SET_TOPIC, "admin.action.topic", set_topic, env, (topic,)),
    ]
    return ActionRegistry([*actions, *loop_actions(env)])


def _one_word(form: Mapping[str, str], name: str) -> str:
    return "".join(form.get(name, "").split())[:40]


def loop_actions(env: Env) -> list[CoreAction]:
    """The units' loop (#18) on the desk: the office's 派单, decisions and 催办, and a unit
    member's steps on their unit's items, each through its function in
    :mod:`bot.core.loop` (which checks the actor's unit again)."""
    office = env.settings.campaign.language
    units = tuple((u.id, u.name(office)) for u in env.settings.units)
    unit = ActionField("unit", "web.field.unit", "select", choices=units)
    deadline = ActionField("deadline", "web.form.deadline")
    instruction = ActionField("instruction", "web.form.instruction", "textarea")
    reason = ActionField("reason", "web.form.reason", "textarea", required=True)
    told = ActionField("reason", "web.form.unit_reason", "textarea", required=True)
    note = ActionField("note", "web.form.note", "textarea", required=True)
    wanted = ActionField("wanted", "web.form.new_deadline", required=True)
    answer = ActionField("answer", "web.form.answer", "textarea", required=True)

    async def dispatch(
        env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None
    ) -> Result:
        typed = _one_word(form, "deadline")
        return await loop.dispatch(
            env,
            who,
            n,
            form.get("unit", ""),
            deadline=typed or None,
            instruction=_text(form, "instruction"),
            key=key,
        )

    def extension(approve: bool) -> Run:
        async def run(
            env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None
        ) -> Result:
            return await loop.decide_extension(env, who, n, approve, key=key)

        return run

    async def request_extension(
        env: Env, who: Actor, n: int, form: Mapping[str, str], key: int | None
    ) -> Result:
        text = f"{_one_word(form, 'wanted')} {_text(form, 'reason')}"
        return await loop.request_extension(env, who, n, text, key=key)

    act = Action
    return [
        CoreAction(
            act.DISPATCH, "admin.action.dispatch", dispatch, env, (unit, deadline, instruction)
        ),
        CoreAction(act.TAKE_BACK, "admin.action.take_back", plain(loop.take_back), env),
        CoreAction(act.APPROVE_EXTENSION, "admin.action.approve_extension", extension(True), env),
        CoreAction(act.REFUSE_EXTENSION, "admin.action.refuse_extension", extension(False), env),
        CoreAction(act.APPROVE_DONE, "admin.action.approve_done", plain(loop.approve_done), env),
        CoreAction(
            act.RETURN_DONE,
            "admin.action.return_done",
            with_text(loop.return_done, "note"),
            env,
            (note,),
        ),
        CoreAction(
            act.REOPEN, "admin.action.reopen", with_text(loop.reopen, "reason"), env, (reason,)
        ),
        # 催办 by hand (#19), as on the chat card: at most once an hour per item.
        CoreAction(act.URGE, "admin.action.urge", plain(escalation.urge), env),
        CoreAction(act.SIGN, "unit.action.sign", plain(loop.sign), env, unit=True),
        CoreAction(
            act.NOTE, "unit.action.note", with_text(loop.note, "note"), env, (note,), unit=True
        ),
        CoreAction(
            act.REQUEST_EXTENSION,
            "unit.action.extension",
            request_extension,
            env,
            (wanted, told),
            unit=True,
        ),
        CoreAction(
            act.FINISH,
            "unit.action.finish",
            with_text(loop.finish, "answer"),
            env,
            (answer,),
            unit=True,
        ),
        CoreAction(
            act.BOUNCE,
            "unit.action.bounce",
            with_text(loop.bounce, "reason"),
            env,
            (told,),
            unit=True,
        ),
    ]
