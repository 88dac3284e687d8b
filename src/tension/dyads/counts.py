"""Step 1 of the panel build: events -> long count rows, one DuckDB ``GROUP BY``.

A long row is ``(s, t, p, family, mask) -> n, g, h``: side keys (ISO3 country, ``@ORG``
or empty), integer period, event family, a bit mask of the code-set channels, event
count, Goldstein sum and hostile sum. This module also reads the side-key columns
back (:func:`side_codes`, :func:`country_index`, :func:`is_country_key`) for the
later steps.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import periods
from ..errors import UsageError, problem
from ..store import Store
from .channels import class_lookup

__all__ = ["EVENT_COLUMNS", "event_counts", "count_table", "side_codes", "country_index", "is_country_key"]

EVENT_COLUMNS: tuple[str, ...] = (
    "date", "source_country", "source_org", "target_country", "target_org", "cameo_code", "quad_class", "goldstein", "family",
)
"""Canonical event columns the aggregation reads."""

AGGREGATION_MEMORY = "1GB"
"""DuckDB's memory limit for the count aggregation; beyond it DuckDB spills to a temporary folder of
its own. Measured on 100M events: the aggregation's peak 1.96 GB without the limit, 1.16 GB with it."""


def event_counts(source: Any, freq: str = "W", start: Any = None, end: Any = None, threads: int | None = None) -> pd.DataFrame:
    """Group events into long rows ``s, t, p, family, mask, n, g, h`` with one DuckDB query.

    ``s``/``t``: source/target side (ISO3, ``@ORG`` or ``""``; categoricals sharing one
    sorted category list); ``p``: integer period; ``family``: index in
    :data:`tension.schema.FAMILIES`; ``mask``: code-set bits (:data:`tension.dyads.CHANNELS`);
    ``n`` events, ``g`` Goldstein sum, ``h`` hostile sum (-Goldstein of negative events).
    Every event is counted, dyadic or not (coverage needs all). Rows are not unique per
    key (sum them); order is arbitrary. Dates are filtered to ``start <= date <= end``
    (inclusive, either may be None). ``threads`` caps DuckDB's threads (default: every core;
    a distributed engine passes 1 per worker thread).
    """
    _, fam_of, mask_of = class_lookup()
    return _counts_frame(count_table(source, freq, start, end, threads), fam_of, mask_of)


def count_table(source: Any, freq: str = "W", start: Any = None, end: Any = None, threads: int | None = None) -> pa.Table:
    """The DuckDB aggregation of :func:`event_counts` alone, as Arrow: ``s, t, p, cls, n, g, h``.

    DuckDB works within :data:`AGGREGATION_MEMORY` and spills beyond it. ``cls`` is a small class id (family and code-set bits; see
    :func:`tension.dyads.channels.class_lookup`). This is the least aggregation the
    registered features need; the panel benchmark times it alone.
    """
    freq = periods.check(freq)
    lookup, _, _ = class_lookup()
    spill = tempfile.mkdtemp(prefix="tension-duckdb-")
    config: dict[str, Any] = {"memory_limit": AGGREGATION_MEMORY, "temp_directory": spill}
    if threads is not None:
        config["threads"] = int(threads)
    con = duckdb.connect(config=config)
    try:
        rel = _relation(con, source, start, end)
        con.register("class_lookup", lookup)
        # group on the two side keys, the integer period and one small class id (close to a bare
        # GROUP BY); the side keys are then dictionary-encoded by Arrow, not per row in Python
        return con.sql(f"""
            SELECT {_side_sql('e.source')} AS s, {_side_sql('e.target')} AS t,
                   ({periods.sql(freq, 'e.date')})::INTEGER AS p, coalesce(l.cls, 0)::INTEGER AS cls,
                   count(*)::DOUBLE AS n,
                   coalesce(sum(e.goldstein), 0)::DOUBLE AS g,
                   coalesce(-sum(least(e.goldstein, 0)), 0)::DOUBLE AS h
            FROM (SELECT * FROM {rel} {_date_clause(start, end)}) e
            LEFT JOIN class_lookup l
              ON e.cameo_code = l.cameo_code AND e.family = l.family AND e.quad_class = l.quad_class
            GROUP BY ALL
        """).to_arrow_table()
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)  # made above for this query's spill files only


