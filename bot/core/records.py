"""Records that cross layers (storage <-> domain <-> handlers), as pydantic models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.workflow import Kind, Status

Rating = Literal["satisfied", "basically", "unsatisfied"]  # 满意 / 基本满意 / 不满意
RATINGS: tuple[Rating, ...] = ("satisfied", "basically", "unsatisfied")
# Why a sender is not satisfied (不满意), one tap each: 没解决 / 答非所问 / 态度不好 / 太慢 / 其他
UNSATISFIED_REASONS = ("unsolved", "off_topic", "attitude", "slow", "other")
# Statuses in which a deadline no longer runs.
DONE_STATUSES = frozenset(
    {
        Status.ANSWERED,
        Status.PUBLISHING,
        Status.PUBLISHED,
        Status.CLOSED,
        Status.REJECTED,
        Status.DUPLICATE,
    }
)


def overdue_days(deadline: datetime | None, status: Status, now: datetime) -> int:
    """Whole days past the deadline while the item is still open; 0 when not overdue."""
    if deadline is None or status in DONE_STATUSES or now <= deadline:
        return 0
    return max(1, (now - deadline).days)


def unsigned(status: Status, sign_due: datetime | None, now: datetime) -> bool:
    """Dispatched and not signed for (未签收) within the sign-for limit."""
    return status is Status.DISPATCHED and sign_due is not None and now > sign_due


class QueueView(StrEnum):
    """The office's lists that are not one status (/queue's views, :mod:`bot.core.filters`)."""

    OVERDUE = "overdue"  # past the deadline, still open
    UNSIGNED = "unsigned"  # dispatched, not signed for (签收) by the unit within the limit
    # Sent back by the sender's 不满意 (重办) at least once (not the status "reopened": an
    # item the office reopened after a rejection).
    REOPENED = "redo"


AttachmentType = Literal["photo", "document", "voice", "audio", "video", "video_note", "location"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Attachment(_Record):
    """A file (by Telegram file id) or a location attached to a submission."""

    type: AttachmentType
    file_id: str | None = None
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    file_size: int | None = None  # bytes, as Telegram reported it (None: not known)


class TopicEvidence(_Record):
    """Why a topic was proposed: its id, score and the keywords that fired."""

    topic_id: str
    score: float
    keywords: tuple[str, ...] = ()  # the model's: the n-grams that weighed most
    source: Literal["rule", "model"] = "rule"


class Draft(BaseModel):
    """A submission being composed in the resident conversation (stored encrypted)."""

    kind: Kind | None = None
    parts: list[str] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    topic_id: str | None = None
    evidence: list[TopicEvidence] = Field(default_factory=list)
    anonymous: bool | None = None
    # The place the item concerns (a configured place's id): from the deep link the resident
    # arrived through, or chosen with a button; ``place_asked`` once that step is done (a
    # place chosen, or skipped: "不确定"), so it is asked at most once.
    place_id: str | None = None
    place_asked: bool = False
    # The last update applied to this draft: after a crash an update may be replayed, and
    # one already applied must not add its text a second time.
    last_update: int = 0

    @property
    def text(self) -> str:
        return "\n\n".join(self.parts)

    @property
    def text_length(self) -> int:
        return sum(len(p) for p in self.parts)


class HeldMessage(_Record):
    """A sender's message held (sealed) while they choose whether it answers the office's
    open question or starts a new submission (:mod:`storage.questions`)."""

    user_id: int
    text: str
    attachment: Attachment | None = None
    at: datetime


class Sender(_Record):
    """The identity of a named sender. Anonymous submissions have none."""

    user_id: int
    chat_id: int
    name: str
    username: str | None = None


class NewSubmission(_Record):
    kind: Kind
    text: str
    topic_id: str
    suggested_topic_id: str
    evidence: tuple[TopicEvidence, ...]
    language: str
    attachments: tuple[Attachment, ...] = ()
    sender: Sender | None = None  # None = anonymous
    reply_route: str | None = None  # anonymous only: the encrypted chat id
    source_update_id: int | None = None  # the update that confirmed it (replays find it)
    place_id: str | None = None  # the place it concerns (None: not said)
    phase_id: str | None = None  # the campaign phase it arrived in (None: outside phases)
    # Entered by the office (bot.core.entering): where it was heard ("chat": the bot), and
    # for a named one who said it (``sender`` is None: no Telegram account); reply_route
    # is then the clerk's chat, where its 回访 tasks go.
    source: str = "chat"
    contact_name: str | None = None
    contact_phone: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.sender is None and self.contact_name is None


class Submission(_Record):
    id: int
    kind: Kind
    text: str
    topic_id: str
    suggested_topic_id: str
    evidence: tuple[TopicEvidence, ...]
    anonymous: bool
    sender: Sender | None
    language: str
    status: Status
    created_at: datetime
    updated_at: datetime
    attachments: tuple[Attachment, ...] = ()
    reply_route: str | None = None  # anonymous only: the encrypted chat id
    owner: str | None = None  # who handles it (department or person)
    deadline: datetime | None = None
    duplicate_of: int | None = None
    response: str | None = None
    responded_at: datetime | None = None
    rating: Rating | None = None  # the latest round's
    # Answers the sender received: each starts a round, rated once (0: none yet).
    rating_round: int = 0
    published_at: datetime | None = None
    channel_message_id: int | None = None
    place_id: str | None = None
    phase_id: str | None = None
    # The units' loop (#18): the unit it is dispatched to (a [[units]] id; ``owner`` is the
    # free text of items assigned before units existed) and the times of its steps.
    unit_id: str | None = None
    dispatched_at: datetime | None = None
    sign_due: datetime | None = None
    signed_at: datetime | None = None
    unit_done_at: datetime | None = None
    done_at: datetime | None = None
    unit_answer: str | None = None  # the unit's 办结 answer, awaiting the office's check
    requested_deadline: datetime | None = None  # a pending 延期申请
    # The deadline 按时办结率 judges the round by (#19): the dispatch's, moved by an extension
    # approved before it passed, kept when one is approved after (``deadline`` moves both).
    judged_deadline: datetime | None = None
    dispatch_note: str | None = None  # the office's instruction with the 派单
    reopen_count: int = 0
    sender_told_unit: bool = False
    source: str = "chat"  # "chat", or where the office heard it (bot.core.entering)
    support: int = 0  # how many people said 附议 (me too), each once
    contact_name: str | None = None  # named entered items: who said it
    contact_phone: str | None = None
    # 认领 (#17): the clerk working on it (Telegram id, name) until then (bot.core.claiming).
    claimed_by: int | None = None
    claimed_name: str | None = None
    claimed_until: datetime | None = None
    # What the channel post shows (#17): a clerk's public summary (None: the text), and
    # whether personal data in it is published unmasked (bot.core.publishing).
    public_text: str | None = None
    public_unmasked: bool = False

    def overdue_days(self, now: datetime) -> int:
        return overdue_days(self.deadline, self.status, now)

    def claim(self, now: datetime) -> tuple[int, str] | None:
        """The clerk (id, name) whose claim on the item still holds at ``now``."""
        if self.claimed_by is None or self.claimed_until is None or now >= self.claimed_until:
            return None
        return self.claimed_by, self.claimed_name or str(self.claimed_by)

    def unsigned(self, now: datetime) -> bool:
        """Dispatched and not signed for within the sign-for limit."""
        return unsigned(self.status, self.sign_due, now)

    @property
    def entered(self) -> bool:
        """Entered by the office on someone's behalf (not sent through the bot)."""
        return self.source != "chat"

    @property
    def reference(self) -> str:
        return f"#{self.id}"


