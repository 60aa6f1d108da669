"""Handling an accepted item: start handling it, set its owner and deadline, ask its sender
for more information, give the official response (the sender is asked to rate it),
publish it to the channel, close it (销号).

One function per action, called the same way from every place (see :mod:`bot.core.acting`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.config import Settings
from bot.core import cards, copies
from bot.core.access import Action, Actor, system
from bot.core.acting import Change, Key, act, add_event, done_message
from bot.core.deadlines import in_time
from bot.core.env import Env
from bot.core.presenters import local_date
from bot.core.records import Submission
from bot.core.results import Refusal, Result, refused
from bot.core.reviewing import change_status
from bot.core.workflow import Kind, Status, format_reference
from bot.i18n import t
from bot.text import escape

OWNER_CHARS = 100
# "城建办", "城建办 10" (days) or "城建办 2026-12-31": how owner and deadline are typed.
ASSIGNMENT = re.compile(
    r"^(?P<owner>.+?)(?:\s+(?:(?P<days>\d{1,3})|(?P<date>\d{4}-\d{2}-\d{2})))?$", re.DOTALL
)


@dataclass(frozen=True)
class Assignment:
    owner: str
    days: int | None = None
    due: date | None = None


def parse_assignment(text: str) -> Assignment | None:
    """Owner and deadline as typed (None when there is no owner). A date that does not
    exist counts as none given (the default deadline)."""
    match = ASSIGNMENT.match(text.strip())
    if match is None or not match["owner"].strip():
        return None
    due = None
    if match["date"]:
        try:
            due = date.fromisoformat(match["date"])
        except ValueError:
            due = None
    days = int(match["days"]) if match["days"] else None
    return Assignment(match["owner"].strip(), days, due)


def default_days(settings: Settings, item: Submission) -> int:
    """The configured time to handle an item of its kind (限时办结)."""
    office = settings.office
    if item.kind is Kind.PROBLEM:
        return office.deadline_days_problem
    return office.deadline_days_suggestion


async def start(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    return await change_status(env, actor, item_id, Action.START, key=key, origin=origin)


async def close(
    env: Env, actor: Actor, item_id: int, *, key: Key, origin: copies.Origin | None = None
) -> Result:
    return await change_status(env, actor, item_id, Action.CLOSE, key=key, origin=origin)


async def assign(
    env: Env,
    actor: Actor,
    item_id: int,
    assignment: Assignment,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """The owner (department or person) and the deadline: a date, a number of days from
    today, or the kind's default; due at the end of that day, campaign time."""
    owner = assignment.owner.strip()[:OWNER_CHARS]
    if not owner:
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))
    tz = env.settings.campaign.tz

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        today = env.now().astimezone(tz).date()
        due = assignment.due or today + timedelta(
            days=assignment.days
            if assignment.days is not None
            else default_days(env.settings, item)
        )
        deadline = datetime.combine(due, time(23, 59, 59), tzinfo=tz)
        judged = deadline if in_time(item, env.now()) else item.judged_deadline
        await env.repository.assign(
            item.id,
            owner=owner,
            deadline=deadline,
            judged_deadline=judged,
            actor=actor.label(Action.ASSIGN),
            update_id=key,
            refresh=refresh,
        )
        message = t(
            actor.language,
            "admin.assign.done",
            ref=format_reference(item.id),
            owner=escape(owner),
            deadline=local_date(deadline, tz),
        )
        return Change(message)

    return await act(env, actor, Action.ASSIGN, item_id, write, key=key, origin=origin)


async def ask_sender(
    env: Env,
    actor: Actor,
    item_id: int,
    question: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """A question to the sender (through the encrypted route when anonymous); their reply
    to it is attached to the item (:func:`bot.core.answering.answer_question`)."""
    if not question.strip():
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))

    return await add_event(
        env,
        actor,
        Action.ASK,
        item_id,
        kind="question",
        body=question,
        notices=lambda item: cards.question_notice(item, env.secrets, question),
        message=t(actor.language, "admin.question.sent", ref=format_reference(item_id)),
        key=key,
        origin=origin,
    )


