"""What the campaign office sees: item cards, the actions a status allows, and the
notifications owed to senders. Pure functions over records; no Telegram here.

Callback data of card buttons (all well under 64 bytes, and carrying no authority: every
press is checked against the configured administrators):

    adm:st:<status>:<n>     move item n to a status that needs no input
    adm:rej|dup|ask|asg|ans:<n>
                            ask the admin for a reason / the original's number / a
                            question for the sender / owner and deadline / the response
                            (the admin's reply to that question does the rest)
    adm:fwd:<n>             copy the item to the leading group
    adm:pub:<n>             publish item and response to the channel
    adm:tp:<n>              list topics;  adm:tps:<n>:<topic id>  set one
    adm:card:<n>            show the card's actions again
    adm:dsp:<n>             派单: list the units;  adm:dsu:<n>:<unit id>  ask deadline
                            and instruction for that unit
    adm:tbk|exy|exn|dok:<n> take a returned item back / approve or refuse an extension /
                            approve a unit's 办结
    adm:dre|rop:<n>         ask the note returning a 办结 / the reason to reopen
    adm:urg:<n>             催办: remind the unit now (once an hour per item)
    adm:next:<n>            the next item awaiting review after n
    rate:<n>:<round>:<rating>[:<reason>]
                            (residents) rate the answer of round <round> to their item n
                            (不满意 first shows the reasons; rate:<n>:<rating>, sent before
                            rounds existed: round 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from bot.anonymity import Secrets
from bot.config import Language, Settings
from bot.core.access import TARGETS, Action, office_actions
from bot.core.masking import masked
from bot.core.presenters import (
    excerpt,
    history_label,
    kind_label,
    local_date,
    local_time,
    place_label,
    place_lines,
    status_label,
    topic_label,
)
from bot.core.records import (
    DONE_STATUSES,
    RATINGS,
    Attachment,
    CardSpec,
    Event,
    HistoryEntry,
    Outgoing,
    Recipient,
    Submission,
    SubmissionSummary,
)
from bot.core.workflow import Status, format_reference
from bot.i18n import resolve_language, t, tn
from bot.text import FittedLines, Slot, escape, fit_html, message_parts, shorten, split_message

# A card is one message (its buttons act on it, a reply to it is an instruction), so what
# does not fit is shortened (bot.text.fit_html): the item's text keeps the largest share,
# then the response, then each note of the record (each at most EVENT_CHARS / NOTE_CHARS).
TEXT_WEIGHT = 8
RESPONSE_WEIGHT = 4
EVENT_CHARS = 200
NOTE_CHARS = 200
MAX_EVENTS = 12
Buttons = tuple[tuple[tuple[str, str], ...], ...]

# Each office action's button: its label key and its callback action (``adm:<it>:<n>``).
BUTTONS: dict[Action, tuple[str, str]] = {
    Action.ACCEPT: ("admin.action.accept", "st:accepted"),
    Action.REJECT: ("admin.action.reject", "rej"),
    Action.DUPLICATE: ("admin.action.duplicate", "dup"),
    Action.FORWARD: ("admin.action.forward", "fwd"),
    Action.START: ("admin.action.in_progress", "st:in_progress"),
    Action.RESPOND: ("admin.action.answer", "ans"),
    Action.PUBLISH: ("admin.action.publish", "pub"),
    Action.CLOSE: ("admin.action.closed", "st:closed"),
    Action.ASSIGN: ("admin.action.assign", "asg"),
    Action.ASK: ("admin.action.ask", "ask"),
    Action.SET_TOPIC: ("admin.action.topic", "tp"),
    # The units' loop (#18).
    Action.DISPATCH: ("admin.action.dispatch", "dsp"),
    Action.TAKE_BACK: ("admin.action.take_back", "tbk"),
    Action.APPROVE_EXTENSION: ("admin.action.approve_extension", "exy"),
    Action.REFUSE_EXTENSION: ("admin.action.refuse_extension", "exn"),
    Action.APPROVE_DONE: ("admin.action.approve_done", "dok"),
    Action.RETURN_DONE: ("admin.action.return_done", "dre"),
    Action.REOPEN: ("admin.action.reopen", "rop"),
    Action.URGE: ("admin.action.urge", "urg"),
}
# The callback action of each button, back to its action.
CALLBACK_ACTIONS = {callback: action for action, (_, callback) in BUTTONS.items()}


class Card(NamedTuple):
    """A card's HTML (always one message) and whether a text in it was shortened to fit,
    in which case :func:`full_text` gives the whole."""

    text: str
    shortened: bool


def item_card(
    lang: Language,
    settings: Settings,
    item: Submission,
    *,
    history: Sequence[HistoryEntry] = (),
    events: Sequence[Event] = (),
    similar: Sequence[SubmissionSummary] = (),
    heading: str | None = None,
    now: datetime | None = None,
) -> Card:
    """The item in full for the office, within one message whatever it holds: the item's
    text, the response and the notes of its history are shortened as far as needed (the
    text last). Anonymous senders appear only as 匿名."""
    tz = settings.campaign.tz
    sender = escape(sender_label(lang, item, phone=True))
    card = FittedLines()
    if heading:
        card.add(heading)
    card.add(
        t(
            lang,
            "admin.card.title",
            kind=kind_label(lang, item.kind),
            ref=format_reference(item.id),
            status=status_label(lang, item.status),
        ),
        t(lang, "field.topic", value=escape(topic_label(lang, settings, item.topic_id))),
        *place_lines(lang, settings, item.place_id, item.phase_id),
    )
    keywords = [
        k
        for e in item.evidence
        if e.topic_id == item.topic_id and e.source == "rule"
        for k in e.keywords
    ]
    model = next((e for e in item.evidence[:1] if e.source == "model"), None)
    if model is not None:
        card.add(
            t(
                lang,
                "field.model",
                topic=escape(topic_label(lang, settings, model.topic_id)),
                percent=round(model.score * 100),
                ngrams="、".join(f"“{escape(g)}”" for g in model.keywords) or "—",
            )
        )
    if keywords:
        card.add_text("、".join(keywords), lambda v: t(lang, "field.keywords", value=v))
    source = t(lang, "field.source", value=t(lang, f"source.{item.source}"))
    support = tn(lang, "field.support", item.support, n=item.support)
    card.add(
        t(lang, "field.sender", value=sender),
        *([source] if item.entered else []),
        *([support] if item.support else []),
        t(lang, "field.date", value=local_time(item.created_at, tz)),
    )
    if item.unit_id is not None:
        unit = settings.unit(item.unit_id)
        name = unit.name(lang) if unit is not None else item.unit_id
        due = local_date(item.deadline, tz) if item.deadline else "—"
        card.add(t(lang, "field.unit", unit=escape(name), deadline=due))
    elif item.owner and item.deadline:
        # Assigned as free text before units existed (#18): shown as such.
        card.add(
            t(lang, "field.owner", owner=escape(item.owner), deadline=local_date(item.deadline, tz))
        )
    if now is not None and (days := item.overdue_days(now)):
        card.add(tn(lang, "field.overdue", days, days=days))
    if now is not None and item.unsigned(now):
        card.add(t(lang, "field.unsigned"))
    claim = item.claim(now) if now is not None and item.status not in DONE_STATUSES else None
    if claim is not None and item.claimed_until is not None:
        until = local_time(item.claimed_until, tz)[-5:]
        card.add(t(lang, "field.claimed", name=escape(claim[1]), until=until))
    if item.requested_deadline is not None:
        card.add(t(lang, "field.extension_pending", date=local_date(item.requested_deadline, tz)))
    if item.reopen_count:
        card.add(t(lang, "field.reopened", count=str(item.reopen_count)))
    if item.duplicate_of:
        card.add(t(lang, "field.duplicate_of", ref=format_reference(item.duplicate_of)))
    files = [a for a in item.attachments if a.type != "location"]
    if files:
        card.add(t(lang, "field.attachments", value=str(len(files))))
    for place in (a for a in item.attachments if a.type == "location"):
        card.add(
            t(lang, "field.location", lat=f"{place.latitude:.5f}", lon=f"{place.longitude:.5f}")
        )
    if similar:
        card.add(t(lang, "field.similar", value=""))
        for earlier in similar:
            card.add(f"　{format_reference(earlier.id)} {excerpt(earlier)}")
    card.add("")
    card.add_text(item.text, weight=TEXT_WEIGHT)
    if item.unit_answer:
        card.add("")
        card.add_text(
            item.unit_answer,
            lambda v: t(lang, "field.unit_answer", value=v),
            weight=RESPONSE_WEIGHT,
        )
    if item.response:
        card.add("")
        card.add_text(
            item.response, lambda v: t(lang, "field.response", value=v), weight=RESPONSE_WEIGHT
        )
    if item.rating:
        card.add(t(lang, "field.rating", value=t(lang, f"rating.{item.rating}")))
    if item.published_at:
        when = local_date(item.published_at, tz)
        link = post_link(settings.roles.channel_id, item.channel_message_id)
        value = f'<a href="{link}">{when}</a>' if link else when
        card.add(t(lang, "field.published", value=value))
    if history or events:
        # One record in time order, with times: status changes and events interleaved.
        record: list[tuple[datetime, int, HistoryEntry | Event]] = [
            *((entry.at, 0, entry) for entry in history),
            *((event.at, 1, event) for event in list(events)[-MAX_EVENTS:]),
        ]
        card.add("", t(lang, "detail.history"))
        for _, _, step in sorted(record, key=lambda r: (r[0], r[1])):
            if isinstance(step, Event):
                event_line(card, lang, settings, step)
                continue
            label = t(lang, f"step.{step.step}") if step.step else history_label(lang, step)
            line = f"{local_time(step.at, tz)} {escape(label)}"
            if step.note:
                card.add_text(shorten(step.note, NOTE_CHARS), f"{line} — ".__add__)
            else:
                card.add(line)
    text, shortened = card.fit()
    return Card(text, shortened)


def full_text(lang: Language, item: Submission) -> list[str]:
    """The item's whole text (and response), as the messages it takes: what follows a card
    in which they were shortened."""
    lines = [t(lang, "card.full_text", ref=format_reference(item.id)), "", escape(item.text)]
    if item.response:
        lines += ["", t(lang, "field.response", value=escape(item.response))]
    return split_message("\n".join(lines))


def full_text_file(item: Submission) -> bytes:
    """The same as a plain UTF-8 text file, for a text too long for a few messages."""
    parts = [format_reference(item.id), item.text]
    if item.response:
        parts.append(item.response)
    return "\n\n".join(parts).encode("utf-8")


def post_link(channel_id: int, message_id: int | None) -> str | None:
    """The t.me address of a channel post (``-100`` ids are private-link form)."""
    text = str(channel_id)
    if message_id is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text.removeprefix('-100')}/{message_id}"


def event_parts(
    lang: Language, settings: Settings, event: Event
) -> tuple[str | None, Callable[[str], str]]:
    """An event of the item's record as (user text or None, template): the template takes
    that text HTML-escaped (and perhaps shortened) and gives the line's HTML."""
    body = event.body
    if event.kind == "topic":
        old, _, new = body.partition("→")
        value = f"{topic_label(lang, settings, old)} → {topic_label(lang, settings, new)}"
        fixed = t(lang, "event.topic", value=escape(value))
    elif event.kind == "assign":
        owner, _, deadline = body.partition("|")
        when = local_date(datetime.fromisoformat(deadline), settings.campaign.tz)
        fixed = t(lang, "event.assign", value=escape(f"{owner} → {when}"))
    elif event.kind == "rating":
        fixed = t(lang, "event.rating", value=t(lang, f"rating.{body}"))
    elif event.kind == "instruction":
        who, _, text = body.partition("|")
        return text, lambda v: t(lang, "event.instruction", who=escape(who), value=v)
    elif event.kind in ("question", "answer", "duplicate", "public_text"):
        return body, lambda v: t(lang, f"event.{event.kind}", value=v)
    else:
        return body, str
    return None, lambda _: fixed


