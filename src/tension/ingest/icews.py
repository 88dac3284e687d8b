"""ICEWS Dataverse event files: tab-separated, header, 20 columns.

``Event ID`` is unique only together with ``Event Date``, so the event id is
``icews:<Event ID>:<YYYY-MM-DD>``. Dates are ISO or M/D/YYYY (``Events.2017``);
fully repeated rows become duplicates. ``CAMEO Code`` is read as text (leading zeros;
``13y`` or a missing column fall back to the ``Event Text`` name). Countries come from
``Source Country``/``Target Country`` (full English names), else from the actor name.
Dataverse ``.tab`` downloads quote strings; the quotes are removed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from ..config import CsvMapping
from .text import Rows, delimited_rows
from .validate import DATE_ISO, DATE_US, Parsed, blank_to_null, country_codes, lookup_codes_arrow, map_unique, parse_dates, strip_quotes

NAME = "icews"
COLUMNS = (
    "Event ID", "Event Date", "Source Name", "Source Sectors", "Source Country", "Event Text", "CAMEO Code",
    "Intensity", "Target Name", "Target Sectors", "Target Country", "Story ID", "Sentence Number", "Publisher",
    "City", "District", "Province", "Country", "Latitude", "Longitude",
)


def rows(fh: IO[bytes], mapping: CsvMapping | None = None, on_bytes: Callable[[int], None] | None = None) -> Iterator[Rows]:
    """Split the file; the header gives the column count."""
    return delimited_rows(fh, "\t", header=True, on_bytes=on_bytes)


def _col(r: Rows, name: str) -> pa.Array | None:
    values = r.named(name)
    return None if values is None else blank_to_null(strip_quotes(values))


def parse(r: Rows, mapping: CsvMapping | None = None) -> Parsed:
    """ICEWS rows -> :class:`Parsed`."""
    from ..taxonomy import codes_for_event_names, lookup_codes

    n = len(r)
    nulls = pa.nulls(n, pa.string())
    date = parse_dates(_col(r, "Event Date") or nulls, [DATE_ISO, DATE_US])
    day = pa.array(date, pa.date32()).cast(pa.string())
    ev = _col(r, "Event ID") or nulls
    event_id = pc.binary_join_element_wise("icews", ev, pc.fill_null(day, "?"), ":")
    code = _col(r, "CAMEO Code")
    by_code = (
        lookup_codes_arrow(code, lambda s: lookup_codes(s, min_digits=3), cache_key="codes3")["cameo_code"] if code is not None else nulls
    )
    names = _col(r, "Event Text")
    by_name = map_unique(names, codes_for_event_names) if names is not None else nulls
    src_country = _col(r, "Source Country")
    tgt_country = _col(r, "Target Country")
    return Parsed(
        rows=r,
        dataset="icews",
        date=date,
        code=pc.coalesce(by_code, by_name),
        source_actor=_col(r, "Source Name") or nulls,
        target_actor=_col(r, "Target Name") or nulls,
        source_country=country_codes(src_country, "name") if src_country is not None else None,
        target_country=country_codes(tgt_country, "name") if tgt_country is not None else None,
        event_id=event_id,
        source_ref=_col(r, "Story ID"),
        actors_required="both",
    )
