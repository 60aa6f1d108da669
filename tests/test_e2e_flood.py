"""Flood control end to end: a broadcast to 200 senders through the real application and
its outbox, against a stand-in that answers 429 beyond Telegram's limits (30 messages/s
overall, 1/s per private chat, 20/min per group)."""

from __future__ import annotations

from collections.abc import Callable

from bot.anonymity import Secrets
from bot.config import Settings
from bot.core.cards import to_sender
from bot.core.records import Draft, NewSubmission, Outgoing, Sender
from bot.core.workflow import Kind
from tests.botapi_stub import FakeBotApi
from tests.conftest import BotRunner

RECIPIENTS = 200
FIRST_RESIDENT = 5_000_000
GROUP = -1009876543  # e.g. the office chat: 20 messages a minute


def submission(user_id: int, secrets: Secrets, anonymous: bool) -> NewSubmission:
    return NewSubmission(
        kind=Kind.SUGGESTION,
        text=f"建议第{user_id}号: 增加公交班次",
        topic_id="transport",
        suggested_topic_id="transport",
        evidence=(),
        language="zh-Hans",
        sender=None if anonymous else Sender(user_id=user_id, chat_id=user_id, name="居民"),
        reply_route=secrets.encrypt_int(user_id) if anonymous else None,
    )


