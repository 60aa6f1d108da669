"""End to end (#17, point 5): bulk actions from a chat list. On a /queue page (or /search
results) 批量处理 opens a selection of the listed items, kept in the database (a restart
keeps it); the clerk ticks items, picks one action, confirms a list of what will happen,
and reads each item's outcome. Each item goes through the same core function as one press
(an item the action does not fit is refused with the core's reason), and a confirmation
pressed twice changes nothing twice."""

from __future__ import annotations

from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends, rows
from tests.test_e2e_lifecycle import ALICE, campaign, row
from tests.test_e2e_office import submit

__all__ = ["campaign"]  # the fixture, used by name


make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def edited(stub: FakeBotApi, message: SentMessage, mark: int) -> SentMessage:
    """``message`` as edited after ``mark``."""
    return await stub.wait_for(
        ADMIN.id, after=mark, predicate=lambda m: m.message_id == message.message_id
    )


async def tick(stub: FakeBotApi, selection: SentMessage, *numbers: int) -> SentMessage:
    """Tick the items on the selection, one press each; the selection as it shows then."""
    for number in numbers:
        mark = stub.mark()
        ticks = data_of(selection, "bk:t:")
        stub.press(ADMIN, selection, next(d for d in ticks if d.endswith(f":{number}")))
        selection = await edited(stub, selection, mark)
    return selection


def data_of(message: SentMessage, prefix: str) -> list[str]:
    return [d for _, d in message.buttons if d.startswith(prefix)]


async def test_reject_spam_and_set_a_topic_from_the_queue(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
    spam1 = await submit(alice, "加微信 abc123 日赚三百元", anonymous=True)
    spam2 = await submit(alice, "加微信 xyz789 轻松赚钱", anonymous=True)
    real = await submit(alice, "村口的路灯坏了一个星期", anonymous=True)
    queue = await admin.send("/queue new", expect=f"#{real}")
    assert data_of(queue, "bk:new")

    selection = await admin.tap(queue, zh("batch.open"))
    assert {"bk:t:" in d for d in data_of(selection, "bk:")} == {True, False}
    assert all(len(d.encode()) <= 64 for _, d in selection.buttons)
    selection = await tick(stub, selection, spam1, spam2)
    ticked = [label for label, d in selection.buttons if label.startswith("☑")]
    assert ticked == [f"☑ #{spam1}", f"☑ #{spam2}"]

    await campaign.restart()  # the selection lives in the database
    confirm = await admin.tap(selection, zh("batch.action.spam"))
    assert tn("zh-Hans", "batch.confirm", 2, n=2, what="")[:6] in confirm.plain
    assert "abc123" in confirm.plain and "xyz789" in confirm.plain and "路灯" not in confirm.plain
    assert row(campaign.settings, spam1)["status"] == "new"  # nothing before confirming

    outcome = await admin.tap(confirm, zh("batch.go"))
    assert outcome.plain.startswith(zh("batch.outcome", done=2, n=2))
    for number in (spam1, spam2):
        assert row(campaign.settings, number)["status"] == "rejected"
        assert f"✅ #{number}" in outcome.plain
    assert row(campaign.settings, real)["status"] == "new"
    reason = zh("batch.spam_reason")
    await stub.wait_for_text(ALICE.id, reason[:10])

    # The same confirmation again (a double tap, a replayed update): nothing twice.
    again = await admin.tap_data(confirm, data_of(confirm, "bk:go:")[0])
    assert again.plain.startswith(zh("batch.outcome", done=2, n=2))
    assert zh("web.bulk.again") in again.plain
    [(rejections,)] = rows(
        campaign.settings, "SELECT COUNT(*) FROM history WHERE to_status = 'rejected'"
    )
    assert rejections == 2

    # 改类别 on a new /queue page: the topics to choose from, then the confirmation.
    queue = await admin.send("/queue new", expect=f"#{real}")
    selection = await admin.tap(queue, zh("batch.open"))
    selection = await tick(stub, selection, real)  # (the page lists only the new one now)
    mark = stub.mark()
    stub.press(ADMIN, selection, data_of(selection, "bk:a:")[2])  # 改类别: the topics
    topics = await stub.wait_for(
        ADMIN.id, after=mark, predicate=lambda m: m.message_id == selection.message_id
    )
    before = row(campaign.settings, real)["topic_id"]
    choice = next(d for d in data_of(topics, "bk:a:") if not d.endswith(f":{before}"))
    confirm = await admin.tap_data(topics, choice)
    outcome = await admin.tap(confirm, zh("batch.go"))
    assert outcome.plain.startswith(zh("batch.outcome", done=1, n=1))
    assert row(campaign.settings, real)["topic_id"] == choice.rsplit(":", 1)[1] != before
