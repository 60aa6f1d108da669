"""End to end (#17, point 11): the smaller things seen: a message as long as Telegram
allows is kept and /help says how long a submission may be; the "ask" prompt promises
anonymity only for anonymous senders."""

from __future__ import annotations

import re

from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi
from tests.conftest import ADMIN, BotRunner, Chat, drafts_of
from tests.test_e2e_office import ALICE, BOB, office, submit
from tests.test_e2e_questions import clerk_prompt

__all__ = ["office"]  # the fixture, used by name


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def test_a_long_message_is_kept_and_help_says_the_limit(
    stub: FakeBotApi, office: BotRunner
) -> None:
    alice = Chat(stub, ALICE)
    text = "建议" + "在幸福路增设公交站。" * 360  # 3,602 characters: one legal message
    reply = await alice.send(text)
    limit = office.settings.limits.max_text_chars
    assert str(limit) not in reply.plain  # not "too long"
    assert any(text in draft for draft in drafts_of(office.settings))
    helped = await alice.send("/help")
    assert tn("zh-Hans", "help.limit", limit, chars=limit) in helped.plain


async def test_ask_promises_anonymity_only_to_anonymous_senders(
    stub: FakeBotApi, office: BotRunner
) -> None:
    anonymous = await submit(Chat(stub, ALICE), "村口的路灯坏了一个星期", anonymous=True)
    named = await submit(Chat(stub, BOB), "Please fix the bus stop roof", anonymous=False)
    for number, key in ((anonymous, "admin.ask.ask"), (named, "admin.ask.ask_named")):
        card = await Chat(stub, ADMIN).send(f"/show {number}", expect=f"#{number}")
        prompt = await clerk_prompt(stub, card, "补充")
        # (then how to answer it: #17, a typed answer works in a private chat)
        assert prompt.plain == zh(key, ref=f"#{number}") + "\n" + zh("admin.prompt.how.private")
    assert "身份不会显示" not in zh("admin.ask.ask_named", ref="#1")


async def test_card_history_is_one_time_ordered_list_with_times(
    stub: FakeBotApi, office: BotRunner
) -> None:
    number = await submit(Chat(stub, ALICE), "村口的路灯坏了一个星期", anonymous=True)
    admin = Chat(stub, ADMIN)
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    await stub.wait_for_text(ALICE.id, f"#{number}", after=mark)
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    prompt = await clerk_prompt(stub, card, "指定承办")
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, "城建办 10")
    await stub.wait_for_text(ADMIN.id, "城建办", after=mark)
    card = await admin.send(f"/show {number}", expect=f"#{number}")
    mark = stub.mark()
    stub.press_button(ADMIN, card, "开始办理")
    await stub.wait_for_text(ALICE.id, f"#{number}", after=mark)

    card = await admin.send(f"/show {number}", expect=zh("status.in_progress"))
    record = card.plain.split(zh("detail.history").replace("<b>", "").replace("</b>", ""))[1]
    lines = [line for line in record.strip().split("\n") if line]
    assert all(re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} ", line) for line in lines), lines
    said = [line[17:] for line in lines]
    assert said[0] == zh("status.new") and said[1] == zh("status.accepted")
    assert "城建办" in said[2] and said[3] == zh("status.in_progress")  # in the order it happened
    assert [line[:16] for line in lines] == sorted(line[:16] for line in lines)
