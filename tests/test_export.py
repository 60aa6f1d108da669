"""The ledger writers (bot/export.py): any text a resident, an admin or Telegram can put in
a cell makes a file that opens and reads back as written, less what a worksheet cannot
hold (issue 15.5); rows are written as they come, in write-only mode (issue 15.3)."""

from __future__ import annotations

import csv
import io

import openpyxl
from hypothesis import example, given
from hypothesis import strategies as st

from bot import export
from bot.export import CsvWriter, XlsxWriter, sheet_text

# Any text, surrogates and control characters included (names come from Telegram as is).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)


def test_sheet_text_keeps_what_is_readable() -> None:
    assert sheet_text("控\x01制\x0b符") == "控制符"
    assert sheet_text("a\tb\nc") == "a\tb\nc"  # tab and newline are fine in a cell
    assert sheet_text("\ud800x\ufffe\x7f\x9fy") == "xy"
    assert len(sheet_text("字" * 40_000)) == export.CELL_CHARS


@given(ANY_TEXT)
@example("控\x01制\x0b符")
@example('=HYPERLINK("http://x")')
@example("\ud83d")  # half of an emoji
def test_any_text_makes_a_workbook_that_reads_back(text: str) -> None:
    content = export.to_xlsx("台账", ["内容", "天数"], [[text, 3]])
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cell = sheet["A2"]
    # XML reads a carriage return back as a newline; nothing else changes.
    expected = sheet_text(text).replace("\r\n", "\n").replace("\r", "\n")
    assert (cell.value or "") == expected
    assert cell.data_type != "f"  # never a formula
    assert sheet["B2"].value == 3


@given(ANY_TEXT)
@example("-1+2")
def test_any_text_makes_a_csv_that_reads_back(text: str) -> None:
    content = export.to_csv(["内容"], [[text]])
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    clean = sheet_text(text)
    assert rows[1] == [("'" + clean) if clean.startswith(export.FORMULA_START) else clean]


def write_in_batches(writer: export.LedgerWriter) -> None:
    writer.write([["#1", "a"], ["#2", "b"]])
    writer.write(iter([["#3", "c"]]))  # any iterable, e.g. a generator over a page
    writer.write([])
    writer.close()


def test_the_xlsx_writer_takes_rows_in_batches() -> None:
    target = io.BytesIO()
    writer = XlsxWriter(target, "Ledger: 2026/11 [draft]", ["Ref", "Text"])
    write_in_batches(writer)
    assert writer.rows == 3
    assert not target.closed  # the caller's file stays the caller's
    sheet = openpyxl.load_workbook(io.BytesIO(target.getvalue())).active
    assert sheet.title == "Ledger 202611 draft"  # no character a sheet name cannot hold
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["A2"].alignment.wrap_text
    assert sheet.column_dimensions["A"].width == export.WIDTHS[0]
    assert [c.value for c in sheet["A"]] == ["Ref", "#1", "#2", "#3"]


def test_the_csv_writer_takes_rows_in_batches() -> None:
    target = io.BytesIO()
    writer = CsvWriter(target, ["Ref", "Text"])
    write_in_batches(writer)
    assert writer.rows == 3
    assert not target.closed
    assert target.getvalue() == "\ufeffRef,Text\r\n#1,a\r\n#2,b\r\n#3,c\r\n".encode()


def test_a_number_in_a_format_is_a_number_in_xlsx_and_readable_text_in_csv() -> None:
    row: list[export.Cell] = [
        "城建办",
        12,
        export.Number(11 / 12, "0.0%"),
        export.Number(2.125, "0.0"),
        None,
    ]
    content = io.BytesIO()
    writer = XlsxWriter(content, "台账", ["a", "b", "c", "d", "e"])
    writer.add_sheet("指标", ["a", "b", "c", "d", "e"], [row])
    writer.close()
    book = openpyxl.load_workbook(io.BytesIO(content.getvalue()))
    [cells] = list(book["指标"].iter_rows(min_row=2))
    assert [c.value for c in cells] == ["城建办", 12, 11 / 12, 2.125, None]
    assert [c.number_format for c in cells[2:4]] == ["0.0%", "0.0"]
    assert cells[2].data_type == "n" and cells[3].data_type == "n"
    text = io.BytesIO()
    csv_writer = CsvWriter(text, ["a", "b", "c", "d", "e"])
    csv_writer.write([row])
    csv_writer.close()
    read = list(csv.reader(io.StringIO(text.getvalue().decode("utf-8-sig"))))
    assert read[1] == ["城建办", "12", "91.7%", "2.1", ""]
