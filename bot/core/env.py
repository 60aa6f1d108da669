"""What every core function works with: the repository (and its clock), the settings, the
anonymity secrets, and a hook to retrain the topic model after a new label. One
:class:`Env` is built by the application (``Services.core``) and one by the web desk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.anonymity import Secrets
from bot.config import Settings
from storage.repository import Repository


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Env:
    repository: Repository
    settings: Settings
    secrets: Secrets
    # Called after an action stored a new label for the topic model (a topic correction).
    learn: Callable[[], None] = field(default=_nothing)

    def now(self) -> datetime:
        return self.repository.clock()