def event_text(lang: Language, settings: Settings, event: Event) -> str:
    """An event of the item's record in full, as HTML (user text escaped)."""
    text, template = event_parts(lang, settings, event)
    return template(escape(text or ""))


def event_line(card: FittedLines, lang: Language, settings: Settings, event: Event) -> None:
    """One event of the item's record, dated, as a line of ``card`` (what was written in it
    may be shortened to fit)."""
    day = local_time(event.at, settings.campaign.tz)
    text, template = event_parts(lang, settings, event)
    if text is None:
        card.add(f"{day} " + template(""))
    else:
        card.add_text(shorten(text, EVENT_CHARS), lambda v: f"{day} " + template(v))


def card_buttons(
    lang: Language,
    settings: Settings,
    item: Submission,
    *,
    review: bool = False,
    now: datetime | None = None,
) -> Buttons:
    """Exactly the office's actions the item's status allows (:func:`bot.core.access.
    office_actions`: status changes on the first rows, then the others), 认领 (or 放弃认领
    while a claim holds at ``now``) on an open item, and "next" when reviewing."""
    n = item.id
    actions = office_actions(settings, item)
    first = [(t(lang, BUTTONS[a][0]), f"adm:{BUTTONS[a][1]}:{n}") for a in actions if a in TARGETS]
    second = [
        (t(lang, BUTTONS[a][0]), f"adm:{BUTTONS[a][1]}:{n}") for a in actions if a not in TARGETS
    ]
    if item.status not in DONE_STATUSES:
        claimed = now is not None and item.claim(now) is not None
        second.append(
            (t(lang, "admin.action.release"), f"adm:rls:{n}")
            if claimed
            else (t(lang, "admin.action.claim"), f"adm:clm:{n}")
        )
    if review:
        second.append((t(lang, "admin.action.next"), f"adm:next:{n}"))
    rows = [first[i : i + 3] for i in range(0, len(first), 3)] + [second[:2], second[2:]]
    return tuple(tuple(r) for r in rows if r)


