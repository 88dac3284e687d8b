"""GDELT event exports: 1.0 (57 or 58 columns) and 2.0 (61 columns), tab-separated, no header.

Key columns (0-based, the same in both versions up to 34): GLOBALEVENTID 0, SQLDATE 1,
Actor1Code 5, Actor1Name 6, Actor1CountryCode 7, Actor2Code 15, Actor2Name 16,
Actor2CountryCode 17, EventCode 26, NumMentions 31; SOURCEURL is 57 (1.0 daily) or 60 (2.0).
Actor country codes are CAMEO codes; where one is blank, the first three letters of the
actor code are used when they form a known country code (``ROU``, ``SSD``, ``TWN`` are
missing from GDELT's lookup). Event id: ``gdelt:<GLOBALEVENTID>`` (one id space for both
versions). ``weight`` is NumMentions. A source actor is required unless a target is given.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..config import CsvMapping
from .text import Rows, delimited_rows
from .validate import DATE_COMPACT, Parsed, country_codes, lookup_codes_arrow, org_of_names, parse_dates, to_number

COLUMNS = (0, 1, 5, 6, 7, 15, 16, 17, 26, 31, 57, 60)
"""Field positions read (the rest of the 57-61 columns is skipped)."""
V1_COUNTS = (57, 58)
V2_COUNTS = (61,)


def _rows(counts: tuple[int, ...]):  # noqa: ANN202
    def rows(fh: IO[bytes], mapping: CsvMapping | None = None, on_bytes: Callable[[int], None] | None = None) -> Iterator[Rows]:
        return delimited_rows(
            fh, "\t", header=False, expected=lambda n: np.isin(n, counts), columns=COLUMNS, width=counts[-1], on_bytes=on_bytes
        )

    return rows


rows_v1 = _rows(V1_COUNTS)
rows_v2 = _rows(V2_COUNTS)


def _country(country_code: pa.Array, actor_code: pa.Array) -> pa.Array:
    given = country_codes(country_code, "cameo", clean=False)
    if given.null_count == 0:
        return given
    # blank (or unknown) country code: the first three letters of the actor code
    prefix = pc.if_else(pc.is_valid(given), pa.scalar(None, pa.string()), pc.utf8_slice_codeunits(actor_code, 0, 3))
    return pc.coalesce(given, country_codes(prefix, "cameo", clean=False))


def _event_codes(codes: pa.Array) -> pa.Array:
    """EventCode holds 3-4 digit codes only: an integer-read "10" is 010 (min_digits=3), never the root 10."""
    from ..taxonomy import lookup_codes

    return lookup_codes_arrow(codes, lambda s: lookup_codes(s, min_digits=3), cache_key="codes3")["cameo_code"]


def _null_if_country(names: pa.Array, country: pa.Array) -> pa.Array:
    return pc.if_else(pc.is_valid(country), pa.scalar(None, pa.string()), names)


def _parse(r: Rows, url_index: dict[int, int]) -> Parsed:
    # fields are read with empty strings as nulls (see tension.ingest.text)
    a1, a2 = pc.coalesce(r.col(6), r.col(5)), pc.coalesce(r.col(16), r.col(15))
    c1, c2 = _country(r.col(7), r.col(5)), _country(r.col(17), r.col(15))
    o1 = org_of_names(_null_if_country(r.col(6), c1), clean=False)
    o2 = org_of_names(_null_if_country(r.col(16), c2), clean=False)
    n = len(r)
    url = r.col(url_index[r.width]) if r.width in url_index else pa.nulls(n, pa.string())
    weight = to_number(r.col(31))
    return Parsed(
        rows=r,
        dataset="gdelt",
        date=parse_dates(r.col(1), [DATE_COMPACT]),
        code=_event_codes(r.col(26)),
        source_actor=a1,
        target_actor=a2,
        source_country=c1,
        target_country=c2,
        source_org=o1,
        target_org=o2,
        event_id=pc.binary_join_element_wise("gdelt", r.col(0), ":"),
        weight=weight,
        source_ref=url,
        resolve_names=False,
    )


def parse_v1(r: Rows, mapping: CsvMapping | None = None) -> Parsed:
    """GDELT 1.0 rows -> :class:`Parsed`."""
    return _parse(r, {58: 57})


def parse_v2(r: Rows, mapping: CsvMapping | None = None) -> Parsed:
    """GDELT 2.0 rows -> :class:`Parsed`."""
    return _parse(r, {61: 60})
