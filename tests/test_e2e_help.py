"""End to end (#17, point 7): /help by role, answered where asked: a resident's commands;
an administrator's also the office's (private chat and office group); the leading group's
how to instruct; /start in a group answers too; someone not in the office, in the office
group, is told where to write."""

from __future__ import annotations

from bot.i18n import t
from tests.botapi_stub import FakeBotApi
from tests.conftest import ADMIN, BotRunner, Chat
from tests.test_e2e_lifecycle import ALICE, BOB, GROUP, OFFICE, SECRETARY, campaign

__all__ = ["campaign"]  # the fixture, used by name


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def first_line(key: str, lang: str = "zh-Hans") -> str:
    return t(lang, key).split("\n")[0].replace("<b>", "").replace("</b>", "")


async def test_help_by_role_where_asked(stub: FakeBotApi, campaign: BotRunner) -> None:
    resident = await Chat(stub, ALICE).send("/help")
    assert first_line("help.text") in resident.plain
    assert first_line("help.office.title") not in resident.plain and "/review" not in resident.plain

    clerk = await Chat(stub, ADMIN).send("/help")
    assert first_line("help.text") in clerk.plain  # they may also send their own suggestions
    assert first_line("help.office.title") in clerk.plain
    commands = ("/review", "/queue", "/show", "/search", "/enter", "/survey", "/digest", "/export")
    for command in commands:
        assert command in clerk.plain
    assert zh("help.office.stats_unit") in clerk.plain  # #19: one unit's rates

    # In the office group (privacy mode lets commands through): the office's help.
    for command in ("/help", "/start", "/help@jindianzi_test_bot"):
        mark = stub.mark()
        assert stub.send_group_text(ADMIN, OFFICE, command) is not None
        office = await stub.wait_for(OFFICE, after=mark, predicate=lambda m: "/queue" in m.plain)
        assert first_line("help.office.title") in office.plain
        assert first_line("help.text") not in office.plain  # no resident drafts in the group

    # A member of the office group who is not configured as office staff.
    mark = stub.mark()
    stub.send_group_text(BOB, OFFICE, "/help")
    other = await stub.wait_for(OFFICE, after=mark)
    assert other.plain == zh("help.office.not_admin", bot="jindianzi_test_bot")

    # The leading group: how to instruct.
    mark = stub.mark()
    stub.send_group_text(SECRETARY, GROUP, "/help")
    group = await stub.wait_for(GROUP, after=mark)
    assert first_line("help.group") in group.plain and "/review" not in group.plain

    # Any other group: where to write.
    mark = stub.mark()
    stub.send_group_text(ALICE, -1009999999, "/start")
    elsewhere = await stub.wait_for(-1009999999, after=mark)
    assert elsewhere.plain == zh("help.elsewhere", bot="jindianzi_test_bot")


def test_the_office_help_and_the_stats_usage_name_stats_unit_in_every_language() -> None:
    for lang in ("zh-Hans", "zh-Hant", "en"):
        assert t(lang, "help.office.stats_unit").startswith("/stats unit ")
        assert "/stats unit " in t(lang, "stats.usage")
