"""Resident commands outside the submission flow: /start (also through a place's deep link,
``/start <place id>``), /help, /privacy, /lang, /my, /status."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.config import LANGUAGES
from bot.core import drafting, following
from bot.core.presenters import my_list
from bot.core.records import Draft
from bot.core.workflow import format_reference
from bot.i18n import t, tn
from bot.places import valid_payload
from bot.text import escape, split_message
from handlers import keyboards, resident
from handlers.buttons import PrivateButton
from handlers.context import (
    Context,
    actor,
    drop_buttons,
    edit_pressed,
    reply,
    say,
    user_id,
)
from handlers.guide import phase_lines

PRIVATE = filters.ChatType.PRIVATE
MAX_REFERENCE_DIGITS = 18


async def start(update: Update, context: Context) -> None:
    """/start, and ``/start <place>`` from a place's poster (its deep link): the place is
    recorded on the resident's draft (a new one if there is none), so whatever they send
    next carries it; an unknown or malformed place is ignored, politely."""
    lang = context.language
    user = update.effective_user
    name = escape(user.full_name) if user else ""
    svc = context.services
    campaign = escape(svc.settings.campaign.name)
    lines = [t(lang, "start.greeting", name=name, campaign=campaign), *phase_lines(context, lang)]
    args = context.args or []
    if args:
        payload = args[0]
        place = svc.settings.place_index.get(payload) if valid_payload(payload) else None
        if place is None:
            lines.append(t(lang, "start.place_unknown"))
        else:
            resident = user_id(update)
            draft = await svc.repository.get_draft(resident) or Draft()
            if draft.place_id != place.id or not draft.place_asked:
                await svc.repository.save_draft(resident, drafting.with_place(draft, place.id))
            label = escape(svc.settings.place_index.label(lang, place.id))
            lines.append(t(lang, "start.place", place=label))
    await reply(update, "\n\n".join(lines), keyboards.main_menu(lang))


async def privacy(update: Update, context: Context) -> None:
    days = context.services.settings.anonymity.unlink_after_days
    await reply(update, tn(context.language, "privacy.text", days, days=days))


async def choose_language(update: Update, context: Context) -> None:
    await say(update, context, "lang.ask", keyboards.languages())


async def set_language(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    code = query.data.removeprefix("lang:")
    await query.answer()
    if code not in LANGUAGES:
        await say(update, context, "button.stale")
        return
    await context.services.repository.set_language(user_id(update), code)
    context.remember_language(code)
    await drop_buttons(update)
    await say(update, context, "lang.set", keyboards.main_menu(code))


async def my_submissions(update: Update, context: Context) -> None:
    """/my, the menu button, and its page buttons (``my:<offset>``)."""
    query = update.callback_query
    offset = 0
    if query is not None:
        await query.answer()
        data = query.data or ""
        if data.startswith("my:"):
            raw = data.removeprefix("my:")
            offset = int(raw) if raw.isdigit() and len(raw) < 10 else 0
    svc = context.services
    user = update.effective_user
    assert user is not None
    lang = context.language
    page_size = svc.settings.limits.page_size
    items, total = await svc.repository.list_own(user_id=user.id, offset=offset, limit=page_size)
    text = my_list(lang, svc.settings, items, total=total, offset=offset)
    # Unlinked anonymous items are gone from the list (nothing leads to them any more):
    # say so, also to someone whose list became empty that way.
    days = svc.settings.anonymity.unlink_after_days
    text += "\n\n" + tn(lang, "my.unlinked", days, days=days)
    markup = keyboards.pages(lang, offset=offset, page_size=page_size, total=total)
    paging = query is not None and bool(query.data) and (query.data or "").startswith("my:")
    if not (paging and await edit_pressed(update, text, markup)):
        await reply(update, text, markup)


async def status(update: Update, context: Context) -> None:
    """/status N: one submission, as :func:`bot.core.following.status` lets this user see
    it (their own or, for an administrator, any in full; one they follow by its public
    state)."""
    args = context.args or []
    raw = args[0].lstrip("#＃") if args else ""
    if len(args) != 1 or not raw.isdigit() or not raw.isascii():
        await say(update, context, "status.usage")
        return
    if len(raw) > MAX_REFERENCE_DIGITS:
        await say(update, context, "status.not_found", ref=f"#{escape(raw[:24])}")
        return
    result = await following.status(context.services.core, actor(update, context), int(raw))
    if not result.ok:
        await say(update, context, "status.not_found", ref=format_reference(int(raw)))
        return
    for chunk in split_message(result.message):
        await reply(update, chunk)


async def cancel(update: Update, context: Context) -> None:
    await resident.cancel(update, context)


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        CommandHandler("start", start, filters=PRIVATE),
        CommandHandler("privacy", privacy, filters=PRIVATE),
        CommandHandler("lang", choose_language, filters=PRIVATE),
        PrivateButton(set_language, pattern=r"^lang:"),
        CommandHandler("my", my_submissions, filters=PRIVATE),
        PrivateButton(my_submissions, pattern=r"^(menu:my|my:\d{1,9})$"),
        CommandHandler("status", status, filters=PRIVATE),
        # Outside the conversation (nothing being written, or its state lost): /cancel
        # still says what it did, or that there was nothing to cancel.
        CommandHandler("cancel", cancel, filters=PRIVATE),
    ]
