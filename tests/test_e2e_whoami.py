"""/whoami (#21), through the real Application against the stand-in: a user's id and a
chat's id and type, so an operator can add a colleague or a group without a third-party
bot; for administrators, and for anyone while no administrator is configured."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, parse_html
from tests.conftest import ADMIN, BotRunner, Chat

OPERATOR = FakeUser(id=700100, first_name="王", language_code="en")
RESIDENT = FakeUser(id=555000111, first_name="Bob", language_code="en")
GROUP = -1001999888777


async def test_anyone_may_ask_while_no_administrator_is_configured(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    runner = BotRunner(make_settings(stub, roles={"admin_ids": []}))
    await runner.start()
    try:
        answer = await Chat(stub, OPERATOR).send("/whoami")
        expected = t(
            "en", "whoami.text", user_id=700100, chat_id=700100, chat_type="private", title="王"
        )
        expected += "\n\n" + t("en", "whoami.no_admins", user_id=700100)
        assert answer.plain == parse_html(expected)
        mark = stub.mark()
        stub.send_group_text(OPERATOR, GROUP, "/whoami@jindianzi_test_bot")
        in_group = await stub.wait_for(GROUP, after=mark)
        assert f"{GROUP}" in in_group.plain and "supergroup" in in_group.plain
        assert "700100" in in_group.plain
    finally:
        await runner.stop()


async def test_once_there_are_administrators_only_they_are_answered(
    stub: FakeBotApi, runner: BotRunner
) -> None:
    admin = await Chat(stub, ADMIN).send("/whoami")
    assert f"{ADMIN.id}" in admin.plain and "private" in admin.plain
    assert "roles.admin_ids" not in admin.plain  # the set-up hint is for a new deployment
    stranger = await Chat(stub, RESIDENT).send("/whoami")
    assert stranger.plain == t("en", "command.unknown")
    mark = stub.mark()
    stub.send_group_text(RESIDENT, GROUP, "/whoami")
    stub.send_group_text(ADMIN, GROUP, "/whoami")
    answer = await stub.wait_for(GROUP, after=mark)
    assert f"{ADMIN.id}" in answer.plain and f"{GROUP}" in answer.plain
    await stub.wait_idle(quiet=0.3)
    assert len([m for m in stub.messages_to(GROUP) if m.seq > mark]) == 1  # none for Bob
