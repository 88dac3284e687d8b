"""Turning source bytes into rows: chunked reading, encoding checks, column counts.

Each block of a file becomes a :class:`Rows`: the well-formed records as an Arrow table of
strings (columns ``c0``, ``c1``, ...), the physical line number of each record, and a way
to get a record's raw text back. Records with invalid UTF-8, a stray carriage return
(a ``\r`` that does not end the line) or the wrong number of columns are set aside (with
line number and raw text) before parsing, so one bad line never costs the good ones.
Blank lines are not records: they are cut out of a block before anything is
materialised, so a file of millions of blank lines costs memory for its records only.
Whatever the fast Arrow parser rejects for a whole block is parsed again line by line.

Unquoted delimited files (ICEWS, GDELT, POLECAT, ICEWS-KG) are read in large blocks:
numpy finds the line breaks and counts the separators per line, Python's UTF-8 decoder
checks only the lines holding non-ASCII bytes, and ``pyarrow.csv`` parses the good lines
(multithreaded, only the columns the reader needs). Quoted CSV (ACLED, analysts' files)
goes through the standard ``csv`` module; JSONL line by line.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

_FIELD_LIMIT = 1 << 30
CHUNK_BYTES = 32 * 1024 * 1024
"""Bytes per block read from a delimited file (a block always ends on a line break)."""


@dataclass
class Rows:
    """Well-formed records of one block, plus the records refused on the way."""

    table: pa.Table
    """String columns ``c<i>`` (only those the reader asked for), one row per record."""
    line: np.ndarray
    """Physical line number (1-based) where each record starts."""
    width: int
    """Number of fields every record in this block has."""
    raw_of: Callable[[np.ndarray], list[str]]
    """Raw text of the records at the given row positions."""
    header: list[str] | None = None
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    """Refused records: (line, reason, raw text)."""
    records: int = 0
    """Records seen in this block (good + refused; blank lines are not records)."""

    def __len__(self) -> int:
        return len(self.line)

    def col(self, index: int) -> pa.Array:
        """Field ``index`` of every record (nulls when the records are shorter)."""
        name = f"c{index}"
        if index >= self.width or name not in self.table.column_names:
            if index < self.width:
                raise KeyError(f"column {index} was not read; add it to the reader's columns")
            return pa.nulls(len(self), pa.string())
        return self.table.column(name).combine_chunks()

    def named(self, name: str) -> pa.Array | None:
        """The column called ``name`` in the header, or None when the header lacks it."""
        if self.header is None or name not in self.header:
            return None
        return self.col(self.header.index(name))


def _string_table(columns: list[list[str]], width: int) -> pa.Table:
    return pa.table({f"c{i}": pa.array(c, pa.string()) for i, c in enumerate(columns)}) if columns else pa.table(
        {f"c{i}": pa.array([], pa.string()) for i in range(width)}
    )


def _line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, end (exclusive, without CR/LF) of each line in a buffer ending with LF."""
    nl = np.flatnonzero(buf == 10)
    starts = np.empty(len(nl), dtype=np.int64)
    starts[0:1] = 0
    starts[1:] = nl[:-1] + 1
    ends = nl.astype(np.int64)
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    ends = ends - cr
    return starts, ends, nl


def _fields_per_line(buf: np.ndarray, starts: np.ndarray, sep: int) -> np.ndarray:
    # each line's range [start_i, start_i+1) holds its LF, so no range is empty
    return np.add.reduceat((buf == sep).view(np.uint8), starts, dtype=np.int32).astype(np.int64) + 1


def _bad_utf8_lines(data: bytes, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, nl: np.ndarray) -> np.ndarray:
    """Lines that are not valid UTF-8 (only lines with non-ASCII bytes are decoded)."""
    bad = np.zeros(len(starts), dtype=bool)
    high = np.flatnonzero(buf >= 128)
    if len(high) == 0:
        return bad
    try:
        data.decode("utf-8")
        return bad
    except UnicodeDecodeError:
        pass
    for i in np.unique(np.searchsorted(nl, high)):
        try:
            data[starts[i] : ends[i]].decode("utf-8")
        except UnicodeDecodeError:
            bad[i] = True
    return bad


