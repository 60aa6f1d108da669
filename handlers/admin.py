"""The campaign office's commands: /review, /show, /queue, /search, /failed, /admins.

Registered only for the configured administrators, in their private chat with the bot or in
the office group (:func:`office_only`); anywhere else (another group, the leading group,
someone else's chat) they are not the office's and get the same answer as an unknown
command, which in a group is none. Each handler checks again (:func:`in_office`).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.config import Language, Settings
from bot.core import cards, copies, tasks
from bot.core.copies import CopyKind
from bot.core.presenters import place_label, status_label, topic_label
from bot.core.records import QUEUE_FLAGS, QueueFlag, Submission
from bot.core.workflow import Status, format_reference
from bot.i18n import t, tn
from bot.places import button_key
from bot.text import escape, split_message
from bot.transport.markup import from_buttons
from bot.transport.media import send_attachment
from handlers.context import Context, edit_pressed, reply

log = logging.getLogger(__name__)

MAX_REFERENCE_DIGITS = 18
LIST_LIMIT = 20
FULL_TEXT_MESSAGES = 3  # beyond this, the whole text of an item comes as a file


async def in_office(update: Update, context: Context) -> bool:
    """An administrator, in their private chat with the bot or in the office group: the
    only places where the office's commands and buttons work (cards name named senders,
    the ledger lists every item)."""
    user, chat = update.effective_user, update.effective_chat
    svc = context.services
    return (
        user is not None
        and chat is not None
        and svc.is_admin(user.id)
        and (
            chat.type == ChatType.PRIVATE
            or (
                bool(svc.settings.roles.office_chat_id)
                and chat.id == svc.settings.roles.office_chat_id
            )
        )
    )


def office_only(settings: Settings) -> filters.BaseFilter:
    """The filter of the office's commands: administrators, in a private chat or the office
    group."""
    where: filters.BaseFilter = filters.ChatType.PRIVATE
    if settings.roles.office_chat_id:
        where = where | filters.Chat(chat_id=settings.roles.office_chat_id)
    return filters.User(user_id=settings.roles.admin_ids) & where


def parse_reference(raw: str) -> int | None:
    raw = raw.lstrip("#＃")
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_REFERENCE_DIGITS:
        return None
    return int(raw)


async def show_card(
    update: Update, context: Context, item: Submission, *, review: bool = False
) -> None:
    """Send the item's full card with its actions (recorded as a copy of its card, so it is
    refreshed when the item changes), then its files and locations."""
    svc = context.services
    lang = context.chat_language
    repo = svc.repository
    card = cards.item_card(
        lang,
        svc.settings,
        item,
        history=await repo.history(item.id),
        events=await repo.events(item.id),
        similar=await repo.similar(item),
        now=repo.clock(),
    )
    buttons = cards.card_buttons(lang, svc.settings, item, review=review)
    sent = await reply(update, card.text, from_buttons(buttons))
    chat = update.effective_chat
    if sent is not None and chat is not None:
        kind = CopyKind.REVIEW if review else CopyKind.SHOW
        await copies.record(svc.core, item.id, kind, lang, chat.id, sent)
    if card.shortened:  # the card shows the start: here is all of it
        await send_full_text(update, lang, item)
    await send_attachments(update, item)


async def send_full_text(update: Update, lang: Language, item: Submission) -> None:
    """The item's whole text and response after its card: as messages, or as a text file
    when that would take more than FULL_TEXT_MESSAGES of them."""
    parts = cards.full_text(lang, item)
    chat = update.effective_chat
    if len(parts) <= FULL_TEXT_MESSAGES or chat is None:
        for part in parts:
            await reply(update, part)
        return
    ref = format_reference(item.id)
    await chat.send_document(
        io.BytesIO(cards.full_text_file(item)),
        filename=f"item-{item.id}.txt",
        caption=t(lang, "card.full_text_file", ref=ref),
    )


async def send_attachments(update: Update, item: Submission) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    caption = format_reference(item.id)
    for attachment in item.attachments:
        await send_attachment(chat.get_bot(), chat.id, attachment, caption=caption)


async def review(update: Update, context: Context) -> None:
    """/review: the oldest item awaiting review."""
    if not await in_office(update, context):
        return
    item = await context.services.repository.next_for_review()
    if item is None:
        await reply(update, t(context.chat_language, "admin.review.empty"))
        return
    await show_card(update, context, item, review=True)


async def show(update: Update, context: Context) -> None:
    """/show N: any item in full with its history."""
    if not await in_office(update, context):
        return
    lang = context.chat_language
    args = context.args or []
    number = parse_reference(args[0]) if len(args) == 1 else None
    if number is None:
        await reply(update, t(lang, "admin.show.usage"))
        return
    item = await context.services.repository.get_submission(number)
    if item is None:
        await reply(
            update, t(lang, "admin.not_found", ref=escape(f"#{args[0].lstrip('#＃')[:24]}"))
        )
        return
    await show_card(update, context, item)


# /queue's flag words (#18), in each language the office may type them.
FLAG_WORDS: dict[str, QueueFlag] = {
    "unsigned": "unsigned",
    "未签收": "unsigned",
    "未簽收": "unsigned",
    "overdue": "overdue",
    "超期": "overdue",
    "逾期": "overdue",
    "reopened": "reopened",
    "重办": "reopened",
    "重辦": "reopened",
}


@dataclass(frozen=True)
class QueueQuery:
    """What /queue lists: a status, a topic, a place (with the places under it), a unit, a
    flag (each optional)."""

    status: Status | None = None
    topic_id: str | None = None
    unit_id: str | None = None
    flag: QueueFlag | None = None
    place_id: str | None = None

    def places(self, settings: Settings) -> list[str]:
        return settings.place_index.subtree(self.place_id) if self.place_id else []

    @property
    def lists(self) -> bool:
        """Whether it lists items (else: the counts by status)."""
        return any((self.status, self.unit_id, self.flag))

    def encode(self, settings: Settings, offset: int) -> str:
        """Page callback data (under 64 bytes: the topic and unit by their position in the
        configuration, the flag by its first letter, the place by its button key)."""
        topic = next((str(i) for i, x in enumerate(settings.topics) if x.id == self.topic_id), "-")
        unit = next((str(i) for i, u in enumerate(settings.units) if u.id == self.unit_id), "-")
        status = self.status.value if self.status else "-"
        flag = self.flag[0] if self.flag else "-"
        place = button_key(self.place_id) if self.place_id else "-"
        return f"adq:{status}:{topic}:{unit}:{flag}:{place}:{offset}"

    @classmethod
    def decode(cls, settings: Settings, data: str) -> tuple[QueueQuery, int] | None:
        match = QUEUE_PAGE.match(data)
        if match is None:
            return None
        status, topic, unit, flag, key, offset = match.groups()
        if status != "-" and status not in Status.__members__.values():
            return None
        place = settings.place_index.from_key(key) if key != "-" else None
        if key != "-" and place is None:
            return None
        topics, units = settings.topics, settings.units
        if (topic != "-" and int(topic) >= len(topics)) or (
            unit != "-" and int(unit) >= len(units)
        ):
            return None
        flags = {f[0]: f for f in QUEUE_FLAGS}
        query = cls(
            Status(status) if status != "-" else None,
            topics[int(topic)].id if topic != "-" else None,
            units[int(unit)].id if unit != "-" else None,
            flags.get(flag),
            place.id if place is not None else None,
        )
        return query, int(offset)

    def label(self, lang: Language, settings: Settings) -> str:
        parts = [status_label(lang, self.status) if self.status else t(lang, "admin.queue.open")]
        if self.topic_id:
            parts.append(escape(topic_label(lang, settings, self.topic_id)))
        if self.unit_id:
            parts.append(escape(tasks.unit_name(settings, lang, self.unit_id)))
        if self.flag:
            parts.append(t(lang, f"admin.queue.flag.{self.flag}"))
        return " · ".join(parts)


def parse_queue(settings: Settings, args: Sequence[str]) -> QueueQuery | None:
    """/queue's words: a status, a topic id, a unit id, a flag, and the rest a place (its
    id or its name in any language); None if something is unknown."""
    query = QueueQuery()
    rest: list[str] = []
    for arg in args:
        if arg in Status.__members__.values():
            query = replace(query, status=Status(arg))
        elif settings.topic(arg) is not None:
            query = replace(query, topic_id=arg)
        elif settings.unit(arg) is not None:
            query = replace(query, unit_id=arg)
        elif arg.lower() in FLAG_WORDS:
            query = replace(query, flag=FLAG_WORDS[arg.lower()])
        else:
            rest.append(arg)
    if rest:
        place = settings.place_index.find(" ".join(rest))
        if place is None:
            return None
        query = replace(query, place_id=place.id)
    return query


async def queue(update: Update, context: Context) -> None:
    """/queue [status] [topic] [unit] [unsigned|overdue|reopened] [place]: counts by status
    (of one topic and/or place, with the places under it), or the items that match."""
    if not await in_office(update, context):
        return
    svc = context.services
    lang = context.chat_language
    query = parse_queue(svc.settings, context.args or [])
    if query is None:
        statuses = " ".join(s.value for s in Status)
        units = " ".join(u.id for u in svc.settings.units) or "—"
        await reply(update, t(lang, "admin.queue.usage", statuses=statuses, units=units))
        return
    if not query.lists:
        counts = await svc.repository.status_counts(
            topic_id=query.topic_id, place_ids=query.places(svc.settings)
        )
        total = sum(counts.values())
        lines = [tn(lang, "admin.queue.title", total, total=total)]
        lines += _place_filter_line(lang, svc.settings, query.place_id)
        lines += [
            t(lang, "admin.queue.count", status=status_label(lang, s), n=counts.get(s, 0))
            for s in Status
        ]
        await reply(update, "\n".join(lines))
        return
    text, markup = await _queue_page(context, lang, query, offset=0)
    await reply(update, text, markup)


def _place_filter_line(lang: Language, settings: Settings, place_id: str | None) -> list[str]:
    if place_id is None:
        return []
    place = escape(place_label(lang, settings, place_id))
    under = t(lang, "admin.queue.under") if settings.place_index.children.get(place_id) else ""
    return [t(lang, "admin.queue.place", place=place, under=under)]


async def _queue_page(
    context: Context, lang: Language, query: QueueQuery, *, offset: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of ``/queue``, with buttons to the neighbouring pages."""
    svc = context.services
    now = svc.repository.clock()
    items, total = await svc.repository.list_items(
        status=query.status,
        topic_id=query.topic_id,
        place_ids=query.places(svc.settings),
        unit_id=query.unit_id,
        flag=query.flag,
        now=now,
        offset=offset,
        limit=LIST_LIMIT,
    )
    head = t(
        lang,
        "admin.queue.list",
        status=query.label(lang, svc.settings),
        first=offset + 1 if items else 0,
        last=offset + len(items),
        total=total,
    )
    lines = cards.queue_lines(lang, svc.settings, items, now=now)
    row = []
    if offset > 0:
        row.append(
            (t(lang, "button.prev"), query.encode(svc.settings, max(0, offset - LIST_LIMIT)))
        )
    if offset + LIST_LIMIT < total:
        row.append((t(lang, "button.more"), query.encode(svc.settings, offset + LIST_LIMIT)))
    filters_line = _place_filter_line(lang, svc.settings, query.place_id)
    return "\n".join([head, *filters_line, *lines]), from_buttons([row])


