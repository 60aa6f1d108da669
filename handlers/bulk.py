"""Bulk actions from a chat list (#17, point 5): on a /queue page or /search results, 批量处理
opens a selection of the listed items (kept in the database, so it survives a restart;
its buttons carry only its id and an item number or a choice, within 64 bytes). The clerk
ticks items, picks one action (受理; 不予受理 as spam, with one reason; 改类别 to one topic;
派单 to one unit), confirms a message that lists what will happen, and reads the outcome
item by item. Each item goes through the action's own core function (:mod:`bot.core.bulk`,
as the web desk's bulk actions do), so what one press may not do, a bulk action may not
either, and a confirmation pressed twice changes nothing twice.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core import bulk, loop, reviewing
from bot.core.access import Actor
from bot.core.env import Env
from bot.core.results import Result
from bot.core.workflow import format_reference
from bot.i18n import resolve_language, t, tn
from bot.text import escape, split_message
from bot.transport.delivery import deliver_soon
from bot.transport.markup import from_buttons
from handlers.admin import in_office
from handlers.context import Context, actor, drop_buttons, edit_pressed, reply
from storage.desk import first_line

DATA = re.compile(
    r"^bk:(?P<step>new|t|m|a|go)(?::(?P<sel>\d{1,12}))?(?::(?P<arg>[a-z0-9_]{1,32}))?"
    r"(?::(?P<choice>[a-z][a-z0-9_]{0,31}))?$"
)
OPEN = re.compile(r"^ado:(\d{1,18})$")
PER_ROW = 5
ACTIONS = ("acc", "spam", "tp", "du")  # tp and du ask for their topic or unit first

Buttons = list[list[tuple[str, str]]]


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    match = DATA.match(query.data or "")
    user, chat = update.effective_user, update.effective_chat
    if match is None or user is None or chat is None or not await in_office(update, context):
        await query.answer(t(context.language, "button.stale"))
        return
    await query.answer()
    repo = context.services.repository
    lang = context.chat_language
    if match["step"] == "new":
        listed = _listed(query.message)
        if not listed:
            await reply(update, t(lang, "button.stale"))
            return
        selection = await repo.new_selection(chat.id, user.id, listed)
        await reply(update, *_selection_view(context, selection, listed, []))
        return
    number = int(match["sel"] or 0)
    found = await repo.selection(number, chat_id=chat.id, user_id=user.id)
    if found is None:  # another clerk's, or expired
        await reply(update, t(lang, "batch.gone"))
        return
    listed, chosen = found
    step, arg, choice = match["step"], match["arg"], match["choice"]
    if step == "t" and arg is not None and arg.isdigit() and int(arg) in listed:
        item = int(arg)
        chosen = [n for n in listed if (n in chosen) != (n == item)]
        await repo.set_chosen(number, chosen)
        await edit_pressed(update, *_selection_view(context, number, listed, chosen))
    elif step == "m":
        await edit_pressed(update, *_selection_view(context, number, listed, chosen))
    elif step == "a" and arg in ACTIONS:
        if not chosen:
            await reply(update, t(lang, "batch.none"))
        elif arg in ("tp", "du") and choice is None:
            await edit_pressed(update, markup=from_buttons(_choices(context, number, arg)))
        else:
            await _confirm(update, context, Pick(number, chosen, arg, choice))
    elif step == "go" and arg in ACTIONS and chosen:
        await drop_buttons(update)
        await _apply(update, context, Pick(number, chosen, arg, choice))
    else:
        await reply(update, t(lang, "button.stale"))


def _listed(message: MaybeInaccessibleMessage | None) -> list[int]:
    """The items a list message shows: its buttons that open their cards."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return []
    return [
        int(m[1])
        for row in message.reply_markup.inline_keyboard
        for b in row
        if isinstance(b.callback_data, str) and (m := OPEN.match(b.callback_data))
    ]


def _selection_view(
    context: Context, selection: int, listed: list[int], chosen: list[int]
) -> tuple[str, InlineKeyboardMarkup | None]:
    lang = context.chat_language
    ticks = [
        (("☑ " if n in chosen else "☐ ") + format_reference(n), f"bk:t:{selection}:{n}")
        for n in listed
    ]
    rows: Buttons = [ticks[i : i + PER_ROW] for i in range(0, len(ticks), PER_ROW)]
    actions = [
        (t(lang, "batch.action.acc"), f"bk:a:{selection}:acc"),
        (t(lang, "batch.action.spam"), f"bk:a:{selection}:spam"),
        (t(lang, "batch.action.tp"), f"bk:a:{selection}:tp"),
    ]
    if context.services.settings.units:
        actions.append((t(lang, "batch.action.du"), f"bk:a:{selection}:du"))
    rows += [actions[:2], actions[2:]]
    text = tn(lang, "batch.select", len(chosen), n=len(chosen), listed=len(listed))
    return text, from_buttons(rows)


