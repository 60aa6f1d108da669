"""``jindianzi import FILE.xlsx|csv [--dry-run]``: a spreadsheet of paper slips (意见箱),
meeting notes or phone calls entered as items, each through the same core action as
``/enter`` (:func:`bot.core.entering.enter`, as the system).

One row per item, under a header row naming the columns in any of the three languages:
来源 source, 类型 kind, 地点 place (optional), 姓名 name (empty or 匿名: anonymous), 电话
phone (optional, named only), 内容 text. Every row is checked first; one bad row (reported
with its line number and why) and nothing is imported: fix the file and run it again.
``--dry-run`` checks and reports without importing. A named item's 回访 tasks go to the
office chat.

A file whose content (the cells of its rows, whatever the file's name or format) was
imported before is refused with when and as which items (exit 3), unless ``--again``: paper
slips entered twice would be two items each. An import that stopped half-way is named as
such: check its items before running it ``--again``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import LANGUAGES, Settings
from bot.core.entering import (
    MAX_CONTACT_NAME,
    PHONE,
    Entry,
    is_anonymous,
    kind_of,
    source_of,
)
from bot.i18n import t
from storage.imports import Imported

EXIT_OK, EXIT_BAD_ROWS, EXIT_CONFIG, EXIT_IMPORTED = 0, 1, 2, 3
COLUMNS = ("source", "kind", "place", "name", "phone", "text")
REQUIRED = ("source", "kind", "text")
MAX_ROWS = 10_000


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser(
        "import",
        parents=[common],
        help="enter the items of a spreadsheet (XLSX or CSV) of paper slips, calls, meetings",
    )
    parser.add_argument("file", type=Path, metavar="FILE.xlsx|csv")
    parser.add_argument(
        "--dry-run", action="store_true", help="check every row and report; import nothing"
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="import a file whose content was imported before (its items are entered twice)",
    )


@dataclass(frozen=True)
class Row:
    line: int  # as a spreadsheet program numbers it (the header is line 1)
    cells: list[str]


def read_rows(path: Path) -> list[Row]:
    """The non-empty rows of the file's first sheet (or the CSV), cells as text."""
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            found = [
                Row(n, ["" if v is None else str(v).strip() for v in values])
                for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
        finally:
            book.close()
    else:
        text = path.read_bytes().decode("utf-8-sig")
        found = [
            Row(n, [cell.strip() for cell in cells])
            for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1)
        ]
    return [row for row in found if any(row.cells)]


def content_hash(rows: Sequence[Row]) -> str:
    """The content of a sheet: its rows' cells (not the file's bytes, name or format)."""
    cells = [row.cells for row in rows]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _header_names() -> dict[str, str]:
    names = {}
    for column in COLUMNS:
        names[column] = column
        for lang in LANGUAGES:
            names[t(lang, f"import.column.{column}").casefold()] = column
    return names


def columns_of(header: Row) -> dict[str, int] | str:
    """Which column holds what, from the header row (or what is wrong with it)."""
    names = _header_names()
    found: dict[str, int] = {}
    for i, cell in enumerate(header.cells):
        column = names.get(cell.casefold())
        if column is not None:
            found.setdefault(column, i)
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        wanted = ", ".join(t("zh-Hans", f"import.column.{c}") + f" ({c})" for c in missing)
        return f"line {header.line}: the header names no column for {wanted}"
    return found


def entry_of(settings: Settings, row: Row, columns: dict[str, int]) -> Entry | str:
    """The row as an item to enter, or why it cannot be."""

    def cell(column: str) -> str:
        i = columns.get(column)
        return row.cells[i] if i is not None and i < len(row.cells) else ""

    source, kind = source_of(cell("source")), kind_of(cell("kind"))
    if source is None:
        return f"unknown source {cell('source')!r} (座谈会 电话 意见箱 走访 来信 其他)"
    if kind is None:
        return f"unknown kind {cell('kind')!r} (建议 or 问题)"
    text = cell("text")
    if not text:
        return "the text is empty"
    if len(text) > settings.limits.max_text_chars:
        return f"the text is longer than limits.max_text_chars ({settings.limits.max_text_chars})"
    place_id = None
    if cell("place") and cell("place") != "-":
        place = settings.place_index.find(cell("place"))
        if place is None:
            return f"no place {cell('place')!r} in [[places]]"
        place_id = place.id
    name, phone = cell("name"), cell("phone")
    if not name or is_anonymous(name):
        if phone:
            return "an anonymous item keeps no phone number (remove it, or give a name)"
        return Entry(source, kind, text, place_id)
    if len(name) > MAX_CONTACT_NAME:
        return f"the name is longer than {MAX_CONTACT_NAME} characters"
    if phone and not PHONE.fullmatch(phone):
        return f"{phone!r} is not a phone number"
    return Entry(source, kind, text, place_id, name, phone or None)


