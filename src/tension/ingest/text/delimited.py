"""Unquoted delimited files (ICEWS, GDELT, POLECAT, ICEWS-KG) in large blocks: a fast Arrow pass, else line by line."""
from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .lines import LineMap, bad_utf8_lines, drop_blank_lines, fields_per_line, has_stray_cr, line_bounds, stray_cr_lines
from .rows import STRAY_CR, Rows, string_table

CHUNK_BYTES = 32 * 1024 * 1024
"""Bytes per block read from a delimited file (a block always ends on a line break)."""


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
        names, line = _header(fh, delimiter, on_bytes)
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


def _header(fh: IO[bytes], delimiter: str, on_bytes: Callable[[int], None] | None) -> tuple[list[str], int]:
    """The header's column names (blank lines before it skipped) and the physical line number after it."""
    line = 1
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
    return [c.strip().strip('"') for c in text.rstrip("\r\n").split(delimiter)], line + 1


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
    if width is None or width < 2 or has_stray_cr(data):
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
    bad_lines = _whole_lines(data, invalid)
    if len(bad_lines) != len(invalid):
        return None
    order = sorted(bad_lines)
    idx = np.delete(np.arange(n, dtype=np.int64), order) if order else np.arange(n, dtype=np.int64)
    bounds: list[tuple[np.ndarray, np.ndarray]] = []

    def raw(i: int) -> str:
        if not bounds:
            starts, ends, _ = line_bounds(np.frombuffer(data, dtype=np.uint8))
            bounds.append((starts, ends))
        starts, ends = bounds[0]
        return data[starts[i] : ends[i]].decode("utf-8", errors="backslashreplace")

    bad = [(line_of.one(i), "wrong_column_count", raw(i)) for i in order]
    return Rows(table, line_of(idx), width, lambda positions: [raw(int(idx[p])) for p in positions], names, bad, n)


def _whole_lines(data: bytes, texts: list[str]) -> set[int]:
    """Block-local numbers of the lines whose whole text is one of ``texts``."""
    found: set[int] = set()
    for text in set(texts):
        needle = text.encode("utf-8")
        pos = data.find(needle)
        while pos >= 0:
            end = pos + len(needle)
            at_start = pos == 0 or data[pos - 1] == 10
            at_end = data[end : end + 1] == b"\n" or data[end : end + 2] == b"\r\n"
            if at_start and at_end:
                found.add(data.count(b"\n", 0, pos))
            pos = data.find(needle, pos + 1)
    return found


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
    starts, ends, nl = line_bounds(buf)
    ncols = fields_per_line(buf, starts, sep)
    blank = ends == starts
    bad_enc = bad_utf8_lines(data, buf, starts, ends, nl)
    stray = stray_cr_lines(buf, nl) & ~bad_enc if has_stray_cr(data) else np.zeros(len(nl), dtype=bool)
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
        yield Rows(string_table([], 0), np.array([], dtype=np.int64), 0, lambda idx: [], names, bad, records)
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