async def test_broadcast_to_200_senders_stays_within_telegram_limits(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    flood = stub.enforce_flood_limits()
    runner = BotRunner(make_settings(stub))
    app = await runner.start()
    try:
        svc = app.bot_data.services
        # 200 residents' items (every other one anonymous), stored as the conversation does.
        notices: list[Outgoing] = []
        for n in range(RECIPIENTS):
            user_id = FIRST_RESIDENT + n
            await svc.repository.save_draft(user_id, Draft(parts=["x"]))
            item = await svc.repository.create_submission(
                submission(user_id, svc.secrets, anonymous=n % 2 == 1), owner_id=user_id
            )
            notices += to_sender(item, svc.secrets, "notify.published")
        assert len(notices) == RECIPIENTS
        # Queued first: 25 messages for one group, more than its minute allows. The ones over
        # the limit must wait for the group's window without holding up the residents'.
        group_route = svc.secrets.encrypt_int(GROUP)
        await svc.repository.queue_messages(
            [Outgoing(chat_enc=group_route, text=f"第{n}条") for n in range(25)]
        )
        # The batch is queued in one transaction, as an office action does, and delivered by
        # the outbox job (running every outbox_interval).
        mark = stub.mark()
        await svc.repository.queue_messages(notices)

        def delivered() -> list[int]:
            return [
                m.chat_id
                for m in stub.sent
                if m.seq > mark and m.method == "sendMessage" and m.chat_id > 0
            ]

        await stub.wait_until(lambda: len(delivered()) >= RECIPIENTS, timeout=40)
        await stub.wait_idle(quiet=0.3, timeout=10)
        counts = await svc.repository.outbox_counts()
        to_group = len(stub.messages_to(GROUP))
    finally:
        await runner.stop()

    first, last = flood.accepted[0][0], flood.accepted[-1][0]
    print(
        f"flood: {len(flood.accepted)} sends in {last - first:.1f} s; most in any 1 s: "
        f"{flood.max_in_window(1.0)}; per private chat: "
        f"{max(flood.max_in_window(1.0, c) for c in delivered())}; group in 60 s: "
        f"{flood.max_in_window(60.0, GROUP)}; 429s: {len(flood.refused)}"
    )
    residents = sorted(delivered())
    assert residents == [FIRST_RESIDENT + n for n in range(RECIPIENTS)]  # each exactly once
    for chat_id in (FIRST_RESIDENT, FIRST_RESIDENT + 1):  # a named and an anonymous sender
        (message,) = stub.messages_to(chat_id)
        assert "已公开" in message.plain
    assert flood.refused == []
    assert [e for e in stub.errors if e.status == 429] == []
    # The stand-in's own measurement of what arrived, over the whole run.
    assert flood.max_in_window(1.0) <= 30
    for chat_id in residents:
        assert flood.max_in_window(1.0, chat_id) <= 1
    assert to_group == 20
    assert flood.max_in_window(60.0, GROUP) == 20
    assert counts.get("sent", 0) == RECIPIENTS + 20
    assert counts.get("pending", 0) == 5  # their minute has not passed yet
    assert counts.get("failed", 0) == 0


async def test_the_stand_in_refuses_what_ptbs_own_limiter_lets_through(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """The enforcement can fail a test: PTB's leaky bucket lets a full bucket (30) go at
    once and then 30/s, so 60 quick sends break the 30-per-second sliding window."""
    from telegram import Bot
    from telegram.error import RetryAfter
    from telegram.ext import AIORateLimiter, ExtBot

    flood = stub.enforce_flood_limits()
    bot: Bot = ExtBot(
        stub.token,
        base_url=stub.base_url,
        rate_limiter=AIORateLimiter(overall_max_rate=30, max_retries=0),
    )
    refused = 0
    async with bot:
        for n in range(60):
            try:
                await bot.send_message(FIRST_RESIDENT + n, "x")
            except RetryAfter:
                refused += 1
    assert refused > 0
    assert len(flood.refused) == refused
    assert {why for _, _, _, why in flood.refused} == {"overall"}


async def test_a_flood_wait_in_one_group_does_not_freeze_other_chats(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    """Issue 15.10: the office group answers 429 "retry after N" (its outbox card, then an
    admin's command there); residents' /help meanwhile is answered at once, not N seconds
    later, and what the office was owed arrives once the wait is over."""
    import time

    from tests.conftest import ADMIN, Chat
    from tests.test_e2e_office import ALICE, BOB, submit

    wait = 5
    settings = make_settings(
        stub, roles={"office_chat_id": GROUP}, limits={"max_submissions_per_hour": 0}
    )
    runner = BotRunner(settings)
    await runner.start()
    residents = [Chat(stub, BOB), Chat(stub, ALICE)]

    async def help_took() -> float:
        started = time.monotonic()
        for chat in residents:
            await chat.send("/help", expect="/suggest")
        return time.monotonic() - started

    try:
        # The outbox's card for the office is refused with a flood wait, while the
        # resident who sent the item is still in the flow and others ask for help.
        stub.fail_next("sendMessage", status=429, retry_after=wait, chat_id=GROUP)
        started = time.monotonic()
        number = await submit(Chat(stub, ALICE), "建议在村口增设公交站台", anonymous=True)
        await stub.wait_until(lambda: any(e.status == 429 for e in stub.errors))
        refused_at = time.monotonic()
        await help_took()
        # Everything the residents did took well under the group's wait (it took the whole
        # wait before: 37.6 s and 20.2 s for a 20 s wait).
        assert time.monotonic() - started < 2.5
        card = await stub.wait_for(
            GROUP, predicate=lambda m: f"#{number}" in m.plain, timeout=wait + 10
        )
        assert time.monotonic() - refused_at >= wait - 0.5  # the group's wait was kept
        assert card.buttons

        # An admin's command in the group, answered directly, meets a flood wait too.
        mark = stub.mark()
        stub.fail_next("sendMessage", status=429, retry_after=wait, chat_id=GROUP)
        stub.send_group_text(ADMIN, GROUP, "/queue")
        await stub.wait_until(lambda: len([e for e in stub.errors if e.status == 429]) == 2)
        refused_at = time.monotonic()
        assert await help_took() < 1.5
        await stub.wait_for(
            GROUP, after=mark, predicate=lambda m: "提交概况" in m.plain, timeout=wait + 10
        )
        assert time.monotonic() - refused_at >= wait - 0.5
    finally:
        await runner.stop()
