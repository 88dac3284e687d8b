"""Turning source bytes into rows: chunked line splitting, encoding checks, column counts.

Each chunk of a file becomes a :class:`Rows`: the fields of every well-formed record
(an Arrow list array), its physical line number and raw text. Records with invalid
UTF-8 or the wrong number of columns are set aside as quarantine rows with their line
number, so one bad line never costs the good ones. Delimited files without quoting
(ICEWS, GDELT, POLECAT, ICEWS-KG) are split in Arrow in large blocks; quoted CSV
(ACLED, analysts' files) goes through the standard ``csv`` module; JSONL line by line.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CHUNK_BYTES = 32 * 1024 * 1024
"""Bytes per block read from a delimited file (a block always ends on a line break)."""

_EMPTY_LIST = pa.array([], pa.list_(pa.string()))


@dataclass
class Rows:
    """Well-formed records of one chunk, plus the records refused on the way."""

    fields: pa.ListArray
    """One list of field strings per record."""
    ncols: np.ndarray
    line: np.ndarray
    """Physical line number (1-based) where each record starts."""
    raw: pa.Array
    """The record's raw text (string)."""
    header: list[str] | None = None
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    """Refused records: (line, reason, raw text)."""
    records: int = 0
    """Records seen in this chunk (good + refused; blank lines are not records)."""

    def __len__(self) -> int:
        return len(self.line)

    def col(self, index: int) -> pa.Array:
        """Field ``index`` of every record (null where a record is shorter)."""
        if len(self) == 0:
            return pa.array([], pa.string())
        ok = self.ncols > index
        if ok.all():
            return pc.list_element(self.fields, index)
        out = pc.list_element(self.fields.filter(pa.array(ok)), index).to_numpy(zero_copy_only=False)
        full = np.full(len(self), None, dtype=object)
        full[ok] = out
        return pa.array(full, pa.string())

    def named(self, name: str) -> pa.Array | None:
        """The column called ``name`` in the header, or None when the header lacks it."""
        if self.header is None or name not in self.header:
            return None
        return self.col(self.header.index(name))

    def subset(self, mask: np.ndarray) -> Rows:
        m = pa.array(mask)
        return Rows(self.fields.filter(m), self.ncols[mask], self.line[mask], self.raw.filter(m), self.header, [], 0)


def _decode_lines(lines: pa.Array, first_line: int) -> tuple[pa.Array, list[tuple[int, str, str]], np.ndarray]:
    """Binary lines -> string lines; invalid UTF-8 lines are reported, not raised."""
    try:
        return lines.cast(pa.string()), [], np.ones(len(lines), dtype=bool)
    except pa.ArrowInvalid:
        pass
    ok = np.ones(len(lines), dtype=bool)
    bad = []
    for i, value in enumerate(lines.to_pylist()):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            ok[i] = False
            bad.append((first_line + i, "bad_encoding", value.decode("utf-8", errors="backslashreplace").rstrip("\r\n")))
    return lines.filter(pa.array(ok)).cast(pa.string()), bad, ok


def _split_block(data: bytes, first_line: int, delimiter: str) -> tuple[pa.ListArray, np.ndarray, np.ndarray, pa.Array, list[tuple[int, str, str]], int]:
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    ends = nl + 1
    if len(data) and (len(nl) == 0 or nl[-1] != len(data) - 1):
        ends = np.concatenate([ends, [len(data)]])
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    n = len(ends)
    lines = pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    line_no = np.arange(first_line, first_line + n, dtype=np.int64)
    text, bad, ok = _decode_lines(lines, first_line)
    line_no = line_no[ok]
    text = pc.utf8_rtrim(text.cast(pa.string()), characters="\r\n")
    nonblank = pc.not_equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0).to_numpy(zero_copy_only=False)
    records = int(nonblank.sum()) + len(bad)
    if not nonblank.all():
        text = text.filter(pa.array(nonblank))
        line_no = line_no[nonblank]
    fields = pc.split_pattern(text, delimiter)
    ncols = pc.list_value_length(fields).to_numpy(zero_copy_only=False).astype(np.int64)
    return fields, ncols, line_no, text, bad, records


