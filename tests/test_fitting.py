"""Every card and long message fits Telegram's limit whatever it holds (issue 15.1):
properties over long texts, many events, long names, emoji (two UTF-16 units each) and
characters that grow when escaped (``&`` is five as ``&amp;``). Each message is checked with
the stand-in's own HTML parser (tdlib's rules): well-formed, and at most 4096 units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.anonymity import Secrets
from bot.config import Settings, load_settings
from bot.core import cards
from bot.core.presenters import draft_summary, submission_detail
from bot.core.records import Draft, Event, HistoryEntry, Sender, Submission, TopicEvidence
from bot.core.reports import DigestData, OverdueItem, compose_digest
from bot.core.workflow import Kind, Status
from bot.text import (
    TELEGRAM_MESSAGE_LIMIT,
    Slot,
    escape,
    fit_html,
    shorten_escaped,
    split_message,
    truncate_html,
    utf16_length,
)
from tests.botapi_stub import parse_html, utf16_len
from tests.processes import EXAMPLE_CONFIG

SECRETS = Secrets.generate()
WHEN = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LIMIT = TELEGRAM_MESSAGE_LIMIT

# Text that is hard to fit: wide (emoji), growing when escaped, lines and long runs.
HARD = st.text(
    st.sampled_from(["路", "灯", "a", " ", "\n", "&", "<", ">", "😀", "𠀋", "é"]), max_size=40
)
LONG = st.one_of(
    st.text(max_size=300),
    st.lists(HARD, max_size=150).map("".join),
    st.sampled_from(["&" * 3000, "😀" * 3000, "路" * 5000, ("a&😀\n" * 1200)]),
)
SHORT = st.one_of(st.text(max_size=60), st.sampled_from(["&" * 200, "😀" * 200, "<b>" * 60]))


def example_settings(**changes: Any) -> Settings:
    return load_settings(EXAMPLE_CONFIG, overrides=changes)


PLAIN = example_settings(roles={"leading_group_chat_id": -1002, "channel_id": -1003})
# Configured names and keywords far longer than any campaign would use: the card still fits.
# The configuration refuses names this long (bot.config's bounds), so these settings are
# built past its validation: the cards must not rely on the bounds.
_ODD_TOPIC = PLAIN.topics[0].model_copy(
    update={
        "names": {"zh-Hans": "经济 & <发展>" * 300, "en": "Economy & <growth>" * 200},
        "keywords": [f"关键词{i}&" for i in range(400)],
    }
)
ODD = example_settings(
    roles={"leading_group_chat_id": -1002, "channel_id": -1003, "office_chat_id": -1001},
).model_copy(
    update={
        "campaign": PLAIN.campaign.model_copy(update={"name": "解放思想 & 大讨论" * 200}),
        "topics": [_ODD_TOPIC, *PLAIN.topics[1:]],
    }
)


def check(html: str) -> str:
    """``html`` is one message Telegram accepts; its plain text."""
    assert utf16_length(html) <= LIMIT
    plain = parse_html(html)  # raises where Telegram would refuse the entities
    assert utf16_len(plain) <= LIMIT
    return plain


@st.composite
def items(draw: st.DrawFn) -> tuple[Submission, list[HistoryEntry], list[Event]]:
    named = draw(st.booleans())
    item = Submission(
        id=draw(st.integers(1, 10**18)),
        kind=draw(st.sampled_from(list(Kind))),
        text=draw(LONG) or "x",
        topic_id=draw(st.sampled_from(["economy", "transport", "gone_topic"])),
        suggested_topic_id="economy",
        evidence=(
            TopicEvidence(topic_id="economy", score=0.9, keywords=tuple(draw(st.lists(SHORT)))),
        ),
        anonymous=not named,
        sender=Sender(user_id=1, chat_id=1, name=draw(SHORT), username=draw(SHORT) or None)
        if named
        else None,
        language=draw(st.sampled_from(["zh-Hans", "zh-Hant", "en"])),
        status=draw(st.sampled_from(list(Status))),
        created_at=WHEN,
        updated_at=WHEN,
        owner=draw(st.none() | SHORT),
        deadline=WHEN + timedelta(days=3),
        response=draw(st.none() | LONG),
        rating=draw(st.none() | st.sampled_from(["satisfied", "unsatisfied"])),
        published_at=draw(st.none() | st.just(WHEN)),
        channel_message_id=draw(st.none() | st.integers(1, 10**6)),
    )
    history = [
        HistoryEntry(at=WHEN, actor="admin:1", from_status=None, to_status=s, note=n)
        for s, n in draw(st.lists(st.tuples(st.sampled_from(list(Status)), st.none() | LONG)))
    ]
    kinds = st.sampled_from(["question", "answer", "duplicate", "instruction", "note"])
    events = [
        Event(at=WHEN, actor="sender", kind=k, body=b)
        for k, b in draw(st.lists(st.tuples(kinds, LONG), max_size=30))
    ]
    return item, history, events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items(), st.sampled_from([PLAIN, ODD]), st.sampled_from(["zh-Hans", "en"]))
def test_every_card_and_copy_fits(
    record: tuple[Submission, list[HistoryEntry], list[Event]], config: Settings, lang: Any
) -> None:
    item, history, events = record
    card = cards.item_card(lang, config, item, history=history, events=events, now=WHEN)
    plain = check(card.text)
    if not card.shortened:
        assert item.text.strip() in plain or not item.text.strip()
    follow = [check(part) for part in cards.full_text(lang, item)]
    assert item.text.replace("\n", "") in "".join(follow).replace("\n", "")
    outgoing = [
        *cards.group_card(config, item, SECRETS),
        *cards.channel_post(config, item, SECRETS),
        *cards.announcement(config, item, SECRETS),
        *cards.response_notices(item, SECRETS, followers=[("x", "en")]),
        *cards.question_notice(item, SECRETS, item.text[:3000]),
        *cards.office_notice(config, SECRETS, "office.answer", ref="#1", text=escape(item.text)),
    ]
    for message in outgoing:
        check(message.text)


@settings(max_examples=40, deadline=None)
@given(items(), st.sampled_from([PLAIN, ODD]))
def test_a_residents_views_split_into_messages_that_fit(
    record: tuple[Submission, list[HistoryEntry], list[Event]], config: Settings
) -> None:
    item, history, _ = record
    detail = submission_detail("zh-Hans", config, item, history)
    chunks = split_message(detail)
    plains = [check(chunk) for chunk in chunks]
    assert "".join(plains).replace("\n", "") == parse_html(detail).replace("\n", "")
    draft = Draft(kind=item.kind, parts=[item.text], topic_id=item.topic_id, anonymous=False)
    summary = draft_summary("zh-Hans", draft, config, sender_name=item.text[:200])
    for chunk in split_message(summary):
        check(chunk)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**9), SHORT), max_size=300))
def test_digests_with_long_names_split_into_messages_that_fit(
    overdue: list[tuple[int, str]],
) -> None:
    data = DigestData(
        since=WHEN - timedelta(days=1),
        until=WHEN,
        new_by_kind={Kind.PROBLEM: 3},
        new_by_topic={"economy": 2, "transport": 1},
        awaiting_review=1,
        forwarded=[],
        overdue=[OverdueItem(id=n, owner=owner, days=2) for n, owner in overdue],
        published=0,
        satisfaction={},
        top_topics_week=[("economy", 4)],
    )
    for chunk in compose_digest("zh-Hans", ODD, data):
        check(chunk)


# ---------------------------------------------------------------- the tools themselves
# Tagged pieces whose text may hold newlines: a tag open across lines, which a split must
# close before it and open again after it.
TAGGED = st.lists(
    st.one_of(
        HARD.map(escape),
        st.tuples(st.sampled_from(["b", "i", "code"]), HARD).map(
            lambda p: f"<{p[0]}>{escape(p[1])}</{p[0]}>"
        ),
        HARD.map(lambda s: f'<a href="https://t.me/c/1/2">{escape(s)}</a>'),
        st.tuples(HARD, HARD).map(lambda p: f"<b>{escape(p[0])}<i>{escape(p[1])}</i></b>"),
    ),
    max_size=60,
).map("".join)


@given(TAGGED, st.integers(min_value=40, max_value=200))
@example('<b>路灯\n坏了</b>&amp;<a href="https://t.me/c/1/2">看这里</a>', 40)
@example("<b>" + "路灯" * 50 + "\n" + "坏了" * 50 + "</b>", 40)
def test_split_message_keeps_tags_whole(html: str, limit: int) -> None:
    original = parse_html(html)
    chunks = split_message(html, limit)
    plains = []
    for chunk in chunks:
        assert utf16_length(chunk) <= limit
        plains.append(parse_html(chunk))  # every chunk well-formed on its own
    # Nothing lost but the newlines (and blank pieces) at the splits.
    assert "".join(plains).replace("\n", "").replace(" ", "") == original.replace("\n", "").replace(
        " ", ""
    )


@given(HARD, st.integers(min_value=0, max_value=60))
def test_shorten_escaped_stays_within_its_units(text: str, units: int) -> None:
    short = shorten_escaped(text, units)
    assert utf16_length(short) <= units
    if utf16_length(escape(text)) <= units:
        assert short == escape(text)
    else:
        assert short == "" or short.endswith("…")
        assert escape(text).startswith(short[:-1].rstrip())


@given(st.lists(st.tuples(LONG, st.integers(1, 8)), min_size=1, max_size=8), SHORT)
def test_fit_html_fits_and_shortens_only_when_needed(
    slots: list[tuple[str, int]], heading: str
) -> None:
    def render(pieces: list[str]) -> str:
        return "<b>" + escape(heading) + "</b>\n" + "\n".join(pieces)

    html, shortened = fit_html(render, [Slot(text, weight) for text, weight in slots], 1000)
    check(html)
    assert utf16_length(html) <= 1000
    whole = render([escape(text) for text, _ in slots])
    assert shortened == (utf16_length(whole) > 1000)
    if not shortened:
        assert html == whole


def test_truncate_html_closes_what_it_cuts() -> None:
    html = "<b>" + "路灯" * 3000 + "</b>\n尾"
    short = truncate_html(html, 100)
    assert utf16_length(short) <= 100 and short.endswith("…")
    assert parse_html(short).startswith("路灯")
    assert truncate_html("短", 100) == "短"
