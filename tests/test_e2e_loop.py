"""End to end (#18): items walk the units' loop through the real Application against the
stand-in: 派单 to a unit's group and to a unit of individual members, 签收, 退单 and
re-dispatch, an approved and a refused 延期申请, progress notes as replies to the task card
(privacy mode), a returned and an approved 办结, a 不满意 sent back to the unit (重办) and a
second round rated 满意; what each chat received, and what it did
not (no unit sees another unit's items, a named sender's id or username, or anything of an
anonymous sender); an outsider's press changes nothing; a restart in the middle of a step
loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends, database
from tests.test_e2e_office import submit

OFFICE = -1001234567
CJB_GROUP = -1009000  # the construction office's group
ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="王", last_name="强", username="wang_qiang")
CJB_CLERK = FakeUser(id=4001, first_name="城建", last_name="小张")
CJB_PASSER_BY = FakeUser(id=4009, first_name="路人")  # in the group, not a listed member
HBS_MEMBER = FakeUser(id=4002, first_name="环保", last_name="小刘")
OUTSIDER = FakeUser(id=4999, first_name="外人")
IDENTITIES = ("987654321", "li_xiuying", "555000111", "wang_qiang", "王 强", "王强")


make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def row(settings: Settings, number: int, columns: str) -> tuple[object, ...]:
    with database(settings) as db:
        found = db.execute(f"SELECT {columns} FROM submissions WHERE id = ?", (number,))
        return tuple(found.fetchone())


def status(settings: Settings, number: int) -> str:
    return str(row(settings, number, "status")[0])


@pytest.fixture
async def loop_bot(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        units=[
            {
                "id": "cjb",
                "names": {"zh-Hans": "城建办", "en": "Construction office"},
                "chat_id": CJB_GROUP,
                "member_ids": [CJB_CLERK.id],
            },
            {
                "id": "hbs",
                "names": {"zh-Hans": "环保所", "en": "Environment station"},
                "member_ids": [HBS_MEMBER.id],
                "tell_sender": False,
            },
        ],
    )
    runner = BotRunner(settings)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def current(stub: FakeBotApi, message: SentMessage) -> SentMessage:
    """The message as the chat shows it now (its last send or edit)."""
    return [
        m for m in stub.sent if m.chat_id == message.chat_id and m.message_id == message.message_id
    ][-1]


async def press_when_shown(
    stub: FakeBotApi, user: FakeUser, message: SentMessage, label: str
) -> int:
    """Press ``label`` on ``message`` once its copy shows that button (the edits of a card
    come through the outbox, after the answer to the press before); returns the mark."""
    shown = await stub.wait_for(
        message.chat_id,
        predicate=lambda m: (
            m.message_id == message.message_id
            and m is current(stub, message)
            and any(label in text for text, _ in m.buttons)
        ),
    )
    mark = stub.mark()
    stub.press_button(user, shown, label)
    return mark


async def answer_prompt(
    stub: FakeBotApi, user: FakeUser, chat: int, ref: str, text: str, mark: int
) -> int:
    """Wait for the bot's ForceReply question about ``ref`` in ``chat`` and reply to it."""
    prompt = await stub.wait_for(
        chat,
        after=mark,
        predicate=lambda m: (
            ref in m.plain and (m.params.get("reply_markup") or {}).get("force_reply") is True
        ),
    )
    after = stub.mark()
    stub.send_reply(user, prompt, text)
    return after


async def dispatch(stub: FakeBotApi, card: SentMessage, unit: str, number: int, text: str) -> int:
    """The office presses 派单 on ``card`` (unless the units are still listed), picks
    ``unit``, answers the question."""
    mark = stub.mark()
    units = current(stub, card)
    if not any(f"adm:dsu:{number}:" in d for _, d in units.buttons):
        stub.press_button(ADMIN, units, zh("admin.action.dispatch"))
        units = await stub.wait_for(
            card.chat_id,
            after=mark,
            predicate=lambda m: (
                m.message_id == card.message_id
                and any(f"adm:dsu:{number}:" in d for _, d in m.buttons)
            ),
        )
    stub.press(ADMIN, units, units.button_data(unit))
    return await answer_prompt(stub, ADMIN, card.chat_id, f"#{number}", text, mark)


