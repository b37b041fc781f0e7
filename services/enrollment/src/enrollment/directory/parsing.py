"""Streaming parsers for directory imports: bytes in, (line number, row dict or error) out.

Nothing holds the whole file: lines are cut from the incoming chunks as they arrive. CSV fields may
span lines inside quotes (RFC 4180); a record is complete once its quotes balance.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

MAX_LINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class RawRow:
    line: int
    values: dict[str, Any] | None
    error: str | None = None


async def lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    """(line number from 1, line without its end) for each line of the stream."""
    pending = b""
    number = 0
    async for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            number += 1
            yield number, line.rstrip(b"\r")
        if len(pending) > MAX_LINE_BYTES:
            number += 1
            yield number, b"\x00too long"
            pending = b""
    if pending.strip():
        yield number + 1, pending.rstrip(b"\r")


async def ndjson_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[RawRow]:
    async for number, line in lines(chunks):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            yield RawRow(number, None, "not a JSON object")
            continue
        if not isinstance(value, dict):
            yield RawRow(number, None, "not a JSON object")
            continue
        yield RawRow(number, value)


async def csv_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[RawRow]:
    header: list[str] | None = None
    record: list[str] = []
    first_line = 0
    async for number, raw in lines(chunks):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield RawRow(number, None, "not UTF-8 text")
            continue
        if not record:
            first_line = number
        record.append(text)
        joined = "\n".join(record)
        if joined.count('"') % 2:
            continue  # a quoted field goes on in the next line
        record = []
        if not joined.strip():
            continue
        try:
            fields = next(csv.reader([joined]))
        except csv.Error as exc:
            yield RawRow(first_line, None, f"not CSV: {exc}")
            continue
        if header is None:
            header = [name.strip().lower() for name in fields]
            continue
        if len(fields) != len(header):
            yield RawRow(
                first_line, None, f"{len(fields)} fields where the header has {len(header)}"
            )
            continue
        yield RawRow(
            first_line, {name: value for name, value in zip(header, fields, strict=True) if value}
        )
    if record:
        yield RawRow(first_line, None, "unterminated quoted field")