def delimited_rows(
    fh: IO[bytes],
    delimiter: str = "\t",
    header: bool = False,
    expected: Callable[[np.ndarray], np.ndarray] | None = None,
    columns: Sequence[int] | None = None,
    width: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Rows]:
    """Read an unquoted delimited file as :class:`Rows` blocks.

    ``expected(ncols)`` says which field counts are well formed (default: the header's);
    other records are refused as ``wrong_column_count``. ``columns`` limits which field
    positions are materialised (default: all). ``width`` is the usual field count, which
    enables the one-pass fast path (the header's count when there is a header).
    """
    sep = ord(delimiter)
    names: list[str] | None = None
    line = 1
    carry = b""
    if header:
        first = fh.readline()
        consumed = len(first)
        while first in (b"\n", b"\r\n", b"\xef\xbb\xbf\n", b"\xef\xbb\xbf\r\n"):  # blank lines before the header
            line += 1
            first = fh.readline()
            consumed += len(first)
        if on_bytes:
            on_bytes(consumed)
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = first.decode("latin-1")
        names = [c.strip().strip('"') for c in text.rstrip("\r\n").split(delimiter)]
        line += 1
        if expected is None:
            width = len(names)
            expected = lambda n, _w=width: n == _w  # noqa: E731
    while True:
        block = fh.read(chunk_bytes)
        if on_bytes and block:
            on_bytes(len(block))
        if block:
            cut = block.rfind(b"\n")
            if cut < 0:
                carry += block
                continue
            if carry:
                joined = bytearray(carry)
                joined += memoryview(block)[: cut + 1]
                data = bytes(joined) if len(joined) < (1 << 20) else joined
            else:
                data = block if cut + 1 == len(block) else block[: cut + 1]
            carry = block[cut + 1 :]
        else:
            data, carry = carry, b""
            if data and not data.endswith(b"\n"):
                data += b"\n"
        if data:
            n_lines = yield from _block_rows(data, line, sep, names, expected, columns, width)
            line += n_lines
        if not block:
            break


def _read_block(payload: bytes, width: int, sep: int, columns: Sequence[int] | None, on_invalid: Any = None) -> pa.Table:
    """Parse one block with pyarrow.csv as a single chunk per column (parallelism comes from the
    reader thread overlapping with validation, see ``tension.ingest._prefetch``)."""
    wanted = [c for c in (columns if columns is not None else range(width)) if c < width]
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(payload)),
        read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(width)], block_size=1 << 27),
        parse_options=pacsv.ParseOptions(
            delimiter=chr(sep), quote_char=False, escape_char=False, ignore_empty_lines=False, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            include_columns=[f"c{i}" for i in wanted],
            column_types={f"c{i}": pa.string() for i in wanted},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


_FEW_INVALID = 1000

STRAY_CR = "stray_carriage_return"
"""Reason for a record holding a ``\r`` that does not end its line: some tools read it as a
line break and some as text, so the record's fields are ambiguous."""

_LINE_ENDS = re.compile(rb"[\r\n]*")
"""A run of CR/LF bytes (a single-byte class: the regex engine scans it without a per-byte stack)."""
_STRAY_CR = re.compile(rb"\r(?!\n)")


@dataclass(frozen=True)
class LineMap:
    """Block-local record position -> physical line number, across the blank lines cut out."""

    first: int
    """Physical line number of the block's first line."""
    at: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    """Positions (in the block without blank lines) before which a run of blank lines was cut."""
    skipped: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    """Blank lines cut up to and including each run."""

    def __call__(self, positions: np.ndarray | Sequence[int]) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.int64)
        if len(self.at) == 0:
            return self.first + pos
        k = np.searchsorted(self.at, pos, side="right")
        return self.first + pos + np.where(k > 0, self.skipped[np.maximum(k - 1, 0)], 0)

    def one(self, position: int) -> int:
        return int(self(np.array([position]))[0])


def drop_blank_lines(data: bytes, first_line: int) -> tuple[bytes, LineMap, int]:
    """Cut blank lines (empty, or a lone CR before the LF) out of a block ending with LF.

    Returns the block without them, the map back to physical line numbers, and the number
    of physical lines in the block. Works run by run with byte searches, so memory and
    time grow with the records, not with the blank lines.
    """
    leading = data.startswith((b"\n", b"\r\n"))
    if not (leading or b"\n\n" in data or b"\n\r\n" in data):
        return data, LineMap(first_line), data.count(b"\n")
    end = len(data)
    pieces: list[bytes] = []
    at: list[int] = []
    skipped: list[int] = []
    removed = lines = pos = search = 0
    next_lf = next_crlf = -1  # cached next "\n\n" and "\n\r\n" (each byte is searched once)
    while True:
        if leading:
            start, leading = 0, False
        else:
            if next_lf < search:
                found = data.find(b"\n\n", search)
                next_lf = end if found < 0 else found
            if next_crlf < search:
                found = data.find(b"\n\r\n", search)
                next_crlf = end if found < 0 else found
            start = min(next_lf, next_crlf) + 1  # the LF before it ends a record and stays
            if start > end:
                break
        run_end = _LINE_ENDS.match(data, start).end()  # type: ignore[union-attr]
        body_end = data.rfind(b"\n", start, run_end) + 1  # whole lines only: trailing CRs begin the next line
        search = body_end
        stray = _STRAY_CR.search(data, start, body_end)
        if stray is not None:  # "\r\r\n" is a record (a stray CR): cut the blank lines before it, look again after it
            body_end = max(start, data.rfind(b"\n", start, stray.start()) + 1)
            search = data.find(b"\n", stray.start())
            if body_end == start:
                continue
        pieces.append(data[pos:start])
        lines += data.count(b"\n", pos, start)
        removed += data.count(b"\n", start, body_end)
        at.append(lines)
        skipped.append(removed)
        pos = body_end
    pieces.append(data[pos:])
    lines += data.count(b"\n", pos)
    compact = b"".join(pieces)
    return compact, LineMap(first_line, np.array(at, dtype=np.int64), np.array(skipped, dtype=np.int64)), lines + removed