async def office_card(stub: FakeBotApi, number: int) -> SentMessage:
    return await stub.wait_for(
        OFFICE, predicate=lambda m: f"#{number} " in m.plain and bool(m.buttons)
    )


async def accept(stub: FakeBotApi, number: int, sender: FakeUser) -> SentMessage:
    """The office accepts item ``number`` on its announcement; the card once it offers 派单."""
    card = await office_card(stub, number)
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    await stub.wait_for_text(sender.id, f"#{number}", after=mark)
    return await stub.wait_for(
        OFFICE,
        after=mark,
        predicate=lambda m: (
            m.message_id == card.message_id
            and zh("admin.action.dispatch") in [label for label, _ in m.buttons]
        ),
    )


def unit_saw(stub: FakeBotApi, *chats: int) -> str:
    return "\n".join(m.plain for m in stub.sent if m.chat_id in chats)


async def test_a_named_item_walks_the_loop_with_bounce_extension_and_returned_done(
    stub: FakeBotApi, loop_bot: BotRunner
) -> None:
    settings = loop_bot.settings
    alice = Chat(stub, ALICE)
    number = await submit(alice, "村口路灯坏了一个多星期，晚上很黑", anonymous=False)
    ref = f"#{number}"
    card = await accept(stub, number, ALICE)
    # 派单 to the construction office's group: a bad deadline is refused with the reason.
    mark = await dispatch(stub, card, "城建办", number, "明天 请核实")
    refusal = await stub.wait_for_text(OFFICE, "明天", after=mark)
    assert refusal.plain == zh("loop.deadline.bad", value="明天")
    assert status(settings, number) == "accepted"
    mark = await dispatch(stub, card, "城建办", number, "默认 请三天内到现场核实")
    task = await stub.wait_for(
        CJB_GROUP, after=mark, predicate=lambda m: ref in m.plain and bool(m.buttons)
    )
    assert "村口路灯坏了" in task.plain and "请三天内到现场核实" in task.plain
    assert "李 秀英" in task.plain  # named: the name the sender gave, nothing more
    told = await stub.wait_for_text(ALICE.id, "城建办", after=mark)
    deadline = str(row(settings, number, "deadline")[0])
    assert status(settings, number) == "dispatched"
    # Somebody in the group who is not a listed member, and an outsider, change nothing.
    for who in (CJB_PASSER_BY, OUTSIDER):
        stub.press_button(who, task, zh("unit.action.sign"))
    await stub.wait_idle()
    assert status(settings, number) == "dispatched"
    assert row(settings, number, "signed_at")[0] is None
    # 退单 with a reason; the bot restarts between the question and the answer.
    mark = stub.mark()
    stub.press_button(CJB_CLERK, task, zh("unit.action.bounce"))
    prompt = await stub.wait_for(
        CJB_GROUP, after=mark, predicate=lambda m: "force_reply" in str(m.params)
    )
    await loop_bot.restart()
    mark = stub.mark()
    stub.send_reply(CJB_CLERK, prompt, "路灯归供电所管，不是城建办")
    bounced = await stub.wait_for_text(OFFICE, "路灯归供电所管", after=mark)
    assert "城建办" in bounced.plain and ref in bounced.plain
    assert status(settings, number) == "returned"
    assert [label for label, _ in bounced.buttons] == [
        zh("admin.action.dispatch"),
        zh("admin.action.take_back"),
    ]
    # The office re-dispatches (from the notice) to the environment station, a unit of
    # individual members.
    mark = await dispatch(stub, bounced, "环保所", number, "5 请环保所牵头")
    private_task = await stub.wait_for(
        HBS_MEMBER.id, after=mark, predicate=lambda m: ref in m.plain and bool(m.buttons)
    )
    # The group's task card now says only that the item is no longer theirs.
    gone = await stub.wait_for(
        CJB_GROUP,
        after=mark,
        predicate=lambda m: m.message_id == task.message_id and "不再" in m.plain,
    )
    assert gone.plain == zh("unit.card.gone", ref=ref) and gone.buttons == []
    mark = stub.mark()
    stub.press_button(HBS_MEMBER, private_task, zh("unit.action.sign"))
    await stub.wait_for_text(HBS_MEMBER.id, zh("loop.signed", ref=ref), after=mark)
    assert status(settings, number) == "signed"
    # 延期申请: the office approves with one tap; the sender hears of the new deadline.
    new_day = (date.today() + timedelta(days=200)).isoformat()
    mark = await press_when_shown(stub, HBS_MEMBER, private_task, zh("unit.action.extension"))
    await answer_prompt(stub, HBS_MEMBER, HBS_MEMBER.id, ref, f"{new_day} 需要协调供电所", mark)
    asked = await stub.wait_for_text(OFFICE, "需要协调供电所")
    assert new_day in asked.plain
    assert row(settings, number, "deadline")[0] != f"{new_day}"  # not before approval
    mark = stub.mark()
    stub.press_button(ADMIN, asked, zh("admin.action.approve_extension"))
    moved = await stub.wait_for_text(ALICE.id, new_day, after=mark)
    assert "期限" in moved.plain
    await stub.wait_for_text(HBS_MEMBER.id, new_day, after=mark)
    assert status(settings, number) == "signed"
    # 办结, returned by the office with a note, then done again with a photo as evidence.
    mark = await press_when_shown(stub, HBS_MEMBER, private_task, zh("unit.action.finish"))
    await answer_prompt(stub, HBS_MEMBER, HBS_MEMBER.id, ref, "已联系供电所", mark)
    check = await stub.wait_for_text(OFFICE, "已联系供电所", after=mark)
    assert status(settings, number) == "done_pending"
    mark = stub.mark()
    stub.press_button(ADMIN, check, zh("admin.action.return_done"))
    await answer_prompt(stub, ADMIN, OFFICE, ref, "请修好后再报，附照片", mark)
    await stub.wait_for_text(HBS_MEMBER.id, "请修好后再报", after=mark)
    assert status(settings, number) == "signed"
    mark = await press_when_shown(stub, HBS_MEMBER, private_task, zh("unit.action.finish"))
    prompt = await stub.wait_for(
        HBS_MEMBER.id, after=mark, predicate=lambda m: "force_reply" in str(m.params)
    )
    mark = stub.mark()
    stub.send_chat_photo(
        HBS_MEMBER,
        HBS_MEMBER.id,
        caption="路灯已修复，今晚起正常照明",
        file_id="FIXED",
        reply_to=prompt,
    )
    check = await stub.wait_for_text(OFFICE, "路灯已修复", after=mark)
    await stub.wait_for(OFFICE, after=mark, predicate=lambda m: m.method == "sendPhoto")
    mark = stub.mark()
    stub.press_button(ADMIN, check, zh("admin.action.approve_done"))
    response = await stub.wait_for_text(ALICE.id, "路灯已修复", after=mark)
    assert any("rate:" in data for _, data in response.buttons)  # asked to rate it
    evidence = await stub.wait_for(
        ALICE.id, after=mark, predicate=lambda m: m.method == "sendPhoto"
    )
    assert evidence.params["photo"] == "FIXED"
    assert status(settings, number) == "answered"
    assert row(settings, number, "response")[0] == "路灯已修复，今晚起正常照明"
    # The record: one history row per step, both in order.
    with database(settings) as db:
        steps = [
            r[0]
            for r in db.execute(
                "SELECT step FROM history WHERE submission_id = ? AND step IS NOT NULL ORDER BY id",
                (number,),
            )
        ]
    assert steps == [
        "dispatch",
        "bounce",
        "dispatch",
        "sign",
        "request_extension",
        "approve_extension",
        "finish",
        "return_done",
        "finish",
        "approve_done",
    ]
    # Nobody at a unit saw the sender's id or username.
    seen = unit_saw(stub, CJB_GROUP, HBS_MEMBER.id, CJB_CLERK.id)
    assert not any(identity in seen for identity in ("987654321", "li_xiuying"))
    # The sender was told the unit and the deadline of the first dispatch.
    local = datetime.fromisoformat(deadline).astimezone(settings.campaign.tz).date()
    assert "城建办" in told.plain and local.isoformat() in told.plain