def delimited_rows(
    fh: IO[bytes],
    delimiter: str = "\t",
    header: bool = False,
    expected: Callable[[int], bool] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Rows]:
    """Split an unquoted delimited file into :class:`Rows` blocks.

    ``expected(ncols)`` says which column counts are well formed (default: the header's
    count); other records are refused as ``wrong_column_count``.
    """
    names: list[str] | None = None
    line = 1
    carry = b""
    if header:
        first = fh.readline()
        if on_bytes:
            on_bytes(len(first))
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = first.decode("latin-1")
        names = [c.strip().strip('"') for c in text.rstrip("\r\n").split(delimiter)]
        line = 2
        if expected is None:
            width = len(names)
            expected = lambda n: n == width  # noqa: E731
    while True:
        block = fh.read(chunk_bytes)
        if on_bytes and block:
            on_bytes(len(block))
        if not block:
            data, carry = carry, b""
        else:
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            data, carry = data[: cut + 1], data[cut + 1 :]
        if not data:
            break
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        fields, ncols, line_no, text, bad, records = _split_block(data, line, delimiter)
        line += n_lines
        ok = expected(ncols) if expected is not None else np.ones(len(ncols), dtype=bool)
        ok = np.asarray(ok, dtype=bool)
        if not ok.all():
            wrong = np.flatnonzero(~ok)
            raws = text.take(pa.array(wrong)).to_pylist()
            bad.extend((int(line_no[i]), "wrong_column_count", r) for i, r in zip(wrong, raws))
            m = pa.array(ok)
            fields, ncols, line_no, text = fields.filter(m), ncols[ok], line_no[ok], text.filter(m)
        bad.sort()
        yield Rows(fields, ncols, line_no, text, names, bad, records)
        if not block:
            break


def csv_rows(
    fh: IO[bytes],
    delimiter: str = ",",
    chunk_records: int = 200_000,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Rows]:
    """Quoted CSV with a header, via the ``csv`` module (handles quotes and embedded newlines)."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        names = [c.strip() for c in next(reader)]
    except StopIteration:
        return
    width = len(names)
    buf: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    records = 0
    start = reader.line_num + 1

    def flush() -> Rows:
        nonlocal buf, lines, raws, bad, records
        fields = pa.array(buf, pa.list_(pa.string())) if buf else _EMPTY_LIST
        out = Rows(fields, np.full(len(buf), width, dtype=np.int64), np.array(lines, dtype=np.int64), pa.array(raws, pa.string()), names, bad, records)
        buf, lines, raws, bad, records = [], [], [], [], 0
        return out

    for row in reader:
        line = start
        start = reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        records += 1
        joined = delimiter.join(row)
        if any("\udc80" <= ch <= "\udcff" for ch in joined):
            bad.append((line, "bad_encoding", joined.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")))
            continue
        if len(row) != width:
            bad.append((line, "wrong_column_count", joined))
            continue
        buf.append(row)
        lines.append(line)
        raws.append(joined)
        if len(buf) >= chunk_records:
            yield flush()
    if on_bytes:
        on_bytes(0)
    if buf or bad or records:
        yield flush()


def jsonl_rows(fh: IO[bytes], names: Sequence[str], chunk_records: int = 200_000) -> Iterator[Rows]:
    """JSON Lines: one object per line; fields taken by ``names`` (missing keys -> empty)."""
    buf: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    records = 0

    def flush() -> Rows:
        nonlocal buf, lines, raws, bad, records
        fields = pa.array(buf, pa.list_(pa.string())) if buf else _EMPTY_LIST
        out = Rows(fields, np.full(len(buf), len(names), dtype=np.int64), np.array(lines, dtype=np.int64), pa.array(raws, pa.string()), list(names), bad, records)
        buf, lines, raws, bad, records = [], [], [], [], 0
        return out

    for i, raw in enumerate(fh, start=1):
        if not raw.strip():
            continue
        records += 1
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
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
            yield flush()
    if buf or bad or records:
        yield flush()
