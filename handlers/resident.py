"""The resident conversation: compose a suggestion or problem report and submit it.

States (one handler per step, as in PTB's conversationbot example):

    KIND ─► COMPOSE ─► TOPIC ─► [PLACE] ─► IDENTITY ─► CONFIRM ─► (acknowledged, #N)

PLACE is asked (one tap, or "不确定") only when ``[[places]]`` are configured and the
resident did not arrive through a place's deep link (``/start <place>``, handlers/info.py);
the summary offers to change it. A kind the campaign's current phase does not collect is
refused with the reason when it is chosen and again at confirmation (the draft stays).

The draft itself (text parts, attachments, choices) is written to the database on every
step, so nothing typed is lost. The conversation's state is the draft's: several worker
processes may handle one resident's updates in turn (#24), so no state a process remembers
from an earlier update is trusted. Before the conversation looks at an update,
:func:`load_state` (a handler of :data:`STATE_GROUP`) sets the state of the update's key
from the draft stored then: none without a draft, else the step the draft needs next. Every
step's buttons and content work from any state of the flow (see :func:`build_conversation`),
so the steps' states differ only in name; what decides is whether a draft is open.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.core import drafting, submitting
from bot.core.drafting import Step
from bot.core.phases import collected_kinds, phase_now
from bot.core.presenters import draft_summary, topic_proposal
from bot.core.records import Attachment, Draft
from bot.core.results import Refusal
from bot.core.workflow import Kind
from bot.i18n import t, tn
from bot.text import escape
from bot.transport.delivery import deliver_soon
from bot.transport.markup import from_buttons
from bot.transport.media import attachment_from_message
from handlers import keyboards, replies
from handlers.buttons import PrivateButton
from handlers.context import (
    Context,
    actor,
    answer_query,
    drop_buttons,
    edit_pressed,
    reply,
    say,
    user_id,
)
from handlers.media_filters import MEDIA

log = logging.getLogger(__name__)

CONVERSATION_NAME = "resident"

KIND = "kind"
COMPOSE = "compose"
TOPIC = "topic"
PLACE = "place"
IDENTITY = "identity"
CONFIRM = "confirm"
END = ConversationHandler.END
# The state of each step the draft can need next (bot.core.drafting.needed_step).
STATES: dict[Step, str] = {
    Step.KIND: KIND,
    Step.COMPOSE: COMPOSE,
    Step.TOPIC: TOPIC,
    Step.PLACE: PLACE,
    Step.IDENTITY: IDENTITY,
    Step.CONFIRM: CONFIRM,
}
# :func:`load_state`'s group: after the guards (handlers.fallback.GUARD_GROUP), before every
# group that may leave the update to the conversation.
STATE_GROUP = -50

PRIVATE = filters.ChatType.PRIVATE
TEXT = PRIVATE & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE
ATTACHMENT = PRIVATE & filters.UpdateType.MESSAGE & MEDIA
CONTENT = TEXT | ATTACHMENT
UNSUPPORTED = PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~CONTENT


async def _load(update: Update, context: Context) -> Draft | None:
    return await context.services.repository.get_draft(user_id(update))


def _needed(context: Context, draft: Draft) -> Step:
    """The earliest step the draft still needs (see :func:`bot.drafting.needed_step`)."""
    settings = context.services.settings
    return drafting.needed_step(draft, settings.limits, settings.place_index.by_id.keys())


def _kinds_now(context: Context) -> tuple[Kind, ...]:
    """The kinds the campaign's current phase collects (every kind outside phases)."""
    svc = context.services
    return collected_kinds(phase_now(svc.settings, svc.repository.clock()))


async def _refusal(
    update: Update, context: Context, kind: Kind
) -> tuple[str, InlineKeyboardMarkup] | None:
    """If the campaign's current phase does not collect ``kind``
    (:func:`bot.core.submitting.out_of_phase`): why (and when it will), with the kinds it
    does collect to choose from. The caller keeps the draft and sends this once what it
    keeps is stored."""
    svc = context.services
    outside = submitting.out_of_phase(svc.core, actor(update, context), kind)
    if outside is None:
        return None
    return outside.message, keyboards.kinds(context.language, _kinds_now(context))


async def _pressed_on_draft(update: Update, context: Context) -> Draft | None:
    """For a button of the flow: acknowledge the press and load the draft. If the draft
    is gone (submitted or cancelled meanwhile), say so and remove the stale buttons."""
    await answer_query(update)
    draft = await _load(update, context)
    if draft is None:
        await drop_buttons(update)
        await say(update, context, "draft.gone")
    return draft


