"""Who is looking at the desk: a :class:`Viewer` (Telegram user id, role, unit, language),
resolved again from the configuration on every request, so removing someone from
``roles.admin_ids`` closes their open sessions at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.config import Language, Settings
from bot.core.records import Submission

Role = Literal["admin", "unit"]


@dataclass(frozen=True)
class Viewer:
    """A desk user. ``admin``: the campaign office, sees and may act on everything.
    ``unit``: a listed member of an owner unit (承办单位, ``[[units]]`` ``member_ids``,
    issue 18) sees only the items dispatched to ``unit_id``, and of their senders only the
    name a named sender gave (no username); they act on them in the bot."""

    user_id: int
    role: Role
    language: Language
    unit_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def queue_unit(self) -> str | None:
        """The unit the queue is restricted to (None: everything)."""
        return None if self.is_admin else self.unit_id

    def may_see(self, item: Submission) -> bool:
        """Whether the item is in the viewer's scope (checked on every item request)."""
        return self.is_admin or (self.unit_id is not None and item.unit_id == self.unit_id)


def role_of(settings: Settings, user_id: int) -> tuple[Role, str | None] | None:
    """The role (and unit) of a Telegram user on the desk, or None: no entry."""
    if user_id in settings.roles.admin_ids:
        return "admin", None
    unit = settings.unit_of_member(user_id)
    if unit is not None:
        return "unit", unit.id
    return None
