"""End to end (#17, point 3, the copy half): the leading group's copy of an item gets the
item's files after the card, through the outbox: the photos as one media group, the voice
note, the document and the location as their own messages. A reply to one of them is an
instruction like a reply to the card; an uncertain send of the group is retried once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.databases import both_backends, rows, sqlite_only
from tests.test_e2e_lifecycle import ALICE, CHANNEL, GROUP, OFFICE, SECRETARY, Office

# The album's uncertain send (the outbox's album, retried once) on SQLite and on PostgreSQL
# (#24); the files' copies store what that test does: SQLite only.
make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def campaign(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: FrozenClock
) -> AsyncIterator[BotRunner]:
    stub.channels.add(CHANNEL)
    roles = {"office_chat_id": OFFICE, "leading_group_chat_id": GROUP, "channel_id": CHANNEL}
    settings = make_settings(
        stub, roles=roles, telegram={"outbox_interval": 0.2, "private_max_rate": 0}
    )
    runner = BotRunner(settings, clock)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def report_with_files(stub: FakeBotApi) -> int:
    """Alice reports a problem with two photos, a voice note, a document and a location."""
    chat = Chat(stub, ALICE)
    await chat.send("/report")
    sends: list[Callable[[], int]] = [
        lambda: stub.send_photo(ALICE, caption="河边护栏断了两段", file_id="PHOTO-A"),
        lambda: stub.send_photo(ALICE, file_id="PHOTO-B"),
        lambda: stub.send_voice(ALICE, file_id="VOICE-C"),
        lambda: stub.send_document(ALICE, file_id="DOC-D", file_name="现场.pdf"),
        lambda: stub.send_location(ALICE, 30.2741, 120.1551),
    ]
    received: SentMessage | None = None
    for send in sends:
        mark = stub.mark()
        send()
        received = await stub.wait_for(ALICE.id, after=mark)
    assert received is not None and "5" in received.plain
    proposal = await chat.tap(received, "下一步")
    who = await chat.tap(proposal, zh("topic.accept").split(" ", 1)[-1])
    summary = await chat.tap(who, zh("identity.anonymous").split(" ", 1)[-1])
    ack = await chat.tap(summary, zh("button.confirm").split(" ", 1)[-1], expect="#")
    return int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))


async def forward(stub: FakeBotApi, number: int) -> int:
    """受理, then 转领导小组, on the /show card (its files follow it: not the card)."""
    office = Office(stub)

    async def press(label: str) -> None:
        mark = stub.mark()
        stub.send_text(ADMIN, f"/show {number}")
        card = await stub.wait_for(
            ADMIN.id, after=mark, predicate=lambda m: f"#{number}" in m.plain and bool(m.buttons)
        )
        await office.chat.tap(card, label)

    await press("受理")
    mark = stub.mark()
    await press("转领导小组")
    return mark


def to_group(stub: FakeBotApi, after: int) -> list[SentMessage]:
    return [m for m in stub.messages_to(GROUP) if m.seq > after]


@sqlite_only
async def test_the_group_copy_gets_the_files_after_the_card(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    number = await report_with_files(stub)
    mark = await forward(stub, number)
    await stub.wait_for(GROUP, after=mark, predicate=lambda m: m.method == "sendLocation")
    await stub.wait_idle(quiet=0.3, timeout=10)
    sent = to_group(stub, mark)
    methods = [m.method for m in sent]
    # The card first (held files wait for it), then one album of the two photos (one call,
    # two messages), the voice note, the document, the location: each once.
    assert methods[0] == "sendMessage" and f"#{number}" in sent[0].plain
    assert sorted(methods[1:]) == sorted(
        ["sendMediaGroup", "sendMediaGroup", "sendVoice", "sendDocument", "sendLocation"]
    )
    album = [m for m in sent if m.method == "sendMediaGroup"]
    assert str(album[0].params["media"]).count("PHOTO-") == 2
    assert {m.params.get("chat_id") for m in sent} == {GROUP}
    caption = zh("unit.file.caption", ref=f"#{number}")
    assert caption in album[0].plain
    voice = next(m for m in sent if m.method == "sendVoice")
    assert "VOICE-C" in str(voice.params) and caption in voice.plain
    assert "DOC-D" in str(next(m for m in sent if m.method == "sendDocument").params)
    assert len([c for c in stub.calls if c.method == "sendMediaGroup"]) == 1

    # A leader replies to the album's photo with a voice note: an instruction on the item.
    mark = stub.mark()
    stub.send_voice(SECRETARY, file_id="VOICE-PISHI", reply_to=album[0])
    await stub.wait_for_text(GROUP, zh("group.instruction.saved"), after=mark)
    query = "SELECT kind FROM events WHERE submission_id = ?"
    kinds = [r[0] for r in rows(campaign.settings, query, (number,))]
    assert "instruction" in kinds


async def test_an_uncertain_album_is_retried_once(
    stub: FakeBotApi, campaign: BotRunner, clock: FrozenClock
) -> None:
    number = await report_with_files(stub)
    stub.drop_next("sendMediaGroup")  # the connection closes: did it arrive? unknown
    mark = await forward(stub, number)
    await stub.wait_for(GROUP, after=mark, predicate=lambda m: m.method == "sendLocation")
    for _ in range(12):  # two minutes of the bot's clock: the retry is due within it
        clock.advance(seconds=10)
        await asyncio.sleep(0.3)
        await stub.wait_idle(quiet=0.3, timeout=10)
    calls = [c for c in stub.calls if c.method == "sendMediaGroup"]
    assert len(calls) == 2  # the send and one retry, no more
    album = [m for m in to_group(stub, mark) if m.method == "sendMediaGroup"]
    assert len(album) == 2  # delivered once: its two photos
    sql = "SELECT status, attempts, uncertain FROM outbox WHERE body LIKE '%\"album\"%'"
    assert rows(campaign.settings, sql) == [("sent", 2, 1)]
