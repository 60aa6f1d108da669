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
from collections.abc import Awaitable
from datetime import timedelta
from functools import partial
from typing import Protocol

from telegram import ForceReply, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.helpers import mention_html

from bot.config import Settings
from bot.core import cards, claiming, escalation, handling, loop, publishing, reviewing
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
from handlers.context import Context, actor, drop_buttons, edit_pressed, origin, reply, say

log = logging.getLogger(__name__)

CALLBACK = re.compile(
    r"^adm:(?:st:(?P<status>[a-z_]+)|(?P<action>rej|dup|ask|asg|ans|fwd|pub|tp|card|next|tps"
    r"|dsp|dsu|tbk|exy|exn|dok|dre|rop|urg|clm|rls|pok|ped|pum|pmk))"
    r":(?P<n>\d{1,18})(?::(?P<arg>[a-z][a-z0-9_]{0,31}))?$"
)
# Actions answered by a reply: the action, and the key of the question asked.
PROMPTS = {
    "rej": (Action.REJECT, "admin.reject.ask"),
    "dup": (Action.DUPLICATE, "admin.duplicate.ask"),
    "ask": (Action.ASK, "admin.ask.ask"),
    "asg": (Action.ASSIGN, "admin.assign.ask"),
    "ans": (Action.RESPOND, "admin.answer.ask"),
    "dre": (Action.RETURN_DONE, "admin.return_done.ask"),
    "rop": (Action.REOPEN, "admin.reopen.ask"),
    "dsu": (Action.DISPATCH, "admin.dispatch.ask"),
    "ped": (Action.PUBLISH, "publish.edit.ask"),
}
# Status changes a tap makes alone (``adm:st:<status>``).
ONE_TAP = {TARGETS[a]: a for a in (Action.ACCEPT, Action.START, Action.CLOSE)}
MAX_REPLY_CHARS = 3000
UNIT_PROMPT = "u:"  # the prompts of handlers.units
# In a private chat, a clerk's next message answers their prompt within this time.
PROMPT_WINDOW = timedelta(minutes=10)
# Prompts whose answer reaches a resident: typed without the reply gesture, it is shown to
# the clerk to confirm first.
TO_RESIDENT = frozenset({"rej", "ask", "ans", "rop"})


class Tap(Protocol):
    def __call__(
        self, env: Env, actor: Actor, item_id: int, /, *, key: int, origin: Origin | None
    ) -> Awaitable[Result]: ...


# The loop's one-tap decisions of the office (#18).
LOOP_TAPS: dict[str, Tap] = {
    "tbk": loop.take_back,
    "exy": partial(loop.decide_extension, approve=True),
    "exn": partial(loop.decide_extension, approve=False),
    "dok": loop.approve_done,
    "urg": escalation.urge,
}


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
        await _ask(update, context, who, number, action, match["arg"])
    elif action == "dsp":
        await edit_pressed(
            update, markup=from_buttons(cards.unit_buttons(who.language, svc.settings, item))
        )
    elif action in LOOP_TAPS:
        result = await LOOP_TAPS[action](
            svc.core, who, number, key=update.update_id, origin=pressed
        )
        await _done(update, context, result)
    elif action == "fwd":
        await _done(
            update,
            context,
            await reviewing.forward(svc.core, who, number, key=update.update_id, origin=pressed),
        )
    elif action == "pub":  # the preview first (#17): 确认发布 on it publishes
        await _preview(update, context, await publishing.preview(svc.core, who, number))
    elif action == "pok":
        confirmed = await publishing.confirm(
            svc.core, who, number, match["arg"] or "", key=update.update_id, origin=pressed
        )
        await drop_buttons(update)  # (a changed post comes with a new preview)
        await _preview(update, context, confirmed)
    elif action in ("pum", "pmk"):
        result = await publishing.set_masking(
            svc.core, who, number, unmasked=action == "pum", key=update.update_id
        )
        if not result.ok:
            await _done(update, context, result)
            return
        await drop_buttons(update)
        await _preview(update, context, await publishing.preview(svc.core, who, number))
    elif action == "tp":
        await edit_pressed(
            update, markup=from_buttons(cards.topic_buttons(who.language, svc.settings, item))
        )
    elif action == "card":
        buttons = cards.card_buttons(who.language, svc.settings, item, now=svc.repository.clock())
        await edit_pressed(update, markup=from_buttons(buttons))
    elif action in ("clm", "rls"):
        set_claim = claiming.claim if action == "clm" else claiming.release
        await _done(update, context, await set_claim(svc.core, who, number, origin=pressed))
    elif action == "next":
        await _review_next(update, context, number)
    elif action == "tps":
        result = await reviewing.set_topic(
            svc.core, who, number, match["arg"] or "", key=update.update_id, origin=pressed
        )
        await _done(update, context, result)


