"""The ledger as a file: XLSX (what offices print and file) or CSV (UTF-8 with BOM, so
Excel opens Chinese text correctly).

Both are written row by row into a binary file object, in time linear in the rows: XLSX in
openpyxl's write-only mode (rows go to a temporary file as they come; the workbook is
assembled once, at :meth:`LedgerWriter.close`), so a ledger of 100,000 items costs no more
per row than one of 1,000. Every cell is made fit for a worksheet first: characters XML
cannot hold (control characters such as ``\\x01``, lone surrogates) are dropped, text a
spreadsheet would run as a formula stays text. Pure and blocking: call it off the event
loop.
"""

from __future__ import annotations

import csv
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, NamedStyle
from openpyxl.utils import get_column_letter


@dataclass(frozen=True)
class Number:
    """A number shown in a format (``0.0%`` for a rate, ``0.0`` for days): a worksheet
    keeps the number, so it sorts, sums and charts; a CSV writes it as the format reads."""

    value: float
    format: str

    def text(self) -> str:
        if self.format.endswith("%"):
            return f"{self.value * 100:.{self._places()}f}%"
        return f"{self.value:.{self._places()}f}"

    def _places(self) -> int:
        digits = self.format.rstrip("%")
        return len(digits.split(".")[1]) if "." in digits else 0


Cell = str | int | Number | None
WIDTHS = (8, 12, 10, 16, 48, 14, 10, 14, 12, 8, 30, 40, 12, 10)
# Characters an XLSX file (XML 1.0) cannot hold: C0 controls but tab, newline and carriage
# return; lone UTF-16 surrogates; U+FFFE and U+FFFF. openpyxl refuses the first, and the
# others make a file Excel will not open (or one that cannot be encoded at all). DEL and the
# C1 controls XML allows, but they are invisible and mean nothing in a printed ledger.
UNFIT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
CELL_CHARS = 32_767  # the most a spreadsheet cell holds
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER_STYLE, ROW_STYLE = "ledger header", "ledger row"


def sheet_text(value: str) -> str:
    """``value`` as a worksheet can hold it: unfit characters dropped (``控\\x01制`` reads
    ``控制``), at most a cell's worth."""
    return UNFIT.sub("", value)[:CELL_CHARS]


class LedgerWriter(ABC):
    """Rows into ``target``: :meth:`write` any number of times, then :meth:`close`."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.rows = 0

    @abstractmethod
    def write(self, rows: Iterable[Sequence[Cell]]) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Finish the file in ``target`` (which stays open: it is the caller's)."""


class XlsxWriter(LedgerWriter):
    """One worksheet: a bold, frozen header row, then wrapped rows."""

    def __init__(
        self,
        target: BinaryIO,
        title: str,
        header: Sequence[str],
        widths: Sequence[int] = WIDTHS,
    ) -> None:
        super().__init__(target)
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=_sheet_title(title))
        for index, width in enumerate(widths[: len(header)], start=1):
            self._sheet.column_dimensions[get_column_letter(index)].width = width
        self._sheet.freeze_panes = "A2"
        # Named styles: a cell takes one by name, far cheaper than a font or an alignment
        # of its own (which openpyxl hashes into its style tables cell by cell).
        self._book.add_named_style(NamedStyle(HEADER_STYLE, font=Font(bold=True)))
        wrap = Alignment(wrap_text=True, vertical="top")
        self._book.add_named_style(NamedStyle(ROW_STYLE, alignment=wrap))
        self._sheet.append([self._cell(name, HEADER_STYLE) for name in header])

    def _cell(self, value: Cell, style: str) -> WriteOnlyCell:
        if isinstance(value, str):
            cell = WriteOnlyCell(self._sheet, value=sheet_text(value))
            cell.data_type = "s"  # residents' text is text, never a formula
        elif isinstance(value, Number):
            cell = WriteOnlyCell(self._sheet, value=value.value)
        else:
            cell = WriteOnlyCell(self._sheet, value=value)
        cell.style = style
        if isinstance(value, Number):
            cell.number_format = value.format  # after the style, which sets "General"
        return cell

    def write(self, rows: Iterable[Sequence[Cell]]) -> None:
        for row in rows:
            self._sheet.append([self._cell(value, ROW_STYLE) for value in row])
            self.rows += 1

    def add_sheet(self, title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
        """Another worksheet after the ledger's (e.g. the units' indices of a period), with
        its bold header row; its rows are not counted in :attr:`rows`."""
        sheet = self._book.create_sheet(title=_sheet_title(title))
        sheet.freeze_panes = "A2"
        sheet.column_dimensions["A"].width = 20
        self._sheet, ledger = sheet, self._sheet
        try:
            sheet.append([self._cell(name, HEADER_STYLE) for name in header])
            for row in rows:
                sheet.append([self._cell(value, ROW_STYLE) for value in row])
        finally:
            self._sheet = ledger

    def close(self) -> None:
        self._book.save(self.target)


def _sheet_title(title: str) -> str:
    """A worksheet's name: at most 31 characters, none of ``[]:*?/\\``."""
    return re.sub(r"[\[\]:*?/\\]", "", sheet_text(title))[:31] or "Sheet1"


def _csv_safe(cell: Cell) -> Cell:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; a number in a
    format is written as it reads."""
    if isinstance(cell, Number):
        return cell.text()
    if not isinstance(cell, str):
        return cell
    cell = sheet_text(cell)
    return "'" + cell if cell.startswith(FORMULA_START) else cell


class CsvWriter(LedgerWriter):
    def __init__(self, target: BinaryIO, header: Sequence[str]) -> None:
        super().__init__(target)
        self._text = io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=True)
        self._text.write("\ufeff")
        self._csv = csv.writer(self._text)
        self._csv.writerow([_csv_safe(name) for name in header])

    def write(self, rows: Iterable[Sequence[Cell]]) -> None:
        for row in rows:
            self._csv.writerow([_csv_safe(cell) for cell in row])
            self.rows += 1

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # leave ``target`` open


def to_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    buffer = io.BytesIO()
    writer = XlsxWriter(buffer, title, header)
    writer.write(rows)
    writer.close()
    return buffer.getvalue()


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    buffer = io.BytesIO()
    writer = CsvWriter(buffer, header)
    writer.write(rows)
    writer.close()
    return buffer.getvalue()
