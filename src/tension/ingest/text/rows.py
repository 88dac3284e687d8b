"""A block of records as Arrow strings with line numbers and raw text: what every reader hands to validation."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

STRAY_CR = "stray_carriage_return"
"""Reason for a record holding a ``\r`` that does not end its line: some tools read it as a
line break and some as text, so the record's fields are ambiguous."""


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


def string_table(columns: list[list[str]], width: int) -> pa.Table:
    """String columns ``c0``, ``c1``, ... from Python lists (empty columns of ``width`` when there are none)."""
    return pa.table({f"c{i}": pa.array(c, pa.string()) for i, c in enumerate(columns)}) if columns else pa.table(
        {f"c{i}": pa.array([], pa.string()) for i in range(width)}
    )


def rows_from_lists(buf: list[list[str]], lines: list[int], raws: list[str], width: int, names: list[str] | None, bad: list, records: int) -> Rows:
    """A :class:`Rows` block from records parsed in Python (quoted CSV, JSON Lines)."""
    cols = [list(c) for c in zip(*buf)] if buf else []
    table = string_table(cols, width)
    return Rows(table, np.array(lines, dtype=np.int64), width, lambda idx: [raws[int(i)] for i in idx], names, bad, records)
