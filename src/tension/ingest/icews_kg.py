"""ICEWS temporal-knowledge-graph text (ICEWS14, ICEWS05-15): ``source TAB event name TAB target TAB YYYY-MM-DD``.

No header. Some redistributions write spaces as underscores (``Government_(Armenia)``,
``Make_statement``); names are stored with spaces. There is no source id, so the event
id is a content hash (``icews-kg:h...``): identical lines are one event.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

import pyarrow.compute as pc

from ..config import CsvMapping
from .text import Rows, delimited_rows
from .validate import DATE_ISO, Parsed, blank_to_null, map_unique, parse_dates

NAME = "icews-kg"


def rows(fh: IO[bytes], mapping: CsvMapping | None = None, on_bytes: Callable[[int], None] | None = None) -> Iterator[Rows]:
    """Split the file; exactly four fields per line."""
    return delimited_rows(fh, "\t", header=False, expected=lambda n: n == 4, width=4, on_bytes=on_bytes)


def _name(values):  # noqa: ANN001, ANN202
    return blank_to_null(pc.replace_substring(values, "_", " "))


def parse(r: Rows, mapping: CsvMapping | None = None) -> Parsed:
    """KG rows -> :class:`Parsed`."""
    from ..taxonomy import codes_for_event_names

    return Parsed(
        rows=r,
        dataset="icews",
        id_prefix="icews-kg",
        date=parse_dates(r.col(3), [DATE_ISO]),
        code=map_unique(blank_to_null(r.col(1)), codes_for_event_names),
        source_actor=_name(r.col(0)),
        target_actor=_name(r.col(2)),
        actors_required="both",
    )
