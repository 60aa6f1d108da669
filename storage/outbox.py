"""The outbox's queries: messages owed, their delivery, retries and failures."""

from __future__ import annotations

from storage.base import RepositoryBase


class OutboxQueries(RepositoryBase):
    """Queries of the outbox (mixed into :class:`storage.repository.Repository`)."""
