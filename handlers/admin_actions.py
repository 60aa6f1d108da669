"""The office's buttons on item cards, and replies to the questions the bot asks admins:
parse the press or the reply, call the action's core function, render its result.

Callback data carries no authority: who may act is decided by the core
(:mod:`bot.core.access`) from the presser's own id and chat, and a press by anyone else
changes nothing (it is answered like a stale button). Actions that need text (a rejection
reason, the original of a duplicate, a question for the sender, owner and deadline, the
official response) ask for it with a ForceReply message that is remembered in the
database, so the admin's reply is matched to its action even after a restart. Every copy
of the item's card is refreshed by the core through the outbox.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from telegram import ForceReply, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.core import cards, handling, reviewing
from bot.core.access import TARGETS, Action, Actor, permitted
from bot.core.copies import Origin
from bot.core.env import Env
from bot.core.results import Refusal, Result
from bot.core.workflow import Status, format_reference
from bot.i18n import t
from bot.text import clean_text, escape
from bot.transport.delivery import deliver_soon
from bot.transport.markup import from_buttons
from handlers.admin import in_office, office_only, parse_reference, show_card
from handlers.context import Context, actor, edit_pressed, origin, reply, say

log = logging.getLogger(__name__)

CALLBACK = re.compile(
    r"^adm:(?:st:(?P<status>[a-z_]+)|(?P<action>rej|dup|ask|asg|ans|fwd|pub|tp|card|next|tps))"
    r":(?P<n>\d{1,18})(?::(?P<arg>[a-z][a-z0-9_]{0,31}))?$"
)
# Actions answered by a reply: the action, and the key of the question asked.
PROMPTS = {
    "rej": (Action.REJECT, "admin.reject.ask"),
    "dup": (Action.DUPLICATE, "admin.duplicate.ask"),
    "ask": (Action.ASK, "admin.ask.ask"),
    "asg": (Action.ASSIGN, "admin.assign.ask"),
    "ans": (Action.RESPOND, "admin.answer.ask"),
}
# Status changes a tap makes alone (``adm:st:<status>``).
ONE_TAP = {TARGETS[a]: a for a in (Action.ACCEPT, Action.START, Action.CLOSE)}
MAX_REPLY_CHARS = 3000

Tap = Callable[[Env, Actor, int], Awaitable[Result]]


async def _done(update: Update, context: Context, result: Result) -> None:
    """Render a core result: the answer first, then the outbox delivers what it queued
    (notices, the edits of the item's cards)."""
    if result.message:
        await reply(update, result.message)
    if result.queued:
        deliver_soon(context)


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    match = CALLBACK.match(query.data or "")
    if match is None or not await in_office(update, context):
        # Changes nothing. The presser alone sees why (a toast), and in a private chat
        # gets the same answer as for any expired button.
        await query.answer(t(context.language, "button.stale"))
        if update.effective_chat is not None and update.effective_chat.type == "private":
            await say(update, context, "button.stale")
        return
    await query.answer()
    number = int(match["n"])
    svc = context.services
    who = actor(update, context)
    pressed = origin(update, context)
    item = await svc.repository.get_submission(number)
    if item is None:
        await reply(update, t(who.language, "admin.not_found", ref=format_reference(number)))
        return
    action = match["action"]
    if match["status"]:
        await _change_status(update, context, who, number, match["status"], pressed)
    elif action in PROMPTS:
        await _ask(update, context, who, number, action)
    elif action == "fwd":
        await _done(
            update,
            context,
            await reviewing.forward(svc.core, who, number, key=update.update_id, origin=pressed),
        )
    elif action == "pub":
        await _done(
            update,
            context,
            await handling.publish(svc.core, who, number, key=update.update_id, origin=pressed),
        )
    elif action == "tp":
        await edit_pressed(
            update, markup=from_buttons(cards.topic_buttons(who.language, svc.settings, item))
        )
    elif action == "card":
        await edit_pressed(
            update, markup=from_buttons(cards.card_buttons(who.language, svc.settings, item))
        )
    elif action == "next":
        await _review_next(update, context, number)
    elif action == "tps":
        result = await reviewing.set_topic(
            svc.core, who, number, match["arg"] or "", key=update.update_id, origin=pressed
        )
        await _done(update, context, result)


async def _change_status(
    update: Update,
    context: Context,
    who: Actor,
    number: int,
    value: str,
    pressed: Origin | None,
) -> None:
    try:
        action = ONE_TAP.get(Status(value))
    except ValueError:
        action = None
    if action is None:
        await say(update, context, "button.stale")
        return
    result = await reviewing.change_status(
        context.services.core, who, number, action, key=update.update_id, origin=pressed
    )
    await _done(update, context, result)


async def _ask(update: Update, context: Context, who: Actor, number: int, short: str) -> None:
    """Ask for the text an action needs, as a ForceReply remembered in the database."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    svc = context.services
    action, question = PROMPTS[short]
    if not permitted(who, action):
        await say(update, context, "button.stale")
        return
    if await svc.repository.update_applied(update.update_id):
        return  # a replay: the question was asked (and remembered) before the crash
    item = await svc.repository.get_submission(number)
    if item is None:
        return
    values: dict[str, object] = {"ref": format_reference(number)}
    if action is Action.ASSIGN:
        values["days"] = handling.default_days(svc.settings, item)
        owners = "、".join(svc.settings.office.owners)
        values["owners"] = (
            t(who.language, "admin.assign.owners", owners=escape(owners)) if owners else ""
        )
    asked = await chat.send_message(
        t(who.language, question, **values), reply_markup=ForceReply(selective=True)
    )
    await svc.repository.save_prompt(
        chat_id=chat.id,
        message_id=asked.message_id,
        action=short,
        submission_id=number,
        asked_by=user.id,
        update_id=update.update_id,
    )


async def _review_next(update: Update, context: Context, after: int) -> None:
    item = await context.services.repository.next_for_review(after=after)
    if item is None:
        await reply(update, t(context.chat_language, "admin.review.empty"))
        return
    await show_card(update, context, item, review=True)


# ---------------------------------------------------------------- replies to prompts
async def on_prompt_reply(update: Update, context: Context) -> None:
    """An admin's reply to a question the bot asked (runs before the resident handlers)."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or message.reply_to_message is None:
        return
    if not await in_office(update, context):
        return
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    repo = context.services.repository
    prompt = await repo.find_prompt(chat_id=chat.id, message_id=replied.message_id)
    if prompt is None:
        if await repo.update_applied(update.update_id):
            # A replay of a reply that was acted on (and its prompt dropped) before a
            # crash: done already, and never a resident's draft.
            log.info("reply to a prompt replayed: already done")
            raise ApplicationHandlerStop
        return
    short, number = prompt
    text = clean_text(message.text or "")[:MAX_REPLY_CHARS]
    if await repo.get_submission(number) is None:
        raise ApplicationHandlerStop
    if not text:
        await reply(update, t(context.chat_language, "admin.text.empty"))
        raise ApplicationHandlerStop
    result = await _answer_prompt(
        context.services.core, actor(update, context), short, number, text, update.update_id
    )
    await _done(update, context, result)
    if result.refusal is not Refusal.INVALID:  # else the prompt stays for a better answer
        await repo.drop_prompt(chat_id=chat.id, message_id=replied.message_id)
    raise ApplicationHandlerStop


async def _answer_prompt(
    env: Env, who: Actor, short: str, number: int, text: str, key: int
) -> Result:
    """The core call a prompt's answer makes."""
    if short == "rej":
        return await reviewing.reject(env, who, number, text, key=key)
    if short == "dup":
        words = text.split()
        original = parse_reference(words[0]) if words else None
        return await reviewing.mark_duplicate(env, who, number, original, key=key)
    if short == "ask":
        return await handling.ask_sender(env, who, number, text, key=key)
    if short == "asg":
        assignment = handling.parse_assignment(text)
        assert assignment is not None  # the text is not empty
        return await handling.assign(env, who, number, assignment, key=key)
    return await handling.respond(env, who, number, text, key=key)


PROMPT_GROUP = -1  # before the resident conversation, so an admin's reply is not a draft


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    del settings
    return [CallbackQueryHandler(on_button, pattern=r"^adm:")]


def build_prompt_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    return [
        MessageHandler(
            office_only(settings) & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            on_prompt_reply,
        )
    ]
