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
    ``unit``: a member of an owner unit (承办单位, issue 18), sees only the items of
    ``unit_id``; units are not configured yet, so :func:`role_of` gives no one this role."""

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
        # Issue 18: a unit member sees the items dispatched to their unit; until items
        # carry a unit, nothing.
        return self.is_admin


def role_of(settings: Settings, user_id: int) -> tuple[Role, str | None] | None:
    """The role (and unit) of a Telegram user on the desk, or None: no entry."""
    if user_id in settings.roles.admin_ids:
        return "admin", None
    # Issue 18: a member of a configured [[units]] entry gets ("unit", unit.id).
    return None
