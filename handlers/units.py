"""The units' side of the loop (#18) in chats: the task card's buttons, the unit's replies
(to the bot's questions, or to a task card: a progress note), ``/tasks`` in a unit's group
or a member's private chat, and the office's ``/units``. Parse → core → render: who may do
what, on which item, is decided by :mod:`bot.core.loop` from the presser's own id and chat.

In a group the bot sees only commands, replies to its messages and mentions (Telegram's
privacy mode): everything a unit sends it is a reply to the bot's question (a ForceReply)
or to the task card, or a command.
"""

from __future__ import annotations

import re

from telegram import ForceReply, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.core import copies, loop, tasks
from bot.core.access import Action, Role, may_work_on, permitted
from bot.core.copies import CopyKind, Origin
from bot.core.presenters import local_date
from bot.core.results import Refusal, Result
from bot.core.workflow import format_reference
from bot.i18n import t
from bot.text import clean_text, escape
from bot.transport.delivery import deliver_soon
from bot.transport.markup import from_buttons
from bot.transport.media import attachment_from_message
from handlers.admin import in_office
from handlers.admin_actions import UNIT_PROMPT
from handlers.context import Context, actor, reply, say
from handlers.replies import _answered_message

CALLBACK = re.compile(r"^unit:(?P<action>sgn|bnc|ext|not|fin|card):(?P<n>\d{1,18})$")
# The unit's actions answered by a reply: the question asked.
PROMPTS = {
    Action.BOUNCE: "unit.bounce.ask",
    Action.REQUEST_EXTENSION: "unit.extension.ask",
    Action.NOTE: "unit.note.ask",
    Action.FINISH: "unit.finish.ask",
}
UNIT_GROUP = -4  # before the office's prompts (typed or replied), the replies, the conversation
MAX_TEXT = 3000
TASKS_LIMIT = 30


def _origin(update: Update, context: Context) -> Origin | None:
    query = update.callback_query
    message = query.message if query is not None else None
    if message is None:
        return None
    return Origin(message.chat.id, message.message_id, context.chat_language, CopyKind.TASK)


async def _done(update: Update, context: Context, result: Result) -> None:
    if result.message:
        await reply(update, result.message)
    if result.queued:
        deliver_soon(context)


async def on_button(update: Update, context: Context) -> None:
    """A press on a task card: 签收 at once; the others ask for their text. Handled here
    and nowhere else (the press never reaches the stale-button fallback)."""
    await _on_button(update, context)
    raise ApplicationHandlerStop


async def _on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    match = CALLBACK.match(query.data or "")
    who = actor(update, context)
    if match is None or not (who.has(Role.UNIT) or who.has(Role.ADMIN)):
        await query.answer(t(context.language, "button.stale"))  # changes nothing
        return
    number = int(match["n"])
    svc = context.services
    item = await svc.repository.get_submission(number)
    if item is None or not may_work_on(who, item):
        await query.answer(t(context.language, "button.stale"))
        return
    await query.answer()
    short = match["action"]
    if short == "sgn":
        result = await loop.sign(
            svc.core, who, number, key=update.update_id, origin=_origin(update, context)
        )
        await _done(update, context, result)
        return
    if short == "card":
        await send_task_card(update, context, number)
        return
    action = tasks.UNIT_CALLBACKS[short]
    if not permitted(who, action):
        return
    if await svc.repository.update_applied(update.update_id):
        return  # a replay: asked before the crash
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    deadline = local_date(item.deadline, svc.settings.campaign.tz) if item.deadline else "—"
    asked = await chat.send_message(
        t(who.language, PROMPTS[action], ref=format_reference(number), deadline=deadline),
        reply_markup=ForceReply(selective=True),
    )
    await svc.repository.save_prompt(
        chat_id=chat.id,
        message_id=asked.message_id,
        action=UNIT_PROMPT + short,
        submission_id=number,
        asked_by=user.id,
        update_id=update.update_id,
    )


async def send_task_card(update: Update, context: Context, number: int) -> None:
    """The task card in this chat (recorded as a copy, kept current), then the files."""
    svc = context.services
    item = await svc.repository.get_submission(number)
    chat = update.effective_chat
    if item is None or chat is None:
        return
    lang = context.chat_language
    repo = svc.repository
    card = tasks.task_card(
        lang,
        svc.settings,
        item,
        history=await repo.history(number),
        events=await repo.events(number),
        now=repo.clock(),
    )
    sent = await reply(update, card.text, from_buttons(tasks.task_buttons(lang, item)))
    if sent is not None:
        await copies.record(svc.core, number, CopyKind.TASK, lang, chat.id, sent)