class Rated(_Record):
    """What became of a sender's rating (:meth:`storage.ratings.RatingQueries.rate`)."""

    # "rated": stored now; "already": this round was rated before (``rating`` is that
    # rating, or "unrated": it closed as 未评价); "stale": the buttons belong to an earlier
    # round (a newer answer came since).
    outcome: Literal["rated", "already", "stale"]
    rating: Rating | Literal["unrated"] | None = None


class HistoryEntry(_Record):
    at: datetime
    actor: str  # "sender", "admin:<telegram id>", "unit:<id>:<telegram id>" or "system"
    from_status: Status | None
    to_status: Status
    note: str | None = None
    step: str | None = None  # the units' loop step it records (bot.core.workflow.Move, "note")


class RatingRound(_Record):
    """The sender's rating of one answer (``unrated``: 未评价, nobody rated it in time)."""

    round: int
    rating: str
    reason: str | None = None
    text: str | None = None
    at: datetime


class UnitFile(_Record):
    """A file a unit sent with a progress note or its 办结."""

    step: str
    attachment: Attachment


# Characters of an item's text a list line shows (the storage reads one more, to know
# whether it was cut).
EXCERPT_CHARS = 40


class SubmissionSummary(_Record):
    id: int
    kind: Kind
    topic_id: str
    status: Status
    created_at: datetime
    deadline: datetime | None = None
    excerpt: str = ""  # the start of the text: up to EXCERPT_CHARS + 1 characters
    owner: str | None = None
    place_id: str | None = None
    unit_id: str | None = None
    sign_due: datetime | None = None
    reopen_count: int = 0
    support: int = 0

    def unsigned(self, now: datetime) -> bool:
        return unsigned(self.status, self.sign_due, now)

    def overdue_days(self, now: datetime) -> int:
        return overdue_days(self.deadline, self.status, now)