def check(settings: Settings, rows: Sequence[Row]) -> tuple[list[Entry], list[str]]:
    """Every row checked: the entries, and one line per bad row (empty: all good)."""
    if not rows:
        return [], ["the file has no rows"]
    columns = columns_of(rows[0])
    if isinstance(columns, str):
        return [], [columns]
    if len(rows) - 1 > MAX_ROWS:
        return [], [f"{len(rows) - 1} rows: at most {MAX_ROWS} at a time (split the file)"]
    entries, problems = [], []
    for row in rows[1:]:
        found = entry_of(settings, row, columns)
        if isinstance(found, str):
            problems.append(f"line {row.line}: {found}")
        else:
            entries.append(found)
    if not entries and not problems:
        problems.append("no rows under the header")
    return entries, problems


async def enter_all(
    settings: Settings, entries: Sequence[Entry], *, content: str, file_name: str, again: bool
) -> list[int] | Imported:
    """Enter each row as the system (one transaction each); the items' numbers, or the
    earlier import of the same content (nothing entered) unless ``again``."""
    from bot.anonymity import existing_secrets
    from bot.core import drafting, entering
    from bot.core.access import system
    from bot.core.env import Env
    from bot.tagging import Tagger
    from storage.repository import Repository

    secrets = existing_secrets(settings.anonymity)
    assert secrets is not None  # checked by main
    repository = Repository(settings.storage.target, secrets=secrets)
    await repository.connect()
    try:
        earlier = await repository.imported(content)
        if earlier is not None and not again:
            return earlier
        await repository.import_started(content, file_name, len(entries))
        env = Env(repository, settings, secrets)
        actor = system(settings.campaign.language)
        tagger = Tagger(settings.topics)
        numbers = []
        for entry in entries:
            matches = tagger.tag(entry.text)
            result = await entering.enter(
                env,
                actor,
                entry,
                chat_id=settings.roles.office_chat_id or None,
                topic_id=matches[0].topic_id if matches else None,
                evidence=tuple(drafting.evidence_of(matches)),
                key=None,
            )
            assert result.ok and result.item is not None, result.message
            numbers.append(result.item.id)
        await repository.import_finished(content, numbers[0], numbers[-1])
        return numbers
    finally:
        await repository.close()


def _earlier(file: Path, earlier: Imported, tz: ZoneInfo) -> str:
    when = earlier.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if not earlier.finished:
        return (
            f"{file}: the same rows were imported on {when} (as {earlier.file_name}) and that"
            " import stopped before its end: check the items it entered, then run it with"
            " --again to enter every row once more"
        )
    return (
        f"{file}: the same rows were imported on {when} (as {earlier.file_name}):"
        f" {earlier.rows} items, #{earlier.first_id} to #{earlier.last_id}. Nothing imported;"
        " --again enters them once more"
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    from bot.anonymity import existing_secrets

    if not settings.storage.stored or existing_secrets(settings.anonymity) is None:
        print(
            f"No database and keys at {settings.storage.path}: start the bot once first.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        rows = read_rows(args.file)
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        print(f"{args.file}: cannot be read as XLSX or UTF-8 CSV: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    entries, problems = check(settings, rows)
    if problems:
        for problem in problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"{args.file}: {len(problems)} problem(s): nothing imported", file=sys.stderr)
        return EXIT_BAD_ROWS
    if args.dry_run:
        print(f"{args.file}: {len(entries)} rows OK (dry run: nothing imported)")
        return EXIT_OK
    found = asyncio.run(
        enter_all(
            settings,
            entries,
            content=content_hash(rows),
            file_name=args.file.name,
            again=args.again,
        )
    )
    if isinstance(found, Imported):
        print(_earlier(args.file, found, settings.campaign.tz), file=sys.stderr)
        return EXIT_IMPORTED
    numbers = found
    print(f"{args.file}: {len(numbers)} items imported, #{numbers[0]} to #{numbers[-1]}")
    return EXIT_OK
