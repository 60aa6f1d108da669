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
from dataclasses import replace

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.config import Language, Settings
from bot.core import cards, copies, tasks
from bot.core import filters as filters_core
from bot.core.copies import CopyKind
from bot.core.presenters import place_label, status_label, telegram_error, topic_label
from bot.core.recipients import recipient_label, recipient_of
from bot.core.records import Submission
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
    buttons = cards.card_buttons(lang, svc.settings, item, review=review, now=repo.clock())
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


async def queue(update: Update, context: Context) -> None:
    """/queue [status] [topic] [place] [unit] [逾期|未签收|重办]: counts by status, or one list;
    statuses, topics, places (with the places under them), units and views by id or by name
    in any language (:mod:`bot.core.filters`). With a unit or a view but no status: the
    open items."""
    if not await in_office(update, context):
        return
    svc = context.services
    lang = context.chat_language
    found = filters_core.parse(svc.settings, list(context.args or []))
    if isinstance(found, str):
        await reply(update, _unknown_word(lang, svc.settings, found))
        return
    if not found.lists:
        places = svc.settings.place_index.subtree(found.place_id) if found.place_id else []
        counts = await svc.repository.status_counts(topic_id=found.topic_id, place_ids=places)
        total = sum(counts.values())
        lines = [tn(lang, "admin.queue.title", total, total=total)]
        lines += _place_filter_line(lang, svc.settings, found.place_id)
        lines += [
            t(lang, "admin.queue.count", status=status_label(lang, s), n=counts.get(s, 0))
            for s in Status
        ]
        await reply(update, "\n".join(lines))
        return
    text, markup = await _queue_page(context, lang, found, offset=0)
    await reply(update, text, markup)


def _unknown_word(lang: Language, settings: Settings, word: str) -> str:
    """Why /queue did not understand a word, the nearest known words, and the usage."""
    known = filters_core.words(settings)
    text = t(lang, "admin.queue.unknown", word=escape(word[:40]))
    near = known.suggestions(word)
    if near:
        text += "\n" + t(lang, "admin.queue.suggest", words=escape("、".join(near)))
    statuses = " ".join(s.value for s in Status)
    units = escape(" ".join(u.id for u in settings.units)) or "—"
    return text + "\n\n" + t(lang, "admin.queue.usage", statuses=statuses, units=units)


def _view_label(lang: Language, settings: Settings, found: filters_core.Filter) -> str:
    parts = [status_label(lang, found.status) if found.status else t(lang, "admin.queue.open")]
    if found.topic_id is not None:
        parts.append(escape(topic_label(lang, settings, found.topic_id)))
    if found.unit_id is not None:
        parts.append(escape(tasks.unit_name(settings, lang, found.unit_id)))
    if found.view is not None:
        parts.append(t(lang, f"admin.queue.view.{found.view.value}"))
    return " · ".join(parts)


def _place_filter_line(lang: Language, settings: Settings, place_id: str | None) -> list[str]:
    if place_id is None:
        return []
    place = escape(place_label(lang, settings, place_id))
    under = t(lang, "admin.queue.under") if settings.place_index.children.get(place_id) else ""
    return [t(lang, "admin.queue.place", place=place, under=under)]


def _page_data(settings: Settings, found: filters_core.Filter, offset: int) -> str:
    """``adq:<status>:<view>:<topic>:<unit's position>[:<place key>][:s]:<offset>`` (``-`` for
    none): the unit by its position in the configuration, to stay within 64 bytes."""
    unit = next((str(i) for i, u in enumerate(settings.units) if u.id == found.unit_id), "-")
    status = found.status.value if found.status else "-"
    view = found.view.value if found.view else "-"
    data = f"adq:{status}:{view}:{found.topic_id or '-'}:{unit}"
    if found.place_id is not None:
        data += f":{button_key(found.place_id)}"
    if found.by_support:
        data += ":s"  # the most supported (附议) first
    return f"{data}:{offset}"