async def _preview(update: Update, context: Context, shown: Result | publishing.Preview) -> None:
    """The channel post exactly as it would go out, then the clerk's choices on it (or the
    result: published, refused)."""
    if isinstance(shown, Result):
        await _done(update, context, shown)
        return
    await reply(update, shown.post)
    await reply(update, shown.note, from_buttons(shown.buttons))


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


async def _ask(
    update: Update, context: Context, who: Actor, number: int, short: str, arg: str | None
) -> None:
    """Ask for the text an action needs, as a ForceReply remembered in the database."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    svc = context.services
    action, question = PROMPTS[short]
    if not permitted(who, action):
        await say(update, context, "button.stale")
        return
    unit = svc.settings.unit(arg) if short == "dsu" else None
    if short == "dsu":
        if unit is None:
            await say(update, context, "button.stale")
            return
        short = f"dsu:{unit.id}"  # the prompt remembers the unit chosen
    if await svc.repository.update_applied(update.update_id):
        return  # a replay: the question was asked (and remembered) before the crash
    # Who answers takes the item first (认领): another clerk is told who works on it.
    pressed = origin(update, context)
    claimed = await claiming.claim(svc.core, who, number, origin=pressed, to_act=True)
    if not claimed.ok:
        await _done(update, context, claimed)
        return
    item = claimed.item
    if item is None:
        return
    values: dict[str, object] = {"ref": format_reference(number)}
    if unit is not None:
        values["unit"] = escape(unit.name(who.language))
        values["days"] = handling.default_days(svc.settings, item)
        workdays = svc.settings.office.deadline_unit == "workdays"
        values["per"] = t(who.language, f"admin.dispatch.{'workdays' if workdays else 'days'}")
    if action is Action.ASSIGN:
        values["days"] = handling.default_days(svc.settings, item)
        owners = "、".join(svc.settings.office.owners)
        values["owners"] = (
            t(who.language, "admin.assign.owners", owners=escape(owners)) if owners else ""
        )
    if action is Action.ASK and item.sender is not None:  # a named sender: no promise of
        question = "admin.ask.ask_named"  # anonymity where there is none to keep
    text = t(who.language, question, **values)
    # How to answer: in a private chat the next message does (replied or not); in a group
    # the bot sees only replies and mentions (privacy mode).
    private = chat.type == ChatType.PRIVATE
    text += "\n" + t(who.language, f"admin.prompt.how.{'private' if private else 'group'}")
    if not private:  # selective: only the mentioned clerk's client replies
        text = f"{mention_html(user.id, escape(user.full_name))} {text}"
    asked = await chat.send_message(text, reply_markup=ForceReply(selective=True))
    await svc.repository.save_prompt(
        chat_id=chat.id,
        message_id=asked.message_id,
        action=short,
        submission_id=number,
        asked_by=user.id,
        update_id=update.update_id,
    )
    if claimed.queued:  # (the cards show the claim: after the prompt, which comes first)
        deliver_soon(context)


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
    if prompt is not None and prompt[0].startswith(UNIT_PROMPT):
        return  # a unit's prompt (an administrator may also work for a unit): handlers.units
    if prompt is None:
        if await repo.update_applied(update.update_id):
            # A replay of a reply that was acted on (and its prompt dropped) before a
            # crash: done already, and never a resident's draft.
            log.info("reply to a prompt replayed: already done")
            raise ApplicationHandlerStop
        return
    short, number = prompt
    text = _without_mention(message.text or "", context.bot.username)
    await _answer(update, context, replied.message_id, short, number, text, typed=False)
    raise ApplicationHandlerStop


def _without_mention(text: str, username: str) -> str:
    """The text of a message to the bot without its ``@bot`` mention."""
    return re.sub(rf"@{re.escape(username)}\b", "", text, flags=re.IGNORECASE).strip()


async def on_prompt_typed(update: Update, context: Context) -> None:
    """An answer to a prompt typed without the reply gesture: in a private chat, the
    clerk's next message within :data:`PROMPT_WINDOW`; in the office group (where privacy
    mode shows the bot only commands, replies to it and mentions), a message that
    mentions the bot. It answers the clerk's newest prompt there."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or not await in_office(update, context):
        return
    private = chat.type == ChatType.PRIVATE
    repo = context.services.repository
    found = await repo.latest_prompt(
        chat_id=chat.id, asked_by=user.id, since=repo.clock() - PROMPT_WINDOW
    )
    if found is None:
        if private:
            return  # their own message: it goes on as a resident's
        await reply(update, t(context.chat_language, "admin.prompt.none_here"))
        raise ApplicationHandlerStop
    prompt_id, short, number = found
    if short.startswith(UNIT_PROMPT):
        return  # a unit's prompt (an administrator may work for a unit): answered by reply
    text = message.text or ""
    if not private:
        text = _without_mention(text, context.bot.username)
    await _answer(update, context, prompt_id, short, number, text, typed=True)
    raise ApplicationHandlerStop


