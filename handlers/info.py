"""Resident commands outside the submission flow: /start, /help, /privacy, /lang, /my, /status."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.config import LANGUAGES
from bot.core.presenters import my_list, submission_detail
from bot.core.workflow import format_reference
from bot.i18n import t, tn
from bot.text import escape, split_message
from handlers import keyboards
from handlers.buttons import PrivateButton
from handlers.context import (
    Context,
    answer_query,
    drop_buttons,
    edit_pressed,
    reply,
    say,
    user_id,
)

PRIVATE = filters.ChatType.PRIVATE
MAX_REFERENCE_DIGITS = 18


async def start(update: Update, context: Context) -> None:
    lang = context.language
    user = update.effective_user
    name = escape(user.full_name) if user else ""
    campaign = escape(context.services.settings.campaign.name)
    await reply(
        update, t(lang, "start.greeting", name=name, campaign=campaign), keyboards.main_menu(lang)
    )


async def help_command(update: Update, context: Context) -> None:
    await answer_query(update)
    await say(update, context, "help.text")


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
    """/status N: one submission in full, for its sender or an administrator only."""
    args = context.args or []
    raw = args[0].lstrip("#＃") if args else ""
    if len(args) != 1 or not raw.isdigit() or not raw.isascii():
        await say(update, context, "status.usage")
        return
    ref = format_reference(int(raw)) if len(raw) <= MAX_REFERENCE_DIGITS else f"#{escape(raw[:24])}"
    svc = context.services
    user = update.effective_user
    assert user is not None
    submission = None
    if len(raw) <= MAX_REFERENCE_DIGITS:
        number = int(raw)
        allowed = svc.is_admin(user.id) or await svc.repository.is_owner(number, user_id=user.id)
        submission = await svc.repository.get_submission(number) if allowed else None
    if submission is None:
        await say(update, context, "status.not_found", ref=ref)
        return
    lang = context.language
    history = await svc.repository.history(submission.id)
    for chunk in split_message(submission_detail(lang, svc.settings, submission, history)):
        await reply(update, chunk)


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        CommandHandler("start", start, filters=PRIVATE),
        CommandHandler("help", help_command, filters=PRIVATE),
        PrivateButton(help_command, pattern=r"^menu:help$"),
        CommandHandler("privacy", privacy, filters=PRIVATE),
        CommandHandler("lang", choose_language, filters=PRIVATE),
        PrivateButton(set_language, pattern=r"^lang:"),
        CommandHandler("my", my_submissions, filters=PRIVATE),
        PrivateButton(my_submissions, pattern=r"^(menu:my|my:\d{1,9})$"),
        CommandHandler("status", status, filters=PRIVATE),
    ]