async def _queue_page(
    context: Context, lang: Language, found: filters_core.Filter, *, offset: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of ``/queue``, with a button per item that opens its card and buttons to the
    neighbouring pages (:func:`_page_data`); 附议 lists the most supported first."""
    svc = context.services
    now = svc.repository.clock()
    places = svc.settings.place_index.subtree(found.place_id) if found.place_id else []
    items, total = await svc.repository.list_items(
        status=found.status,
        topic_id=found.topic_id,
        place_ids=places,
        unit_id=found.unit_id,
        flag=found.view,
        now=now,
        by_support=found.by_support,
        offset=offset,
        limit=LIST_LIMIT,
    )
    head = t(
        lang,
        "admin.queue.list",
        status=_view_label(lang, svc.settings, found),
        first=offset + 1 if items else 0,
        last=offset + len(items),
        total=total,
    )
    lines = cards.queue_lines(lang, svc.settings, items, now=now)
    row = []
    if offset > 0:
        row.append(
            (t(lang, "button.prev"), _page_data(svc.settings, found, max(0, offset - LIST_LIMIT)))
        )
    if offset + LIST_LIMIT < total:
        row.append((t(lang, "button.more"), _page_data(svc.settings, found, offset + LIST_LIMIT)))
    # (A 32-character topic and a place leave room for offsets of 6 digits: a million items.)
    row = [(label, data) for label, data in row if len(data.encode()) <= MAX_CALLBACK_BYTES]
    filters_line = _place_filter_line(lang, svc.settings, found.place_id)
    bulk = [bulk_button(lang)] if items else []
    return "\n".join([head, *filters_line, *lines]), from_buttons(
        [*cards.open_buttons(items), bulk, row]
    )


def bulk_button(lang: Language) -> tuple[str, str]:
    """Under a list: 批量处理 on its items (:mod:`handlers.bulk` reads them from the
    list's open buttons)."""
    return (t(lang, "batch.open"), "bk:new")


QUEUE_PAGE = re.compile(
    r"^adq:([a-z_]+|-):([a-z_]+|-):([a-z0-9_]+|-):(\d{1,4}|-)(?::([0-9a-f]{8}))?(?::(s))?"
    r":(\d{1,9})$"
)
MAX_CALLBACK_BYTES = 64


def _page_filter(settings: Settings, data: str) -> tuple[filters_core.Filter, int] | None:
    """What a page button of /queue lists, and from where; None if it no longer fits the
    configuration."""
    match = QUEUE_PAGE.match(data)
    if match is None:
        return None
    words = [w for w in match.groups()[:3] if w != "-"]
    found = filters_core.parse(settings, words)
    if isinstance(found, str):
        return None
    unit, key = match[4], match[5]
    if unit != "-":
        if int(unit) >= len(settings.units):
            return None
        found = replace(found, unit_id=settings.units[int(unit)].id)
    if key is not None:
        place = settings.place_index.from_key(key)
        if place is None:
            return None
        found = replace(found, place_id=place.id)
    if match[6] is not None:
        found = replace(found, by_support=True)
    return found, int(match[7])


async def queue_page(update: Update, context: Context) -> None:
    """A page button of /queue (checked like every office button)."""
    query = update.callback_query
    assert query is not None
    page = _page_filter(context.services.settings, query.data or "")
    if page is None or not await in_office(update, context):
        await query.answer(t(context.language, "button.stale"))
        return
    await query.answer()
    lang = context.chat_language
    text, markup = await _queue_page(context, lang, page[0], offset=page[1])
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
    chunks = split_message("\n".join(lines))
    for chunk in chunks[:-1]:
        await reply(update, chunk)
    await reply(update, chunks[-1], from_buttons([*cards.open_buttons(found), [bulk_button(lang)]]))


OPEN = re.compile(r"^ado:(\d{1,18})$")


async def open_card(update: Update, context: Context) -> None:
    """A list line's button (``ado:<id>``): the item's card, as /show sends it."""
    query = update.callback_query
    assert query is not None
    match = OPEN.match(query.data or "")
    if match is None or not await in_office(update, context):
        await query.answer(t(context.language, "button.stale"))
        return
    await query.answer()
    item = await context.services.repository.get_submission(int(match[1]))
    if item is None:
        ref = format_reference(int(match[1]))
        await reply(update, t(context.chat_language, "admin.not_found", ref=ref))
        return
    await show_card(update, context, item)


async def failed(update: Update, context: Context) -> None:
    """/failed: notifications Telegram would not deliver."""
    if not await in_office(update, context):
        return
    lang = context.chat_language
    svc = context.services
    entries = await svc.repository.failed_messages()
    if not entries:
        await reply(update, t(lang, "admin.failed.none"))
        return
    lines = [t(lang, "admin.failed.title")]
    lines += [
        t(
            lang,
            "admin.failed.line",
            ref=format_reference(e.submission_id) if e.submission_id else "—",
            recipient=recipient_label(
                lang,
                recipient_of(e, svc.secrets.decrypt_int(e.chat_enc), svc.settings.roles),
            ),
            error=telegram_error(lang, e.last_error or ""),
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
        CallbackQueryHandler(open_card, pattern=r"^ado:"),
    ]