async def on_reply(update: Update, context: Context) -> None:
    """A reply to the bot's question to a unit, or to a task card (a progress note)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or message.reply_to_message is None:
        return
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    svc = context.services
    prompt = await svc.repository.find_prompt(chat_id=chat.id, message_id=replied.message_id)
    text = clean_text(message.text or message.caption or "")[:MAX_TEXT]
    attachment = attachment_from_message(message)
    files = [attachment] if attachment is not None and attachment.type != "location" else []
    who = actor(update, context)
    key = update.update_id
    if prompt is not None and prompt[0].startswith(UNIT_PROMPT):
        short, number = prompt[0][len(UNIT_PROMPT) :], prompt[1]
        action = tasks.UNIT_CALLBACKS.get(short)
        if action is Action.BOUNCE:
            result = await loop.bounce(svc.core, who, number, text, key=key)
        elif action is Action.REQUEST_EXTENSION:
            result = await loop.request_extension(svc.core, who, number, text, key=key)
        elif action is Action.FINISH:
            result = await loop.finish(svc.core, who, number, text, files, key=key)
        else:
            result = await loop.note(svc.core, who, number, text, files, key=key)
        await _done(update, context, result)
        if result.ok or result.refusal is Refusal.FORBIDDEN:
            await svc.repository.drop_prompt(chat_id=chat.id, message_id=replied.message_id)
        raise ApplicationHandlerStop
    if prompt is not None:
        return
    entry = await _answered_message(update, context, "task_card")
    if entry is None or entry.submission_id is None:
        return
    if not (who.has(Role.UNIT) or who.has(Role.ADMIN)):
        raise ApplicationHandlerStop  # someone else in the unit's group: nothing happens
    result = await loop.note(svc.core, who, entry.submission_id, text, files, key=key)
    await _done(update, context, result)
    raise ApplicationHandlerStop


async def tasks_command(update: Update, context: Context) -> None:
    """/tasks: the unit's open items, the oldest deadline first, each with a button to its
    task card (in the unit's group, or a member's private chat)."""
    who = actor(update, context)
    unit = context.services.settings.unit(who.unit_id)
    if unit is None:
        chat = update.effective_chat
        if chat is not None and chat.type == "private":
            await say(update, context, "unit.not_unit")
        raise ApplicationHandlerStop
    repo = context.services.repository
    lang = who.language
    items = await repo.unit_tasks(unit.id, limit=TASKS_LIMIT)
    name = escape(unit.name(lang))
    if not items:
        await reply(update, t(lang, "unit.tasks.empty", unit=name))
        raise ApplicationHandlerStop
    now = repo.clock()
    lines = tasks.task_lines(lang, context.services.settings, items, now)
    text = "\n".join([t(lang, "unit.tasks.title", unit=name, count=str(len(items))), *lines])
    buttons = [(format_reference(s.id), f"unit:card:{s.id}") for s in items]
    rows = tuple(tuple(buttons[i : i + 4]) for i in range(0, len(buttons), 4))
    await reply(update, text, from_buttons(rows))
    raise ApplicationHandlerStop


async def units_command(update: Update, context: Context) -> None:
    """/units (the office): each unit with its open, overdue and unsigned items."""
    if not await in_office(update, context):
        return
    svc = context.services
    lang = context.chat_language
    if not svc.settings.units:
        await say(update, context, "admin.units.none")
        raise ApplicationHandlerStop
    counts = await svc.repository.unit_counts(svc.repository.clock())
    lines = [t(lang, "admin.units.title")]
    for unit in svc.settings.units:
        open_, overdue, unsigned = counts.get(unit.id, (0, 0, 0))
        lines.append(
            t(
                lang,
                "admin.units.line",
                unit=escape(unit.name(lang)),
                id=unit.id,
                open=str(open_),
                overdue=str(overdue),
                unsigned=str(unsigned),
            )
        )
    await reply(update, "\n".join(lines))
    raise ApplicationHandlerStop


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    """In :data:`UNIT_GROUP`: before the office's prompts and the resident conversation."""
    chats = [u.chat_id for u in settings.units if u.chat_id]
    where: filters.BaseFilter = filters.ChatType.PRIVATE
    if chats:
        where = where | filters.Chat(chat_id=chats)
    return [
        CallbackQueryHandler(on_button, pattern=r"^unit:"),
        CommandHandler("tasks", tasks_command, filters=where),
        CommandHandler("units", units_command),
        MessageHandler(
            where
            & filters.REPLY
            & (filters.TEXT | filters.PHOTO | filters.Document.ALL)
            & ~filters.COMMAND,
            on_reply,
        ),
    ]
