"""/help (and /start in a group): what this user can do here, by role, answered where
asked: a resident's commands in a private chat; the office's commands to an administrator
(in a private chat, after the resident's, and in the office group); how to give an
instruction in the leading group; how a unit's people work their items (in the unit's
group, and in a listed member's private chat; to someone else in a unit's group, whose
group it is); elsewhere, where to write to the bot."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.config import Language
from bot.core import tasks
from bot.core.access import Place, Role, place_of
from bot.core.phases import phase_line, phase_now
from bot.i18n import t, tn
from bot.text import escape
from handlers import admin, entering, reports, surveying
from handlers import web as web_handlers
from handlers.buttons import PrivateButton
from handlers.context import Context, actor, answer_query, reply


def phase_lines(context: Context, lang: Language) -> list[str]:
    """The line saying which phase of the campaign it is (none without phases)."""
    svc = context.services
    line = phase_line(lang, phase_now(svc.settings, svc.repository.clock()))
    return [line] if line else []


def office_commands(*, web: bool) -> tuple[str, ...]:
    """The office's commands, in the order /help and an administrator's menu list them
    (``web``: the desk is running)."""
    desk = web_handlers.WEB_COMMANDS if web else ()
    return (
        *admin.ADMIN_COMMANDS,
        *entering.ENTER_COMMANDS,
        *surveying.SURVEY_COMMANDS,
        *desk,
        *reports.REPORT_COMMANDS,
    )


def office_help(lang: Language, context: Context) -> str:
    """The office's commands, each with its description, and how prompts are answered."""
    commands = office_commands(web=context.services.web is not None)
    lines = [t(lang, "help.office.title")]
    for c in commands:
        lines.append(f"/{c} {t(lang, f'cmd.{c}')}")
        if c == "stats":  # its second form, one unit's rates
            lines.append(t(lang, "help.office.stats_unit"))
    lines += ["", t(lang, "help.office.tips")]
    return "\n".join(lines)


def guide(update: Update, context: Context) -> str:
    """The help this user gets in this chat."""
    chat = update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    place = place_of(context.services.settings, chat.id if chat else 0, private=private)
    who = actor(update, context)
    lang = context.chat_language
    parts = []
    if who.has(Role.RESIDENT):
        limits = context.services.settings.limits
        chars = limits.max_text_chars
        resident = [t(lang, "help.text"), *phase_lines(context, lang)]
        parts.append("\n\n".join([*resident, tn(lang, "help.limit", chars, chars=chars)]))
    if who.has(Role.ADMIN):
        parts.append(office_help(lang, context))
    if who.has(Role.GROUP):
        parts.append(t(lang, "help.group"))
    if who.has(Role.UNIT) and who.unit_id is not None:
        unit = tasks.unit_name(context.services.settings, lang, who.unit_id)
        parts.append(t(lang, "help.unit", unit=escape(unit)))
    bot = escape(context.bot.username or "")
    unit_chat = context.services.settings.unit_of_chat(chat.id) if chat else None
    if not parts and place is Place.UNIT and unit_chat is not None:
        # A unit's group to someone its list of members leaves out: whose group it is, that
        # only its members act on its tasks, and where to write as a resident.
        name = escape(unit_chat.name(lang))
        parts.append(t(lang, "help.unit.not_member", unit=name, bot=bot))
    if not parts:  # the office group to someone not configured, or any other group
        key = "help.office.not_admin" if place is Place.OFFICE else "help.elsewhere"
        parts.append(t(lang, key, bot=bot))
    return "\n\n".join(parts)


async def help_command(update: Update, context: Context) -> None:
    await answer_query(update)
    await reply(update, guide(update, context))


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    groups = filters.ChatType.GROUPS
    return [
        CommandHandler("help", help_command),
        PrivateButton(help_command, pattern=r"^menu:help$"),
        CommandHandler("start", help_command, filters=groups),
    ]
