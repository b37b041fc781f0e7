"""Streaming parsers for directory imports: bytes in, (line number, row dict or error) out.

Nothing holds the whole file: lines are cut from the incoming chunks as they arrive. CSV fields may
span lines inside quotes (RFC 4180); a record is complete once its quotes balance. Every byte is
looked at a bounded number of times (linear in the file), and the parsing of each slice of the
upload runs in a worker thread, so a large or hostile file never holds the event loop (HR
webhooks and every other request go on meanwhile).

A quote that never closes would make the rest of the file one field. A record is given at most
``MAX_RECORD_BYTES``: past that its first line is reported as a bad row and the lines after it are
read again as rows of their own, so one stray quote costs one row, not the file.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

MAX_LINE_BYTES = 64 * 1024
MAX_RECORD_BYTES = 64 * 1024
"""The most a quoted CSV record may span (its lines together)."""
SLICE_BYTES = 64 * 1024
"""How much of the upload one trip to the worker thread parses."""

TOO_LONG = b"\x00too long"


@dataclass(frozen=True)
class RawRow:
    line: int
    values: dict[str, Any] | None
    error: str | None = None


class RowParser(Protocol):
    def line(self, number: int, raw: bytes) -> list[RawRow]: ...

    def end(self) -> list[RawRow]: ...


class Lines:
    """Cuts chunks into lines, numbered from 1, without their line ends."""

    def __init__(self) -> None:
        self._pending = b""
        self._number = 0

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        cut = []
        for line in complete:
            self._number += 1
            cut.append((self._number, line.rstrip(b"\r")))
        if len(self._pending) > MAX_LINE_BYTES:
            self._number += 1
            cut.append((self._number, TOO_LONG))
            self._pending = b""
        return cut

    def end(self) -> list[tuple[int, bytes]]:
        if not self._pending.strip():
            return []
        self._number += 1
        return [(self._number, self._pending.rstrip(b"\r"))]


class NdjsonRows:
    def line(self, number: int, raw: bytes) -> list[RawRow]:
        if not raw.strip():
            return []
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return [RawRow(number, None, "not a JSON object")]
        if not isinstance(value, dict):
            return [RawRow(number, None, "not a JSON object")]
        return [RawRow(number, value)]

    def end(self) -> list[RawRow]:
        return []


class CsvRows:
    """CSV records from lines: a record ends at the first line end where its quotes balance."""

    def __init__(self) -> None:
        self._header: list[str] | None = None
        self._record: list[tuple[int, str]] = []
        self._quotes = 0  # quotes in the record so far: counted once per line, never again
        self._size = 0

    def line(self, number: int, raw: bytes) -> list[RawRow]:
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            return [RawRow(number, None, "not UTF-8 text")]
        self._record.append((number, text))
        self._quotes += text.count('"')
        self._size += len(raw) + 1
        if self._quotes % 2 == 0:
            return self._complete()
        if self._size > MAX_RECORD_BYTES:
            return self._unterminated(f"no closing quote within {MAX_RECORD_BYTES // 1024} KiB")
        return []  # a quoted field goes on in the next line

    def end(self) -> list[RawRow]:
        return self._unterminated("no closing quote before the end of the file")

    def _complete(self) -> list[RawRow]:
        first_line = self._record[0][0]
        joined = "\n".join(text for _, text in self._record)
        self._reset()
        if not joined.strip():
            return []
        if '"' in joined:
            try:
                fields = next(csv.reader([joined]))
            except csv.Error as exc:
                return [RawRow(first_line, None, f"not CSV: {exc}")]
        else:  # what the csv module makes of a line without quotes, at a fraction of the cost
            fields = joined.split(",")
        if self._header is None:
            self._header = [name.strip().lower() for name in fields]
            return []
        if len(fields) != len(self._header):
            return [
                RawRow(
                    first_line,
                    None,
                    f"{len(fields)} fields where the header has {len(self._header)}",
                )
            ]
        values = {name: value for name, value in zip(self._header, fields, strict=True) if value}
        return [RawRow(first_line, values)]

    def _unterminated(self, why: str) -> list[RawRow]:
        """The record's first line opened a quote that never closes: it alone is the bad row.
        The lines after it hold an even number of quotes each (else one would have closed the
        record), so read again each is a whole record: the work stays linear."""
        if not self._record:
            return []
        (first_line, _), *rest = self._record
        self._reset()
        rows = [RawRow(first_line, None, f"unterminated quoted field: {why}")]
        for number, text in rest:
            rows.extend(self.line(number, text.encode()))
        return rows

    def _reset(self) -> None:
        self._record, self._quotes, self._size = [], 0, 0


class _Slicer:
    """Lines and rows of one upload, parsed a slice at a time (called from a worker thread)."""

    def __init__(self, rows: RowParser) -> None:
        self._lines = Lines()
        self._rows = rows

    def feed(self, data: bytes) -> list[RawRow]:
        return self._parse(self._lines.feed(data))

    def end(self) -> list[RawRow]:
        return [*self._parse(self._lines.end()), *self._rows.end()]

    def _parse(self, lines: list[tuple[int, bytes]]) -> list[RawRow]:
        rows: list[RawRow] = []
        for number, raw in lines:
            if raw == TOO_LONG:
                rows.append(RawRow(number, None, f"line longer than {MAX_LINE_BYTES} bytes"))
            else:
                rows.extend(self._rows.line(number, raw))
        return rows


async def _rows(chunks: AsyncIterator[bytes], parser: RowParser) -> AsyncIterator[RawRow]:
    slicer = _Slicer(parser)
    buffered: list[bytes] = []
    size = 0
    async for chunk in chunks:
        buffered.append(chunk)
        size += len(chunk)
        if size >= SLICE_BYTES:
            for row in await asyncio.to_thread(slicer.feed, b"".join(buffered)):
                yield row
            buffered, size = [], 0
    rest = b"".join(buffered)
    for row in await asyncio.to_thread(lambda: [*slicer.feed(rest), *slicer.end()]):
        yield row


def ndjson_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[RawRow]:
    return _rows(chunks, NdjsonRows())


def csv_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[RawRow]:
    return _rows(chunks, CsvRows())
