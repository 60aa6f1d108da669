"""The office's buttons on item cards, and replies to the questions the bot asks admins.

Callback data carries no authority: every press is checked against the configured
administrators, and a press by anyone else changes nothing (it is answered like a stale
button). Actions that need text (a rejection reason, the original of a duplicate, a
question for the sender, owner and deadline, the official response) ask for it with a
ForceReply message that is remembered in the database, so the admin's reply is matched to
its action even after a restart.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta

from telegram import ForceReply, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot import cards
from bot.config import Language, Settings
from bot.i18n import t
from bot.presenters import local_date, status_label, topic_label
from bot.records import Submission
from bot.text import clean_text, escape
from bot.workflow import IllegalTransition, Kind, Status, format_reference
from handlers.admin import admin_language, in_office, office_only, parse_reference, show_card
from handlers.context import Context, edit_pressed, language, reply, say, services
from handlers.delivery import deliver_soon
from handlers.keyboards import from_buttons
from storage.labels import SOURCE_WEIGHTS

log = logging.getLogger(__name__)

CALLBACK = re.compile(
    r"^adm:(?:st:(?P<status>[a-z_]+)|(?P<action>rej|dup|ask|asg|ans|fwd|pub|tp|card|next|tps))"
    r":(?P<n>\d{1,18})(?::(?P<arg>[a-z][a-z0-9_]{0,31}))?$"
)
# Actions answered by a reply: the key of the question asked.
PROMPTS = {
    "rej": "admin.reject.ask",
    "dup": "admin.duplicate.ask",
    "ask": "admin.ask.ask",
    "asg": "admin.assign.ask",
    "ans": "admin.answer.ask",
}
MAX_REPLY_CHARS = 3000
DEADLINE = re.compile(r"^(?P<owner>.+?)(?:\s+(?:(?P<days>\d{1,3})|(?P<date>\d{4}-\d{2}-\d{2})))?$")


def _actor(update: Update) -> str:
    assert update.effective_user is not None
    return f"admin:{update.effective_user.id}"


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    match = CALLBACK.match(query.data or "")
    if match is None or not await in_office(update, context):
        # Changes nothing. The presser alone sees why (a toast), and in a private chat
        # gets the same answer as for any expired button.
        await query.answer(t(await language(update, context), "button.stale"))
        if update.effective_chat is not None and update.effective_chat.type == "private":
            await say(update, context, "button.stale")
        return
    await query.answer()
    number = int(match["n"])
    svc = services(context)
    item = await svc.repository.get_submission(number)
    lang = await admin_language(update, context)
    if item is None:
        await reply(update, t(lang, "admin.not_found", ref=format_reference(number)))
        return
    action = match["action"]
    if match["status"]:
        await _change_status(update, context, lang, item, match["status"])
    elif action in PROMPTS:
        await _ask(update, context, lang, item, action)
    elif action == "fwd":
        await _forward(update, context, lang, item)
    elif action == "pub":
        await _publish(update, context, lang, item)
    elif action == "tp":
        await _edit_buttons(update, cards.topic_buttons(lang, svc.settings, item))
    elif action == "card":
        await _edit_buttons(update, cards.card_buttons(lang, svc.settings, item))
    elif action == "next":
        await _review_next(update, context, lang, number)
    elif action == "tps":
        await _set_topic(update, context, lang, item, match["arg"] or "")


async def _edit_buttons(update: Update, rows: cards.Buttons) -> None:
    await edit_pressed(update, markup=from_buttons(rows))


async def _refresh_card(update: Update, context: Context, lang: Language, number: int) -> None:
    """Show the card that was pressed with the item's new state and actions."""
    svc = services(context)
    item = await svc.repository.get_submission(number)
    if item is None:
        return
    card = cards.item_card(
        lang,
        svc.settings,
        item,
        history=await svc.repository.history(number),
        events=await svc.repository.events(number),
        now=svc.repository.clock(),
    )
    buttons = from_buttons(cards.card_buttons(lang, svc.settings, item))
    await edit_pressed(update, card.text, buttons)


async def _refused(
    update: Update, lang: Language, item: Submission, exc: IllegalTransition
) -> None:
    await reply(
        update,
        t(
            lang,
            "admin.illegal",
            ref=format_reference(item.id),
            current=status_label(lang, exc.current),
            target=status_label(lang, exc.target),
        ),
    )


async def _done(
    update: Update,
    context: Context,
    lang: Language,
    item: Submission,
    target: Status,
    *,
    notified: bool,
) -> None:
    log.info("ref=%s -> %s by an admin", format_reference(item.id), target.value)
    deliver_soon(context)
    await reply(
        update,
        t(
            lang,
            "admin.done",
            ref=format_reference(item.id),
            status=status_label(lang, target),
            notified=t(lang, "admin.notified") if notified else "",
        ),
    )