async def test_an_anonymous_item_in_a_units_group_refused_extension_and_progress_notes(
    stub: FakeBotApi, loop_bot: BotRunner
) -> None:
    settings = loop_bot.settings
    number = await submit(Chat(stub, BOB), "河道里有人倾倒垃圾，气味很大", anonymous=True)
    ref = f"#{number}"
    card = await accept(stub, number, BOB)
    mark = await dispatch(stub, card, "城建办", number, "10")
    task = await stub.wait_for(
        CJB_GROUP, after=mark, predicate=lambda m: ref in m.plain and bool(m.buttons)
    )
    assert zh("summary.anonymous") in task.plain
    # The anonymous sender is told through the encrypted route.
    await stub.wait_for_text(BOB.id, "城建办", after=mark)
    mark = stub.mark()
    stub.press_button(CJB_CLERK, task, zh("unit.action.sign"))
    await stub.wait_for_text(CJB_GROUP, zh("loop.signed", ref=ref), after=mark)
    # A progress note is a reply to the task card; chatter in the group never reaches the bot.
    signed = await stub.wait_for(
        CJB_GROUP, after=mark, predicate=lambda m: m.message_id == task.message_id
    )
    assert stub.send_group_text(CJB_CLERK, CJB_GROUP, "大家看看这个河道的事") is None
    mark = stub.mark()
    stub.send_group_text(CJB_CLERK, CJB_GROUP, "已到现场，垃圾清理了一半", reply_to=signed)
    note = await stub.wait_for_text(OFFICE, "已到现场", after=mark)
    assert "城建办" in note.plain
    # The unit's option: the sender is told which unit handles it (its name only).
    told = await stub.wait_for_text(BOB.id, "正由城建办办理", after=mark)
    assert ref in told.plain
    # 延期申请 refused: the deadline stays, the unit is told.
    deadline = row(settings, number, "deadline")[0]
    mark = await press_when_shown(stub, CJB_CLERK, task, zh("unit.action.extension"))
    await answer_prompt(stub, CJB_CLERK, CJB_GROUP, ref, "30 还要清淤", mark)
    asked = await stub.wait_for_text(OFFICE, "还要清淤", after=mark)
    mark = stub.mark()
    stub.press_button(ADMIN, asked, zh("admin.action.refuse_extension"))
    await stub.wait_for_text(CJB_GROUP, zh("unit.told.extension_refused", ref=ref), after=mark)
    assert row(settings, number, "deadline")[0] == deadline
    assert status(settings, number) == "signed"
    # 办结 → approved: the anonymous sender gets the answer with the rating buttons.
    mark = await press_when_shown(stub, CJB_CLERK, task, zh("unit.action.finish"))
    await answer_prompt(stub, CJB_CLERK, CJB_GROUP, ref, "垃圾已清运，已设监控", mark)
    check = await stub.wait_for_text(OFFICE, "垃圾已清运", after=mark)
    mark = stub.mark()
    stub.press_button(ADMIN, check, zh("admin.action.approve_done"))
    answer = await stub.wait_for_text(BOB.id, "垃圾已清运", after=mark)
    assert any("rate:" in data for _, data in answer.buttons)
    # 不满意 asks why; the reason sends it back to the same unit (重办), a new round.
    mark = stub.mark()
    stub.press_button(BOB, answer, zh("rating.unsatisfied"))
    why = await stub.wait_for_text(BOB.id, zh("rate.why", ref=ref), after=mark)
    assert status(settings, number) == "answered"  # nothing stored before the reason
    mark = stub.mark()
    stub.press_button(BOB, why, zh("rating.reason.unsolved"))
    confirm = await stub.wait_for_text(BOB.id, zh("rating.reason.unsolved"), after=mark)
    redo = await stub.wait_for(
        CJB_GROUP,
        after=mark,
        predicate=lambda m: ref in m.plain and "重办" in m.plain and bool(m.buttons),
    )
    assert "没解决" in redo.plain and zh("unit.action.sign") in [b for b, _ in redo.buttons]
    office_told = await stub.wait_for_text(OFFICE, "🔁", after=mark)
    assert ref in office_told.plain and "没解决" in office_told.plain
    assert status(settings, number) == "dispatched"
    # (A round is each answer: the next answer, not the 重办, starts round 2.)
    assert row(settings, number, "reopen_count, rating_round") == (1, 1)
    # The office's /queue finds it among the reopened items, with its unit.
    reopened = await Chat(stub, ADMIN).send("/queue 重办", expect="重办")
    assert ref in reopened.plain and "城建办" in reopened.plain
    # The sender adds their own words by replying; the office and the unit read them.
    mark = stub.mark()
    stub.send_reply(BOB, confirm, "下游还有一大堆没清")
    await stub.wait_for_text(BOB.id, zh("rate.words_saved", ref=ref), after=mark)
    await stub.wait_for_text(OFFICE, "下游还有一大堆没清", after=mark)
    await stub.wait_for_text(CJB_GROUP, "下游还有一大堆没清", after=mark)
    # A second press on the first answer changes nothing and says so (in its toast).
    answered_before = len(stub.answered_callbacks)
    stub.press(BOB, answer, f"rate:{number}:1:satisfied")
    await stub.wait_until(lambda: len(stub.answered_callbacks) > answered_before)
    assert stub.answered_callbacks[-1].get("text") == zh(
        "rate.already", ref=ref, rating=zh("rating.unsatisfied")
    )
    assert row(settings, number, "rating")[0] == "unsatisfied"
    # The second round: signed, done, approved; the sender is satisfied.
    mark = stub.mark()
    stub.press_button(CJB_CLERK, redo, zh("unit.action.sign"))
    await stub.wait_for_text(CJB_GROUP, zh("loop.signed", ref=ref), after=mark)
    mark = await press_when_shown(stub, CJB_CLERK, redo, zh("unit.action.finish"))
    await answer_prompt(stub, CJB_CLERK, CJB_GROUP, ref, "下游也已清理干净", mark)
    check = await stub.wait_for_text(OFFICE, "下游也已清理干净", after=mark)
    mark = stub.mark()
    stub.press_button(ADMIN, check, zh("admin.action.approve_done"))
    second = await stub.wait_for_text(BOB.id, "下游也已清理干净", after=mark)
    assert any(data.startswith(f"rate:{number}:2:") for _, data in second.buttons)
    mark = stub.mark()
    stub.press_button(BOB, second, zh("rating.satisfied"))
    await stub.wait_for_text(BOB.id, zh("rate.thanks", rating=zh("rating.satisfied")), after=mark)
    await stub.wait_for_text(OFFICE, zh("rating.satisfied"), after=mark)
    with database(settings) as db:
        rounds = list(db.execute("SELECT round, rating, reason, text FROM ratings"))
    assert rounds == [
        (1, "unsatisfied", "unsolved", "下游还有一大堆没清"),
        (2, "satisfied", None, None),
    ]
    # The unit never saw anything that identifies the sender.
    seen = unit_saw(stub, CJB_GROUP)
    assert not any(identity in seen for identity in IDENTITIES)


