"""One action on several items (#17 point 5, #23): each item goes through the action's own
core function (so the same authorisation by role and the same refusals as one press), one
after another, each with a request key of its own derived from the request that asked for
all of them (:func:`item_key`), so the same request sent twice changes nothing twice and
says so. The web desk's queue (:mod:`web.bulk`) and the chat lists (:mod:`handlers.bulk`)
both run their bulk actions through here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.core.env import Env
from bot.core.results import Result


def item_key(form_key: int, item_id: int) -> int:
    """One item's request key in a bulk request: the same for the same request and item,
    so a request sent twice changes nothing twice; negative, apart from Telegram's update
    ids, like every form's key."""
    digest = hashlib.sha256(f"bulk:{form_key}:{item_id}".encode()).digest()
    return -1 - int.from_bytes(digest[:8], "big") % 2**62


def request_key(*parts: object) -> int:
    """A bulk request's own key from what identifies it (e.g. a chat selection and the
    action confirmed on it)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return -1 - int.from_bytes(digest[:8], "big") % 2**62


@dataclass(frozen=True)
class ItemOutcome:
    """What the action did to one item; ``again``: this very request did it before."""

    id: int
    result: Result | None  # None when ``again``

    @property
    def again(self) -> bool:
        return self.result is None

    @property
    def ok(self) -> bool:
        return self.result is None or self.result.ok


async def apply(
    env: Env,
    ids: Sequence[int],
    form_key: int,
    run: Callable[[int, int], Awaitable[Result]],
) -> list[ItemOutcome]:
    """``run(item, key)`` on each item in turn (the core function of the action)."""
    outcomes = []
    for number in ids:
        key = item_key(form_key, number)
        if await env.repository.update_applied(key):
            outcomes.append(ItemOutcome(number, None))
            continue
        outcomes.append(ItemOutcome(number, await run(number, key)))
    return outcomes