async def _change_status(
    update: Update, context: Context, lang: Language, item: Submission, value: str
) -> None:
    try:
        target = Status(value)
    except ValueError:
        target = None
    if target not in cards.ONE_TAP:
        await say(update, context, "button.stale")
        return
    assert target is not None
    svc = services(context)
    followers = await svc.repository.followers(item.id)
    notices = cards.status_notice(item, target, svc.secrets, followers=followers)
    try:
        await svc.repository.change_status(
            item.id, target, actor=_actor(update), notices=notices, update_id=update.update_id
        )
    except IllegalTransition as exc:
        await _refused(update, lang, item, exc)
        return
    await _done(update, context, lang, item, target, notified=bool(notices))
    await _refresh_card(update, context, lang, item.id)


async def _ask(
    update: Update, context: Context, lang: Language, item: Submission, action: str
) -> None:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    svc = services(context)
    if await svc.repository.update_applied(update.update_id):
        return  # a replay: the question was asked (and remembered) before the crash
    values: dict[str, object] = {"ref": format_reference(item.id)}
    if action == "asg":
        values["days"] = _default_days(svc.settings, item)
        owners = "、".join(svc.settings.office.owners)
        values["owners"] = t(lang, "admin.assign.owners", owners=escape(owners)) if owners else ""
    asked = await chat.send_message(
        t(lang, PROMPTS[action], **values),
        parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True),
    )
    await svc.repository.save_prompt(
        chat_id=chat.id,
        message_id=asked.message_id,
        action=action,
        submission_id=item.id,
        asked_by=user.id,
        update_id=update.update_id,
    )


def _default_days(settings: Settings, item: Submission) -> int:
    office = settings.office
    return (
        office.deadline_days_problem
        if item.kind is Kind.PROBLEM
        else office.deadline_days_suggestion
    )


async def _forward(update: Update, context: Context, lang: Language, item: Submission) -> None:
    svc = services(context)
    copies = cards.group_card(svc.settings, item, svc.secrets)
    if not copies:
        await reply(update, t(lang, "admin.no_group"))
        return
    try:
        await svc.repository.change_status(
            item.id,
            Status.FORWARDED,
            actor=_actor(update),
            notices=copies,
            update_id=update.update_id,
        )
    except IllegalTransition as exc:
        await _refused(update, lang, item, exc)
        return
    deliver_soon(context)
    await reply(update, t(lang, "admin.forwarded", ref=format_reference(item.id)))
    await _refresh_card(update, context, lang, item.id)


async def _publish(update: Update, context: Context, lang: Language, item: Submission) -> None:
    """Start publishing: the item is ``publishing`` until the channel post is delivered;
    then it is published, and the sender and the admin's chat are told (messages held for
    the post). If the post fails for good, the item goes back and the office is told why."""
    svc = services(context)
    post = cards.channel_post(svc.settings, item, svc.secrets)
    chat = update.effective_chat
    if not post or chat is None:
        await reply(update, t(lang, "admin.no_channel"))
        return
    held = [
        n.model_copy(update={"after": 0})
        for n in [
            *cards.to_sender(item, svc.secrets, "notify.published"),
            *cards.published_confirmation(lang, svc.settings, item, svc.secrets, chat.id),
        ]
    ]
    try:
        await svc.repository.publish(
            item.id, actor=_actor(update), notices=[*post, *held], update_id=update.update_id
        )
    except IllegalTransition as exc:
        await _refused(update, lang, item, exc)
        return
    deliver_soon(context)
    await reply(update, t(lang, "admin.publishing", ref=format_reference(item.id)))
    await _refresh_card(update, context, lang, item.id)


async def _review_next(update: Update, context: Context, lang: Language, after: int) -> None:
    item = await services(context).repository.next_for_review(after=after)
    if item is None:
        await reply(update, t(lang, "admin.review.empty"))
        return
    await show_card(update, context, item, review=True)