def unit_buttons(lang: Language, settings: Settings, item: Submission) -> Buttons:
    """The units to dispatch an item to (the current one marked), and "back"."""
    choices = [
        (("• " if u.id == item.unit_id else "") + u.name(lang), f"adm:dsu:{item.id}:{u.id}")
        for u in settings.units
    ]
    rows = [tuple(choices[i : i + 2]) for i in range(0, len(choices), 2)]
    rows.append(((t(lang, "admin.action.back"), f"adm:card:{item.id}"),))
    return tuple(rows)


def topic_buttons(lang: Language, settings: Settings, item: Submission) -> Buttons:
    choices = [
        (("• " if tp.id == item.topic_id else "") + tp.name(lang), f"adm:tps:{item.id}:{tp.id}")
        for tp in settings.topics
    ]
    rows = [tuple(choices[i : i + 2]) for i in range(0, len(choices), 2)]
    rows.append(((t(lang, "admin.action.back"), f"adm:card:{item.id}"),))
    return tuple(rows)


def sender_label(lang: Language, item: Submission, *, phone: bool = False) -> str:
    """Who sent it, as the office sees it (plain text): 匿名, a named sender's name (and
    username), or the name an entered item was given (and its phone number, for the
    office's card: ``phone``)."""
    if item.sender is not None:
        name = item.sender.name
        return f"{name} (@{item.sender.username})" if item.sender.username else name
    if item.contact_name is not None:
        number = f" ({item.contact_phone})" if phone and item.contact_phone else ""
        return item.contact_name + number
    return t(lang, "summary.anonymous")


