"""Updates whose handlers met the database away for a moment (PostgreSQL restarted, a
connection lost, a transaction the server aborted as a deadlock): handled again after a
short wait, instead of an apology and a message the resident would have to send again.

The update stays unhandled in the inbox meanwhile (:meth:`Inbox.handled` skips it), so a
stop or a crash in between replays it like any other; several workers: this worker keeps
its claim (renewed) and the sender's later updates wait behind it, in order. After
``len(DELAYS)`` tries the error is an ordinary one (logged, the apology sent, the update
marked handled): an update that fails every time is not tried forever.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.transport.inbox import Inbox
from bot.transport.ordering import handle_again

log = logging.getLogger(__name__)

DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before each try again: 15.5 s in all


def retry_later(
    app: Application[Any, Any, Any, Any, Any, Any], inbox: Inbox, update: Update
) -> bool:
    """Handle ``update`` again after the next delay; False when its tries are spent."""
    update_id = update.update_id
    tries = inbox.retrying.get(update_id, 0)
    if tries >= len(DELAYS):
        return False
    inbox.retrying[update_id] = tries + 1
    inbox.waiting.add(update_id)
    log.warning(
        "update %s met the database away: handled again in %.1f s", update_id, DELAYS[tries]
    )
    task = asyncio.get_running_loop().create_task(_again(app, inbox, update, DELAYS[tries]))
    inbox.retry_tasks.add(task)
    task.add_done_callback(inbox.retry_tasks.discard)
    return True


async def _again(
    app: Application[Any, Any, Any, Any, Any, Any], inbox: Inbox, update: Update, delay: float
) -> None:
    await asyncio.sleep(delay)
    inbox.waiting.discard(update.update_id)
    handle_again(app, [update])