async def test_a_unit_sees_and_acts_on_its_own_items_only(
    stub: FakeBotApi, loop_bot: BotRunner
) -> None:
    settings = loop_bot.settings
    ours = await submit(Chat(stub, ALICE), "小区门口积水严重需要疏通", anonymous=False)
    theirs = await submit(Chat(stub, BOB), "工厂夜里排放废气刺鼻", anonymous=True)
    for number, unit, sender in ((ours, "城建办", ALICE), (theirs, "环保所", BOB)):
        card = await accept(stub, number, sender)
        await dispatch(stub, card, unit, number, "默认")
    await stub.wait_for(HBS_MEMBER.id, predicate=lambda m: f"#{theirs}" in m.plain)
    # /tasks in the group lists the group's unit's item only.
    mark = stub.mark()
    stub.send_group_text(CJB_CLERK, CJB_GROUP, "/tasks")
    listing = await stub.wait_for_text(CJB_GROUP, "城建办", after=mark, new=True)
    assert f"#{ours}" in listing.plain and f"#{theirs}" not in listing.plain
    # The environment station's member: its item only; a forged press on the other
    # unit's item changes nothing.
    member = Chat(stub, HBS_MEMBER)
    mine = await member.send("/tasks", expect="环保所")
    assert f"#{theirs}" in mine.plain and f"#{ours}" not in mine.plain
    stub.press(HBS_MEMBER, mine, f"unit:sgn:{ours}")
    stub.press(OUTSIDER, mine, f"unit:sgn:{theirs}")
    await stub.wait_idle()
    assert status(settings, ours) == status(settings, theirs) == "dispatched"
    seen = unit_saw(stub, HBS_MEMBER.id)
    assert "小区门口积水" not in seen
    assert "工厂夜里排放废气" not in unit_saw(stub, CJB_GROUP)
    # /help, by role: a unit's member (in their private chat) and anyone of a unit's group
    # read how their unit works its items, not the office's commands.
    helped = await member.send("/help", expect="/tasks")
    assert "环保所" in helped.plain and "/queue" not in helped.plain
    mark = stub.mark()
    stub.send_group_text(CJB_CLERK, CJB_GROUP, "/help")
    in_group = await stub.wait_for_text(CJB_GROUP, "/tasks", after=mark, new=True)
    assert "城建办" in in_group.plain and "/queue" not in in_group.plain
    # (#17, 7) Someone in the unit's group whom its member list leaves out hears whose group
    # it is and that only its members work its tasks, not the resident's "write to me".
    mark = stub.mark()
    stub.send_group_text(CJB_PASSER_BY, CJB_GROUP, "/help")
    passer = await stub.wait_for(CJB_GROUP, after=mark, predicate=lambda m: "城建办" in m.plain)
    assert passer.plain.startswith(zh("help.unit.not_member", unit="城建办", bot="")[:12])
    # The office's /queue by unit (its id or its name) lists that unit's items only.
    by_unit = await Chat(stub, ADMIN).send("/queue hbs", expect="环保所")
    assert f"#{theirs}" in by_unit.plain and f"#{ours}" not in by_unit.plain
    by_name = await Chat(stub, ADMIN).send("/queue 环保所", expect="环保所")
    assert f"#{theirs}" in by_name.plain and f"#{ours}" not in by_name.plain
    # 未签收 is the unit's own 签收: past its sign-for limit and not signed (the limit moved
    # back here, as a day later), the item shows in /queue 未签收, marked; the other not yet.
    with database(settings) as db:
        db.execute(
            "UPDATE submissions SET sign_due = '2020-01-01T00:00:00+00:00' WHERE id = ?",
            (theirs,),
        )
    unsigned = await Chat(stub, ADMIN).send("/queue 未签收", expect=zh("admin.queue.view.unsigned"))
    assert f"#{theirs}" in unsigned.plain and f"#{ours}" not in unsigned.plain
    assert zh("field.unsigned") in unsigned.plain
    nothing = await Chat(stub, ADMIN).send("/queue 城建办 未签收", expect="城建办")
    assert f"#{theirs}" not in nothing.plain and f"#{ours}" not in nothing.plain
    # The office's /units counts each unit's open items.
    office = await Chat(stub, ADMIN).send("/units", expect="城建办")
    assert "城建办（cjb）：1 / 0 / 0" in office.plain and "环保所（hbs）：1 / 0 / 1" in office.plain