def sender_route(item: Submission, secrets: Secrets) -> str | None:
    """The encrypted chat of the item's sender, as a fresh token (for an anonymous item the
    stored route re-encrypted, so the route's token is never copied into another row); None
    when there is none (an anonymous item unlinked from its sender)."""
    if item.sender is not None:
        return secrets.encrypt_int(item.sender.chat_id)
    return secrets.reencrypt(item.reply_route)


Followers = Sequence[tuple[str, str]]  # (encrypted chat, language) of duplicates' senders


def to_sender(
    item: Submission,
    secrets: Secrets,
    key: str,
    *,
    buttons: Buttons = (),
    purpose: str | None = None,
    **values: str,
) -> list[Outgoing]:
    route = sender_route(item, secrets)
    if route is None:
        return []
    lang = resolve_language(item.language)
    text = t(lang, key, kind=kind_label(lang, item.kind), ref=format_reference(item.id), **values)
    if item.entered:  # nobody on Telegram: the clerk's chat gets it as a 回访 task
        task = callback_task(lang, item, text)
        return parts_to(route, task, Recipient.OFFICE, buttons=_callback(buttons))
    return parts_to(route, text, Recipient.SENDER, buttons=buttons, purpose=purpose)


def callback_task(lang: Language, item: Submission, text: str) -> str:
    """What the sender of an entered item would have been told, as a task for the clerk:
    whom to call (name and phone) and what to tell them."""
    contact = escape(sender_label(lang, item, phone=True))
    head = t(
        lang,
        "callback.task",
        ref=format_reference(item.id),
        source=t(lang, f"source.{item.source}"),
        contact=contact,
    )
    return f"{head}\n\n{text}"