def _has_stray_cr(data: bytes) -> bool:
    return b"\r" in data and data.count(b"\r") != data.count(b"\r\n")


def _fast_block(
    data: bytes,
    line_of: LineMap,
    sep: int,
    names: list[str] | None,
    width: int | None,
    columns: Sequence[int] | None,
    expected: Callable[[np.ndarray], np.ndarray] | None,
) -> Rows | None:
    """The common case in one pass: valid UTF-8, no stray CR, (nearly) every line ``width`` fields.

    ``data`` holds no blank line (see :func:`drop_blank_lines`). A few rows with another
    field count are found by their text and quarantined as ``wrong_column_count``.
    Returns None when the block needs the careful path.
    """
    if width is None or width < 2 or _has_stray_cr(data):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    invalid: list[Any] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row.text)
        return "skip" if len(invalid) <= _FEW_INVALID else "error"

    try:
        table = _read_block(data, width, sep, columns, on_invalid)
    except pa.ArrowInvalid:
        return None
    n = data.count(b"\n")
    if table.num_rows + len(invalid) != n:
        return None
    if any(not t.strip() for t in invalid):
        return None
    if invalid and expected is not None:
        counts = np.array([t.count(chr(sep)) + 1 for t in invalid])
        if np.asarray(expected(counts), dtype=bool).any():
            return None  # another valid width (GDELT 1.0: 57 and 58): the careful path splits by width
    bad_lines: set[int] = set()
    for text in set(invalid):
        needle = text.encode("utf-8")
        pos = data.find(needle)
        while pos >= 0:
            end = pos + len(needle)
            at_start = pos == 0 or data[pos - 1] == 10
            at_end = data[end : end + 1] == b"\n" or data[end : end + 2] == b"\r\n"
            if at_start and at_end:
                bad_lines.add(data.count(b"\n", 0, pos))
            pos = data.find(needle, pos + 1)
    if len(bad_lines) != len(invalid):
        return None
    order = sorted(bad_lines)
    idx = np.delete(np.arange(n, dtype=np.int64), order) if order else np.arange(n, dtype=np.int64)
    bounds: list[tuple[np.ndarray, np.ndarray]] = []

    def raw(i: int) -> str:
        if not bounds:
            starts, ends, _ = _line_bounds(np.frombuffer(data, dtype=np.uint8))
            bounds.append((starts, ends))
        starts, ends = bounds[0]
        return data[starts[i] : ends[i]].decode("utf-8", errors="backslashreplace")

    bad = [(line_of.one(i), "wrong_column_count", raw(i)) for i in order]
    return Rows(table, line_of(idx), width, lambda positions: [raw(int(idx[p])) for p in positions], names, bad, n)


def _stray_cr_lines(buf: np.ndarray, nl: np.ndarray) -> np.ndarray:
    """Lines holding a CR that is not the one just before their LF."""
    bad = np.zeros(len(nl), dtype=bool)
    cr = np.flatnonzero(buf == 13)
    lone = cr[buf[np.minimum(cr + 1, len(buf) - 1)] != 10]
    bad[np.unique(np.searchsorted(nl, lone))] = True
    return bad


def _split_lines(data: bytes, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray, width: int, sep: int, columns: Sequence[int] | None) -> pa.Table:
    """The per-line fallback: split each line in Python (exact for unquoted text, never refuses a line)."""
    wanted = [c for c in (columns if columns is not None else range(width)) if c < width]
    delim = chr(sep)
    cols: dict[int, list[str | None]] = {c: [] for c in wanted}
    for i in idx:
        parts = data[starts[i] : ends[i]].decode("utf-8").split(delim)
        for c in wanted:
            cols[c].append(parts[c] or None)
    return pa.table({f"c{c}": pa.array(v, pa.string()) for c, v in cols.items()})