async def test_a_restart_in_the_middle_of_each_step_loses_nothing(
    stub: FakeBotApi, loop_bot: BotRunner
) -> None:
    """The bot restarts between each step's question and its answer (the office's 派单 and
    审核退回, the unit's 延期申请, 办理进展 and 办结, the sender's reason for 不满意 and their
    own words): every answer is taken after the restart, once."""
    settings = loop_bot.settings
    alice = Chat(stub, ALICE)
    number = await submit(alice, "菜市场门口下水道堵了", anonymous=False)
    ref = f"#{number}"
    card = await accept(stub, number, ALICE)
    # 派单: the unit is picked, the bot restarts, then the deadline is typed.
    mark = stub.mark()
    stub.press_button(ADMIN, card, zh("admin.action.dispatch"))
    units = await stub.wait_for(
        OFFICE,
        after=mark,
        predicate=lambda m: (
            m.message_id == card.message_id and any(f"adm:dsu:{number}:" in d for _, d in m.buttons)
        ),
    )
    stub.press(ADMIN, units, units.button_data("城建办"))
    prompt = await stub.wait_for(
        OFFICE, after=mark, predicate=lambda m: ref in m.plain and "force_reply" in str(m.params)
    )
    await loop_bot.restart()
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, "默认 请尽快疏通")
    task = await stub.wait_for(
        CJB_GROUP, after=mark, predicate=lambda m: ref in m.plain and bool(m.buttons)
    )
    assert status(settings, number) == "dispatched"
    mark = stub.mark()
    stub.press_button(CJB_CLERK, task, zh("unit.action.sign"))
    await stub.wait_for_text(CJB_GROUP, zh("loop.signed", ref=ref), after=mark)

    async def asked_then_restart(label: str, text: str, who: FakeUser = CJB_CLERK) -> int:
        """Press ``label`` on the task card, restart before answering, answer."""
        mark = await press_when_shown(stub, who, task, label)
        asked = await stub.wait_for(
            CJB_GROUP, after=mark, predicate=lambda m: "force_reply" in str(m.params)
        )
        await loop_bot.restart()
        after = stub.mark()
        stub.send_reply(who, asked, text)
        return after

    mark = await asked_then_restart(zh("unit.action.note"), "已派人现场查看")
    await stub.wait_for_text(OFFICE, "已派人现场查看", after=mark)
    far = (date.today() + timedelta(days=300)).isoformat()
    mark = await asked_then_restart(zh("unit.action.extension"), f"{far} 需要更换管道")
    asked = await stub.wait_for_text(OFFICE, "需要更换管道", after=mark)
    assert status(settings, number) == "extension_requested"
    await loop_bot.restart()  # between the request and the office's one tap
    mark = stub.mark()
    stub.press_button(ADMIN, asked, zh("admin.action.approve_extension"))
    await stub.wait_for_text(ALICE.id, far, after=mark)
    mark = await asked_then_restart(zh("unit.action.finish"), "管道已更换，排水正常")
    check = await stub.wait_for_text(OFFICE, "管道已更换", after=mark)
    # 审核退回: the note is typed after a restart.
    mark = stub.mark()
    stub.press_button(ADMIN, check, zh("admin.action.return_done"))
    prompt = await stub.wait_for(
        OFFICE, after=mark, predicate=lambda m: ref in m.plain and "force_reply" in str(m.params)
    )
    await loop_bot.restart()
    mark = stub.mark()
    stub.send_reply(ADMIN, prompt, "请附现场照片")
    await stub.wait_for_text(CJB_GROUP, "请附现场照片", after=mark)
    mark = await asked_then_restart(zh("unit.action.finish"), "已补照片，排水正常")
    check = await stub.wait_for_text(OFFICE, "已补照片", after=mark)
    mark = stub.mark()
    stub.press_button(ADMIN, check, zh("admin.action.approve_done"))
    answer = await stub.wait_for_text(ALICE.id, "已补照片", after=mark)
    # 不满意: the reasons are shown, the bot restarts, the reason is tapped.
    mark = stub.mark()
    stub.press_button(ALICE, answer, zh("rating.unsatisfied"))
    why = await stub.wait_for_text(ALICE.id, zh("rate.why", ref=ref), after=mark)
    await loop_bot.restart()
    mark = stub.mark()
    stub.press_button(ALICE, why, zh("rating.reason.slow"))
    confirm = await stub.wait_for_text(ALICE.id, zh("rating.reason.slow"), after=mark)
    await loop_bot.restart()
    mark = stub.mark()
    stub.send_reply(ALICE, confirm, "拖了一个月")
    await stub.wait_for_text(OFFICE, "拖了一个月", after=mark)
    await stub.wait_idle()
    assert status(settings, number) == "dispatched"
    with database(settings) as db:
        steps = [
            r[0]
            for r in db.execute(
                "SELECT step FROM history WHERE submission_id = ? AND step IS NOT NULL ORDER BY id",
                (number,),
            )
        ]
        rounds = list(db.execute("SELECT round, rating, reason, text FROM ratings"))
    assert steps == [
        "dispatch",
        "sign",
        "note",
        "request_extension",
        "approve_extension",
        "finish",
        "return_done",
        "finish",
        "approve_done",
        "redo",
    ]
    assert rounds == [(1, "unsatisfied", "slow", "拖了一个月")]
    # Each notice once: the office heard of the note and the words once each.
    office = [m.plain for m in stub.sent if m.chat_id == OFFICE and m.method == "sendMessage"]
    assert sum("已派人现场查看" in p for p in office) == 1
    assert sum("拖了一个月" in p for p in office) == 1
