"""What the campaign office sees: item cards, the actions a status allows, and the
notifications owed to senders. Pure functions over records; no Telegram here.

Callback data of card buttons (all well under 64 bytes, and carrying no authority: every
press is checked against the configured administrators):

    adm:st:<status>:<n>     move item n to a status that needs no input
    adm:rej:<n>             ask for a rejection reason (the reply does the rest)
    adm:tp:<n>              list topics;  adm:tps:<n>:<topic id>  set one
    adm:card:<n>            show the card's actions again
    adm:next:<n>            the next item awaiting review after n
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.anonymity import Secrets
from bot.config import Language, Settings
from bot.i18n import resolve_language, t
from bot.presenters import kind_label, local_date, local_time, status_label, topic_label
from bot.records import Event, HistoryEntry, Outgoing, Submission, SubmissionSummary
from bot.text import escape, shorten
from bot.workflow import Status, allowed_targets, format_reference

CARD_TEXT_CHARS = 3000  # leaves room for the card's other lines within 4096
Buttons = tuple[tuple[tuple[str, str], ...], ...]

# Status changes an admin can make with one tap; the others need input (a reason, a
# response, the leading group) and have their own actions.
ONE_TAP = (Status.ACCEPTED, Status.IN_PROGRESS, Status.CLOSED)
ACTION_KEYS = {
    Status.ACCEPTED: "admin.action.accept",
    Status.IN_PROGRESS: "admin.action.in_progress",
    Status.CLOSED: "admin.action.closed",
}


def item_card(
    lang: Language,
    settings: Settings,
    item: Submission,
    *,
    history: Sequence[HistoryEntry] = (),
    events: Sequence[Event] = (),
    similar: Sequence[SubmissionSummary] = (),
    heading: str | None = None,
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
    keywords = [k for e in item.evidence if e.topic_id == item.topic_id for k in e.keywords]
    if keywords:
        lines.append(t(lang, "field.keywords", value="、".join(escape(k) for k in keywords)))
    lines += [
        t(lang, "field.sender", value=sender),
        t(lang, "field.date", value=local_time(item.created_at, tz)),
    ]
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
    if history or events:
        lines += ["", t(lang, "detail.history")]
        for entry in history:
            note = f" — {escape(shorten(entry.note, 200))}" if entry.note else ""
            lines.append(f"{local_date(entry.at, tz)} {status_label(lang, entry.to_status)}{note}")
        for event in events:
            if event.kind == "topic":
                old, _, new = event.body.partition("→")
                value = f"{topic_label(lang, settings, old)} → {topic_label(lang, settings, new)}"
                lines.append(
                    f"{local_date(event.at, tz)} {t(lang, 'event.topic', value=escape(value))}"
                )
    return "\n".join(lines)


def card_buttons(lang: Language, item: Submission, *, review: bool = False) -> Buttons:
    """Exactly the actions the item's status allows (and "next" when reviewing)."""
    allowed = allowed_targets(item.status)
    row: list[tuple[str, str]] = [
        (t(lang, ACTION_KEYS[s]), f"adm:st:{s.value}:{item.id}") for s in ONE_TAP if s in allowed
    ]
    if Status.REJECTED in allowed:
        row.append((t(lang, "admin.action.reject"), f"adm:rej:{item.id}"))
    rows = [tuple(row)] if row else []
    extra: list[tuple[str, str]] = []
    if item.status not in (Status.REJECTED, Status.DUPLICATE, Status.CLOSED):
        extra.append((t(lang, "admin.action.topic"), f"adm:tp:{item.id}"))
    if review:
        extra.append((t(lang, "admin.action.next"), f"adm:next:{item.id}"))
    if extra:
        rows.append(tuple(extra))
    return tuple(rows)


def topic_buttons(lang: Language, settings: Settings, item: Submission) -> Buttons:
    choices = [
        (("• " if tp.id == item.topic_id else "") + tp.name(lang), f"adm:tps:{item.id}:{tp.id}")
        for tp in settings.topics
    ]
    rows = [tuple(choices[i : i + 2]) for i in range(0, len(choices), 2)]
    rows.append(((t(lang, "admin.action.back"), f"adm:card:{item.id}"),))
    return tuple(rows)


def sender_route(item: Submission, secrets: Secrets) -> str | None:
    """The encrypted chat of the item's sender: the stored route for anonymous items."""
    if item.sender is not None:
        return secrets.encrypt_int(item.sender.chat_id)
    return item.reply_route


def status_notice(
    item: Submission, target: Status, secrets: Secrets, *, reason: str | None = None
) -> list[Outgoing]:
    """What the sender is told when the item moves to ``target``, in their language."""
    key = f"notify.{target.value}"
    route = sender_route(item, secrets)
    if route is None or target not in (
        Status.ACCEPTED,
        Status.REJECTED,
        Status.IN_PROGRESS,
        Status.CLOSED,
    ):
        return []
    lang = resolve_language(item.language)
    text = t(
        lang,
        key,
        kind=kind_label(lang, item.kind),
        ref=format_reference(item.id),
        reason=escape(reason or ""),
    )
    return [Outgoing(chat_enc=route, text=text)]


def announcement(settings: Settings, item: Submission, secrets: Secrets) -> list[Outgoing]:
    """The new item's card for the office chat, when configured."""
    chat = settings.roles.office_chat_id
    if not chat or not settings.office.announce_new:
        return []
    lang = settings.campaign.language
    card = item_card(lang, settings, item, heading=t(lang, "admin.announce"))
    return [
        Outgoing(chat_enc=secrets.encrypt_int(chat), text=card, buttons=card_buttons(lang, item))
    ]


def queue_lines(
    lang: Language, settings: Settings, items: Sequence[SubmissionSummary]
) -> list[str]:
    tz = settings.campaign.tz
    return [
        t(
            lang,
            "admin.queue.line",
            ref=format_reference(s.id),
            kind=kind_label(lang, s.kind),
            topic=escape(topic_label(lang, settings, s.topic_id)),
            date=local_date(s.created_at, tz),
        )
        for s in items
    ]
