"""回访/评价 in the core (#18, step 7), with a real repository and no stand-in: one rating per
round, 不满意 with a reason sends the item back to the same unit (重办) with a new task card
and the office told, the next answer is a new round, a stale or second press changes
nothing, the sender's own words reach the office and the unit, an answer nobody rates
closes as 未评价, and the ledger shows every round."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core import answering, cards, handling, loop, rating
from bot.core.access import Actor, Place, identify
from bot.core.env import Env
from bot.core.reports import compose_digest, ledger_cells, ledger_header
from bot.core.results import Refusal
from bot.core.workflow import Status
from storage.repository import Repository
from tests.conftest import FrozenClock
from tests.test_core_loop import (
    ADMIN_ID,
    CJB_GROUP,
    OFFICE,
    RESIDENT_ID,
    accepted,
    admin,
    clerk,
    outbox_to,
    rows,
    zh,
)

STRANGER = 777


@pytest.fixture
async def env(make_settings: Callable[..., Settings]) -> AsyncIterator[Env]:
    settings = make_settings(
        roles={"admin_ids": [ADMIN_ID], "office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        office={"rating_days": 7},
        units=[{"id": "cjb", "names": {"zh-Hans": "城建办"}, "chat_id": CJB_GROUP}],
    )
    clock = FrozenClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    secrets = Secrets.generate()
    repository = Repository(settings.storage.path, clock=clock, secrets=secrets)
    await repository.connect()
    try:
        yield Env(repository, settings, secrets)
    finally:
        await repository.close()


def sender(env: Env, user_id: int = RESIDENT_ID) -> Actor:
    return identify(env.settings, user_id, Place.PRIVATE, language="zh-Hans", chat_id=user_id)


async def ledger_line(env: Env) -> dict[str, str | int]:
    """The ledger's one line (of the items created within a day of now), by column name."""
    day = timedelta(days=1)
    [line] = [
        r
        async for r in env.repository.ledger(
            start=env.now() - day, end=env.now() + day, now=env.now()
        )
    ]
    header = ledger_header("zh-Hans", env.settings)
    return dict(zip(header, ledger_cells("zh-Hans", env.settings, line), strict=True))


async def answered_by_unit(env: Env, number: int, answer: str = "已清理") -> None:
    assert (await loop.dispatch(env, admin(env), number, "cjb", key=None)).ok
    assert (await loop.sign(env, clerk(env), number, key=None)).ok
    assert (await loop.finish(env, clerk(env), number, answer, key=None)).ok
    assert (await loop.approve_done(env, admin(env), number, key=None)).ok


async def test_unsatisfied_sends_it_back_to_the_same_unit_and_starts_a_new_round(
    env: Env,
) -> None:
    number = await accepted(env)
    await answered_by_unit(env, number)
    item = await env.repository.get_submission(number)
    assert item is not None and item.rating_round == 1
    # The reason is asked first: 不满意 without one stores nothing.
    assert (await answering.ask_why(env, sender(env), number, 1)).ok
    bare = await answering.rate(env, sender(env), number, "unsatisfied", round_=1, key=None)
    assert not bare.ok and rows(env, "SELECT COUNT(*) FROM ratings") == [(0,)]
    before_unit = len(outbox_to(env, CJB_GROUP))
    result = await answering.rate(
        env, sender(env), number, "unsatisfied", round_=1, reason="unsolved", key=21
    )
    assert result.ok and result.status is Status.DISPATCHED
    item = result.item
    assert item is not None and item.unit_id == "cjb" and item.reopen_count == 1
    # (The round is the answer's: the next answer starts round 2.)
    assert item.rating_round == 1 and item.signed_at is None and item.sign_due is not None
    # The unit gets a new task card saying why; the office is told.
    card = outbox_to(env, CJB_GROUP)[before_unit]
    assert zh("unit.redo.instruction", reason="没解决") in card
    assert any(
        text.startswith("🔁 #" + str(number)) and "没解决" in text and "城建办" in text
        for text in outbox_to(env, OFFICE)
    )
    assert rows(env, "SELECT round, rating, reason FROM ratings") == [
        (1, "unsatisfied", "unsolved")
    ]
    assert rows(env, "SELECT step, note FROM history ORDER BY id DESC LIMIT 1") == [
        ("redo", "没解决")
    ]
    # A second press on the first answer, and a replay of the same update, change nothing.
    again = await answering.rate(env, sender(env), number, "satisfied", round_=1, key=None)
    assert again.refusal is Refusal.DONE
    assert again.message == zh("rate.already", ref=f"#{number}", rating=zh("rating.unsatisfied"))
    replay = await answering.rate(
        env, sender(env), number, "unsatisfied", round_=1, reason="unsolved", key=21
    )
    assert replay.replayed or not replay.ok
    assert rows(env, "SELECT COUNT(*) FROM ratings") == [(1,)]
    assert not (await answering.ask_why(env, sender(env), number, 1)).ok
    # The second round: the unit answers again, the sender is satisfied.
    assert (await loop.sign(env, clerk(env), number, key=None)).ok
    assert (await loop.finish(env, clerk(env), number, "已彻底清理并加装护栏", key=None)).ok
    assert (await loop.approve_done(env, admin(env), number, key=None)).ok
    second = await answering.rate(env, sender(env), number, "satisfied", round_=2, key=None)
    assert second.ok and second.item is not None and second.item.rating == "satisfied"
    assert second.item.status is Status.ANSWERED and second.item.reopen_count == 1
    assert rows(env, "SELECT round, rating FROM ratings ORDER BY round") == [
        (1, "unsatisfied"),
        (2, "satisfied"),
    ]
    assert second.item.rating_round == 2
    twice = await answering.rate(
        env, sender(env), number, "unsatisfied", round_=2, reason="slow", key=None
    )
    assert twice.refusal is Refusal.DONE
    # The ledger shows both rounds and the reason.
    cells = await ledger_line(env)
    assert cells["群众评价"] == "不满意 → 满意"
    assert cells["不满意原因"] == "没解决" and cells["重办次数"] == 1