def _callback(buttons: Buttons) -> Buttons:
    """The rating buttons of a response become the clerk's: ``cbr:`` records what the
    person said on the phone (bot.core.answering.record_callback)."""
    return tuple(
        tuple((label, "cbr:" + data.removeprefix("rate:")) for label, data in row)
        for row in buttons
        if all(data.startswith("rate:") for _, data in row)
    )


def parts_to(
    chat_enc: str,
    text: str,
    recipient: Recipient,
    *,
    buttons: Buttons = (),
    purpose: str | None = None,
) -> list[Outgoing]:
    """``text`` for one chat as the messages it takes (a long response, question or answer
    may need two); the buttons and the purpose go with the last, the one a reply answers."""
    parts = message_parts(text)
    last = len(parts) - 1
    return [
        Outgoing(
            chat_enc=chat_enc,
            text=part,
            buttons=buttons if i == last else (),
            purpose=purpose if i == last else None,
            recipient=recipient,
        )
        for i, part in enumerate(parts)
    ]


ALBUM_TYPES = ("photo", "video")  # what Telegram lets a media group mix
ALBUM_MAX = 10  # Telegram: a media group holds 2 to 10 of them


def file_messages(
    chat_enc: str,
    caption: str,
    files: Sequence[Attachment],
    recipient: Recipient,
    *,
    purpose: str | None = None,
    after: int | None = None,
) -> list[Outgoing]:
    """An item's files for one chat: its photos and videos as media groups of up to ten
    (one alone goes as itself), each voice note, document, audio, video note and location
    as its own message, ``caption`` on each (a group's first). ``after``: held until that
    message of the batch (the card) is delivered."""
    visual = [a for a in files if a.type in ALBUM_TYPES]
    chunks = [tuple(visual[i : i + ALBUM_MAX]) for i in range(0, len(visual), ALBUM_MAX)]
    # (attachment, album) of each message: a group of one goes as itself.
    sends = [(c[0], ()) if len(c) == 1 else (None, c) for c in chunks]
    sends += [(a, ()) for a in files if a.type not in ALBUM_TYPES]
    return [
        Outgoing(
            chat_enc=chat_enc,
            text=caption,
            attachment=one,
            album=album,
            purpose=purpose,
            recipient=recipient,
            after=after,
        )
        for one, album in sends
    ]


def _to_followers(
    item: Submission, secrets: Secrets, followers: Followers, key: str, **values: str
) -> list[Outgoing]:
    notices = []
    for chat_enc, language in followers:
        route = secrets.reencrypt(chat_enc)
        if route is None:
            continue
        lang = resolve_language(language)
        text = t(
            lang, key, kind=kind_label(lang, item.kind), ref=format_reference(item.id), **values
        )
        notices += parts_to(route, text, Recipient.FOLLOWER)
    return notices


def status_notice(
    item: Submission,
    target: Status,
    secrets: Secrets,
    *,
    reason: str | None = None,
    followers: Followers = (),
) -> list[Outgoing]:
    """What the sender (and the senders of merged duplicates) are told when the item moves
    to ``target``, each in their own language."""
    if target not in (Status.ACCEPTED, Status.REJECTED, Status.IN_PROGRESS, Status.CLOSED):
        return []
    key = f"notify.{target.value}"
    why = escape(reason or "")
    return [
        *to_sender(item, secrets, key, reason=why),
        *_to_followers(item, secrets, followers, key, reason=why),
    ]


def duplicate_notices(item: Submission, original: Submission, secrets: Secrets) -> list[Outgoing]:
    """The duplicate's sender learns it was merged; the original's sender, that someone
    raised the same."""
    return [
        *to_sender(item, secrets, "notify.duplicate", original=format_reference(original.id)),
        *to_sender(original, secrets, "notify.merged"),
    ]


def question_notice(item: Submission, secrets: Secrets, question: str) -> list[Outgoing]:
    """A question from the office; the sender's reply to it is attached to the item."""
    return to_sender(
        item, secrets, "notify.question", purpose="question", question=escape(question)
    )