async def respond(
    env: Env,
    actor: Actor,
    item_id: int,
    response: str,
    *,
    key: Key,
    origin: copies.Origin | None = None,
) -> Result:
    """The official response: to the sender with the rating buttons, and to the senders
    of merged duplicates."""
    if not response.strip():
        return refused(Refusal.INVALID, t(actor.language, "admin.text.empty"))

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        # The response starts the next rating round (the repository counts it with it).
        round_ = item.rating_round + 1
        answered = item.model_copy(update={"response": response, "rating_round": round_})
        followers = await env.repository.followers(item.id)
        notices = cards.response_notices(answered, env.secrets, followers)
        await env.repository.respond(
            item.id,
            response,
            actor=actor.label(Action.RESPOND),
            notices=notices,
            update_id=key,
            refresh=refresh,
        )
        message = done_message(actor, item, Status.ANSWERED, notified=True)
        return Change(message, Status.ANSWERED, tuple(notices))

    return await act(env, actor, Action.RESPOND, item_id, write, key=key, origin=origin)


async def publish(
    env: Env,
    actor: Actor,
    item_id: int,
    *,
    key: Key,
    origin: copies.Origin | None = None,
    told: copies.Origin | None = None,
) -> Result:
    """Publishing starts: the item and its response go to the public channel, and the item
    is ``publishing`` until the outbox settles it (:func:`post_delivered`,
    :func:`post_failed`). The sender's notice, and the confirmation in the chat the button
    was pressed in (``told``, else the card's: a preview's 确认发布 is no card), wait for
    the post and are dropped if it fails for good."""
    confirm_in = told or origin

    async def write(item: Submission, refresh: copies.Renderer) -> Change | Result:
        post = cards.channel_post(env.settings, item, env.secrets)
        if not post:
            return refused(Refusal.NOT_CONFIGURED, t(actor.language, "admin.no_channel"), item)
        confirm = (
            cards.published_confirmation(
                confirm_in.language, env.settings, item, env.secrets, confirm_in.chat_id
            )
            if confirm_in is not None
            else []
        )
        told = cards.to_sender(item, env.secrets, "notify.published")
        held = [n.model_copy(update={"after": 0}) for n in [*told, *confirm]]
        notices = [*post, *held]
        await env.repository.publish(
            item.id,
            actor=actor.label(Action.PUBLISH),
            notices=notices,
            update_id=key,
            refresh=refresh,
        )
        message = t(actor.language, "admin.publishing", ref=format_reference(item.id))
        return Change(message, Status.PUBLISHING, tuple(notices))

    return await act(env, actor, Action.PUBLISH, item_id, write, key=key, origin=origin)


async def post_delivered(env: Env, item_id: int) -> Result:
    """The outbox delivered the item's channel post: a publishing item is published now
    (its card copies show it). Nothing changes for an item no longer publishing."""
    actor = system(env.settings.campaign.language)

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        if not await env.repository.complete_publishing(item.id, refresh=refresh):
            return Change("")
        ref = format_reference(item.id)
        return Change(t(actor.language, "admin.published", ref=ref), Status.PUBLISHED)

    return await act(env, actor, Action.SETTLE_PUBLISHING, item_id, write, key=None)


async def post_failed(env: Env, item_id: int, reason: str) -> Result:
    """The item's channel post failed for good (or its outcome stayed unknown): a
    publishing item goes back to the status it had, ``reason`` in its history (the office
    is warned by the outbox, naming the channel)."""
    actor = system(env.settings.campaign.language)

    async def write(item: Submission, refresh: copies.Renderer) -> Change:
        before = await env.repository.revert_publishing(item.id, reason, refresh=refresh)
        if before is None:
            return Change("")
        return Change(done_message(actor, item, before, notified=False), before)

    return await act(env, actor, Action.SETTLE_PUBLISHING, item_id, write, key=None)


async def settle_publishing(env: Env) -> int:
    """Settle the publications whose channel post's outcome was recorded but not acted on
    (the bot stopped, or the disk filled, in between): at start-up and whenever settling
    failed. Returns how many items it settled."""
    settled = 0
    for item_id, outcome, error in await env.repository.unsettled_publications():
        if outcome == "sent":
            result = await post_delivered(env, item_id)
        else:
            result = await post_failed(env, item_id, error or "")
        settled += result.status is not None
    return settled
