"""Reading committed events: files by date, Arrow tables and frames, batches, quarantine, the summary.

Rows dated before :data:`tension.schema.EARLIEST_EVENT_DATE` or after 2262-04-11 (the last
day pandas can hold), which older versions could store, are left out of :meth:`StoreReader.read`
with an :class:`OutOfRangeDatesWarning` giving their count; :meth:`StoreReader.summary` counts them.
"""
from __future__ import annotations

import warnings
from collections import Counter
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import UsageError, problem
from ..schema import EARLIEST_EVENT_DATE, EVENT_COLUMNS, EVENT_SCHEMA, events_from_arrow
from .identity import StoreIdentity
from .layout import LAST_READABLE_DATE, QUARANTINE_SCHEMA


class OutOfRangeDatesWarning(UserWarning):
    """Stored rows were left out of a read because their date is outside the valid range."""


def _date_bound(value: Any, name: str) -> date | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise UsageError(problem(f"The {name} date is not a date.", "YYYY-MM-DD", value, "Use e.g. 2014-06-30.")) from None


class StoreReader(StoreIdentity):
    """Reads of the committed state (the manifest names what is visible)."""

    def _read_paths(self, rel_paths: list[str], columns: list[str] | None = None, filters: Any = None) -> pa.Table:
        tables = []
        for rel in rel_paths:
            with self.fs.open(self._p(rel), "rb") as fh:
                tables.append(pq.read_table(fh, columns=columns, filters=filters, schema=None))
        if not tables:
            schema = EVENT_SCHEMA if columns is None else pa.schema([EVENT_SCHEMA.field(c) for c in columns])
            return schema.empty_table()
        return pa.concat_tables(tables)

    def _selected(self, manifest: dict[str, Any], start: date | None, end: date | None) -> list[dict[str, Any]]:
        out = []
        for f in manifest["files"]:
            if start is not None and date.fromisoformat(f["max_date"]) < start:
                continue
            if end is not None and date.fromisoformat(f["min_date"]) > end:
                continue
            out.append(f)
        return out

    def files(self, start: Any = None, end: Any = None) -> list[str]:
        """Full paths (or URLs) of the committed Parquet files overlapping [start, end]."""
        s, e = _date_bound(start, "start"), _date_bound(end, "end")
        rels = [f["path"] for f in self._selected(self._load_manifest(), s, e)]
        if self.is_local:
            return [self._p(r) for r in rels]
        proto = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        return [f"{proto}://{self._p(r)}" for r in rels]

    def read_table(self, start: Any = None, end: Any = None, columns: list[str] | None = None) -> pa.Table:
        """Committed events with dates in [start, end] (inclusive) as an Arrow table."""
        s, e = _date_bound(start, "start"), _date_bound(end, "end")
        if columns is not None:
            unknown = sorted(set(columns) - set(EVENT_COLUMNS))
            if unknown:
                raise UsageError(problem("Unknown event columns requested.", f"some of {list(EVENT_COLUMNS)}", unknown))
        filters = []
        if s is not None:
            filters.append(("date", ">=", s))
        if e is not None:
            filters.append(("date", "<=", e))
        selected = self._selected(self._load_manifest(), s, e)
        rels = [f["path"] for f in selected]
        unreadable = any(_out_of_range(f) for f in selected)
        wanted = columns if columns is None or "date" in columns or not unreadable else [*columns, "date"]
        table = self._read_paths(rels, wanted, filters or None)
        if unreadable:
            table = _drop_out_of_range(table, self.location)
            if wanted is not columns:
                table = table.drop_columns(["date"])
        if table.num_rows and "date" in table.column_names and "event_id" in table.column_names:
            table = table.sort_by([("date", "ascending"), ("event_id", "ascending")])
        return table

    def read(self, start: Any = None, end: Any = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Committed events with dates in [start, end] (inclusive), canonical dtypes.

        Rows dated before :data:`tension.schema.EARLIEST_EVENT_DATE` or after 2262-04-11 (stored
        by older versions) are left out with an :class:`OutOfRangeDatesWarning` giving their count.
        """
        return events_from_arrow(self.read_table(start, end, columns))

    def batches(self) -> pd.DataFrame:
        """One row per batch ever committed (retracted ones flagged) with its counts."""
        rows = []
        for b in self._load_manifest()["batches"]:
            rows.append(
                {
                    "batch_id": b["batch_id"],
                    "ingested_at": b["ingested_at"],
                    "read": b["read"],
                    "stored": b["stored"],
                    "duplicates": b["duplicates"],
                    "quarantined": b["quarantined"],
                    "retracted": b.get("retracted", False),
                    "sources": ", ".join(b.get("meta", {}).get("source_files", [])),
                }
            )
        columns = ["batch_id", "ingested_at", "read", "stored", "duplicates", "quarantined", "retracted", "sources"]
        return pd.DataFrame(rows, columns=columns)

    def quarantine(self) -> pd.DataFrame:
        """Every quarantined row of the batches still in the store."""
        rels = [p for b in self._load_manifest()["batches"] if not b.get("retracted") for p in b.get("quarantine_files", [])]
        tables = []
        for rel in rels:
            with self.fs.open(self._p(rel), "rb") as fh:
                tables.append(pq.read_table(fh))
        table = pa.concat_tables(tables) if tables else QUARANTINE_SCHEMA.empty_table()
        frame = table.to_pandas()
        frame["source_line"] = frame["source_line"].astype("Int64")
        return frame

    def summary(self) -> dict[str, Any]:
        """Events, date range, batches, quarantine by reason, unresolved actors, identity check."""
        manifest = self.manifest
        live = [b for b in manifest["batches"] if not b.get("retracted")]
        by_reason: Counter[str] = Counter()
        unresolved = 0
        for b in live:
            by_reason.update(b.get("quarantined_by_reason", {}))
            unresolved += int(b.get("meta", {}).get("unresolved_events", 0))
        files = manifest["files"]
        odd = [f["path"] for f in files if _out_of_range(f)]
        out_of_range = 0
        if odd:
            dates = self._read_paths(odd, ["date"])
            out_of_range = dates.num_rows - _in_range_mask(dates["date"]).true_count
        return {
            "location": self.location,
            "schema_version": manifest["schema_version"],
            "manifest_version": manifest["version"],
            "digest": manifest["digest"],
            "events": sum(int(f["rows"]) for f in files),
            "files": len(files),
            "first_date": min((f["min_date"] for f in files), default=None),
            "last_date": max((f["max_date"] for f in files), default=None),
            "batches": len(live),
            "retracted_batches": len(manifest["batches"]) - len(live),
            "read": sum(b["read"] for b in live),
            "stored": sum(b["stored"] for b in live),
            "duplicates": sum(b["duplicates"] for b in live),
            "quarantined": sum(b["quarantined"] for b in live),
            "quarantined_by_reason": dict(sorted(by_reason.items())),
            "unresolved_actor_events": unresolved,
            "out_of_range_events": out_of_range,
            "identity_holds": all(b["read"] == b["stored"] + b["duplicates"] + b["quarantined"] for b in live)
            and sum(b["stored"] for b in live) == sum(int(f["rows"]) for f in files),
        }


def _out_of_range(file: dict[str, Any]) -> bool:
    """A data file (manifest entry) holding rows dated outside the readable range."""
    return str(file["min_date"]) < EARLIEST_EVENT_DATE or str(file["max_date"]) > LAST_READABLE_DATE.isoformat()


def _in_range_mask(dates: pa.ChunkedArray | pa.Array) -> pa.BooleanArray:
    low = pa.scalar(date.fromisoformat(EARLIEST_EVENT_DATE), pa.date32())
    high = pa.scalar(LAST_READABLE_DATE, pa.date32())
    mask = pc.and_(pc.greater_equal(dates, low), pc.less_equal(dates, high))
    mask = pc.fill_null(mask, False)
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask


def _drop_out_of_range(table: pa.Table, location: str) -> pa.Table:
    """``table`` without rows dated outside the readable range; warns with their count."""
    mask = _in_range_mask(table["date"])
    dropped = table.num_rows - mask.true_count
    if not dropped:
        return table
    warnings.warn(
        f"{dropped} stored event(s) in {location} are dated outside {EARLIEST_EVENT_DATE} .. "
        f"{LAST_READABLE_DATE.isoformat()} and were left out of this read. `tension store info` counts them "
        "(out_of_range_events); retract their batch and re-ingest it to quarantine them with a reason.",
        OutOfRangeDatesWarning,
        stacklevel=3,
    )
    return table.filter(mask)
