"""The queue page's request and rows: the filter form read from the URL (every value
checked; a bad one is named and ignored, never an error page) and the table's cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.config import Language, Settings
from bot.core import tasks
from bot.core.presenters import kind_label, local_date, status_label, topic_label
from bot.core.records import DONE_STATUSES, overdue_days, unsigned
from bot.core.reports import day_in_range, parse_day
from bot.core.workflow import Kind, Status, format_reference
from bot.i18n import t, tn
from storage.desk import SORTS, Cursor, QueueFilter, QueuePage, Sort, first_line

MAX_TERMS = 8
MAX_TERM_CHARS = 50
PAGE_SIZE = 50
OPEN = "open"  # the status filter's "everything still open"
FIELDS = (
    "q",
    "status",
    "kind",
    "topic",
    "place",
    "unit",
    "who",
    "overdue",
    "unsigned",
    "from",
    "to",
    "sort",
)
# The name of each field in the "ignored" notice.
FIELD_KEYS = {
    "status": "web.field.status",
    "kind": "web.field.kind",
    "topic": "web.field.topic",
    "place": "web.field.place",
    "unit": "web.field.unit",
    "unsigned": "web.field.unsigned",
    "who": "web.field.who",
    "overdue": "web.field.overdue",
    "from": "web.field.from",
    "to": "web.field.to",
    "sort": "web.field.sort",
}


@dataclass(frozen=True)
class QueueRequest:
    """The filter as asked (``form``, echoed into the form and the paging links), as the
    query (``filter``), the page's cursor, and what was ignored and why."""

    form: dict[str, str]
    filter: QueueFilter
    cursor: Cursor | None
    problems: list[str] = field(default_factory=list)

    @property
    def filtered(self) -> bool:
        return any(self.form.get(name) for name in FIELDS if name not in ("q", "sort"))

    def link(self, cursor: Cursor | None) -> str:
        """The query string of this filter at another page."""
        pairs = [(k, v) for k, v in self.form.items() if v]
        if cursor is not None:
            pairs.append(("page", cursor.encode()))
        return urlencode(pairs)


def _day(value: str) -> date | None:
    """A day of the form, within the days the reports take (the day after the last one
    must still be a date: ``to=9999-12-31`` is not one)."""
    day = parse_day(value)
    return day if day is not None and day_in_range(day) else None


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def parse(
    params: Mapping[str, str], settings: Settings, lang: Language, *, unit_id: str | None
) -> QueueRequest:
    """Read the queue's URL parameters. ``unit_id`` scopes a unit member's queue."""
    form = {name: params.get(name, "").strip()[:200] for name in FIELDS}
    problems: list[str] = []

    def bad(name: str) -> None:
        problems.append(t(lang, "web.queue.ignored", field=t(lang, FIELD_KEYS[name])))
        form[name] = ""

    statuses: tuple[Status, ...] = ()
    if form["status"] == OPEN:
        statuses = tuple(s for s in Status if s not in DONE_STATUSES)
    elif form["status"]:
        if form["status"] in Status.__members__.values():
            statuses = (Status(form["status"]),)
        else:
            bad("status")
    kind = None
    if form["kind"]:
        if form["kind"] in Kind.__members__.values():
            kind = Kind(form["kind"])
        else:
            bad("kind")
    topic = None
    if form["topic"]:
        if settings.topic(form["topic"]) is not None:
            topic = form["topic"]
        else:
            bad("topic")
    places: tuple[str, ...] = ()
    if form["place"]:  # its id (the form's choice) or its name in any language
        place = settings.place_index.find(form["place"])
        if place is not None:
            form["place"] = place.id
            places = tuple(settings.place_index.subtree(place.id))
        else:
            bad("place")
    unit = unit_id
    if form["unit"]:  # the office's filter; a unit member's queue is their unit's already
        found = settings.unit(form["unit"])
        if found is None or unit_id is not None:
            bad("unit")
        else:
            unit = found.id
    anonymous = {"": None, "named": False, "anonymous": True}.get(form["who"], "bad")
    if anonymous == "bad":
        bad("who")
        anonymous = None
    tz = settings.campaign.tz
    start = end = None
    if form["from"]:
        day = _day(form["from"])
        if day is None:
            bad("from")
        else:
            start = _local_midnight(day, tz)
    if form["to"]:
        day = _day(form["to"])
        if day is None:
            bad("to")
        else:
            end = _local_midnight(day + timedelta(days=1), tz)
    sort: Sort = "new"
    if form["sort"]:
        if form["sort"] in SORTS:
            sort = form["sort"]
        else:
            bad("sort")
    if form["unsigned"] not in ("", "1"):
        bad("unsigned")
    if form["overdue"] not in ("", "1"):
        bad("overdue")
    elif form["overdue"] == "1" and not form["sort"]:
        sort = "deadline"  # overdue: the longest overdue first, unless asked otherwise
    terms = tuple(term[:MAX_TERM_CHARS] for term in form["q"].split()[:MAX_TERMS])
    raw_page = params.get("page", "")
    cursor = Cursor.decode(raw_page) if raw_page else None
    query = QueueFilter(
        statuses=statuses,
        kind=kind,
        topic_id=topic,
        place_ids=places,
        anonymous=anonymous,  # type: ignore[arg-type]
        overdue=form["overdue"] == "1",
        unsigned=form["unsigned"] == "1",
        created_from=start,
        created_until=end,
        terms=terms,
        sort=sort,
        unit_id=unit,
    )
    return QueueRequest(form=form, filter=query, cursor=cursor, problems=problems)


