"""/whoami (#21): the sender's Telegram user id and the chat's id and type, so an operator
can add a colleague (``roles.admin_ids``) or a new group (``roles.office_chat_id``,
``roles.leading_group_chat_id``) without asking a third-party bot.

Answered for administrators, in a private chat or a group, and for anyone while no
administrator is configured (a new deployment: the operator finds their own id); otherwise
it is an unknown command in a private chat and nothing in a group. In a group the bot sees
commands (privacy mode), so ``/whoami`` (or ``/whoami@bot``) reaches it there.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.i18n import t
from bot.text import escape
from handlers.context import Context, reply, say


async def whoami(update: Update, context: Context) -> None:
    svc = context.services
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    configured = bool(svc.settings.roles.admin_ids)
    if configured and not svc.is_admin(user.id):
        if chat.type == chat.PRIVATE:
            await say(update, context, "command.unknown")
        return
    # The user's in a private chat; in a group the campaign's, as for the office's messages.
    lang = context.chat_language
    text = t(
        lang,
        "whoami.text",
        user_id=user.id,
        chat_id=chat.id,
        chat_type=chat.type,
        title=escape(chat.title or chat.full_name or ""),
    )
    if not configured:
        text += "\n\n" + t(lang, "whoami.no_admins", user_id=user.id)
    await reply(update, text)


def build_handlers() -> list[BaseHandler[Update, Context, None]]:
    return [CommandHandler("whoami", whoami)]
