"""Analysts' own coding: generic CSV and JSON Lines with a column mapping (``[csv]`` in config).

The mapping (:class:`tension.config.CsvMapping`) names the file column for each canonical
field. The event code comes from ``cameo_code``, else ``event_name`` (ICEWS wording), else
``plover_type``. Countries come from ``source_country``/``target_country`` when mapped (or
when the file has columns with those canonical names): three capital letters are taken
as ISO alpha-3 (user-assigned codes such as ``XAA`` included), other values as names.
Missing countries are resolved from the actor names. Event ids: ``<dataset>:<id>`` from
the ``event_id`` column when there is one, else a stable content hash.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from ..config import CsvMapping
from ..errors import UsageError, problem
from .text import Rows, csv_rows, jsonl_rows
from .validate import DATE_COMPACT, DATE_ISO, DATE_US, Parsed, blank_to_null, country_codes, map_unique, parse_dates, to_number

_AUTO = ("event_id", "source_country", "target_country", "source_org", "target_org", "weight", "dataset", "polarity")
"""Canonical column names used when present in the file and not mapped (``dataset``: the file's own column wins)."""


def csv_rows_for(fh: IO[bytes], mapping: CsvMapping | None = None, on_bytes: Callable[[int], None] | None = None) -> Iterator[Rows]:
    """Quoted CSV with a header (comma, or tab for ``.tsv`` sniffed by the caller)."""
    return csv_rows(fh, ",", on_bytes=on_bytes)


def jsonl_rows_for(fh: IO[bytes], mapping: CsvMapping | None = None, on_bytes: Callable[[int], None] | None = None) -> Iterator[Rows]:
    """JSON Lines; the fields read are the mapping's columns plus canonical names."""
    m = mapping or CsvMapping()
    names = sorted({getattr(m, f.name) for f in fields(m) if f.name != "dataset" and getattr(m, f.name)} | set(_AUTO))
    return jsonl_rows(fh, names)


def _column(r: Rows, mapping: CsvMapping, name: str) -> pa.Array | None:
    col = getattr(mapping, name, "") or (name if name in _AUTO else "")
    if not col:
        return None
    values = r.named(col)
    if values is None:
        return None
    return blank_to_null(values)


def _countries(values: pa.Array | None) -> pa.Array | None:
    if values is None:
        return None
    v = pc.utf8_upper(values)
    iso_like = pc.fill_null(pc.match_substring_regex(v, r"^[A-Z]{3}$"), False)
    named = country_codes(pc.if_else(iso_like, pa.scalar(None, pa.string()), values), "name")
    return pc.if_else(iso_like, v, named)


def parse(r: Rows, mapping: CsvMapping | None = None) -> Parsed:
    """Mapped rows -> :class:`Parsed`."""
    from ..taxonomy import cameo_for_plover, codes_for_event_names

    m = mapping or CsvMapping()
    n = len(r)
    nulls = pa.nulls(n, pa.string())
    header = r.header or []
    needed = {"date": m.date, "source_actor": m.source_actor}
    missing = {k: v for k, v in needed.items() if not v or v not in header}
    code_cols = [c for c in (m.cameo_code, m.event_name, m.plover_type) if c and c in header]
    if missing or not code_cols:
        what = ", ".join(f"{k} -> {v!r}" for k, v in missing.items()) or "an event code column (cameo_code, event_name or plover_type)"
        raise UsageError(
            problem(
                f"The file's columns do not match the CSV mapping: {what}.",
                "the mapped columns in the file's header",
                header[:30],
                "Set the [csv] section of the file given with --config (e.g. date = \"event_date\").",
            )
        )
    code = nulls
    if m.cameo_code and m.cameo_code in header:
        code = blank_to_null(r.named(m.cameo_code))
    if m.event_name and m.event_name in header:
        code = pc.coalesce(code, map_unique(blank_to_null(r.named(m.event_name)), codes_for_event_names))
    if m.plover_type and m.plover_type in header:
        code = pc.coalesce(code, map_unique(blank_to_null(r.named(m.plover_type)), cameo_for_plover))
    dataset_col = blank_to_null(r.named("dataset")) if "dataset" in header else None
    dataset: str | pa.Array = m.dataset if dataset_col is None else pc.fill_null(dataset_col, m.dataset)
    ids = _column(r, m, "event_id")
    event_id = None
    if ids is not None:
        ds = pa.array([m.dataset] * n, pa.string()) if isinstance(dataset, str) else dataset
        prefixed = pc.binary_join_element_wise(ds, ids, ":")
        already = pc.fill_null(pc.starts_with(ids, pattern=""), False)
        has_prefix = pc.fill_null(pc.match_substring_regex(ids, r"^[A-Za-z0-9_-]+:"), False)
        event_id = pc.if_else(pc.and_(already, has_prefix), ids, prefixed)
    weight = _column(r, m, "weight")
    return Parsed(
        rows=r,
        actors_required="source",
        dataset=dataset,
        id_prefix=m.dataset,
        date=parse_dates(r.named(m.date), [DATE_ISO, DATE_COMPACT, DATE_US]),
        code=code,
        source_actor=blank_to_null(r.named(m.source_actor)),
        target_actor=blank_to_null(r.named(m.target_actor)) if m.target_actor in header else nulls,
        source_country=_countries(_column(r, m, "source_country")),
        target_country=_countries(_column(r, m, "target_country")),
        source_org=_column(r, m, "source_org"),
        target_org=_column(r, m, "target_org"),
        event_id=event_id,
        weight=to_number(weight) if weight is not None else None,
        source_ref=_column(r, m, "source_ref"),
        text=_column(r, m, "text"),
        polarity=_column(r, m, "polarity"),
    )
