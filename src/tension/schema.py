"""The canonical event schema shared by every reader, the store and the panel.

One row per event. Dtypes are fixed here and nowhere else: CAMEO codes are
strings that keep their leading zeros ("010" is *Make statement*, 10 would be
the DEMAND root), dates are calendar days, countries are ISO 3166-1 alpha-3.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa

SCHEMA_VERSION = 1

EARLIEST_EVENT_DATE = "1900-01-01"
"""The first valid event date (ISO). Valid event dates run from here to today + 1 day
(UTC); the event data sets tension reads (ICEWS, GDELT, ACLED, POLECAT) all start later,
and pandas' nanosecond timestamps cannot hold dates before 1677."""

FAMILIES: tuple[str, ...] = ("incident", "denial", "alliance_move", "cooperation", "other")
"""The mission's event families, in a fixed order (see ``tension.taxonomy``)."""

EVENT_FIELDS: tuple[pa.Field, ...] = (
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("date", pa.date32(), nullable=False),
    pa.field("source_actor", pa.string()),
    pa.field("source_country", pa.string()),
    pa.field("source_org", pa.string()),
    pa.field("target_actor", pa.string()),
    pa.field("target_country", pa.string()),
    pa.field("target_org", pa.string()),
    pa.field("cameo_code", pa.string(), nullable=False),
    pa.field("root_code", pa.string(), nullable=False),
    pa.field("quad_class", pa.int8(), nullable=False),
    pa.field("goldstein", pa.float32()),
    pa.field("family", pa.string(), nullable=False),
    pa.field("weight", pa.float32()),
    pa.field("dataset", pa.string()),
    pa.field("source_ref", pa.string()),
    pa.field("text", pa.string()),
    pa.field("batch_id", pa.string()),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
    pa.field("source_file", pa.string()),
    pa.field("source_line", pa.int64()),
)
EVENT_SCHEMA = pa.schema(EVENT_FIELDS, metadata={"tension_schema_version": str(SCHEMA_VERSION)})
EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in EVENT_FIELDS)

_PANDAS_DTYPES = {
    "date": "datetime64[ns]",
    "quad_class": "int8",
    "goldstein": "float32",
    "weight": "float32",
    "source_line": "Int64",
}


def empty_events() -> pd.DataFrame:
    """An empty events frame with the canonical columns and dtypes."""
    return events_from_arrow(EVENT_SCHEMA.empty_table())


def events_to_arrow(events: pd.DataFrame) -> pa.Table:
    """Canonical events frame -> Arrow table with exactly :data:`EVENT_SCHEMA`.

    Missing optional columns are filled with nulls; unknown columns are an error.
    """
    extra = sorted(set(events.columns) - set(EVENT_COLUMNS))
    if extra:
        raise ValueError(f"Unknown event columns {extra}. Expected only {list(EVENT_COLUMNS)}.")
    frame = events.copy()
    for field in EVENT_FIELDS:
        if field.name not in frame.columns:
            frame[field.name] = None
    frame["date"] = pd.to_datetime(frame["date"]).dt.normalize()
    return pa.Table.from_pandas(frame[list(EVENT_COLUMNS)], schema=EVENT_SCHEMA, preserve_index=False)


def events_from_arrow(table: pa.Table) -> pd.DataFrame:
    """Arrow table in :data:`EVENT_SCHEMA` (or a column subset) -> pandas with canonical dtypes."""
    frame = table.to_pandas()
    for name, dtype in _PANDAS_DTYPES.items():
        if name in frame.columns:
            frame[name] = frame[name].astype(dtype)
    return frame


def conform(events: pd.DataFrame) -> pd.DataFrame:
    """Return ``events`` with canonical columns, order and dtypes."""
    return events_from_arrow(events_to_arrow(events))