class Event(_Record):
    """Something that happened to an item besides a status change."""

    at: datetime
    actor: str
    kind: str
    body: str


class Recipient(StrEnum):
    """Whom an outbox message is for, as a role (never who): what the office is told when
    it cannot be delivered."""

    SENDER = "sender"  # the item's sender
    FOLLOWER = "follower"  # the sender of a duplicate merged into the item
    OFFICE = "office"  # the office chat
    ADMIN = "admin"  # an administrator's private chat
    GROUP = "group"  # the leading group
    CHANNEL = "channel"  # the public channel
    UNIT = "unit"  # an owner unit's group or member (#18)


class CardSpec(_Record):
    """What a card message is, to render it again: its kind (``announce``, ``show``,
    ``review``, ``group``; see :class:`bot.core.copies.CopyKind`) and language."""

    kind: str
    language: str


class CopyPlacement(_Record):
    """Where a card copy is, as stored: ``place`` is a group's chat id, or for a private
    chat a keyed tag of the chat and the item (so two copies of one item in one chat are
    known as such, and nothing links the chat's copies of different items); the chat is
    kept encrypted, and the message id plainly only in groups (in a private chat,
    encrypted: plain ids count per chat and would show the gaps other messages left)."""

    place: str
    chat_enc: str
    message_id: int | None = None
    message_enc: str | None = None


class CardCopy(_Record):
    """A card the bot sent, to be edited when its item changes."""

    id: int
    submission_id: int
    kind: str
    language: str
    place: str
    chat_enc: str
    message_id: int | None = None
    message_enc: str | None = None


class Outgoing(_Record):
    """A message owed to a chat, queued in the outbox with the change that caused it.

    ``chat_enc`` is the destination chat id encrypted with the anonymity key, so a
    sender's chat id never lies in the outbox in plain form."""

    chat_enc: str
    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    purpose: str | None = None  # 'question', 'group_card', 'channel_post' or None
    photo: bytes | None = None  # a PNG sent with ``text`` as its caption (e.g. a chart)
    recipient: Recipient | None = None
    # Held until the message at this index of the same batch is delivered, and dropped if
    # that one fails for good (what follows a channel post: "published").
    after: int | None = None
    # Notices about one item with the same key, queued within ``merge_seconds`` of each
    # other, are sent as one message (storage.outbox: coalescing; 0: never).
    merge: str | None = None
    merge_seconds: float = 0.0
    # A card: once delivered, the message is recorded as a copy of its item's card
    # (bot.core.copies) of this kind, in this language, so that it is edited when the item
    # changes.
    card: CardSpec | None = None
    # Not a new message: an edit of that card copy (its chat and message are on its row).
    copy_id: int | None = None
    # A file sent again by its Telegram file id (or a location), ``text`` as its caption.
    attachment: Attachment | None = None
    # Photos and videos sent again as one media group (2-10), ``text`` the first's caption.
    album: tuple[Attachment, ...] = ()


class OutboxEntry(_Record):
    """A queued message as the delivery job sees it."""

    id: int
    submission_id: int | None
    chat_enc: str
    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...]
    attempts: int
    status: Literal["pending", "sent", "failed"]
    uncertain: int = 0  # sends whose outcome is unknown (bot.transport.outcomes)
    last_error: str | None = None
    purpose: str | None = None
    message_id: int | None = None
    photo: bytes | None = None
    recipient: Recipient | None = None  # None: queued before 0016 (see bot.core.recipients)
    after_id: int | None = None
    card: CardSpec | None = None
    copy_id: int | None = None
    attachment: Attachment | None = None
    album: tuple[Attachment, ...] = ()
