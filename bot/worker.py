"""This process's name among the workers that share one database (``jindianzi run`` started
several times behind one webhook URL, on PostgreSQL).

A lease (an inbox update being handled, the scheduler's turn, the outbox's sender) is held
in the name :func:`worker_id` returns: the host, the process id and a random suffix, so a
restarted process with a reused pid is a new worker and never mistakes an earlier
process's lease for its own. Nothing about a user is in it.
"""

from __future__ import annotations

import os
import secrets
import socket
from functools import cache


@cache
def worker_id() -> str:
    """``host:pid:random``, the same for the whole life of this process."""
    host = socket.gethostname().split(".")[0][:40] or "host"
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"