def rating_buttons(lang: Language, item_id: int, round_: int) -> Buttons:
    """The sender's rating of the answer that starts round ``round_`` (rated once)."""
    return (tuple((t(lang, f"rating.{r}"), f"rate:{item_id}:{round_}:{r}") for r in RATINGS),)


def response_notices(item: Submission, secrets: Secrets, followers: Followers) -> list[Outgoing]:
    """The official response, with the rating buttons for the sender (of the round the
    response starts: ``item.rating_round``, counted with it)."""
    response = escape(item.response or "")
    lang = resolve_language(item.language)
    return [
        *to_sender(
            item,
            secrets,
            "notify.response",
            buttons=rating_buttons(lang, item.id, item.rating_round),
            response=response,
        ),
        *_to_followers(item, secrets, followers, "notify.followed_response", response=response),
    ]


def group_card(settings: Settings, item: Submission, secrets: Secrets) -> list[Outgoing]:
    """The item copied (never forwarded) to the leading group; replies are instructions.
    When its text had to be shortened, the whole follows (the group cannot /show it)."""
    chat = settings.roles.leading_group_chat_id
    if not chat:
        return []
    lang = resolve_language(settings.campaign.language)
    route = secrets.encrypt_int(chat)
    card = item_card(lang, settings, item, heading=t(lang, "group.card.heading"))
    spec = CardSpec(kind="group", language=lang)  # bot.core.copies.CopyKind.GROUP
    copies = [
        Outgoing(
            chat_enc=route,
            text=card.text,
            purpose="group_card",
            card=spec,
            recipient=Recipient.GROUP,
        )
    ]
    if card.shortened:
        copies += [
            Outgoing(chat_enc=route, text=part, recipient=Recipient.GROUP)
            for part in full_text(lang, item)
        ]
    # The files follow the card (held until it is delivered). A reply to one of them is an
    # instruction on the item as a reply to the card is (the purpose is what finds it).
    caption = t(lang, "unit.file.caption", ref=format_reference(item.id))
    files = file_messages(
        route, caption, item.attachments, Recipient.GROUP, purpose="group_card", after=0
    )
    return copies + files


def public_text(item: Submission) -> tuple[str, int]:
    """What the channel post shows of the item's text: the clerk's public summary or the
    text, personal data masked unless the clerk chose otherwise (:mod:`bot.core.masking`);
    and how many pieces were masked."""
    text = item.public_text if item.public_text is not None else item.text
    if item.public_unmasked:
        return text, 0
    names = [n for n in (item.contact_name, item.sender.name if item.sender else None) if n]
    return masked(text, names)


def channel_post(settings: Settings, item: Submission, secrets: Secrets) -> list[Outgoing]:
    """The public post: the item (:func:`public_text`) and its response, one message (the
    response shortened last); a named sender is thanked by name."""
    chat = settings.roles.channel_id
    if not chat:
        return []
    lang = resolve_language(settings.campaign.language)
    kind = kind_label(lang, item.kind)
    thanks = (
        ""
        if item.anonymous
        else "\n\n" + t(lang, "channel.thanks", name=escape(sender_label(lang, item)), kind=kind)
    )

    def render(pieces: list[str]) -> str:
        text, response = pieces
        post = t(
            lang,
            "channel.post",
            ref=format_reference(item.id),
            kind=kind,
            topic=escape(topic_label(lang, settings, item.topic_id)),
            text=text,
            response=response,
        )
        return post + thanks

    slots = [Slot(public_text(item)[0], weight=1), Slot(item.response or "", weight=2)]
    text, _ = fit_html(render, slots)
    # 附议: a reader who has the same concern supports it (and follows it) with one tap; the
    # button counts those who did (the post is a copy of the item: edited as it changes).
    label = tn(lang, "support.button_count", item.support, n=item.support)
    support = ((label if item.support else t(lang, "support.button"), f"sup:{item.id}"),)
    return [
        Outgoing(
            chat_enc=secrets.encrypt_int(chat),
            text=text,
            purpose="channel_post",
            buttons=(support,),
            recipient=Recipient.CHANNEL,
            card=CardSpec(kind="channel", language=lang),
        )
    ]