QUEUE_PAGE = re.compile(
    r"^adq:([a-z_]+|-):(\d{1,4}|-):(\d{1,4}|-):([a-z]|-):([0-9a-f]{8}|-):(\d{1,9})$"
)


async def queue_page(update: Update, context: Context) -> None:
    """A page button of /queue (checked like every office button)."""
    query = update.callback_query
    assert query is not None
    svc = context.services
    decoded = QueueQuery.decode(svc.settings, query.data or "")
    if decoded is None or not await in_office(update, context):
        await query.answer(t(context.language, "button.stale"))
        return
    await query.answer()
    lang = context.chat_language
    text, markup = await _queue_page(context, lang, decoded[0], offset=decoded[1])
    if not await edit_pressed(update, text, markup):  # too old to edit: a new page
        await reply(update, text, markup)


async def search(update: Update, context: Context) -> None:
    """/search words: full-text search over item texts."""
    if not await in_office(update, context):
        return
    svc = context.services
    lang = context.chat_language
    terms = [a for a in (context.args or []) if a][:8]
    if not terms:
        await reply(update, t(lang, "admin.search.usage"))
        return
    found = await svc.repository.search(terms, limit=LIST_LIMIT)
    shown = escape(" ".join(terms))
    if not found:
        await reply(update, t(lang, "admin.search.none", terms=shown))
        return
    lines = [t(lang, "admin.search.title", terms=shown, n=len(found))]
    lines += cards.queue_lines(lang, svc.settings, found, now=svc.repository.clock())
    for chunk in split_message("\n".join(lines)):
        await reply(update, chunk)