async def _answer(
    update: Update,
    context: Context,
    prompt_id: int,
    short: str,
    number: int,
    raw: str,
    *,
    typed: bool,
) -> None:
    """Act on a prompt's answer; typed without the reply gesture, an answer that reaches a
    resident is first shown to the clerk to confirm."""
    chat = update.effective_chat
    assert chat is not None
    repo = context.services.repository
    lang = context.chat_language
    text = clean_text(raw)[:MAX_REPLY_CHARS]
    if await repo.get_submission(number) is None:
        return
    if not text:
        await reply(update, t(lang, "admin.text.empty"))
        return
    if typed and short in TO_RESIDENT:
        await repo.hold_prompt_answer(chat_id=chat.id, message_id=prompt_id, text=text)
        echo = t(
            lang,
            "admin.prompt.confirm",
            ref=format_reference(number),
            what=t(lang, f"admin.prompt.what.{short}"),
            text=escape(text),
        )
        buttons = [
            [
                (t(lang, "admin.prompt.send"), f"adp:ok:{prompt_id}"),
                (t(lang, "admin.prompt.discard"), f"adp:no:{prompt_id}"),
            ]
        ]
        await reply(update, echo, from_buttons(buttons))
        return
    who = actor(update, context)
    core = context.services.core
    result = await _answer_prompt(core, who, short, number, text, update.update_id)
    await _done(update, context, result)
    if result.refusal is not Refusal.INVALID:  # else the prompt stays for a better answer
        await repo.drop_prompt(chat_id=chat.id, message_id=prompt_id)
    if short == "ped" and result.ok:  # the public summary: the post as it would go now
        await _preview(update, context, await publishing.preview(core, who, number))


CONFIRM = re.compile(r"^adp:(ok|no):(\d{1,18})$")