async def _save(update: Update, context: Context, draft: Draft) -> None:
    draft = draft.model_copy(update={"last_update": max(draft.last_update, update.update_id)})
    await context.services.repository.save_draft(user_id(update), draft)


def _applied(update: Update, draft: Draft | None) -> bool:
    """True when this update was applied to the draft before (a replay after a crash)."""
    return draft is not None and draft.last_update >= update.update_id


def _message(update: Update) -> Message:
    assert update.effective_message is not None
    return update.effective_message


async def _add(
    update: Update,
    context: Context,
    draft: Draft,
    *,
    text: str | None,
    attachment: Attachment | None,
) -> Draft | None:
    """Add text and/or an attachment to the draft and save it. When it cannot be added, reply
    saying why and return None; nothing already in the draft is lost."""
    if _applied(update, draft):
        return draft
    result = drafting.add_content(
        draft, text=text, attachment=attachment, limits=context.services.settings.limits
    )
    if result.problem is not None:
        await say(update, context, result.problem, **result.details)
        return None
    await _save(update, context, result.draft)
    return result.draft


async def _add_message(update: Update, context: Context, draft: Draft) -> Draft | None:
    message = _message(update)
    text = message.text if message.text is not None else message.caption
    return await _add(
        update, context, draft, text=text, attachment=attachment_from_message(message)
    )


async def _prompt_compose(update: Update, context: Context, draft: Draft) -> str:
    lang = context.language
    assert draft.kind is not None
    if draft.parts or draft.attachments:
        attachments = len(draft.attachments)
        text = tn(
            lang,
            "compose.received",
            attachments,
            chars=draft.text_length,
            attachments=attachments,
        )
    else:
        text = t(lang, f"compose.ask.{draft.kind.value}")
    await reply(
        update, text, keyboards.compose(lang, has_content=bool(draft.parts or draft.attachments))
    )
    return COMPOSE


async def _prompt_kind(update: Update, context: Context) -> str:
    lang = context.language
    await reply(update, t(lang, "kind.ask"), keyboards.kinds(lang, _kinds_now(context)))
    return KIND


# ---------------------------------------------------------------- entry points
async def start_with_kind(update: Update, context: Context) -> str:
    """/suggest, /report (optionally with the text on the same line) or a menu button."""
    await answer_query(update)
    await drop_buttons(update)
    query = update.callback_query
    if query is not None:
        kind = Kind.PROBLEM if query.data == "menu:report" else Kind.SUGGESTION
        inline_text = ""
    else:
        command_text = _message(update).text or ""
        kind = Kind.PROBLEM if drafting.command_name(command_text) == "report" else Kind.SUGGESTION
        inline_text = drafting.command_argument(command_text)
    loaded = await _load(update, context)
    refused = await _refusal(update, context, kind)
    draft = loaded or Draft()
    if not refused:
        draft = draft.model_copy(update={"kind": kind})
    if inline_text and not _applied(update, loaded):  # one commit for the kind and the text
        added = drafting.add_content(
            draft, text=inline_text, attachment=None, limits=context.services.settings.limits
        )
        if added.problem is not None:
            await say(update, context, added.problem, **added.details)
        draft = added.draft
    if refused:  # the text is kept; the kind waits for one the phase collects
        if inline_text or loaded is None:  # (a draft, even empty, for the kinds' buttons)
            await _save(update, context, draft)
        await reply(update, *refused)
        return KIND
    await _save(update, context, draft)
    return await _prompt_compose(update, context, draft)


async def start_from_content(update: Update, context: Context) -> str | int:
    """Text or an attachment sent outside any flow: keep it and ask which kind it is."""
    draft = await _load(update, context) or Draft()
    added = await _add_message(update, context, draft)
    if added is None and not (draft.parts or draft.attachments):
        return END
    if added is not None and added.kind is not None:  # a draft whose kind was chosen
        return await _prompt_compose(update, context, added)
    return await _prompt_kind(update, context)


async def held_as_new(update: Update, context: Context) -> str | int:
    """ "这是新的提交": a message held while the office's question was open (see
    :func:`handlers.replies.offer_to_question`) starts or continues a draft after all."""
    found = await replies.held_message(update, context)
    if found is None:
        return END
    row_id, held = found
    await drop_buttons(update)
    draft = await _load(update, context) or Draft()
    added = await _add(update, context, draft, text=held.text or None, attachment=held.attachment)
    await context.services.repository.drop_held(row_id)
    if added is None and not (draft.parts or draft.attachments):
        return END
    current = added or draft
    if current.kind is None:
        return await _prompt_kind(update, context)
    return await _prompt_compose(update, context, current)


