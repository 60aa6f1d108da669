"""The office's queries: the review queue, counts, full-text search and item events."""

from __future__ import annotations

from storage.base import RepositoryBase


class OfficeQueries(RepositoryBase):
    """Queries of the campaign office (mixed into :class:`storage.repository.Repository`)."""
