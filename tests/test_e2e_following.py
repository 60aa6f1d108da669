"""End to end (#17, point 4): the sender of an item merged as a duplicate follows the
original: /status shows them its public state and the response, never its sender or its
text; anyone else is still refused."""

from __future__ import annotations

from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import BotRunner, Chat
from tests.test_e2e_lifecycle import ALICE, BOB, Office, campaign, row
from tests.test_e2e_office import submit

__all__ = ["campaign"]  # the fixture, used by name

CAROL = FakeUser(id=444000222, first_name="王", last_name="芳")


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def test_followers_see_the_public_status_and_response(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    alice, carol = Chat(stub, ALICE), Chat(stub, CAROL)
    text = "Streetlight at the east gate is out, call me on 13812345678"
    original = await submit(Chat(stub, BOB), text, anonymous=False)
    duplicate = await submit(alice, "东门的路灯不亮了", anonymous=True)
    mark = stub.mark()
    await office.answer(duplicate, "重复", f"#{original}")
    told = await stub.wait_for_text(ALICE.id, f"#{original}", after=mark)
    assert told.plain  # "您提交的 … #original 正在办理中"

    seen = await alice.send(f"/status {original}", expect=f"#{original}")
    assert zh("detail.followed") in seen.plain
    assert zh("status.new") in seen.plain
    for private in ("Bob", "13812345678", "east gate"):
        assert private not in seen.plain
    # Their own item, in full as before.
    own = await alice.send(f"/status {duplicate}", expect=f"#{duplicate}")
    assert "东门的路灯不亮了" in own.plain and zh("detail.followed") not in own.plain

    await office.press(original, "受理")
    await office.answer(original, "答复", "东门路灯已更换")
    assert row(campaign.settings, original)["status"] == "answered"
    seen = await alice.send(f"/status #{original}", expect=f"#{original}")
    assert zh("status.answered") in seen.plain and "东门路灯已更换" in seen.plain
    assert zh("status.accepted") in seen.plain  # its history, times without notes

    # Someone who neither sent nor follows it: as if it did not exist.
    refused = await carol.send(f"/status {original}")
    assert refused.plain == zh("status.not_found", ref=f"#{original}")
