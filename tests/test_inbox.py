"""The durable inbox through the real application: updates a crash left unhandled are
replayed on start-up, a replay changes nothing twice, and Telegram's repeats are refused
even after a restart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

from telegram import Update

from bot.anonymity import load_or_create_secrets
from bot.i18n import t
from bot.transport.inbox import Inbox
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import BotRunner, Chat, drafts_of

ALICE = FakeUser(id=5151, first_name="李", last_name="娟")


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def query(runner: BotRunner, sql: str) -> list[Any]:
    with sqlite3.connect(runner.settings.storage.path) as db:
        return db.execute(sql).fetchall()


async def plant(runner: BotRunner, *updates: dict[str, Any]) -> None:
    """Leave ``updates`` in the inbox as received-but-unhandled, as a SIGKILL would."""
    secrets = load_or_create_secrets(runner.settings.anonymity)
    repository = Repository(runner.settings.storage.target)
    await repository.connect()
    try:
        async with repository.transaction() as db:
            await db.executemany(
                "INSERT INTO inbox (update_id, body, received_at) VALUES (?, ?, '2026-01-01')"
                " ON CONFLICT (update_id) DO UPDATE SET body = excluded.body, handled_at = NULL",
                [(u["update_id"], secrets.encrypt(json.dumps(u))) for u in updates],
            )
    finally:
        await repository.close()


async def test_updates_left_unhandled_are_replayed_at_start(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    await runner.stop()
    update_id = stub.send_text(ALICE, "/suggest 建议在小区门口增设快递柜")
    planted = stub.delivered(update_id)
    await plant(runner, planted)
    await runner.start()
    reply = await stub.wait_for(ALICE.id, timeout=10)
    assert any(data == "draft:next" for _, data in reply.buttons)
    await stub.wait_idle(quiet=0.3)
    # Telegram hands the same update over too: it is refused, not handled a second time.
    assert len([m for m in stub.messages_to(ALICE.id) if m.method == "sendMessage"]) == 1
    [body] = drafts_of(runner.settings)
    assert body.count("快递柜") == 1
    assert query(runner, "SELECT COUNT(*) FROM inbox WHERE body IS NOT NULL") == [(0,)]


async def test_a_replayed_flow_adds_nothing_twice_and_acknowledges_the_same_item(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    chat = Chat(stub, ALICE)
    await chat.send("/report")
    mark = stub.mark()
    text_update = stub.send_text(ALICE, "桥上的栏杆断了一截，很危险")
    received = await stub.wait_for_text(ALICE.id, "已记下", after=mark)
    await stub.wait_idle(quiet=0.3)
    await runner.stop()

    # As if the process died after the handler's commit, before its update was marked.
    await plant(runner, stub.delivered(text_update))
    mark = stub.mark()
    await runner.start()
    again = await stub.wait_for_text(ALICE.id, "已记下", after=mark, timeout=10)
    assert again.plain == received.plain  # the same running total: nothing added twice
    [body] = drafts_of(runner.settings)
    assert body.count("栏杆") == 1

    proposal = await chat.tap(again, "下一步")
    who = await chat.tap(proposal, "就是这个类别")
    summary = await chat.tap(who, "实名提交")
    mark = stub.mark()
    confirm_update = stub.press(ALICE, summary, summary.button_data("确认提交"))
    ack = await stub.wait_for_text(ALICE.id, "#1", after=mark)
    await stub.wait_idle(quiet=0.3)
    await runner.stop()

    # Died after storing the item, before (or while) acknowledging it.
    await plant(runner, stub.delivered(confirm_update))
    mark = stub.mark()
    await runner.start()
    ack_again = await stub.wait_for_text(ALICE.id, "#1", after=mark, timeout=10)
    assert ack_again.plain == ack.plain
    await stub.wait_idle(quiet=0.3)
    assert query(runner, "SELECT id, text FROM submissions") == [(1, "桥上的栏杆断了一截，很危险")]
    assert query(runner, "SELECT COUNT(*) FROM drafts") == [(0,)]


async def test_a_repeat_after_a_clean_restart_is_refused(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    chat = Chat(stub, ALICE)
    await chat.send("/report")
    first = stub.send_text(ALICE, "桥上的栏杆断了一截")
    await stub.wait_for_text(ALICE.id, "已记下")
    await stub.wait_processed(first)
    await stub.wait_idle(quiet=0.3)
    await runner.restart()  # the processor's memory of ids is gone; the inbox's is not
    stub.deliver_again(first)
    done = await chat.send("/cancel")
    assert zh("cancel.done") in done.plain
    assert len([m for m in chat.messages() if "已记下" in m.plain]) == 1


async def test_admit_keeps_first_deliveries_once_and_in_order(
    runner: BotRunner, stub: FakeBotApi
) -> None:
    await runner.stop()
    secrets = load_or_create_secrets(runner.settings.anonymity)
    inbox = Inbox(Repository(runner.settings.storage.path), secrets)
    await inbox.repository.connect()
    try:
        ids = [stub.send_text(ALICE, f"第{i}条") for i in range(3)]
        updates = [Update.de_json(stub.delivered(i), None) for i in ids]
        kept = await inbox.admit([updates[0], updates[1], updates[0], updates[2]])
        assert [u.update_id for u in kept] == ids
        assert await inbox.admit(updates) == []
        assert [i for i, _ in await inbox.repository.pending_updates()] == ids
        inbox.handled(ids[1])
        await inbox.flush()
        assert [i for i, _ in await inbox.repository.pending_updates()] == [ids[0], ids[2]]
        # Another key cannot read a body: the update is skipped and marked, not crashed on.
        other = Inbox(inbox.repository, type(secrets).generate())
        queue: asyncio.Queue[object] = asyncio.Queue()
        assert await other.replay(queue, None) == 0  # type: ignore[arg-type]
        await other.flush()
        assert await inbox.repository.pending_updates() == []
    finally:
        await inbox.repository.close()