def _relation(con: duckdb.DuckDBPyConnection, source: Any, start: Any = None, end: Any = None) -> str:
    """Register the events with DuckDB; return the SQL to select from."""
    needed = list(EVENT_COLUMNS)
    if isinstance(source, pd.DataFrame):
        missing = [c for c in needed if c not in source.columns]
        if missing:
            raise UsageError(problem("The events table lacks canonical columns.", f"the columns of tension.schema ({', '.join(needed)})", missing, "Pass it through tension.schema.conform(events) first."))
        con.register("events_input", source)
        return "events_input"
    if isinstance(source, (str, Path)):
        source = Store(str(source))
    if not hasattr(source, "files"):
        raise UsageError(problem("Cannot read events from this source.", "a Store, a store folder or an events DataFrame", type(source).__name__))
    if not getattr(source, "is_local", True):  # object storage: let the store read, DuckDB aggregates
        con.register("events_input", source.read_table(start, end, columns=needed))
        return "events_input"
    files = source.files(start, end)
    if not files:
        raise UsageError(problem("The event store holds no events in the requested range.", "at least one committed Parquet file", "0 files", "Ingest events first: tension ingest FILE."))
    quoted = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{quoted}], union_by_name = true)"


def _date_clause(start: Any, end: Any) -> str:
    """SQL ``WHERE`` keeping ``start <= date <= end`` (inclusive; either may be None)."""
    where = []
    if start is not None:
        where.append(f"CAST(date AS DATE) >= DATE '{pd.Timestamp(start).date()}'")
    if end is not None:
        where.append(f"CAST(date AS DATE) <= DATE '{pd.Timestamp(end).date()}'")
    return ("WHERE " + " AND ".join(where)) if where else ""


def _side_sql(side: str) -> str:
    """SQL of a side key: the country (ISO3), else ``@ORG``, else ``''`` (NULLs count as empty)."""
    c, o = f"{side}_country", f"{side}_org"
    return f"(CASE WHEN {c} <> '' THEN {c} WHEN {o} <> '' THEN '@' || {o} ELSE '' END)"


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes and values of a non-null string column."""
    enc = pc.dictionary_encode(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
    return enc.indices.to_numpy(zero_copy_only=False), [str(v) for v in enc.dictionary.to_pylist()]


def _counts_frame(table: pa.Table, fam_of: np.ndarray, mask_of: np.ndarray) -> pd.DataFrame:
    """Long rows with both side keys as categoricals over one sorted key list."""
    s_codes, s_keys = _encode(table["s"])
    t_codes, t_keys = _encode(table["t"])
    keys = sorted(set(s_keys) | set(t_keys))
    pos = {k: i for i, k in enumerate(keys)}
    dtype = pd.CategoricalDtype(pd.Index(keys, dtype=object))
    cls = table["cls"].to_numpy()

    def side(codes: np.ndarray, values: list[str]) -> pd.Categorical:
        lut = np.array([pos[v] for v in values], dtype=np.int32)
        return pd.Categorical.from_codes(lut[codes] if len(values) else codes.astype(np.int32), dtype=dtype, validate=False)

    return pd.DataFrame(
        {
            "s": side(s_codes, s_keys),
            "t": side(t_codes, t_keys),
            "p": table["p"].to_numpy().astype(np.int64),
            "family": fam_of[cls],
            "mask": mask_of[cls],
            "n": table["n"].to_numpy(),
            "g": table["g"].to_numpy(),
            "h": table["h"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------- reading side keys


def side_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Category codes and categories of a side-key column (categorical or plain strings)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), column.cat.categories
    codes, cats = pd.factorize(column.astype(object).fillna(""))
    return codes, pd.Index(cats, dtype=object)


def country_index(cats: pd.Index, countries: Sequence[str]) -> np.ndarray:
    """Category code -> country index (-1 for organisations, empty or unknown keys); code -1 maps to the last entry."""
    lut = pd.Index(countries, dtype=object).get_indexer(pd.Index(np.asarray(cats, dtype=object)))
    return np.append(lut, -1).astype(np.int64)  # code -1 (missing) -> last entry


def is_country_key(cats: pd.Index) -> np.ndarray:
    """Which side keys are countries (not empty, not an ``@ORG``)."""
    return np.array([bool(c) and not str(c).startswith("@") for c in cats], dtype=bool)