def age(lang: Language, since: datetime, now: datetime) -> str:
    """How long an item has been in: hours on its first day, then days."""
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 24:
        return tn(lang, "web.age.hours", hours, n=hours)
    days = hours // 24
    return tn(lang, "web.age.days", days, n=days)


@dataclass(frozen=True)
class Row:
    """One line of the table, every cell plain text (the template escapes it)."""

    id: int
    reference: str
    kind: str
    topic: str
    place: str  # "" when none was given
    unit: str  # the unit (承办单位) it is dispatched to, "" when none
    unsigned: bool  # dispatched, not signed for (未签收) within the limit
    status: str
    age: str
    deadline: str
    overdue: str  # "" when not overdue
    who: str
    anonymous: bool
    text: str


def place_options(lang: Language, settings: Settings) -> list[tuple[str, str]]:
    """The place filter's choices: every place, indented under its parent."""
    index = settings.place_index
    return [(p.id, "\u3000" * depth + p.name(lang)) for p, depth in index.walk()]


def unit_options(lang: Language, settings: Settings) -> list[tuple[str, str]]:
    """The unit filter's choices (the office's; empty without ``[[units]]``)."""
    return [(u.id, u.name(lang)) for u in settings.units]


def rows(lang: Language, settings: Settings, page: QueuePage, now: datetime) -> Sequence[Row]:
    tz = settings.campaign.tz
    out = []
    for r in page.rows:
        days = overdue_days(r.deadline, r.status, now)
        out.append(
            Row(
                id=r.id,
                reference=format_reference(r.id),
                kind=kind_label(lang, r.kind),
                topic=topic_label(lang, settings, r.topic_id),
                place=settings.place_index.label(lang, r.place_id),
                unit=tasks.unit_name(settings, lang, r.unit_id),
                unsigned=unsigned(r.status, r.sign_due, now),
                status=status_label(lang, r.status),
                age=age(lang, r.created_at, now),
                deadline=local_date(r.deadline, tz) if r.deadline else "",
                overdue=tn(lang, "web.overdue", days, days=days) if days else "",
                who=t(lang, "summary.anonymous") if r.anonymous else t(lang, "web.named"),
                anonymous=r.anonymous,
                text=first_line(r.text_head),
            )
        )
    return out
