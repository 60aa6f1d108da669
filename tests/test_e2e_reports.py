"""End to end: the scheduled digest and weekly summary (never twice, never skipped), and
/digest, /stats, /export from Telegram, with a frozen clock."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

import openpyxl

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, Upload
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.test_e2e_office import ALICE, BOB, submit

OFFICE = -1001234567
WEDNESDAY_10H = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def reports_settings(
    make_settings: Callable[..., Settings], stub: FakeBotApi, **office: object
) -> Settings:
    return make_settings(
        stub,
        roles={"office_chat_id": OFFICE},
        office={"scheduled_reports": True, "announce_new": False, **office},
    )


def titles(stub: FakeBotApi, key: str) -> list[str]:
    head = t("zh-Hans", key, campaign="X", date="Y").split("X")[0]
    return [
        m.plain for m in stub.messages_to(OFFICE) if m.plain.startswith(head.replace("<b>", ""))
    ]


async def test_missed_reports_are_sent_at_start_once(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    clock = FrozenClock(WEDNESDAY_10H)
    settings = reports_settings(make_settings, stub, digest_time="08:30", weekly_weekday=1)
    runner = BotRunner(settings, clock)
    await runner.start()
    try:
        daily = await stub.wait_for_text(OFFICE, "每日简报 2026-11-25")
        weekly = await stub.wait_for_text(OFFICE, "每周汇总 2026-11-25")
        assert "没有新的变化" in daily.plain
        await stub.wait_for_text(OFFICE, "统计", after=weekly.seq)  # the week's statistics
        chart = await stub.wait_for(OFFICE, predicate=lambda m: m.method == "sendPhoto")
        assert isinstance(chart.params["photo"], Upload)
        await runner.restart()  # same day, same week: nothing again
        clock.advance(minutes=30)
        await runner.restart()
        await stub.wait_until(lambda: runner.app is not None and runner.app.running)
        mark = stub.mark()
        await Chat(stub, ADMIN).send("/admins")  # the bot is up and answering
        assert [m for m in stub.messages_to(OFFICE) if m.seq > mark] == []
        assert len(titles(stub, "digest.title")) == 1
        assert len(titles(stub, "digest.weekly_title")) == 1
    finally:
        await runner.stop()


async def test_no_report_before_its_time(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    clock = FrozenClock(WEDNESDAY_10H)
    settings = reports_settings(make_settings, stub, digest_time="11:00", weekly_weekday=4)
    runner = BotRunner(settings, clock)
    await runner.start()
    try:
        await Chat(stub, ADMIN).send("/admins")
        assert stub.messages_to(OFFICE) == []
        # The next day, after 11:00, the one missed is sent.
        clock.now = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)  # Thursday 11:30 local
        await runner.restart()
        await stub.wait_for_text(OFFICE, "每日简报 2026-11-26")
        await stub.wait_for_text(OFFICE, "每周汇总 2026-11-26")
    finally:
        await runner.stop()


async def test_digest_stats_and_export_commands(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    clock = FrozenClock(WEDNESDAY_10H)
    settings = reports_settings(make_settings, stub, digest_time="23:00", weekly_weekday=7)
    runner = BotRunner(settings, clock)
    await runner.start()
    try:
        await submit(Chat(stub, BOB), "Please fix the broken swings in the park", anonymous=False)
        await submit(Chat(stub, ALICE), "公园秋千坏了，孩子容易受伤", anonymous=True)
        admin = Chat(stub, ADMIN)
        clock.advance(minutes=5)
        digest = await admin.send("/digest", expect="每日简报")
        assert "新提交 2 条" in digest.plain
        stats = await admin.send("/stats", expect="统计")
        assert "共 2 条" in stats.plain and "实名 1，匿名 1" in stats.plain
        chart = await stub.wait_for(
            ADMIN.id, after=stats.seq, predicate=lambda m: m.method == "sendPhoto"
        )
        photo = chart.params["photo"]
        assert isinstance(photo, Upload) and photo.content.startswith(b"\x89PNG")
        usage = await admin.send("/stats yesterday")
        assert usage.plain == t("zh-Hans", "stats.usage")

        mark = stub.mark()
        stub.send_text(ADMIN, "/export 2026-11-01 2026-11-30")
        sent = await stub.wait_for(
            ADMIN.id, after=mark, predicate=lambda m: m.method == "sendDocument"
        )
        upload = sent.params["document"]
        assert isinstance(upload, Upload) and upload.filename.endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(upload.content)).active
        senders = [row[5].value for row in sheet.iter_rows(min_row=2)]
        assert senders == ["Bob", "匿名"]
        assert "共 2 条" in (sent.text or "")

        mark = stub.mark()
        stub.send_text(ADMIN, "/export csv")
        sent = await stub.wait_for(
            ADMIN.id, after=mark, predicate=lambda m: m.method == "sendDocument"
        )
        upload = sent.params["document"]
        assert isinstance(upload, Upload) and upload.content.startswith("\ufeff编号".encode())
        assert b"987654321" not in upload.content

        refused = await Chat(stub, BOB).send("/export")
        assert refused.plain == t("en", "command.unknown")
    finally:
        await runner.stop()
