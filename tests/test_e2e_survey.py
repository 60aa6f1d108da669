"""End to end: the residents' satisfaction survey (群众满意度测评, #20) through the real
Application and the stand-in: /survey goes once to each past sender, named and anonymous,
and to nobody else; answers count once per person and question; results in /stats; the
answers are counts that no tag, item or person is attached to."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from bot.config import Settings
from bot.i18n import tn
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.databases import both_backends
from tests.test_e2e_entering import rows, zh
from tests.test_e2e_export import document_after
from tests.test_e2e_office import submit
from tests.test_e2e_support import ALICE, BOB, CAROL, OFFICE, press

make_settings = both_backends()


@pytest.fixture
async def campaign(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    runner = BotRunner(
        make_settings(
            stub, roles={"office_chat_id": OFFICE}, limits={"max_submissions_per_hour": 0}
        )
    )
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def surveys_to(stub: FakeBotApi, chat_id: int) -> list[SentMessage]:
    return [m for m in stub.messages_to(chat_id) if "满意度测评" in m.plain]


async def test_a_survey_goes_once_to_each_past_sender_and_not_to_others(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    await submit(Chat(stub, ALICE), "建议在幸福路口增设红绿灯", anonymous=False)
    bob = Chat(stub, BOB)
    await submit(bob, "村委会账目不公开", anonymous=True)
    await submit(bob, "低保评定不公", anonymous=True)  # two items: one survey
    await Chat(stub, CAROL).send("/start")  # never submitted
    admin = Chat(stub, ADMIN)
    await admin.send("/enter 电话 问题 张三\n路灯坏了", expect="#")  # nobody on Telegram

    sent = await admin.send("/survey", expect="满意度测评")
    assert sent.plain == tn("zh-Hans", "survey.sent", 2, n=2, already=0)
    alice_survey = await stub.wait_for_text(ALICE.id, "满意度测评")
    bob_survey = await stub.wait_for_text(BOB.id, "满意度测评")
    again = await admin.send("/survey", expect="满意度测评")  # once per round
    assert again.plain == tn("zh-Hans", "survey.sent", 0, n=0, already=2)
    await stub.wait_idle(quiet=1.0)  # (the outbox sends every 0.3 s)
    assert len(surveys_to(stub, ALICE.id)) == 1 and len(surveys_to(stub, BOB.id)) == 1
    assert surveys_to(stub, CAROL.id) == []
    assert len(surveys_to(stub, ADMIN.id)) == 2  # only the two answers to /survey
    questions = campaign.settings.survey.questions
    assert len(bob_survey.buttons) == 3 * len(questions)

    overall = "svy:campaign:overall:"
    assert await press(stub, ALICE, alice_survey, overall + "s") == zh("survey.thanks")
    assert await press(stub, ALICE, alice_survey, overall + "u") == zh("survey.already")
    assert await press(stub, BOB, bob_survey, overall + "b") == zh("survey.thanks")
    assert await press(stub, BOB, bob_survey, "svy:campaign:speed:u") == zh("survey.thanks")
    # Someone who was not sent it cannot add to it.
    assert await press(stub, CAROL, bob_survey, overall + "u") == zh("survey.already")

    stats = await admin.send("/stats", expect="满意度测评")
    assert zh("stats.survey_round", name=campaign.settings.campaign.name, asked=2) in stats.plain
    assert "满意 1、基本满意 1、不满意 0" in stats.plain
    # The ledger export has the same counts on a sheet of their own.
    mark = stub.mark()
    stub.send_text(ADMIN, "/export")
    upload = await document_after(stub, mark)
    book = openpyxl.load_workbook(io.BytesIO(upload.content), read_only=True)
    assert book.sheetnames == [zh("ledger.title"), zh("ledger.survey.sheet")]
    sheet = [list(r) for r in book[zh("ledger.survey.sheet")].iter_rows(values_only=True)]
    name = campaign.settings.campaign.name
    by_question = {q.name("zh-Hans"): q.id for q in questions}
    assert sheet[0] == [
        zh("ledger.survey.round"),
        zh("ledger.survey.asked"),
        zh("ledger.survey.question"),
        zh("rating.satisfied"),
        zh("rating.basically"),
        zh("rating.unsatisfied"),
        zh("ledger.survey.answered"),
    ]
    got = {by_question[r[2]]: r for r in sheet[1:]}
    assert got["overall"] == [name, 2, got["overall"][2], 1, 1, 0, 2]
    assert got["speed"] == [name, 2, got["speed"][2], 0, 0, 1, 1]
    assert len(sheet) == 1 + len(questions)
    counts = rows(campaign.settings, "SELECT * FROM survey_counts ORDER BY question, answer")
    assert [tuple(r) for r in counts] == [
        ("campaign", "overall", "basically", 1),
        ("campaign", "overall", "satisfied", 1),
        ("campaign", "speed", "unsatisfied", 1),
    ]
    # The tags say who was sent it and answered what, and match no item's tag.
    tags = {r["tag"] for r in rows(campaign.settings, "SELECT tag FROM survey_recipients")}
    owner_tags = {r[0] for r in rows(campaign.settings, "SELECT owner_tag FROM submissions")}
    assert len(tags) == 2 and not tags & owner_tags
    for table in ("survey_recipients", "survey_answered", "survey_counts"):
        for row in rows(campaign.settings, f"SELECT * FROM {table}"):
            assert not {str(ALICE.id), str(BOB.id)} & {str(v) for v in row}
    assert stub.errors == []


async def test_a_phase_round_names_only_known_phases(stub: FakeBotApi, campaign: BotRunner) -> None:
    answer = await Chat(stub, ADMIN).send("/survey nosuch")
    assert answer.plain == zh("survey.usage", phases="—")


async def test_a_phase_that_says_so_gets_its_survey_by_itself_once_at_its_end(
    stub: FakeBotApi, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``survey = true`` on a phase: once its last day is over, the job sends its survey to
    those who submitted in it (named and anonymous), through the outbox, and tells the
    office; a restart sends nothing again; a phase without it gets none."""
    monkeypatch.setattr("handlers.maintenance.SURVEY_CHECK_EVERY", timedelta(seconds=0.5))
    phases = [
        {
            "id": "study",
            "names": {"zh-Hans": "学习调研"},
            "start": "2026-11-01",
            "end": "2026-11-20",
            "survey": True,
        },
        {
            "id": "checking",
            "names": {"zh-Hans": "查摆问题"},
            "start": "2026-11-21",
            "end": "2026-12-31",
        },
    ]
    settings = make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        limits={"max_submissions_per_hour": 0},
        campaign={"phases": phases},
    )
    clock = FrozenClock(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    runner = BotRunner(settings, clock=clock)
    await runner.start()
    try:
        await submit(Chat(stub, ALICE), "建议在幸福路口增设红绿灯", anonymous=False)
        await submit(Chat(stub, BOB), "村委会账目不公开", anonymous=True)
        clock.advance(days=12)  # 11-22: study is over, checking has begun
        await submit(Chat(stub, CAROL), "低保评定不公", anonymous=False)
        told = await stub.wait_for_text(OFFICE, "阶段已结束", timeout=15)
        assert told.plain == zh("survey.auto_sent", phase="学习调研", n="2")
        alice = await stub.wait_for_text(ALICE.id, "满意度测评")
        await stub.wait_for_text(BOB.id, "满意度测评")
        assert "svy:study:" in alice.buttons[0][1]
        await stub.wait_idle(quiet=1.5)
    finally:
        await runner.stop()
    runner = BotRunner(settings, clock=clock)  # a restart: nothing again
    await runner.start()
    try:
        clock.advance(days=45)  # checking is over too (it does not ask for a survey)
        await asyncio.sleep(4.5)
        await stub.wait_idle(quiet=1.0)
    finally:
        await runner.stop()
    for user in (ALICE, BOB):
        assert len(surveys_to(stub, user.id)) == 1
    assert surveys_to(stub, CAROL.id) == []
    assert [m.plain for m in stub.messages_to(OFFICE) if "阶段已结束" in m.plain] == [told.plain]
    recorded = rows(settings, "SELECT round, recipients FROM survey_auto")
    assert [tuple(r) for r in recorded] == [("study", 2)]
