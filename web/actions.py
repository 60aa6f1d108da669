"""The actions the desk offers on an item, and the one way they run.

An action on an item is one core function (issue 16's core layer), called the same way
from a chat button, a typed reply, the desk and a scheduled job, with the authorisation by
role decided there; the desk never repeats a handler's logic. This module is the desk's
side of that contract: an :class:`ItemAction` names the action, says whether the viewer
may take it on the item now (by asking the core: the state machine and the viewer's
role), lists its form fields, and runs it through the core function. The item page shows a
form for each available action; a POST to ``/items/{id}/actions/{name}`` (CSRF-checked,
the viewer and the item's scope checked again) runs it and shows its outcome.

No action is registered yet: they come with the core functions (#16) and the units' loop
(#18), each a few lines here calling its core function. Bulk actions on the queue (accept,
reject as spam, change topic, dispatch) will run the same actions on several items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core.records import Submission
from web.viewer import Viewer


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
    name: str  # in the URL: [a-z_]+
    label_key: str
    fields: Sequence[ActionField]

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
