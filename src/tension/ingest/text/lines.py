"""Line arithmetic on a byte block: line bounds, field counts, encoding and stray-CR checks, blank lines cut out."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, end (exclusive, without CR/LF) of each line in a buffer ending with LF."""
    nl = np.flatnonzero(buf == 10)
    starts = np.empty(len(nl), dtype=np.int64)
    starts[0:1] = 0
    starts[1:] = nl[:-1] + 1
    ends = nl.astype(np.int64)
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    ends = ends - cr
    return starts, ends, nl


def fields_per_line(buf: np.ndarray, starts: np.ndarray, sep: int) -> np.ndarray:
    """Number of fields on each line (separators + 1)."""
    # each line's range [start_i, start_i+1) holds its LF, so no range is empty
    return np.add.reduceat((buf == sep).view(np.uint8), starts, dtype=np.int32).astype(np.int64) + 1


def bad_utf8_lines(data: bytes, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, nl: np.ndarray) -> np.ndarray:
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


def stray_cr_lines(buf: np.ndarray, nl: np.ndarray) -> np.ndarray:
    """Lines holding a CR that is not the one just before their LF."""
    bad = np.zeros(len(nl), dtype=bool)
    cr = np.flatnonzero(buf == 13)
    lone = cr[buf[np.minimum(cr + 1, len(buf) - 1)] != 10]
    bad[np.unique(np.searchsorted(nl, lone))] = True
    return bad


def has_stray_cr(data: bytes) -> bool:
    """True when the block holds a CR that does not end a line."""
    return b"\r" in data and data.count(b"\r") != data.count(b"\r\n")


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