async def on_confirm(update: Update, context: Context) -> None:
    """The clerk confirms (or holds back) an answer typed without the reply gesture."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None
    match = CONFIRM.match(query.data or "")
    if match is None or chat is None or user is None or not await in_office(update, context):
        await query.answer(t(context.language, "button.stale"))
        return
    await query.answer()
    repo = context.services.repository
    lang = context.chat_language
    prompt_id = int(match[2])
    prompt = await repo.find_prompt(chat_id=chat.id, message_id=prompt_id)
    pending = await repo.pending_prompt_answer(chat_id=chat.id, message_id=prompt_id)
    asked_by = await repo.prompt_asked_by(chat_id=chat.id, message_id=prompt_id)
    if prompt is None or pending is None or asked_by != user.id:
        await edit_pressed(update)
        await reply(update, t(lang, "admin.prompt.gone"))
        return
    await edit_pressed(update)
    if match[1] == "no":
        await repo.hold_prompt_answer(chat_id=chat.id, message_id=prompt_id, text=None)
        await reply(update, t(lang, "admin.prompt.discarded"))
        return
    short, number = prompt
    await _answer(update, context, prompt_id, short, number, pending, typed=False)


async def cancel_prompt(update: Update, context: Context) -> None:
    """/cancel from a clerk: the prompt replied to, or their newest one here (in a private
    chat only one asked within :data:`PROMPT_WINDOW`: an older one no longer catches their
    messages, and /cancel there leaves a resident's draft)."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or not await in_office(update, context):
        return
    repo = context.services.repository
    lang = context.chat_language
    private = chat.type == ChatType.PRIVATE
    prompt_id: int | None = None
    number = 0
    replied = message.reply_to_message
    if replied is not None:
        found = await repo.find_prompt(chat_id=chat.id, message_id=replied.message_id)
        if found is not None:
            prompt_id, number = replied.message_id, found[1]
    if prompt_id is None:
        since = repo.clock() - PROMPT_WINDOW if private else None
        latest = await repo.latest_prompt(chat_id=chat.id, asked_by=user.id, since=since)
        if latest is not None:
            prompt_id, number = latest[0], latest[2]
    if prompt_id is None:
        if private:
            return  # a resident's /cancel (their draft), answered by the conversation
        await reply(update, t(lang, "admin.prompt.nothing"))
        raise ApplicationHandlerStop
    await repo.drop_prompt(chat_id=chat.id, message_id=prompt_id)
    await reply(update, t(lang, "admin.prompt.cancelled", ref=format_reference(number)))
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
    if short == "ped":
        return await publishing.edit(env, who, number, text, key=key)
    if short == "asg":
        assignment = handling.parse_assignment(text)
        assert assignment is not None  # the text is not empty
        return await handling.assign(env, who, number, assignment, key=key)
    if short == "dre":
        return await loop.return_done(env, who, number, text, key=key)
    if short == "rop":
        return await loop.reopen(env, who, number, text, key=key)
    if short.startswith("dsu:"):
        deadline, instruction = loop.split_dispatch(text)
        return await loop.dispatch(
            env, who, number, short[4:], deadline=deadline, instruction=instruction, key=key
        )
    return await handling.respond(env, who, number, text, key=key)


PROMPT_GROUP = -1  # before the resident conversation, so an admin's reply is not a draft


PROMPT_TYPED_GROUP = -3  # before a sender's answers: a clerk's typed answer is not one


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    del settings
    return [
        CallbackQueryHandler(on_button, pattern=r"^adm:"),
        CallbackQueryHandler(on_confirm, pattern=r"^adp:"),
    ]


def build_prompt_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    return [
        MessageHandler(
            office_only(settings) & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            on_prompt_reply,
        )
    ]


def build_typed_prompt_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    office = office_only(settings)
    mentioned = filters.Entity(MessageEntityType.MENTION)
    return [
        CommandHandler("cancel", cancel_prompt, filters=office),
        MessageHandler(
            office
            & filters.TEXT
            & ~filters.COMMAND
            & ~filters.REPLY
            & (filters.ChatType.PRIVATE | mentioned),
            on_prompt_typed,
        ),
    ]
