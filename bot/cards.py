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
    adm:next:<n>            the next item awaiting review after n
    rate:<n>:<rating>       (residents) rate the response to their item n
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.anonymity import Secrets
from bot.config import Language, Settings
from bot.i18n import resolve_language, t, tn
from bot.presenters import kind_label, local_date, local_time, status_label, topic_label
from bot.records import (
    DONE_STATUSES,
    RATINGS,
    Event,
    HistoryEntry,
    Outgoing,
    Submission,
    SubmissionSummary,
)
from bot.text import escape, shorten
from bot.workflow import Status, allowed_targets, format_reference

CARD_TEXT_CHARS = 1500  # with the other lines, a card stays well within 4096
RESPONSE_CHARS = 800
EVENT_CHARS = 200
MAX_EVENTS = 12
Buttons = tuple[tuple[tuple[str, str], ...], ...]

# The card's status actions, in display order: (target, label key, callback action).
STATUS_ACTIONS = (
    (Status.ACCEPTED, "admin.action.accept", "st:accepted"),
    (Status.REJECTED, "admin.action.reject", "rej"),
    (Status.DUPLICATE, "admin.action.duplicate", "dup"),
    (Status.FORWARDED, "admin.action.forward", "fwd"),
    (Status.IN_PROGRESS, "admin.action.in_progress", "st:in_progress"),
    (Status.ANSWERED, "admin.action.answer", "ans"),
    (Status.PUBLISHED, "admin.action.publish", "pub"),
    (Status.CLOSED, "admin.action.closed", "st:closed"),
)
# Status changes an admin can make with one tap; the others need input (a reason, a
# response, the original's number) or have effects (forwarding, publication).
ONE_TAP = (Status.ACCEPTED, Status.IN_PROGRESS, Status.CLOSED)


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
) -> str:
    """The item in full for the office. Anonymous senders appear only as 匿名."""
    tz = settings.campaign.tz
    sender = (
        t(lang, "summary.anonymous")
        if item.sender is None
        else escape(
            item.sender.name + (f" (@{item.sender.username})" if item.sender.username else "")
        )
    )
    lines = [heading] if heading else []
    lines += [
        t(
            lang,
            "admin.card.title",
            kind=kind_label(lang, item.kind),
            ref=format_reference(item.id),
            status=status_label(lang, item.status),
        ),
        t(lang, "field.topic", value=escape(topic_label(lang, settings, item.topic_id))),
    ]
    keywords = [
        k
        for e in item.evidence
        if e.topic_id == item.topic_id and e.source == "rule"
        for k in e.keywords
    ]
    model = next((e for e in item.evidence[:1] if e.source == "model"), None)
    if model is not None:
        lines.append(
            t(
                lang,
                "field.model",
                topic=escape(topic_label(lang, settings, model.topic_id)),
                percent=round(model.score * 100),
                ngrams="、".join(f"“{escape(g)}”" for g in model.keywords) or "—",
            )
        )
    if keywords:
        lines.append(t(lang, "field.keywords", value="、".join(escape(k) for k in keywords)))
    lines += [
        t(lang, "field.sender", value=sender),
        t(lang, "field.date", value=local_time(item.created_at, tz)),
    ]
    if item.owner and item.deadline:
        lines.append(
            t(lang, "field.owner", owner=escape(item.owner), deadline=local_date(item.deadline, tz))
        )
    if now is not None and (days := item.overdue_days(now)):
        lines.append(tn(lang, "field.overdue", days, days=days))
    if item.duplicate_of:
        lines.append(t(lang, "field.duplicate_of", ref=format_reference(item.duplicate_of)))
    files = [a for a in item.attachments if a.type != "location"]
    if files:
        lines.append(t(lang, "field.attachments", value=str(len(files))))
    for place in (a for a in item.attachments if a.type == "location"):
        lines.append(
            t(lang, "field.location", lat=f"{place.latitude:.5f}", lon=f"{place.longitude:.5f}")
        )
    if similar:
        refs = " ".join(format_reference(s.id) for s in similar)
        lines.append(t(lang, "field.similar", value=refs))
    lines += ["", escape(shorten(item.text, CARD_TEXT_CHARS))]
    if item.response:
        lines += [
            "",
            t(lang, "field.response", value=escape(shorten(item.response, RESPONSE_CHARS))),
        ]
    if item.rating:
        lines.append(t(lang, "field.rating", value=t(lang, f"rating.{item.rating}")))
    if item.published_at:
        when = local_date(item.published_at, tz)
        link = post_link(settings.roles.channel_id, item.channel_message_id)
        value = f'<a href="{link}">{when}</a>' if link else when
        lines.append(t(lang, "field.published", value=value))
    if history or events:
        lines += ["", t(lang, "detail.history")]
        for entry in history:
            note = f" — {escape(shorten(entry.note, 200))}" if entry.note else ""
            lines.append(f"{local_date(entry.at, tz)} {status_label(lang, entry.to_status)}{note}")
        for event in list(events)[-MAX_EVENTS:]:
            lines.append(f"{local_date(event.at, tz)} {event_line(lang, settings, event)}")
    return "\n".join(lines)


def post_link(channel_id: int, message_id: int | None) -> str | None:
    """The t.me address of a channel post (``-100`` ids are private-link form)."""
    text = str(channel_id)
    if message_id is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text.removeprefix('-100')}/{message_id}"