async def test_unsatisfied_with_an_office_answer_reopens_it_for_the_office(env: Env) -> None:
    number = await accepted(env, anonymous=False)
    assert (await handling.respond(env, admin(env), number, "已转交", key=None)).ok
    result = await answering.rate(
        env, sender(env), number, "unsatisfied", reason="off_topic", key=None
    )
    assert result.ok and result.status is Status.IN_PROGRESS
    assert result.item is not None and result.item.reopen_count == 1
    assert any("答非所问" in text for text in outbox_to(env, OFFICE))
    # The sender's confirmation asks for their own words; those reach the office.
    [confirm] = [n for n in result.notices if n.purpose == rating.RATING_REASON]
    assert zh("rating.reason.off_topic") in confirm.text
    words = await answering.add_words(env, sender(env), number, "我问的是排水沟", key=None)
    assert words.ok
    assert rows(env, "SELECT text FROM ratings") == [("我问的是排水沟",)]
    assert zh("office.rating_words", ref=f"#{number}", text="我问的是排水沟") in outbox_to(
        env, OFFICE
    )


async def test_only_the_sender_rates_and_only_the_current_answer(env: Env) -> None:
    number = await accepted(env)
    early = await answering.rate(env, sender(env), number, "satisfied", key=None)
    assert not early.ok  # no answer yet
    await answered_by_unit(env, number)
    stranger = await answering.rate(env, sender(env, STRANGER), number, "satisfied", key=None)
    assert stranger.refusal is Refusal.FORBIDDEN
    assert not (await answering.ask_why(env, sender(env, STRANGER), number, 1)).ok
    future = await answering.rate(env, sender(env), number, "satisfied", round_=2, key=None)
    assert not future.ok
    legacy = await answering.rate(env, sender(env), number, "basically", key=None)  # no round
    assert legacy.ok and rows(env, "SELECT round, rating FROM ratings") == [(1, "basically")]
    # 满意 / 基本满意 leave the item with the office (publish or close as before).
    assert legacy.item is not None and legacy.item.status is Status.ANSWERED


async def test_an_answer_nobody_rates_closes_as_unrated(env: Env) -> None:
    rated, unrated, fresh = [await accepted(env) for _ in range(3)]
    for number in (rated, unrated):
        await answered_by_unit(env, number)
    assert isinstance(env.repository.clock, FrozenClock)
    env.repository.clock.advance(days=6)
    await answered_by_unit(env, fresh)
    await answering.rate(env, sender(env), rated, "satisfied", key=None)
    env.repository.clock.advance(days=1, minutes=1)
    assert await rating.close_unrated(env) == [unrated]
    item = await env.repository.get_submission(unrated)
    assert item is not None and item.status is Status.CLOSED and item.rating is None
    assert rows(env, "SELECT submission_id, rating FROM ratings ORDER BY submission_id") == [
        (rated, "satisfied"),
        (unrated, "unrated"),
    ]
    late = await answering.rate(env, sender(env), unrated, "satisfied", key=None)
    assert not late.ok  # its round is over
    assert await rating.close_unrated(env) == []  # once; the fresh answer still waits
    assert rows(
        env,
        "SELECT step, actor FROM history WHERE submission_id = ? ORDER BY id DESC LIMIT 1",
        unrated,
    ) == [("expire", "system")]
    # (Over the days the items came in: a quiet day's digest is one line.)
    data = await env.repository.digest_data(since=env.now() - timedelta(days=9), until=env.now())
    assert data.unrated == 1  # counted apart from the ratings
    assert zh("digest.unrated", n=1) in "\n".join(compose_digest("zh-Hans", env.settings, data))