def _careful_block(
    data: bytes,
    line_of: LineMap,
    sep: int,
    names: list[str] | None,
    expected: Callable[[np.ndarray], np.ndarray] | None,
    columns: Sequence[int] | None,
) -> Iterator[Rows]:
    """Line by line in numpy: set aside bad lines, parse each field count's lines with Arrow (or in Python)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends, nl = _line_bounds(buf)
    ncols = _fields_per_line(buf, starts, sep)
    blank = ends == starts
    bad_enc = _bad_utf8_lines(data, buf, starts, ends, nl)
    stray = _stray_cr_lines(buf, nl) & ~bad_enc if _has_stray_cr(data) else np.zeros(len(nl), dtype=bool)
    ok = ~blank & ~bad_enc & ~stray
    wrong = ok & ~np.asarray(expected(ncols) if expected is not None else np.ones(len(nl), dtype=bool), dtype=bool)
    ok &= ~wrong

    def raw(i: int) -> str:
        return data[starts[i] : ends[i]].decode("utf-8", errors="backslashreplace")

    bad: list[tuple[int, str, str]] = []
    for mask, reason in ((bad_enc, "bad_encoding"), (stray, STRAY_CR), (wrong, "wrong_column_count")):
        hits = np.flatnonzero(mask)
        bad += [(int(line), reason, raw(int(i))) for i, line in zip(hits, line_of(hits))]
    bad.sort()
    records = int((~blank).sum())
    widths = np.unique(ncols[ok]) if ok.any() else np.array([], dtype=np.int64)
    if len(widths) == 0:
        yield Rows(_string_table([], 0), np.array([], dtype=np.int64), 0, lambda idx: [], names, bad, records)
        return
    for k, width in enumerate(widths):
        sel = ok & (ncols == width)
        idx = np.flatnonzero(sel)
        if sel.all():
            payload = data
        else:
            # contiguous runs of selected lines, whole (pyarrow reads CRLF itself)
            edges = np.flatnonzero(np.diff(np.concatenate([[0], sel.view(np.int8), [0]])))
            payload = b"".join(data[starts[a] : nl[b - 1] + 1] for a, b in zip(edges[::2], edges[1::2]))
        try:
            table = _read_block(payload, int(width), sep, columns)
            if table.num_rows != len(idx):
                raise pa.ArrowInvalid(f"{table.num_rows} rows parsed from {len(idx)} lines")
        except pa.ArrowInvalid:
            table = _split_lines(data, starts, ends, idx, int(width), sep, columns)

        def raw_of(positions: np.ndarray, _idx: np.ndarray = idx) -> list[str]:
            return [raw(int(_idx[p])) for p in positions]

        yield Rows(table, line_of(idx), int(width), raw_of, names, bad if k == 0 else [], records if k == 0 else 0)


def _block_rows(
    data: bytes,
    first_line: int,
    sep: int,
    names: list[str] | None,
    expected: Callable[[np.ndarray], np.ndarray] | None,
    columns: Sequence[int] | None,
    width_hint: int | None = None,
) -> Generator[Rows, None, int]:
    """Rows of one block (ending with LF); returns the number of physical lines it held."""
    data, line_of, n_lines = drop_blank_lines(data, first_line)
    if not data:
        return n_lines
    fast = _fast_block(data, line_of, sep, names, width_hint, columns, expected)
    if fast is not None:
        yield fast
    else:
        yield from _careful_block(data, line_of, sep, names, expected, columns)
    return n_lines


def _py_rows(buf: list[list[str]], lines: list[int], raws: list[str], width: int, names: list[str] | None, bad: list, records: int) -> Rows:
    cols = [list(c) for c in zip(*buf)] if buf else []
    table = _string_table(cols, width)
    return Rows(table, np.array(lines, dtype=np.int64), width, lambda idx: [raws[int(i)] for i in idx], names, bad, records)


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
    head: list[str] | None = None
    taken: list[tuple[int, str]] = []
    while not "".join(t for _, t in taken).strip():  # white-space lines before the header
        try:
            head = next(reader)
        except StopIteration:
            return
        except csv.Error:
            head = None
        taken = source.record()
    if head is None or len(taken) > 1:  # an unreadable header is read as plain text; its first line only
        source.restart_after_first(taken)
        head = taken[0][1].rstrip("\r\n").split(delimiter)
    names = [c.strip() for c in head]
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
            yield _py_rows(buf, lines, raws, width, names, bad, records)
            buf, lines, raws, bad, records = [], [], [], [], 0
    _report(fh, position, on_bytes)
    if buf or bad or records:
        yield _py_rows(buf, lines, raws, width, names, bad, records)


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
            yield _py_rows(buf, lines, raws, len(names), list(names), bad, records)
            buf, lines, raws, bad, records = [], [], [], [], 0
    if buf or bad or records:
        yield _py_rows(buf, lines, raws, len(names), list(names), bad, records)