def _choices(context: Context, selection: int, arg: str) -> Buttons:
    lang = context.chat_language
    settings = context.services.settings
    named = (
        [(tp.id, tp.name(lang)) for tp in settings.topics]
        if arg == "tp"
        else [(u.id, u.name(lang)) for u in settings.units]
    )
    buttons = [(name, f"bk:a:{selection}:{arg}:{key}") for key, name in named]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return [*rows, [(t(lang, "admin.action.back"), f"bk:m:{selection}")]]


def _what(context: Context, arg: str, choice: str | None) -> str | None:
    """The action as the confirmation names it (None: the topic or unit is unknown)."""
    lang = context.chat_language
    settings = context.services.settings
    if arg == "tp":
        topic = settings.topic(choice or "")
        return None if topic is None else t(lang, "batch.what.tp", topic=escape(topic.name(lang)))
    if arg == "du":
        unit = settings.unit(choice)
        return None if unit is None else t(lang, "batch.what.du", unit=escape(unit.name(lang)))
    if arg == "spam":
        return t(lang, "batch.what.spam", reason=escape(spam_reason(context)))
    return t(lang, "batch.what.acc")


def spam_reason(context: Context) -> str:
    """The one reason a bulk 不予受理 as spam gives every sender (the office's language)."""
    return t(resolve_language(context.services.settings.campaign.language), "batch.spam_reason")


@dataclass(frozen=True)
class Pick:
    """What the clerk chose: the selection, its ticked items, the action and its topic or
    unit."""

    selection: int
    chosen: list[int]
    arg: str
    choice: str | None


async def _confirm(update: Update, context: Context, pick: Pick) -> None:
    selection, chosen, arg, choice = pick.selection, pick.chosen, pick.arg, pick.choice
    lang = context.chat_language
    what = _what(context, arg, choice)
    if what is None:
        await reply(update, t(lang, "button.stale"))
        return
    repo = context.services.repository
    lines = [tn(lang, "batch.confirm", len(chosen), n=len(chosen), what=what)]
    for n in chosen:
        item = await repo.get_submission(n)
        text = escape(first_line(item.text, 40)) if item is not None else "—"
        lines.append(f"{format_reference(n)} {text}")
    data = f"bk:go:{selection}:{arg}" + (f":{choice}" if choice else "")
    buttons = [[(t(lang, "batch.go"), data), (t(lang, "admin.action.back"), f"bk:m:{selection}")]]
    chunks = split_message("\n".join(lines))
    for chunk in chunks[:-1]:
        await reply(update, chunk)
    await reply(update, chunks[-1], from_buttons(buttons))


def _runner(
    context: Context, who: Actor, arg: str, choice: str | None
) -> Callable[[int, int], Awaitable[Result]]:
    env: Env = context.services.core

    async def run(number: int, key: int) -> Result:
        if arg == "spam":
            return await reviewing.reject(env, who, number, spam_reason(context), key=key)
        if arg == "tp":
            return await reviewing.set_topic(env, who, number, choice or "", key=key)
        if arg == "du":
            return await loop.dispatch(env, who, number, choice or "", key=key)
        return await reviewing.accept(env, who, number, key=key)

    return run


async def _apply(update: Update, context: Context, pick: Pick) -> None:
    """Each ticked item through the action's core function; the outcome, item by item."""
    selection, chosen, arg, choice = pick.selection, pick.chosen, pick.arg, pick.choice
    lang = context.chat_language
    who = actor(update, context)
    form = bulk.request_key("chat", selection, arg, choice or "")
    run = _runner(context, who, arg, choice)
    outcomes = await bulk.apply(context.services.core, chosen, form, run)
    done = sum(1 for o in outcomes if o.ok)
    lines = [t(lang, "batch.outcome", done=done, n=len(outcomes))]
    for o in outcomes:
        ref = format_reference(o.id)
        if o.result is None:
            lines.append(f"✅ {ref} {t(lang, 'web.bulk.again')}")
        else:
            mark = "✅" if o.result.ok else "✖"
            lines.append(f"{mark} {ref} {o.result.message or ''}".rstrip())
    if any(o.result is not None and o.result.queued for o in outcomes):
        deliver_soon(context)
    for chunk in split_message("\n".join(lines)):
        await reply(update, chunk)


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [CallbackQueryHandler(on_button, pattern=r"^bk:")]
