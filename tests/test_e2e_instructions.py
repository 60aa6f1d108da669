"""End to end (#17, point 3, the reply half): a leader's voice note or photo in reply to
the leading group's copy of a card is an instruction (批示): recorded with its file (kept by
id, shown to the office with the item's files), the office told; not dropped silently."""

from __future__ import annotations

from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi
from tests.conftest import BotRunner, Chat
from tests.databases import both_backends, rows
from tests.test_e2e_lifecycle import BOB, GROUP, OFFICE, SECRETARY, Office, campaign
from tests.test_e2e_office import submit

__all__ = ["campaign"]  # the fixture, used by name

# On SQLite and on PostgreSQL (#24): an instruction's event and its files.
make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def test_voice_and_photo_replies_are_instructions(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    number = await submit(Chat(stub, BOB), "The bridge railing is broken", anonymous=False)
    await office.press(number, "受理")
    mark = stub.mark()
    await office.press(number, "转领导小组")
    copy = await stub.wait_for_text(GROUP, f"#{number}", after=mark)

    mark = stub.mark()
    stub.send_voice(SECRETARY, file_id="VOICE-PISHI", reply_to=copy)
    await stub.wait_for_text(GROUP, zh("group.instruction.saved"), after=mark)
    told = await stub.wait_for_text(OFFICE, "张 书记", after=mark)
    assert f"#{number}" in told.plain and tn("zh-Hans", "attachment.voice", 1, n=1) in told.plain

    mark = stub.mark()
    stub.send_photo(SECRETARY, caption="照此办理", file_id="PHOTO-PISHI", reply_to=copy)
    await stub.wait_for_text(GROUP, zh("group.instruction.saved"), after=mark)
    await stub.wait_for_text(OFFICE, "照此办理", after=mark)

    settings = campaign.settings
    events = rows(settings, "SELECT body FROM events WHERE kind = 'instruction' ORDER BY id")
    bodies = [r[0] for r in events]
    query = "SELECT file_id FROM attachments WHERE submission_id = ?"
    files = {r[0] for r in rows(settings, query, (number,))}
    assert len(bodies) == 2 and bodies[1].endswith("|照此办理")
    assert {"VOICE-PISHI", "PHOTO-PISHI"} <= files

    # The office's /show sends the item's files: the instruction's voice note among them.
    mark = stub.mark()
    await office.card(number)
    await stub.wait_for(
        office.chat.user.id,
        after=mark,
        predicate=lambda m: m.method == "sendVoice" and "VOICE-PISHI" in str(m.params),
    )
