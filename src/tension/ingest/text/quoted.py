"""Quoted CSV with a header (ACLED, analysts' files) through the ``csv`` module, and JSON Lines."""
from __future__ import annotations

import csv
import io
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from .rows import STRAY_CR, Rows, rows_from_lists

_FIELD_LIMIT = 1 << 30


class _PhysicalLines:
    """The physical lines of a byte stream (split on LF only), decoded, for ``csv.reader``.

    Remembers the lines taken for the current record, skips blank lines between records
    without handing them to the parser, and can hand lines back so parsing restarts after a
    malformed record's first line.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.next_no = 1
        self.pending: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _PhysicalLines:
        return self

    def __next__(self) -> str:
        if self.pending:
            no, text = self.pending.popleft()
        else:
            raw = self.fh.readline()
            while not self.taken and raw in (b"\n", b"\r\n"):
                self.next_no += 1  # a blank line between records is not a record
                raw = self.fh.readline()
            if not raw:
                raise StopIteration
            no = self.next_no
            self.next_no += 1
            text = raw.decode("utf-8-sig" if no == 1 else "utf-8", errors="surrogateescape")
        self.taken.append((no, text))
        return text

    def record(self) -> list[tuple[int, str]]:
        """The lines of the record just parsed (and forget them)."""
        taken, self.taken = self.taken, []
        return taken

    def restart_after_first(self, taken: list[tuple[int, str]]) -> None:
        """Parse again from the second of these lines."""
        self.pending.extendleft(reversed(taken[1:]))


def _well_formed(text: str, delimiter: str, width: int) -> bool:
    """One record of ``width`` fields, quotes closed and followed by a delimiter or the line end."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    return len(rows) == 1 and len(rows[0]) == width


def _csv_header(reader: Iterator[list[str]], source: _PhysicalLines, delimiter: str) -> list[str] | None:
    """The column names (white-space lines before them skipped); None for a file without any."""
    head: list[str] | None = None
    taken: list[tuple[int, str]] = []
    while not "".join(t for _, t in taken).strip():  # white-space lines before the header
        try:
            head = next(reader)
        except StopIteration:
            return None
        except csv.Error:
            head = None
        taken = source.record()
    if head is None or len(taken) > 1:  # an unreadable header is read as plain text; its first line only
        source.restart_after_first(taken)
        head = taken[0][1].rstrip("\r\n").split(delimiter)
    return [c.strip() for c in head]


def csv_rows(
    fh: IO[bytes],
    delimiter: str = ",",
    chunk_records: int = 200_000,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Rows]:
    """Quoted CSV with a header, via the ``csv`` module (quotes and embedded newlines kept).

    Records are separated by LF (or CRLF) outside quotes. A record that is malformed (a
    stray CR outside quotes, the wrong number of fields, or an unclosed quote that runs on
    over the following lines) costs only its first line: it is refused, and parsing
    restarts on the next line, so an unclosed quote never swallows the rows after it.
    """
    csv.field_size_limit(_FIELD_LIMIT)  # free-text fields (ACLED notes) can be megabytes long
    source = _PhysicalLines(fh)
    reader = csv.reader(source, delimiter=delimiter)
    names = _csv_header(reader, source, delimiter)
    if names is None:
        return
    width = len(names)
    buf: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    records = 0
    position = 0
    while True:
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error:
            row = None  # a CR outside quotes
        taken = source.record()
        if not taken:
            break
        if not "".join(t for _, t in taken).strip():
            continue  # a line of white space only is not a record
        records += 1
        # a one-line field ending in its own line break: the quote never closed (end of file)
        malformed = row is None or len(row) != width or (len(taken) == 1 and row[-1].endswith("\n"))
        if len(taken) > 1 and (malformed or not _well_formed("".join(t for _, t in taken), delimiter, width)):
            source.restart_after_first(taken)  # e.g. an unclosed quote: refuse its first line, read on from the next
            taken, malformed = taken[:1], True
        line = taken[0][0]
        joined = "".join(t for _, t in taken).rstrip("\r\n")
        if any("\udc80" <= ch <= "\udcff" for ch in joined):
            bad.append((line, "bad_encoding", joined.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")))
            continue
        if malformed:
            bad.append((line, STRAY_CR if "\r" in joined or row is None else "wrong_column_count", joined))
            continue
        assert row is not None
        buf.append(row)
        lines.append(line)
        raws.append(delimiter.join(row))
        if len(buf) >= chunk_records:
            position = _report(fh, position, on_bytes)
            yield rows_from_lists(buf, lines, raws, width, names, bad, records)
            buf, lines, raws, bad, records = [], [], [], [], 0
    _report(fh, position, on_bytes)
    if buf or bad or records:
        yield rows_from_lists(buf, lines, raws, width, names, bad, records)


def _report(fh: IO[bytes], position: int, on_bytes: Callable[[int], None] | None) -> int:
    """Tell the progress bar how far the underlying byte stream has been read."""
    try:
        now = fh.tell()
    except (OSError, ValueError):
        return position
    if on_bytes is not None and now > position:
        on_bytes(now - position)
    return now


def jsonl_rows(fh: IO[bytes], names: Sequence[str], chunk_records: int = 200_000) -> Iterator[Rows]:
    """JSON Lines: one object per line; fields taken by ``names`` (missing keys -> empty)."""
    buf: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    records = 0
    for i, raw in enumerate(fh, start=1):
        if not raw.strip():
            continue
        records += 1
        try:
            line = raw.decode("utf-8-sig" if i == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            bad.append((i, "bad_encoding", raw.decode("utf-8", "backslashreplace").rstrip("\r\n")))
            continue
        try:
            obj: Any = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            bad.append((i, "bad_json", line))
            continue
        buf.append(["" if obj.get(k) is None else str(obj.get(k)) for k in names])
        lines.append(i)
        raws.append(line)
        if len(buf) >= chunk_records:
            yield rows_from_lists(buf, lines, raws, len(names), list(names), bad, records)
            buf, lines, raws, bad, records = [], [], [], [], 0
    if buf or bad or records:
        yield rows_from_lists(buf, lines, raws, len(names), list(names), bad, records)
