"""Entering: an item the office records on a resident's behalf (#20), heard at a meeting
(座谈会), on the phone (电话), found in a suggestion box (意见箱), on a visit (走访) or in a
letter (来信).

:func:`enter` is the one action, whoever calls it (``/enter`` in a chat, ``jindianzi
import`` for a spreadsheet: :mod:`bot.import_cli`; the web desk will call it too). It
stores the item with its source, kind, place, the campaign phase it arrives in and the
tagger's topic; named (a name, optionally a phone number: stored only for named items) or
anonymous (nothing about anyone). It then follows the same workflow as an item sent
through the bot: announced to the office, reviewed, handled, published. What would be said
to its sender goes to the clerk's chat as a 回访 (call-back) task
(:func:`bot.core.cards.to_sender`): call them back, tell them, and record their
satisfaction (:func:`bot.core.answering.record_callback`).

:func:`parse_entry` reads the fields as a clerk types them, in any of the three languages::

    电话 问题 东村 张三 13800001111      (source, kind, [place], 匿名 | name [phone])
    村口的路灯坏了一个星期               (the text: the following lines)
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from bot.config import LANGUAGES, Settings
from bot.core import cards
from bot.core.access import Action, Actor, permitted
from bot.core.acting import Key
from bot.core.env import Env
from bot.core.phases import phase_id_at
from bot.core.records import NewSubmission, Outgoing, Submission, TopicEvidence
from bot.core.results import Refusal, Result, refused
from bot.core.workflow import Kind, format_reference
from bot.i18n import t

log = logging.getLogger(__name__)

# Where an item the office enters came from ("chat": through the bot, never entered).
SOURCES = ("meeting", "phone", "box", "visit", "letter", "other")
CHAT = "chat"
ANONYMOUS_WORDS = ("anonymous", "anon")
PHONE = re.compile(r"\+?[0-9][0-9 -]{4,22}[0-9]")
MAX_CONTACT_NAME = 64
NO_PLACE = "-"
PLACE_WORDS = 3  # the most words of a place's name tried


@dataclass(frozen=True)
class Entry:
    """An item as the clerk gives it: ``contact_name`` None for an anonymous one."""

    source: str
    kind: Kind
    text: str
    place_id: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


def _fold(word: str) -> str:
    return "".join(unicodedata.normalize("NFKC", word).casefold().split())


def _label_match(word: str, keys: dict[str, tuple[str, ...]]) -> str | None:
    """The id (a key of ``keys``) whose id or label (catalogue keys, any language) is
    ``word``."""
    folded = _fold(word)
    for value, labels in keys.items():
        names = {value, *(t(lang, key) for key in labels for lang in LANGUAGES)}
        if folded in {_fold(n) for n in names}:
            return value
    return None


def source_of(word: str) -> str | None:
    """``电话`` / ``電話`` / ``phone`` → ``phone``."""
    return _label_match(word, {s: (f"source.{s}",) for s in SOURCES})


def kind_of(word: str) -> Kind | None:
    """``问题`` / ``问题反映`` / ``problem`` → Kind.PROBLEM."""
    found = _label_match(word, {k.value: (f"kind.{k}", f"enter.kind.{k}") for k in Kind})
    return Kind(found) if found else None


def is_anonymous(word: str) -> bool:
    return _fold(word) in {_fold(t(lang, "summary.anonymous")) for lang in LANGUAGES} | set(
        ANONYMOUS_WORDS
    )


def parse_entry(settings: Settings, text: str) -> Entry | str:
    """The fields and text of ``/enter`` (everything after the command), or the catalogue
    key of what is wrong with them."""
    head, _, body = text.strip().partition("\n")
    words = head.split()
    if len(words) < 3:  # source, kind, identity at least
        return "enter.usage"
    source, kind = source_of(words[0]), kind_of(words[1])
    if source is None:
        return "enter.bad_source"
    if kind is None:
        return "enter.bad_kind"
    rest = words[2:]
    place_id: str | None = None
    if rest[0] == NO_PLACE:
        rest = rest[1:]
    elif settings.places and not is_anonymous(rest[0]):
        # A place's name may be several words ("East Village"): the longest that is one.
        for n in range(min(PLACE_WORDS, len(rest)), 0, -1):
            place = settings.place_index.find(" ".join(rest[:n]))
            if place is not None:
                place_id, rest = place.id, rest[n:]
                break
    if not rest:
        return "enter.usage"
    name: str | None = None
    phone: str | None = None
    if not is_anonymous(rest[0]):
        phone_words = [w for w in rest[1:] if PHONE.fullmatch(w)]
        name_words = [w for w in rest if w not in phone_words]
        name = " ".join(name_words)
        phone = phone_words[0] if phone_words else None
        if len(phone_words) > 1 or not name or len(name) > MAX_CONTACT_NAME:
            return "enter.bad_contact"
    elif len(rest) > 1:
        return "enter.anonymous_contact"  # nothing about an anonymous person is stored
    body = body.strip()
    if not body:
        return "enter.no_text"
    return Entry(source, kind, body, place_id, name, phone)


async def enter(
    env: Env,
    actor: Actor,
    entry: Entry,
    *,
    chat_id: int | None,
    topic_id: str | None = None,
    evidence: tuple[TopicEvidence, ...] = (),
    key: Key,
) -> Result:
    """Store the entered item and queue its announcement. ``chat_id`` is where the clerk
    works: a named item's 回访 tasks go there (None: nowhere; the import uses the office
    chat). ``topic_id`` is the tagger's proposal (the
    fallback topic without one). A replay of the same key stores nothing again."""
    lang = actor.language
    if not permitted(actor, Action.ENTER):
        return refused(Refusal.FORBIDDEN, t(lang, "enter.forbidden"))
    settings = env.settings
    if entry.source not in SOURCES:
        return refused(Refusal.INVALID, t(lang, "enter.bad_source"))
    limit = settings.limits.max_text_chars
    if len(entry.text) > limit:
        return refused(Refusal.INVALID, t(lang, "enter.too_long", limit=limit))
    if entry.place_id is not None and settings.place_index.get(entry.place_id) is None:
        return refused(Refusal.INVALID, t(lang, "enter.bad_place"))
    if entry.contact_name is None and entry.contact_phone is not None:
        return refused(Refusal.INVALID, t(lang, "enter.anonymous_contact"))
    if key is not None and (stored := await env.repository.submission_from_update(key)):
        item = await env.repository.get_submission(stored)
        if item is not None:
            return Result(ok=True, message=_done(actor, item), item=item, replayed=True)
    topic = settings.topic(topic_id or "") or settings.fallback_topic
    named = entry.contact_name is not None
    new = NewSubmission(
        kind=entry.kind,
        text=entry.text,
        topic_id=topic.id,
        suggested_topic_id=topic.id,
        evidence=evidence,
        language=lang,
        reply_route=env.secrets.encrypt_int(chat_id) if named and chat_id else None,
        source_update_id=key,
        place_id=entry.place_id,
        phase_id=phase_id_at(settings, env.now()),
        source=entry.source,
        contact_name=entry.contact_name,
        contact_phone=entry.contact_phone if named else None,
    )
    announced: list[Outgoing] = []

    def announce(item: Submission) -> list[Outgoing]:
        announced.extend(cards.announcement(settings, item, env.secrets))
        return announced

    item = await env.repository.enter_submission(
        new, actor=actor.label(Action.ENTER), announce=announce
    )
    log.info(
        "entered ref=%s source=%s anonymous=%s",
        format_reference(item.id),
        item.source,
        item.anonymous,
    )
    return Result(ok=True, message=_done(actor, item), item=item, notices=tuple(announced))


def _done(actor: Actor, item: Submission) -> str:
    lang = actor.language
    key = "enter.done_anonymous" if item.anonymous else "enter.done"
    return t(lang, key, ref=format_reference(item.id), source=t(lang, f"source.{item.source}"))