async def _set_topic(
    update: Update, context: Context, lang: Language, item: Submission, topic_id: str
) -> None:
    svc = services(context)
    if svc.settings.topic(topic_id) is None:
        await say(update, context, "button.stale")
        return
    if topic_id != item.topic_id:
        await svc.repository.set_topic(
            item.id, topic_id, actor=_actor(update), update_id=update.update_id
        )
    else:  # confirmed as it is: a label for the topic model all the same
        await svc.repository.add_submission_label(
            item.id, topic_id, source="admin", weight=SOURCE_WEIGHTS["admin"]
        )
    svc.learn()
    await _refresh_card(update, context, lang, item.id)
    name = escape(topic_label(lang, svc.settings, topic_id))
    await reply(update, t(lang, "admin.topic.set", ref=format_reference(item.id), topic=name))


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
    repo = services(context).repository
    prompt = await repo.find_prompt(chat_id=chat.id, message_id=replied.message_id)
    if prompt is None:
        if await repo.update_applied(update.update_id):
            # A replay of a reply that was acted on (and its prompt dropped) before a
            # crash: done already, and never a resident's draft.
            log.info("reply to a prompt replayed: already done")
            raise ApplicationHandlerStop
        return
    action, number = prompt
    lang = await admin_language(update, context)
    item = await repo.get_submission(number)
    text = clean_text(message.text or "")[:MAX_REPLY_CHARS]
    if item is None:
        raise ApplicationHandlerStop
    if not text:
        await reply(update, t(lang, "admin.text.empty"))
        raise ApplicationHandlerStop
    handlers = {
        "rej": _reply_reject,
        "dup": _reply_duplicate,
        "ask": _reply_question,
        "asg": _reply_assign,
        "ans": _reply_answer,
    }
    handler = handlers.get(action)
    if handler is not None and await handler(update, context, lang, item, text):
        await repo.drop_prompt(chat_id=chat.id, message_id=replied.message_id)
    raise ApplicationHandlerStop


async def _reply_reject(
    update: Update, context: Context, lang: Language, item: Submission, reason: str
) -> bool:
    svc = services(context)
    notices = cards.status_notice(item, Status.REJECTED, svc.secrets, reason=reason)
    try:
        await svc.repository.change_status(
            item.id,
            Status.REJECTED,
            actor=_actor(update),
            note=reason,
            notices=notices,
            update_id=update.update_id,
        )
    except IllegalTransition as exc:
        await _refused(update, lang, item, exc)
        return True
    await _done(update, context, lang, item, Status.REJECTED, notified=bool(notices))
    return True


async def _reply_duplicate(
    update: Update, context: Context, lang: Language, item: Submission, text: str
) -> bool:
    svc = services(context)
    number = parse_reference(text.split()[0]) if text.split() else None
    original = await svc.repository.get_submission(number) if number else None
    if original is None or original.id == item.id or original.status is Status.DUPLICATE:
        await reply(update, t(lang, "admin.duplicate.bad"))
        return False
    route = cards.sender_route(item, svc.secrets)
    follower = (route, item.language) if route else None
    try:
        await svc.repository.mark_duplicate(
            item.id,
            original.id,
            actor=_actor(update),
            follower=follower,
            notices=cards.duplicate_notices(item, original, svc.secrets),
            update_id=update.update_id,
        )
    except IllegalTransition as exc:
        await _refused(update, lang, item, exc)
        return True
    await _done(update, context, lang, item, Status.DUPLICATE, notified=True)
    return True


async def _reply_question(
    update: Update, context: Context, lang: Language, item: Submission, question: str
) -> bool:
    svc = services(context)
    await svc.repository.add_event(
        item.id,
        actor=_actor(update),
        kind="question",
        body=question,
        notices=cards.question_notice(item, svc.secrets, question),
        update_id=update.update_id,
    )
    deliver_soon(context)
    await reply(update, t(lang, "admin.question.sent", ref=format_reference(item.id)))
    return True


async def _reply_assign(
    update: Update, context: Context, lang: Language, item: Submission, text: str
) -> bool:
    svc = services(context)
    match = DEADLINE.match(text)
    assert match is not None  # the pattern accepts any non-empty text
    tz = svc.settings.campaign.tz
    today = svc.repository.clock().astimezone(tz).date()
    if match["date"]:
        try:
            due = datetime.fromisoformat(match["date"]).date()
        except ValueError:
            due = today + timedelta(days=_default_days(svc.settings, item))
    else:
        days = int(match["days"]) if match["days"] else _default_days(svc.settings, item)
        due = today + timedelta(days=days)
    # Due at the end of that day, local time.
    deadline = datetime.combine(due, time(23, 59, 59), tzinfo=tz)
    owner = match["owner"].strip()[:100]
    await svc.repository.assign(
        item.id, owner=owner, deadline=deadline, actor=_actor(update), update_id=update.update_id
    )
    await reply(
        update,
        t(
            lang,
            "admin.assign.done",
            ref=format_reference(item.id),
            owner=escape(owner),
            deadline=local_date(deadline, tz),
        ),
    )
    return True


async def _reply_answer(
    update: Update, context: Context, lang: Language, item: Submission, response: str
) -> bool:
    svc = services(context)
    # The response starts the next rating round (storage: respond counts it).
    answered = item.model_copy(update={"response": response, "rating_round": item.rating_round + 1})
    followers = await svc.repository.followers(item.id)
    try:
        await svc.repository.respond(
            item.id,
            response,
            actor=_actor(update),
            notices=cards.response_notices(answered, svc.secrets, followers),
            update_id=update.update_id,
        )
    except IllegalTransition as exc:
        await _refused(update, lang, item, exc)
        return True
    await _done(update, context, lang, item, Status.ANSWERED, notified=True)
    return True


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