def published_confirmation(
    lang: Language, settings: Settings, item: Submission, secrets: Secrets, chat_id: int
) -> list[Outgoing]:
    """For the chat where an admin pressed "publish", once the post went out: it is
    published, with the actions of a published item (closing it)."""
    published = item.model_copy(update={"status": Status.PUBLISHED})
    office = chat_id == settings.roles.office_chat_id
    return [
        Outgoing(
            chat_enc=secrets.encrypt_int(chat_id),
            text=t(lang, "admin.published", ref=format_reference(item.id)),
            buttons=card_buttons(lang, settings, published),
            recipient=Recipient.OFFICE if office else Recipient.ADMIN,
        )
    ]


def support_button(lang: Language, item_id: int) -> tuple[str, str]:
    """The 附议 (me too) button of an item: under its post in the channel, and under the
    acknowledgement of a very similar item (bot.core.supporting)."""
    return t(lang, "support.button"), f"sup:{item_id}"


def office_notice(settings: Settings, secrets: Secrets, key: str, **values: str) -> list[Outgoing]:
    """A line for the office chat, when one is configured. Queued about an item, it is
    coalesced with the item's notices of the same kind (``key``) within
    ``office.notice_window`` (storage.outbox): a flood of one kind (answers, ratings)
    comes as two messages at most, while news of another kind is not held back by it."""
    chat = settings.roles.office_chat_id
    if not chat:
        return []
    lang = resolve_language(settings.campaign.language)
    window = settings.office.notice_window
    return [
        n.model_copy(update={"merge": key, "merge_seconds": window})
        for n in parts_to(secrets.encrypt_int(chat), t(lang, key, **values), Recipient.OFFICE)
    ]


def announcement(settings: Settings, item: Submission, secrets: Secrets) -> list[Outgoing]:
    """The new item's card for the office chat, when configured (its whole text, when the
    card shortened it, is one /show away); recorded as a card copy when delivered."""
    chat = settings.roles.office_chat_id
    if not chat or not settings.office.announce_new:
        return []
    lang = resolve_language(settings.campaign.language)
    shown = item_card(lang, settings, item, heading=t(lang, "admin.announce"))
    return [
        Outgoing(
            chat_enc=secrets.encrypt_int(chat),
            text=shown.text,
            buttons=card_buttons(lang, settings, item),
            recipient=Recipient.OFFICE,
            card=CardSpec(kind="announce", language=lang),  # bot.core.copies.CopyKind.ANNOUNCE
        )
    ]


def queue_lines(
    lang: Language,
    settings: Settings,
    items: Sequence[SubmissionSummary],
    *,
    now: datetime | None = None,
) -> list[str]:
    """One entry per item for the office's lists: reference, kind, topic, date, the marks
    (overdue, unsigned), and the start of its text on a second line."""
    tz = settings.campaign.tz
    lines = []
    for s in items:
        line = t(
            lang,
            "admin.queue.line",
            ref=format_reference(s.id),
            kind=kind_label(lang, s.kind),
            topic=escape(topic_label(lang, settings, s.topic_id)),
            date=local_date(s.created_at, tz),
        )
        if s.place_id is not None:
            line += " · " + escape(place_label(lang, settings, s.place_id))
        if s.unit_id is not None and s.status not in DONE_STATUSES:
            unit = settings.unit(s.unit_id)
            line += " · " + escape(unit.name(lang) if unit is not None else s.unit_id)
        if s.support:
            line += " · " + t(lang, "admin.queue.support", n=s.support)
        lines.append(f"{line}{summary_flags(lang, s, now)}\n　{excerpt(s)}")
    return lines


def summary_flags(lang: Language, item: SubmissionSummary, now: datetime | None) -> str:
    """What needs attention, after a listed item's line (/queue, /tasks): overdue, not
    signed for in time, handled again (#18)."""
    flags = []
    if now is not None and (days := item.overdue_days(now)):
        flags.append(tn(lang, "field.overdue", days, days=days))
    if now is not None and item.unsigned(now):
        flags.append(t(lang, "field.unsigned"))
    if item.reopen_count:
        flags.append(t(lang, "field.reopened", count=str(item.reopen_count)))
    return "".join(" " + flag for flag in flags)


OPEN_PER_ROW = 5


def open_buttons(items: Sequence[SubmissionSummary]) -> Buttons:
    """A button per listed item that opens its card (``ado:<id>``), five to a row."""
    buttons = [(format_reference(s.id), f"ado:{s.id}") for s in items]
    return tuple(tuple(buttons[i : i + OPEN_PER_ROW]) for i in range(0, len(buttons), OPEN_PER_ROW))