# ---------------------------------------------------------------- KIND
async def choose_kind(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await _pressed_on_draft(update, context)
    if draft is None:
        return END
    kind = Kind(query.data.split(":", 1)[1])
    refused = await _refusal(update, context, kind)
    if refused is not None:
        await reply(update, *refused)
        return KIND
    await drop_buttons(update)
    draft = draft.model_copy(update={"kind": kind})
    await _save(update, context, draft)
    if _needed(context, draft) > Step.TOPIC:  # a finished draft whose kind was changed
        return await _prompt_step(update, context, draft)
    return await _prompt_compose(update, context, draft)


# ---------------------------------------------------------------- COMPOSE
async def add_content(update: Update, context: Context) -> str | None:
    """More text or an attachment: add it and show the running total (any later step too,
    which then returns to composing so the topic is proposed again for the whole text).
    When it cannot be added, the reply says why and the step does not change."""
    added = await _add_message(update, context, await _load(update, context) or Draft())
    if added is None:
        return None
    draft = added
    if draft.kind is None:
        return await _prompt_kind(update, context)
    return await _prompt_compose(update, context, draft)


async def finish_compose(update: Update, context: Context) -> str | int:
    draft = await _pressed_on_draft(update, context)
    if draft is None:
        return END
    if draft.kind is None:
        return await _resume(update, context, draft)
    problem = drafting.ready_problem(draft, context.services.settings.limits)
    if problem is not None:
        await say(
            update, context, problem, min_chars=context.services.settings.limits.min_text_chars
        )
        return COMPOSE
    await drop_buttons(update)
    return await _propose(update, context, draft)


async def _propose(update: Update, context: Context, draft: Draft) -> str:
    svc = context.services
    matches = await svc.propose_topics(draft.text)
    draft = drafting.with_proposal(draft, matches)
    await _save(update, context, draft)
    lang = context.language
    await reply(update, topic_proposal(lang, draft, svc.settings), keyboards.topic_proposal(lang))
    return TOPIC


async def unsupported_content(update: Update, context: Context) -> None:
    """Stickers, polls, contacts...: say what can be sent instead; the state does not change."""
    await say(update, context, "input.unsupported")


# ---------------------------------------------------------------- TOPIC
async def list_topics(update: Update, context: Context) -> str:
    await answer_query(update)
    lang = context.language
    await edit_pressed(update, markup=keyboards.topic_list(lang, context.services.settings.topics))
    return TOPIC


async def accept_topic(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await _pressed_on_draft(update, context)
    if draft is None:
        return END
    svc = context.services
    # Choosing a topic needs a finished text; accepting the proposal needs a proposal.
    required = Step.TOPIC if query.data.startswith("topic:set:") else Step.PLACE
    if _needed(context, draft) < required:
        return await _resume(update, context, draft)
    if query.data.startswith("topic:set:"):
        topic = svc.settings.topic(query.data.removeprefix("topic:set:"))
        if topic is None:
            await say(update, context, "button.stale")
            return TOPIC
        draft = draft.model_copy(update={"topic_id": topic.id})
        await _save(update, context, draft)
    await drop_buttons(update)
    if _needed(context, draft) is Step.PLACE:
        return await _ask_place(update, context)
    return await _ask_identity(update, context, draft)


# ---------------------------------------------------------------- PLACE
async def _ask_place(update: Update, context: Context) -> str:
    lang = context.language
    index = context.services.settings.place_index
    await reply(update, t(lang, "place.ask"), keyboards.places(lang, index))
    return PLACE


async def open_place(update: Update, context: Context) -> str | None:
    """``place:open:<key>`` / ``place:top``: show a level of the places in the same message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_query(update)
    index = context.services.settings.place_index
    parent = None
    if query.data.startswith("place:open:"):
        place = index.from_key(query.data.removeprefix("place:open:"))
        if place is None:
            await say(update, context, "button.stale")
            return None
        parent = place.id
    lang = context.language
    await edit_pressed(update, markup=keyboards.places(lang, index, parent))
    return None


async def change_place(update: Update, context: Context) -> str | int:
    """The summary's "change the place": the places' buttons in its place."""
    draft = await _pressed_on_draft(update, context)
    if draft is None:
        return END
    if _needed(context, draft) < Step.PLACE or not context.services.settings.places:
        return await _resume(update, context, draft)
    lang = context.language
    markup = keyboards.places(lang, context.services.settings.place_index)
    if not await edit_pressed(update, markup=markup):
        await reply(update, t(lang, "place.ask"), markup)
    return PLACE


async def choose_place(update: Update, context: Context) -> str | int:
    """``place:set:<key>`` or ``place:skip`` (不确定): record it, then on to the identity
    (or back to the summary when it was changed there)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await _draft_at(update, context, Step.PLACE)
    if not isinstance(draft, Draft):
        return draft
    place_id = None
    if query.data.startswith("place:set:"):
        place = context.services.settings.place_index.from_key(
            query.data.removeprefix("place:set:")
        )
        if place is None:
            await say(update, context, "button.stale")
            return PLACE
        place_id = place.id
    await drop_buttons(update)
    draft = drafting.with_place(draft, place_id)
    await _save(update, context, draft)
    return await _prompt_step(update, context, draft)


async def _ask_identity(update: Update, context: Context, draft: Draft) -> str:
    settings = context.services.settings
    lang = context.language
    topic = settings.topic(draft.topic_id or "") or settings.fallback_topic
    name = escape(topic.name(lang))
    await reply(update, t(lang, "identity.ask", topic=name), keyboards.identity(lang))
    return IDENTITY


# ---------------------------------------------------------------- IDENTITY
async def choose_identity(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await _draft_at(update, context, Step.IDENTITY)
    if not isinstance(draft, Draft):
        return draft
    await drop_buttons(update)
    draft = draft.model_copy(update={"anonymous": query.data == "who:anon"})
    await _save(update, context, draft)
    return await _show_summary(update, context, draft)


async def _show_summary(update: Update, context: Context, draft: Draft) -> str:
    lang = context.language
    user = update.effective_user
    assert user is not None
    settings = context.services.settings
    await reply(
        update,
        draft_summary(lang, draft, settings, sender_name=user.full_name),
        keyboards.confirm(lang, place=bool(settings.places)),
    )
    return CONFIRM


async def _resume(update: Update, context: Context, draft: Draft) -> str:
    """A button of a later step was pressed (an old message, or a forged press) while the
    draft still needs an earlier one, e.g. text added after the topic was proposed: say so
    and ask for that step. Nothing in the draft is lost."""
    await drop_buttons(update)
    await say(update, context, "flow.resume")
    return await _prompt_step(update, context, draft)


async def _draft_at(update: Update, context: Context, step: Step) -> Draft | str | int:
    """For a button of ``step``: the draft, or the state the flow goes to instead (the end,
    when the draft is gone; the step the draft still needs, asked again)."""
    draft = await _pressed_on_draft(update, context)
    if draft is None:
        return END
    if _needed(context, draft) < step:
        return await _resume(update, context, draft)
    return draft


async def _prompt_step(update: Update, context: Context, draft: Draft) -> str:
    """Ask for the step the draft needs next."""
    step = _needed(context, draft)
    if step is Step.KIND:
        return await _prompt_kind(update, context)
    if step is Step.COMPOSE:
        return await _prompt_compose(update, context, draft)
    if step is Step.TOPIC:
        return await _propose(update, context, draft)
    if step is Step.PLACE:
        return await _ask_place(update, context)
    if step is Step.IDENTITY:
        return await _ask_identity(update, context, draft)
    return await _show_summary(update, context, draft)


# ---------------------------------------------------------------- CONFIRM
async def confirm(update: Update, context: Context) -> int | str:
    """Submit the draft (:func:`bot.core.submitting.submit` decides the quota and what is
    stored of the sender) and acknowledge with its reference once it is durable."""
    await answer_query(update)
    svc = context.services
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    draft = await svc.repository.get_draft(user.id)
    if draft is not None and _needed(context, draft) < Step.CONFIRM:
        return await _resume(update, context, draft)
    result = await submitting.submit(
        svc.core,
        actor(update, context),
        draft,
        chat_id=chat.id,
        username=user.username,
        key=update.update_id,
    )
    if result.refusal is Refusal.LIMIT:  # the draft stays: it can be sent later
        await reply(update, result.message)
        return CONFIRM
    if result.refusal is Refusal.PHASE:  # the phase changed meanwhile; the draft stays
        await drop_buttons(update)
        await reply(update, result.message, keyboards.kinds(context.language, _kinds_now(context)))
        return KIND
    # The commit is done (or this very press stored it before a crash): only now answer.
    if result.ok:
        deliver_soon(context)
    await drop_buttons(update)
    await reply(update, result.message, from_buttons(result.buttons))
    return END


# ---------------------------------------------------------------- leaving
async def cancel(update: Update, context: Context) -> int:
    """/cancel or the cancel button: discard the draft and leave the flow."""
    await answer_query(update)
    await drop_buttons(update)
    removed = await context.services.repository.delete_draft(user_id(update))
    await say(update, context, "cancel.done" if removed else "cancel.nothing")
    return END


Handlers = list[BaseHandler[Update, Context, Any]]


def conversation_key(update: Update) -> tuple[int, int] | None:
    """The conversation's key of a resident's update in their private chat: (chat, user),
    as python-telegram-bot's ConversationHandler keys it (per chat and per user, not per
    message); None for any other update."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    if update.channel_post or update.edited_channel_post:
        return None
    return chat.id, user.id


def build_state_loader(
    conversation: ConversationHandler[Context],
) -> TypeHandler[Update, Context, None]:
    """The handler that sets the conversation's state of each update from the database."""

    async def load_state(update: Update, context: Context) -> None:
        """The state of this update's conversation: from the draft stored now (which
        another worker may have changed, submitted or cancelled since this process last saw
        the resident), never from this process's memory of an earlier update."""
        key = conversation_key(update)
        if key is None:
            return
        draft = await context.services.repository.get_draft(key[1])
        # python-telegram-bot has no public way to set a key's state: its own persistence
        # fills this mapping the same way (tests/test_ptb_private_api.py guards it).
        states = conversation._conversations
        if draft is None:
            states.pop(key, None)
        else:
            states[key] = STATES[_needed(context, draft)]

    return TypeHandler(Update, load_state)


def build_conversation() -> ConversationHandler[Context]:
    start_commands = CommandHandler(["suggest", "report"], start_with_kind, filters=PRIVATE)
    start_buttons = PrivateButton(start_with_kind, pattern=r"^menu:(suggest|report)$")
    choose_kind_button = PrivateButton(choose_kind, pattern=r"^kind:(suggestion|problem)$")
    next_button = PrivateButton(finish_compose, pattern=r"^draft:next$")
    topic_buttons: Handlers = [
        PrivateButton(list_topics, pattern=r"^topic:list$"),
        PrivateButton(accept_topic, pattern=r"^topic:(ok|set:[a-z0-9_]+)$"),
    ]
    place_buttons: Handlers = [
        PrivateButton(choose_place, pattern=r"^place:(set:[0-9a-f]{8}|skip)$"),
        PrivateButton(open_place, pattern=r"^place:(open:[0-9a-f]{8}|top)$"),
        PrivateButton(change_place, pattern=r"^place:change$"),
    ]
    identity_button = PrivateButton(choose_identity, pattern=r"^who:(named|anon)$")
    confirm_button = PrivateButton(confirm, pattern=r"^confirm:yes$")
    held_button = PrivateButton(held_as_new, pattern=r"^qa:[0-9a-f]{32}:new$")
    # The draft in the database, not the conversation state, is the truth: every step checks
    # the draft. So a step's button also works from any other state (and with no state at
    # all), e.g. an old message's button, and the state can be set from the draft at the
    # start of each update (build_state_loader).
    any_step: Handlers = [
        choose_kind_button,
        next_button,
        *topic_buttons,
        *place_buttons,
        identity_button,
        confirm_button,
        held_button,
    ]
    more: Handlers = [
        MessageHandler(CONTENT, add_content),
        MessageHandler(UNSUPPORTED, unsupported_content),
    ]
    entry_points: Handlers = [
        start_commands,
        start_buttons,
        *any_step,
        MessageHandler(CONTENT, start_from_content),
    ]
    fallbacks: Handlers = [
        CommandHandler("cancel", cancel, filters=PRIVATE),
        PrivateButton(cancel, pattern=r"^draft:cancel$"),
        start_commands,
        start_buttons,
        *any_step,
    ]
    states: dict[object, Handlers] = {
        KIND: [choose_kind_button, *more],
        COMPOSE: [next_button, *more],
        TOPIC: [*topic_buttons, *more],
        PLACE: [*place_buttons, *more],
        IDENTITY: [identity_button, *more],
        CONFIRM: [confirm_button, *more],
    }
    with warnings.catch_warnings():
        # Presses are tracked per user and chat (per_message=False) on purpose: a step's
        # buttons work from any state, the draft is the truth. python-telegram-bot warns
        # about it at every start, a traceback-like line in the operator's log.
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        return ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=fallbacks,
            name=CONVERSATION_NAME,
            allow_reentry=False,
        )
