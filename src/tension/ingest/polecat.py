"""POLECAT (PLOVER-coded) Dataverse weekly files: tab-separated, header, 40+ columns.

``Event Type`` is a PLOVER type (with ``Event Mode``) mapped to a CAMEO code by
``tension.taxonomy.cameo_for_plover``. Actor and recipient countries are full names;
a missing value is written ``None`` and several values are separated by "; ". A field
naming several different countries is ambiguous and left empty (never guessed); the
actor name may still resolve it. Event id: ``polecat:<Event ID>``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from ..config import CsvMapping
from .text import Rows, delimited_rows
from .validate import DATE_ISO, Parsed, blank_to_null, country_codes, parse_dates, strip_quotes

NAME = "polecat"


def rows(fh: IO[bytes], mapping: CsvMapping | None = None, on_bytes: Callable[[int], None] | None = None) -> Iterator[Rows]:
    """Split the file; the header gives the column count."""
    return delimited_rows(fh, "\t", header=True, on_bytes=on_bytes)


def _col(r: Rows, *names: str) -> pa.Array | None:
    for name in names:
        values = r.named(name)
        if values is not None:
            return blank_to_null(strip_quotes(values))
    return None


def single_value(values: pa.Array) -> pa.Array:
    """"A; A" -> "A"; "A; B" -> null (ambiguous); "None" -> null."""
    parts = pc.split_pattern(pc.fill_null(values, ""), ";")
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    flat = pc.if_else(pc.is_in(flat, value_set=pa.array(["", "None", "NA"])), pa.scalar(None, pa.string()), flat)
    lengths = pc.list_value_length(parts).to_numpy()
    out: list[str | None] = []
    pos = 0
    flat_py = flat.to_pylist()
    for k in lengths:
        vals = {v for v in flat_py[pos : pos + k] if v}
        out.append(vals.pop() if len(vals) == 1 else None)
        pos += k
    return pa.array(out, pa.string())


def parse(r: Rows, mapping: CsvMapping | None = None) -> Parsed:
    """POLECAT rows -> :class:`Parsed`."""
    from ..taxonomy import cameo_for_plover

    n = len(r)
    nulls = pa.nulls(n, pa.string())
    types = _col(r, "Event Type") or nulls
    modes = _col(r, "Event Mode")
    frame_types = types.to_pandas().astype(object)
    frame_modes = None if modes is None else modes.to_pandas().astype(object).fillna("")  # NA modes would hide the type
    codes = cameo_for_plover(frame_types, frame_modes) if n else []
    code = pa.array(list(codes.astype(object).where(codes.notna(), None)) if n else [], pa.string())
    ev = _col(r, "Event ID") or nulls
    sc, tc = _col(r, "Actor Country"), _col(r, "Recipient Country")
    return Parsed(
        rows=r,
        actors_required="source",
        dataset="polecat",
        date=parse_dates(_col(r, "Event Date") or nulls, [DATE_ISO]),
        code=code,
        source_actor=_col(r, "Actor Name") or nulls,
        target_actor=_col(r, "Recipient Name") or nulls,
        source_country=country_codes(single_value(sc), "name") if sc is not None else None,
        target_country=country_codes(single_value(tc), "name") if tc is not None else None,
        event_id=pc.binary_join_element_wise("polecat", ev, ":"),  # a blank id -> content hash
        source_ref=_col(r, "Story ID", "Source"),
        text=_col(r, "Headline"),
    )
