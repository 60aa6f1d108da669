"""End to end: ``jindianzi import FILE.xlsx|csv`` (#20) beside the running bot: a clean
spreadsheet's rows become items (checked by a dry run first, which imports nothing) that
walk the same workflow as /enter's; a bad spreadsheet is reported row by row and imports
nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from bot.config import Settings
from tests.botapi_stub import FakeBotApi
from tests.conftest import ADMIN, BotRunner
from tests.databases import both_backends, sqlite_only
from tests.processes import EXAMPLE_CONFIG
from tests.test_e2e_entering import rows

OFFICE = -1001234567
HEADER = ["来源", "类型", "地点", "姓名", "电话", "内容"]


# The tests here run on SQLite and on PostgreSQL (#24), but the bad sheet's: it stores nothing.
make_settings = both_backends()


@pytest.fixture
async def running(
    stub: FakeBotApi, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BotRunner]:
    """The bot, running; the command line pointed at its database and keys."""
    settings = make_settings(stub, roles={"office_chat_id": OFFICE})
    runner = BotRunner(settings)
    await runner.start()
    if settings.storage.url is None:
        monkeypatch.setenv("JINDIANZI_STORAGE__PATH", str(settings.storage.path))
    else:
        monkeypatch.setenv("JINDIANZI_STORAGE__URL", settings.storage.url)
    monkeypatch.setenv("JINDIANZI_ANONYMITY__KEY_FILE", str(settings.anonymity.key_file))
    monkeypatch.setenv("JINDIANZI_ROLES__OFFICE_CHAT_ID", str(OFFICE))
    try:
        yield runner
    finally:
        await runner.stop()


async def run_import(*args: str) -> int:
    return await asyncio.to_thread(main, ["import", "--config", str(EXAMPLE_CONFIG), *args])


async def test_a_clean_sheet_is_checked_then_imported_and_its_items_walk_the_workflow(
    stub: FakeBotApi,
    running: BotRunner,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sheet = tmp_path / "slips.csv"
    sheet.write_text(
        "\n".join(
            [
                ",".join(HEADER),
                "意见箱,问题,,张三,13800001111,村口的路灯坏了一个星期",
                "座谈会,建议,,匿名,,希望多办几场法律讲座",
                "",
                "phone,suggestion,,,,More benches on the square",
            ]
        ),
        encoding="utf-8-sig",
    )
    assert await run_import(str(sheet), "--dry-run") == 0
    assert "3 rows OK (dry run" in capsys.readouterr().out
    assert rows(running.settings, "SELECT id FROM submissions") == []

    mark = stub.mark()
    assert await run_import(str(sheet)) == 0
    assert "3 items imported, #1 to #3" in capsys.readouterr().out
    stored = rows(
        running.settings,
        "SELECT id, source, anonymous, contact_name, contact_phone, reply_route FROM submissions"
        " ORDER BY id",
    )
    assert [(r["source"], r["anonymous"], r["contact_name"]) for r in stored] == [
        ("box", 0, "张三"),
        ("meeting", 1, None),
        ("phone", 1, None),
    ]
    assert stored[0]["contact_phone"] == "13800001111" and stored[1]["reply_route"] is None
    history = rows(running.settings, "SELECT DISTINCT actor FROM history")
    assert [r["actor"] for r in history] == ["system"]

    # The running bot announces them, and the named one's notices are 回访 tasks for the
    # office.
    card = await stub.wait_for(
        OFFICE, after=mark, predicate=lambda m: "#1 " in m.plain and bool(m.buttons)
    )
    assert "张三 (13800001111)" in card.plain
    mark = stub.mark()
    stub.press_button(ADMIN, card, "受理")
    task = await stub.wait_for_text(OFFICE, "回访任务", after=mark)
    assert "#1" in task.plain and "13800001111" in task.plain


@sqlite_only
async def test_a_bad_sheet_is_reported_row_by_row_and_imports_nothing(
    running: BotRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(["电话", "问题", None, "张三", "13800001111", "路灯坏了"])  # good
    sheet.append(["微信", "问题", None, "李四", None, "下水道堵了"])  # line 3
    sheet.append(["走访", "建议", None, None, None, None])  # line 4: no text
    sheet.append(["来信", "问题", None, "匿名", "13900002222", "有人乱倒垃圾"])  # line 5
    sheet.append(["来信", "表扬", "东村", "王五", None, "谢谢"])  # line 6
    path = tmp_path / "slips.xlsx"
    book.save(path)
    for extra in ((), ("--dry-run",)):
        assert await run_import(str(path), *extra) == 1
        err = capsys.readouterr().err
        for line in (3, 4, 5, 6):
            assert f"line {line}: " in err
        assert "line 2:" not in err and "5 problem" not in err
        assert "4 problem(s): nothing imported" in err
    assert rows(running.settings, "SELECT id FROM submissions") == []


async def test_the_same_slips_are_not_imported_twice_unless_again(
    running: BotRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A guard against entering one stack of paper slips twice: a sheet whose rows were
    imported before (here saved again as XLSX under another name) is refused with when and
    as which items, and nothing is entered; ``--again`` enters them once more."""
    lines = [
        HEADER,
        ["意见箱", "问题", "", "张三", "", "村口的路灯坏了"],
        ["电话", "建议", "", "", "", "多设几个垃圾桶"],
    ]
    first = tmp_path / "slips.csv"
    first.write_text("\n".join(",".join(line) for line in lines), encoding="utf-8")
    assert await run_import(str(first)) == 0
    assert "2 items imported, #1 to #2" in capsys.readouterr().out
    book = openpyxl.Workbook()
    for line in lines:
        book.active.append(line)
    again = tmp_path / "意见箱-第二次.xlsx"
    book.save(again)
    assert await run_import(str(again), "--dry-run") == 0  # the rows are good
    capsys.readouterr()
    assert await run_import(str(again)) == 3
    refusal = capsys.readouterr().err
    assert "slips.csv" in refusal and "#1 to #2" in refusal and "--again" in refusal
    assert len(rows(running.settings, "SELECT id FROM submissions")) == 2
    assert await run_import(str(again), "--again") == 0
    assert "2 items imported, #3 to #4" in capsys.readouterr().out
    texts = [r["text"] for r in rows(running.settings, "SELECT text FROM submissions ORDER BY id")]
    assert texts == ["村口的路灯坏了", "多设几个垃圾桶"] * 2
    # A different sheet is not the same content.
    other = tmp_path / "other.csv"
    other.write_text("\n".join([",".join(HEADER), "走访,问题,,,,桥上的栏杆松了"]), encoding="utf-8")
    assert await run_import(str(other)) == 0
