"""Reading SQLite files the way someone with a copy of them (and no keys) would: every page of
a database file or backup and every frame of a write-ahead log, parsed into the records its
cells hold, plus the bytes between the cells (what a deleted row may leave behind).

Only what the anonymity tests need: b-tree pages (tables and indexes, with or without rowid),
the local part of each payload (a value continued on an overflow page is cut there), and the
file format of https://www.sqlite.org/fileformat.html.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

Value = int | float | str | bytes | None

LEAF_TABLE, LEAF_INDEX, INTERIOR_TABLE, INTERIOR_INDEX = 13, 10, 5, 2
WAL_HEADER, FRAME_HEADER = 32, 24


@dataclass(frozen=True)
class Record:
    """The values of one cell (or, ``raw``, one run of bytes outside every cell), and where
    it was found."""

    source: str  # file name and page (and WAL frame)
    values: tuple[Value, ...]
    raw: bool = False


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    for i in range(9):
        if pos + i >= len(data):
            raise ValueError("varint past the end")
        byte = data[pos + i]
        if i == 8:
            return (result << 8) | byte, pos + 9
        result = (result << 7) | (byte & 0x7F)
        if byte < 0x80:
            return result, pos + i + 1
    raise AssertionError("unreachable")


def _value(serial: int, data: bytes, pos: int) -> tuple[Value, int]:
    if serial == 0:
        return None, pos
    if 1 <= serial <= 6:
        size = (1, 2, 3, 4, 6, 8)[serial - 1]
        return int.from_bytes(data[pos : pos + size], "big", signed=True), pos + size
    if serial == 7:
        return struct.unpack(">d", data[pos : pos + 8].ljust(8, b"\0"))[0], pos + 8
    if serial in (8, 9):
        return serial - 8, pos
    if serial >= 12:
        size = (serial - 12) // 2
        chunk = data[pos : pos + size]
        if serial % 2:
            return chunk.decode("utf-8", "replace"), pos + size
        return bytes(chunk), pos + size
    return None, pos  # reserved serial types


def _record(payload: bytes) -> tuple[Value, ...]:
    header_size, pos = _varint(payload, 0)
    serials = []
    while pos < min(header_size, len(payload)):
        serial, pos = _varint(payload, pos)
        serials.append(serial)
    values: list[Value] = []
    pos = header_size
    for serial in serials:
        if pos >= len(payload) and serial not in (0, 8, 9):
            values.append(None)  # continued on an overflow page
            continue
        value, pos = _value(serial, payload, pos)
        values.append(value)
    return tuple(values)


def _local(total: int, usable: int, *, table: bool) -> int:
    """How much of a payload of ``total`` bytes is stored on the b-tree page itself."""
    max_local = usable - 35 if table else (usable - 12) * 64 // 255 - 23
    if total <= max_local:
        return total
    min_local = (usable - 12) * 32 // 255 - 23
    k = min_local + (total - min_local) % (usable - 4)
    return k if k <= max_local else min_local


def page_records(page: bytes, source: str, *, first: bool = False) -> list[Record]:
    """The records of a b-tree page's cells and the runs of bytes outside them."""
    base = 100 if first else 0
    if len(page) <= base or page[base] not in (
        LEAF_TABLE,
        LEAF_INDEX,
        INTERIOR_TABLE,
        INTERIOR_INDEX,
    ):
        return [Record(source, (bytes(page),), raw=True)] if any(page) else []
    kind = page[base]
    leaf = kind in (LEAF_TABLE, LEAF_INDEX)
    cells = int.from_bytes(page[base + 3 : base + 5], "big")
    pointers = base + (8 if leaf else 12)
    usable = len(page)
    covered = [(0, pointers + 2 * cells)]
    records = []
    for i in range(cells):
        start = int.from_bytes(page[pointers + 2 * i : pointers + 2 * i + 2], "big")
        try:
            pos = start
            if kind == INTERIOR_TABLE:
                _, pos = _varint(page, pos + 4)
                covered.append((start, pos))
                continue
            if kind == INTERIOR_INDEX:
                pos += 4
            total, pos = _varint(page, pos)
            if kind == LEAF_TABLE:
                rowid, pos = _varint(page, pos)
            local = _local(total, usable, table=kind == LEAF_TABLE)
            payload = page[pos : pos + local]
            end = pos + local + (4 if local < total else 0)
            covered.append((start, end))
            values = _record(payload)
            if kind == LEAF_TABLE:
                values = (rowid, *values)
            records.append(Record(f"{source} cell {i}", values))
        except (ValueError, IndexError, struct.error):
            continue
    # Whatever lies outside the header and the cells: free space, freeblocks, remnants.
    covered.sort()
    at = 0
    for begin, end in covered:
        if begin > at and any(page[at:begin]):
            records.append(Record(f"{source} free {at}", (bytes(page[at:begin]),), raw=True))
        at = max(at, end)
    if at < usable and any(page[at:]):
        records.append(Record(f"{source} free {at}", (bytes(page[at:]),), raw=True))
    return records


def database_records(path: Path, data: bytes | None = None) -> Iterator[Record]:
    """Every record of every page of a database file (or backup)."""
    data = path.read_bytes() if data is None else data
    if len(data) < 100:
        return
    size = int.from_bytes(data[16:18], "big")
    size = 65536 if size == 1 else size
    for number in range(len(data) // size):
        page = data[number * size : (number + 1) * size]
        yield from page_records(page, f"{path.name} page {number + 1}", first=number == 0)


def wal_records(path: Path, data: bytes | None = None) -> Iterator[Record]:
    """Every record of every frame of a write-ahead log (older frames included: the log
    keeps each version of a page written since the last checkpoint reset it)."""
    data = path.read_bytes() if data is None else data
    if len(data) < WAL_HEADER:
        return
    size = int.from_bytes(data[8:12], "big")
    pos, frame = WAL_HEADER, 0
    while pos + FRAME_HEADER + size <= len(data):
        number = int.from_bytes(data[pos : pos + 4], "big")
        page = data[pos + FRAME_HEADER : pos + FRAME_HEADER + size]
        frame += 1
        yield from page_records(
            page, f"{path.name} frame {frame} (page {number})", first=number == 1
        )
        pos += FRAME_HEADER + size