async def failed(update: Update, context: Context) -> None:
    """/failed: notifications Telegram would not deliver."""
    if not await in_office(update, context):
        return
    lang = context.chat_language
    entries = await context.services.repository.failed_messages()
    if not entries:
        await reply(update, t(lang, "admin.failed.none"))
        return
    lines = [t(lang, "admin.failed.title")]
    lines += [
        t(
            lang,
            "admin.failed.line",
            ref=format_reference(e.submission_id) if e.submission_id else "—",
            error=escape((e.last_error or "")[:200]),
        )
        for e in entries
    ]
    for chunk in split_message("\n".join(lines)):
        await reply(update, chunk)


async def admins(update: Update, context: Context) -> None:
    """/admins: the configured roles, so an operator can check the set-up."""
    if not await in_office(update, context):
        return
    svc = context.services
    lang = context.chat_language
    roles = svc.settings.roles
    unset = t(lang, "admin.not_set")
    counts = await svc.repository.outbox_counts()
    text = t(
        lang,
        "admin.roles",
        admins=", ".join(str(a) for a in roles.admin_ids) or unset,
        office=roles.office_chat_id or unset,
        group=roles.leading_group_chat_id or unset,
        channel=roles.channel_id or unset,
        announce=t(lang, "admin.yes" if svc.settings.office.announce_new else "admin.no"),
        pending=counts.get("pending", 0),
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
    )
    await reply(update, text)


# The office's menu; /whoami is handlers/whoami.py's (it also answers before admins exist).
ADMIN_COMMANDS = ("review", "queue", "show", "search", "failed", "admins", "whoami")


def build_handlers(settings: Settings) -> list[BaseHandler[Update, Context, None]]:
    office = office_only(settings)
    return [
        CommandHandler("review", review, filters=office),
        CommandHandler("show", show, filters=office),
        CommandHandler("queue", queue, filters=office),
        CommandHandler("search", search, filters=office),
        CommandHandler("failed", failed, filters=office),
        CommandHandler("admins", admins, filters=office),
        CallbackQueryHandler(queue_page, pattern=r"^adq:"),
    ]