async def test_the_queue_filters_by_unit_unsigned_overdue_and_reopened(env: Env) -> None:
    quiet, late, redone = [await accepted(env) for _ in range(3)]
    for number in (quiet, late):
        assert (await loop.dispatch(env, admin(env), number, "cjb", deadline="3", key=None)).ok
    await answered_by_unit(env, redone)
    await answering.rate(env, sender(env), redone, "unsatisfied", reason="slow", key=None)
    assert (await loop.sign(env, clerk(env), quiet, key=None)).ok
    assert isinstance(env.repository.clock, FrozenClock)
    env.repository.clock.advance(days=9)  # past the sign-for limit and the 3-day deadline

    async def listed(**filters: object) -> list[int]:
        items, total = await env.repository.list_items(now=env.now(), **filters)  # type: ignore[arg-type]
        assert total == len(items)
        return [i.id for i in items]

    assert await listed(unit_id="cjb") == [quiet, late, redone]
    assert await listed(flag="unsigned") == [late, redone]
    assert await listed(flag="overdue") == [quiet, late]  # the redo's default deadline is later
    assert await listed(flag="redo") == [redone]
    assert await listed(status=Status.SIGNED, unit_id="cjb") == [quiet]
    assert await listed(unit_id="hbs") == []


async def test_the_digest_shows_the_loop_unsigned_overdue_by_unit_and_the_office_decisions(
    env: Env,
) -> None:
    late, bounced, checking = [await accepted(env) for _ in range(3)]
    for number in (late, bounced, checking):
        assert (await loop.dispatch(env, admin(env), number, "cjb", deadline="2", key=None)).ok
    assert (await loop.bounce(env, clerk(env), bounced, "不归我们管", key=None)).ok
    assert (await loop.sign(env, clerk(env), checking, key=None)).ok
    assert (await loop.finish(env, clerk(env), checking, "已办", key=None)).ok
    assert isinstance(env.repository.clock, FrozenClock)
    env.repository.clock.advance(days=7)
    data = await env.repository.digest_data(since=env.now() - timedelta(days=1), until=env.now())
    assert data.unsigned == [late] and data.unsigned_count == 1
    assert (data.returned, data.extensions, data.checks) == (1, 0, 1)
    text = "\n".join(compose_digest("zh-Hans", env.settings, data))
    assert zh("digest.unsigned", n=1, refs=f"#{late}") in text
    assert zh("digest.office_decisions", returned=1, extensions=0, checks=1) in text
    # Overdue with a unit: named by the unit (every open status counts: the 退单 and the
    # 办结 awaiting the office's check are overdue too).
    assert {o.id for o in data.overdue} == {late, bounced, checking}
    assert f"#{late} 城建办" in text


async def test_an_owner_typed_before_units_is_shown_as_such_and_can_be_dispatched(
    env: Env,
) -> None:
    number = await accepted(env, anonymous=False)
    # As the free-text "assign owner" stored it before units existed (migration 0024 keeps it).
    with sqlite3.connect(env.settings.storage.path) as db:
        db.execute(
            "UPDATE submissions SET owner = '城建办', deadline = '2026-11-20T15:59:59+00:00'"
            " WHERE id = ?",
            (number,),
        )
    item = await env.repository.get_submission(number)
    assert item is not None and item.unit_id is None
    card = cards.item_card("zh-Hans", env.settings, item).text
    assert zh("field.owner", owner="城建办", deadline="2026-11-20") in card
    assert "承办单位" not in card  # never mistaken for a configured unit
    cells = await ledger_line(env)
    assert cells["承办单位"] == zh("ledger.owner_text", owner="城建办") == "城建办（手填）"
    # The office may still dispatch it to a unit: then the unit is shown.
    assert (await loop.dispatch(env, admin(env), number, "cjb", key=None)).ok
    item = await env.repository.get_submission(number)
    assert item is not None
    card = cards.item_card("zh-Hans", env.settings, item).text
    assert (
        "承办单位：城建办" in card
        and zh("field.owner", owner="城建办", deadline="2026-11-20") not in card
    )