def event_line(lang: Language, settings: Settings, event: Event) -> str:
    body = shorten(event.body, EVENT_CHARS)
    if event.kind == "topic":
        old, _, new = body.partition("→")
        value = f"{topic_label(lang, settings, old)} → {topic_label(lang, settings, new)}"
        return t(lang, "event.topic", value=escape(value))
    if event.kind == "assign":
        owner, _, deadline = event.body.partition("|")
        when = local_date(datetime.fromisoformat(deadline), settings.campaign.tz)
        return t(lang, "event.assign", value=escape(f"{owner} → {when}"))
    if event.kind == "rating":
        return t(lang, "event.rating", value=t(lang, f"rating.{body}"))
    if event.kind == "instruction":
        who, _, text = body.partition("|")
        return t(lang, "event.instruction", who=escape(who), value=escape(text))
    if event.kind in ("question", "answer", "duplicate"):
        return t(lang, f"event.{event.kind}", value=escape(body))
    return escape(body)


def card_buttons(
    lang: Language, settings: Settings, item: Submission, *, review: bool = False
) -> Buttons:
    """Exactly the actions the item's status allows (and "next" when reviewing)."""
    allowed = allowed_targets(item.status)
    n = item.id
    configured = {
        Status.FORWARDED: bool(settings.roles.leading_group_chat_id),
        Status.PUBLISHED: bool(settings.roles.channel_id),
    }
    first = [
        (t(lang, key), f"adm:{action}:{n}")
        for status, key, action in STATUS_ACTIONS
        if status in allowed and configured.get(status, True)
    ]
    second: list[tuple[str, str]] = []
    if item.status not in DONE_STATUSES:
        if item.status is not Status.NEW:
            second.append((t(lang, "admin.action.assign"), f"adm:asg:{n}"))
        second.append((t(lang, "admin.action.ask"), f"adm:ask:{n}"))
        second.append((t(lang, "admin.action.topic"), f"adm:tp:{n}"))
    if review:
        second.append((t(lang, "admin.action.next"), f"adm:next:{n}"))
    rows = [first[i : i + 3] for i in range(0, len(first), 3)] + [second[:2], second[2:]]
    return tuple(tuple(r) for r in rows if r)


def topic_buttons(lang: Language, settings: Settings, item: Submission) -> Buttons:
    choices = [
        (("• " if tp.id == item.topic_id else "") + tp.name(lang), f"adm:tps:{item.id}:{tp.id}")
        for tp in settings.topics
    ]
    rows = [tuple(choices[i : i + 2]) for i in range(0, len(choices), 2)]
    rows.append(((t(lang, "admin.action.back"), f"adm:card:{item.id}"),))
    return tuple(rows)


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
    return [Outgoing(chat_enc=route, text=text, buttons=buttons, purpose=purpose)]


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
        notices.append(Outgoing(chat_enc=route, text=text))
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


def rating_buttons(lang: Language, item_id: int) -> Buttons:
    return (tuple((t(lang, f"rating.{r}"), f"rate:{item_id}:{r}") for r in RATINGS),)


def response_notices(item: Submission, secrets: Secrets, followers: Followers) -> list[Outgoing]:
    """The official response, with the rating buttons for the sender."""
    response = escape(item.response or "")
    lang = resolve_language(item.language)
    return [
        *to_sender(
            item,
            secrets,
            "notify.response",
            buttons=rating_buttons(lang, item.id),
            response=response,
        ),
        *_to_followers(item, secrets, followers, "notify.followed_response", response=response),
    ]


def group_card(settings: Settings, item: Submission, secrets: Secrets) -> list[Outgoing]:
    """The item copied (never forwarded) to the leading group; replies are instructions."""
    chat = settings.roles.leading_group_chat_id
    if not chat:
        return []
    lang = resolve_language(settings.campaign.language)
    text = item_card(lang, settings, item, heading=t(lang, "group.card.heading"))
    return [Outgoing(chat_enc=secrets.encrypt_int(chat), text=text, purpose="group_card")]


def channel_post(settings: Settings, item: Submission, secrets: Secrets) -> list[Outgoing]:
    """The public post: the item and its response; a named sender is thanked by name."""
    chat = settings.roles.channel_id
    if not chat:
        return []
    lang = resolve_language(settings.campaign.language)
    kind = kind_label(lang, item.kind)
    text = t(
        lang,
        "channel.post",
        ref=format_reference(item.id),
        kind=kind,
        topic=escape(topic_label(lang, settings, item.topic_id)),
        text=escape(shorten(item.text, CARD_TEXT_CHARS)),
        response=escape(shorten(item.response or "", RESPONSE_CHARS * 2)),
    )
    if item.sender is not None:
        text += "\n\n" + t(lang, "channel.thanks", name=escape(item.sender.name), kind=kind)
    return [Outgoing(chat_enc=secrets.encrypt_int(chat), text=text, purpose="channel_post")]


def office_notice(settings: Settings, secrets: Secrets, key: str, **values: str) -> list[Outgoing]:
    """A line for the office chat, when one is configured."""
    chat = settings.roles.office_chat_id
    if not chat:
        return []
    lang = resolve_language(settings.campaign.language)
    return [Outgoing(chat_enc=secrets.encrypt_int(chat), text=t(lang, key, **values))]


def announcement(settings: Settings, item: Submission, secrets: Secrets) -> list[Outgoing]:
    """The new item's card for the office chat, when configured."""
    chat = settings.roles.office_chat_id
    if not chat or not settings.office.announce_new:
        return []
    lang = resolve_language(settings.campaign.language)
    card = item_card(lang, settings, item, heading=t(lang, "admin.announce"))
    return [
        Outgoing(
            chat_enc=secrets.encrypt_int(chat),
            text=card,
            buttons=card_buttons(lang, settings, item),
        )
    ]


def queue_lines(
    lang: Language,
    settings: Settings,
    items: Sequence[SubmissionSummary],
    *,
    now: datetime | None = None,
) -> list[str]:
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
        if now is not None and (days := s.overdue_days(now)):
            line += " " + tn(lang, "field.overdue", days, days=days)
        lines.append(line)
    return lines
