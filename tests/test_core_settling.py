"""The core functions of hardening's publication and rating points (#15.2, #15.6), without
the Bot API stand-in: publishing starts a publication that only the outbox settles
(published once the channel post went out, back to the status before when it failed for
good, and what a stop left unsettled at the next start), every copy of the card showing
each step; one rating per round, a second one refused as done, an older answer's as stale."""

from __future__ import annotations

from bot.core import answering, copies, handling, reviewing
from bot.core.copies import CopyKind, Origin
from bot.core.env import Env
from bot.core.results import Refusal
from bot.core.workflow import Status
from bot.transport.outcomes import FailedForGood
from tests.test_core import (
    ADMIN_ID,
    CHANNEL,
    OFFICE,
    RESIDENT_ID,
    admin,
    env,
    resident,
    rows,
    submitted,
    zh,
)
from tests.test_storage import reopen

__all__ = ["env"]  # the fixture


async def answered(env: Env, user_id: int = RESIDENT_ID) -> int:
    number = await submitted(env, user_id=user_id)
    await reviewing.accept(env, admin(env), number, key=None)
    assert (await handling.respond(env, admin(env), number, "已修好。", key=None)).ok
    return number


def edits(env: Env, number: int) -> list[str]:
    """The bodies of the pending edits of the item's card copies."""
    return [
        str(body)
        for (body,) in rows(
            env,
            "SELECT body FROM outbox WHERE submission_id = ? AND copy_id IS NOT NULL"
            " AND status = 'pending'",
            number,
        )
    ]


async def post_of(env: Env, number: int) -> int:
    [entry] = [
        e
        for e in await env.repository.due_messages()
        if e.purpose == "channel_post" and e.submission_id == number
    ]
    return entry.id


async def test_publishing_waits_for_the_post_and_the_outbox_settles_it(env: Env) -> None:
    number = await answered(env)
    await copies.record(env, number, CopyKind.SHOW, "zh-Hans", OFFICE, 31)
    pressed = Origin(ADMIN_ID, 57, "zh-Hans")
    started = await handling.publish(env, admin(env), number, key=None, origin=pressed)
    assert started.ok and started.status is Status.PUBLISHING
    assert started.message == zh("admin.publishing", ref=f"#{number}")
    post, *held = started.notices
    assert env.secrets.decrypt_int(post.chat_enc) == CHANNEL and post.after is None
    # The sender's notice and the confirmation where it was pressed wait for the post.
    assert {env.secrets.decrypt_int(n.chat_enc): n.after for n in held} == {
        RESIDENT_ID: 0,
        ADMIN_ID: 0,
    }
    assert any(zh("status.publishing") in body for body in edits(env, number))
    # Nothing but the outbox settles it: the office's card offers no move meanwhile.
    for move in (handling.publish, handling.close):
        refused = await move(env, admin(env), number, key=None)
        assert refused.refusal is Refusal.ILLEGAL

    entry = await post_of(env, number)
    [due] = [e for e in await env.repository.due_messages() if e.id == entry]
    await env.repository.mark_sent(due, 4711)
    done = await handling.post_delivered(env, number)
    assert done.ok and done.status is Status.PUBLISHED and done.refreshed == 2
    assert done.item is not None and done.item.channel_message_id == 4711
    assert all(zh("status.published") in body for body in edits(env, number))
    again = await handling.post_delivered(env, number)
    assert again.ok and again.status is None and again.refreshed == 0  # settled once


async def test_a_post_that_failed_for_good_takes_the_item_back(env: Env) -> None:
    number = await answered(env)
    await copies.record(env, number, CopyKind.SHOW, "zh-Hans", OFFICE, 31)
    await handling.publish(env, admin(env), number, key=None)
    failure = FailedForGood("Forbidden: no rights", maybe_delivered=False, uncertain=False)
    assert await env.repository.mark_failed(await post_of(env, number), failure)
    back = await handling.post_failed(env, number, failure.error)
    assert back.ok and back.status is Status.ANSWERED and back.refreshed == 1
    assert zh("status.answered") in edits(env, number)[-1]
    history = await env.repository.history(number)
    assert (history[-1].actor, history[-1].note) == ("system", "Forbidden: no rights")
    assert (await handling.post_failed(env, number, "again")).status is None


async def test_what_a_stop_left_unsettled_is_settled_at_the_next_start(env: Env) -> None:
    """The outcomes were recorded, then the bot stopped before settling the items."""
    sent, failed, waiting = [await answered(env, RESIDENT_ID + i) for i in range(3)]
    for number in (sent, failed, waiting):
        await handling.publish(env, admin(env), number, key=None)
    [due] = [e for e in await env.repository.due_messages() if e.id == await post_of(env, sent)]
    await env.repository.mark_sent(due, 1)
    failure = FailedForGood("Bad Request: chat not found", maybe_delivered=False, uncertain=False)
    await env.repository.mark_failed(await post_of(env, failed), failure)

    assert await handling.settle_publishing(env) == 2
    statuses = {n: (await env.repository.get_submission(n)) for n in (sent, failed, waiting)}
    assert {n: s.status for n, s in statuses.items() if s is not None} == {
        sent: Status.PUBLISHED,
        failed: Status.ANSWERED,
        waiting: Status.PUBLISHING,  # its post is still on its way
    }
    assert await handling.settle_publishing(env) == 0


async def test_one_rating_per_round_a_second_is_done_an_older_answers_is_stale(
    env: Env,
) -> None:
    number = await answered(env)
    ref = f"#{number}"
    first = await answering.rate(env, resident(env), number, "unsatisfied", round_=1, key=11)
    assert first.ok and [n.text for n in first.notices] == [
        zh("office.rating", ref=ref, rating=zh("rating.unsatisfied"))
    ]
    again = await answering.rate(env, resident(env), number, "satisfied", round_=1, key=12)
    assert again.refusal is Refusal.DONE and not again.notices
    assert again.message == zh("rate.already", ref=ref, rating=zh("rating.unsatisfied"))
    replayed = await answering.rate(env, resident(env), number, "unsatisfied", round_=1, key=11)
    assert replayed.ok and replayed.replayed and not replayed.notices

    # A second answer (after the loop issue's reopening) starts round 2: its buttons rate
    # it; the first answer's, if they were never pressed, are stale.
    unrated = await answered(env, RESIDENT_ID + 1)
    for item in (number, unrated):
        await reopen(env.repository, item)
        answer = await handling.respond(env, admin(env), item, "已再次处理。", key=None)
        assert answer.item is not None and answer.item.rating_round == 2
        [buttons] = answer.notices[0].buttons
        assert all(data.startswith(f"rate:{item}:2:") for _, data in buttons)
    other = resident(env, RESIDENT_ID + 1)
    stale = await answering.rate(env, other, unrated, "satisfied", round_=1, key=13)
    assert stale.refusal is Refusal.STALE
    assert stale.message == zh("rate.stale", ref=f"#{unrated}") and not stale.notices
    second = await answering.rate(env, resident(env), number, "satisfied", round_=2, key=14)
    assert second.ok and second.item is not None and second.item.rating == "satisfied"
    future = await answering.rate(env, resident(env), number, "satisfied", round_=3, key=15)
    assert future.refusal is Refusal.FORBIDDEN
    assert await env.repository.ratings(number) == [(1, "unsatisfied"), (2, "satisfied")]
    assert await env.repository.ratings(unrated) == []
    assert rows(env, "SELECT COUNT(*) FROM events WHERE kind = 'rating'") == [(2,)]
