"""Writing events: batches as transactions, duplicate checks against stored ids, quarantine, the commit.

Crash safety works the same on local disk and on object storage (where rename is not
atomic): data files get unique names and stay invisible until a new numbered manifest
naming them is written, last. Every batch record keeps its counts (read, stored,
duplicates, quarantined), so ``read == stored + duplicates + quarantined`` can be checked at
any time. Within a batch, ``event_id`` is unique; against the stored events, duplicates are
detected in the months the batch touches (an id is expected to keep its date).
"""
from __future__ import annotations

import posixpath
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import UsageError, problem
from ..schema import EVENT_COLUMNS, EVENT_SCHEMA, empty_events, events_to_arrow
from .layout import QUARANTINE_SCHEMA
from .read import StoreReader

_DICTIONARY_COLUMNS = [
    "date", "source_actor", "source_country", "source_org", "target_actor", "target_country", "target_org",
    "cameo_code", "root_code", "quad_class", "goldstein", "family", "weight", "dataset", "batch_id",
    "ingested_at", "source_file",
]
"""Low-cardinality columns worth Parquet dictionary encoding (ids, URLs, texts and lines are not)."""
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def _check_batch_id(batch_id: str | None) -> str:
    """A new id when None; otherwise the id, if it is safe as a file-name part."""
    if batch_id is None:
        return new_batch_id()
    if not isinstance(batch_id, str) or not _BATCH_ID.match(batch_id) or ".." in batch_id:
        raise UsageError(
            problem(
                "The batch id cannot be used as part of a file name.",
                "1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit, no '..'",
                batch_id,
                "Pick a simple id or leave it out to get a generated one.",
            )
        )
    return batch_id


def new_batch_id() -> str:
    """A sortable, unique batch id: UTC timestamp plus 6 random hex digits."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class AppendResult:
    """What one committed batch added."""

    batch_id: str
    stored: int
    duplicates: int
    quarantined: int = 0
    duplicates_of: dict[str, int] = field(default_factory=dict)
    """Per earlier batch: how many rows of this batch were already stored by it."""


def _row_hash_sum(table: pa.Table) -> int:
    """Order-independent fingerprint of the event ids: sum of 64-bit hashes, modulo 2**64."""
    if table.num_rows == 0:
        return 0
    ids = table["event_id"].to_pandas()
    hashed = pd.util.hash_pandas_object(ids, index=False).to_numpy(dtype=np.uint64)
    return int(hashed.sum(dtype=np.uint64))


class StoreWriter(StoreReader):
    """Writes: data and quarantine files, batches (transactions) and the single-call ``append``."""

    def _write_events(self, table: pa.Table, month: str, batch_id: str, compression: str = "snappy") -> dict[str, Any]:
        """Write one data file (snappy while ingesting: fast; ``compact`` rewrites with zstd: small)."""
        rel = posixpath.join("data", f"month={month}", f"{batch_id}-{uuid.uuid4().hex[:12]}.parquet")
        path = self._p(rel)
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with self.fs.open(path, "wb") as fh:
            pq.write_table(table, fh, compression=compression, row_group_size=256_000, use_dictionary=_DICTIONARY_COLUMNS)
        dates = table["date"]
        batches = _value_counts(table["batch_id"])
        return {
            "path": rel,
            "month": month,
            "rows": table.num_rows,
            "min_date": pc.min(dates).as_py().isoformat(),
            "max_date": pc.max(dates).as_py().isoformat(),
            "batches": {str(k): int(v) for k, v in batches.items()},
            "hash_sum": str(_row_hash_sum(table)),
        }

    def _write_quarantine(self, table: pa.Table, batch_id: str) -> str:
        rel = posixpath.join("quarantine", f"{batch_id}-{uuid.uuid4().hex[:12]}.parquet")
        path = self._p(rel)
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with self.fs.open(path, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
        return rel

    @contextmanager
    def batch(self, batch_id: str | None = None, meta: dict[str, Any] | None = None) -> Iterator[_Batch]:
        """Open a write transaction; it commits (manifest last) when the block ends without error.

        Use ``tx.append(events)`` and ``tx.add_quarantine(rows)`` inside, set ``tx.read`` (records
        read from the sources) and extra ``tx.meta``. Nothing is visible to readers until the
        block ends; an exception inside it commits nothing.
        """
        self._require_writable_location()
        with self._lock():
            tx = _Batch(self, _check_batch_id(batch_id), meta or {})
            try:
                yield tx
            except BaseException:
                tx._collect_quietly()
                raise
            tx.result = tx.commit()

    def append(
        self,
        events: pd.DataFrame | pa.Table,
        *,
        batch_id: str | None = None,
        meta: dict[str, Any] | None = None,
        quarantine: pd.DataFrame | None = None,
        read: int | None = None,
    ) -> AppendResult:
        """Add events (and optionally their quarantined rows) as one committed batch.

        Duplicates of stored events (same ``event_id`` in the same month) and repeats
        within ``events`` are counted, not stored. Appending the same events twice
        stores nothing the second time.
        """
        self._require_writable_location()
        with self._lock():
            tx = _Batch(self, _check_batch_id(batch_id), meta or {})
            tx.append(events)
            if quarantine is not None:
                tx.add_quarantine(quarantine)
            return tx.commit(read=read)

    def add_quarantine(self, rows: pd.DataFrame, batch_id: str | None = None) -> AppendResult:
        """Commit quarantined rows (source_file, source_line, reason, raw) as their own batch."""
        return self.append(empty_events(), batch_id=batch_id, quarantine=rows)


class _Batch:
    """An open write transaction; see :meth:`StoreWriter.batch`."""

    def __init__(self, store: StoreWriter, batch_id: str, meta: dict[str, Any]):
        self.store = store
        self.batch_id = batch_id
        self.meta = dict(meta)
        self.ingested_at = datetime.now(timezone.utc)
        self.files: list[dict[str, Any]] = []
        self.quarantine_files: list[str] = []
        self.stored = 0
        self.duplicates = 0
        self.quarantined = 0
        self.quarantined_by_reason: Counter[str] = Counter()
        self.duplicates_of: Counter[str] = Counter()
        self.read: int | None = None
        self.result: AppendResult | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._pending: list[Future[dict[str, Any]]] = []
        """Records read from the sources; defaults to stored + duplicates + quarantined."""
        self._buffers: dict[str, list[pa.Table]] = {}
        self._buffered_rows: dict[str, int] = {}
        self._seen: set[str] = set()
        """Event ids stored by this batch so far, all months (a set: cheap to grow and probe)."""
        self._existing: dict[str, _IdIndex] = {}
        self._manifest = store._load_manifest()

    # -- events -------------------------------------------------------------------------
    def append(self, events: pd.DataFrame | pa.Table, flush_rows: int = 200_000) -> tuple[int, int, int]:
        """Add events to this batch; returns (stored, duplicates, stored two-country dyads) for these rows.

        Rows whose ``event_id`` is already in the store (same month) or earlier in this
        batch are counted as duplicates and not stored.
        """
        table = events if isinstance(events, pa.Table) else events_to_arrow(events)
        if table.schema != EVENT_SCHEMA:
            table = _conform_table(table)
        if table.num_rows == 0:
            return 0, 0, 0
        n = table.num_rows
        table = table.set_column(EVENT_COLUMNS.index("batch_id"), "batch_id", _constant(self.batch_id, n, pa.string()))
        table = table.set_column(
            EVENT_COLUMNS.index("ingested_at"), "ingested_at", _constant(self.ingested_at, n, pa.timestamp("us", tz="UTC"))
        )
        days = table["date"].combine_chunks().to_numpy(zero_copy_only=False).astype("datetime64[D]")
        month_no = days.astype("datetime64[M]").astype(np.int64)
        order = np.argsort(month_no, kind="stable")
        bounds = np.flatnonzero(np.diff(month_no[order])) + 1
        stored = 0
        dyads = 0
        for group in np.split(order, bounds) if len(order) else []:
            m = int(month_no[group[0]])
            month = f"{1970 + m // 12:04d}-{m % 12 + 1:02d}"
            whole = len(group) == n and group[0] == 0 and bool((np.diff(group) == 1).all())
            part = table if whole else table.take(pa.array(group))
            dup = self._duplicates(month, part["event_id"])
            if dup.any():
                part = part.filter(pa.array(~dup))
            if part.num_rows:
                self._buffers.setdefault(month, []).append(part)
                self._buffered_rows[month] = self._buffered_rows.get(month, 0) + part.num_rows
                if self._buffered_rows[month] >= flush_rows:
                    self._flush(month)
            stored += part.num_rows
            dyads += _dyad_count(part)
        duplicates = n - stored
        self.stored += stored
        self.duplicates += duplicates
        return stored, duplicates, dyads

    def _duplicates(self, month: str, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Which of ``ids`` (one month's) are stored already or repeat an id of this batch; records them as seen."""
        existing = self._existing_ids(month)
        dup = np.zeros(len(ids), dtype=bool)
        if existing.rows:
            hit, owners = existing.lookup(ids)
            if hit.any():
                self.duplicates_of.update(Counter(owners))
            dup |= hit
        # repeats within this batch (earlier blocks, or earlier in these rows): first one wins
        seen = self._seen
        flat = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        distinct = pc.unique(flat)
        if len(distinct) < len(flat):  # repeats within these rows: keep the first
            first = np.unique(pc.index_in(flat, value_set=distinct).to_numpy(zero_copy_only=False), return_index=True)[1]
            repeat = np.ones(len(flat), dtype=bool)
            repeat[first] = False
            dup |= repeat
        id_list = flat.to_pylist()
        if seen and not seen.isdisjoint(id_list):
            hits = pa.array(list(seen.intersection(id_list)), pa.string())
            dup |= pc.is_in(flat, value_set=hits).to_numpy(zero_copy_only=False)
        seen.update(id_list)
        return dup

    def _existing_ids(self, month: str) -> _IdIndex:
        if month not in self._existing:
            paths = [f["path"] for f in self._manifest["files"] if f["month"] == month]
            table = self.store._read_paths(paths, ["event_id", "batch_id"]) if paths else None
            self._existing[month] = _IdIndex(table)
        return self._existing[month]

    def _flush(self, month: str) -> None:
        parts = self._buffers.pop(month, [])
        self._buffered_rows.pop(month, None)
        if not parts:
            return
        table = pa.concat_tables(parts)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tension-store-writer")
        # written in the background while the next rows are validated; collected before the manifest
        self._pending.append(self._writer.submit(self.store._write_events, table, month, self.batch_id))

    def _collect_quietly(self) -> None:
        """Let background writes finish after a failure (their files stay unnamed, i.e. invisible)."""
        try:
            self._collect()
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass

    def _collect(self) -> None:
        try:
            for future in self._pending:
                self.files.append(future.result())
        finally:
            self._pending = []
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None

    # -- quarantine ---------------------------------------------------------------------
    def add_quarantine(self, rows: pd.DataFrame | pa.Table) -> int:
        """Add rejected rows (source_file, source_line, reason, raw) to this batch."""
        table = _quarantine_table(rows, self.batch_id)
        if table.num_rows == 0:
            return 0
        self.quarantine_files.append(self.store._write_quarantine(table, self.batch_id))
        self.quarantined += table.num_rows
        self.quarantined_by_reason.update(_value_counts(table["reason"]))
        return table.num_rows

    # -- commit -------------------------------------------------------------------------
    def commit(self, read: int | None = None) -> AppendResult:
        """Write the remaining buffers, then the manifest naming everything (last)."""
        for month in list(self._buffers):
            self._flush(month)
        self._collect()
        read = self.read if read is None else read
        if read is None:
            read = self.stored + self.duplicates + self.quarantined
        record = {
            "batch_id": self.batch_id,
            "ingested_at": self.ingested_at.isoformat(),
            "read": int(read),
            "stored": int(self.stored),
            "duplicates": int(self.duplicates),
            "quarantined": int(self.quarantined),
            "quarantined_by_reason": dict(sorted(self.quarantined_by_reason.items())),
            "duplicates_of": dict(self.duplicates_of),
            "quarantine_files": self.quarantine_files,
            "meta": self.meta,
            "retracted": False,
        }
        manifest = self.store._load_manifest()  # re-read under the lock
        if any(b["batch_id"] == self.batch_id for b in manifest["batches"]):
            raise UsageError(problem("This batch id is already in the store.", "a new batch id", self.batch_id))
        manifest["batches"].append(record)
        manifest["files"].extend(self.files)
        self.store._commit(manifest)
        return AppendResult(self.batch_id, self.stored, self.duplicates, self.quarantined, dict(self.duplicates_of))


def _hash_ids(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pd.util.hash_pandas_object(ids.to_pandas(), index=False).to_numpy(dtype=np.uint64)


class _IdIndex:
    """The event ids already stored in one month, for duplicate checks.

    Built once per batch: 64-bit hashes sorted for ``searchsorted``, and every hash hit is
    confirmed by comparing the ids themselves, so a hash collision never drops an event.
    """

    def __init__(self, table: pa.Table | None):
        self.rows = 0 if table is None else table.num_rows
        if not self.rows:
            return
        hashes = _hash_ids(table["event_id"])
        order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[order]
        self.ids = table["event_id"].take(pa.array(order)).to_pylist()
        self.owners = table["batch_id"].take(pa.array(order)).to_pylist()

    def lookup(self, ids: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
        """(stored already?, owning batch of each hit)."""
        hashes = _hash_ids(ids)
        pos = np.searchsorted(self.hashes, hashes)
        cand = np.flatnonzero((pos < len(self.hashes)) & (self.hashes[np.minimum(pos, len(self.hashes) - 1)] == hashes))
        hit = np.zeros(len(hashes), dtype=bool)
        owners: list[str] = []
        if len(cand):
            values = ids.take(pa.array(cand)).to_pylist()
            for k, value in zip(cand, values):
                j = int(pos[k])
                while j < len(self.hashes) and self.hashes[j] == hashes[k]:
                    if self.ids[j] == value:
                        hit[k] = True
                        owners.append(self.owners[j])
                        break
                    j += 1
        return hit, owners


def _constant(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    """``n`` copies of ``value`` (built in Arrow, not in Python)."""
    return pc.fill_null(pa.nulls(n, typ), pa.scalar(value, typ))


def _dyad_count(table: pa.Table) -> int:
    """Events whose source and target are two different countries."""
    if table.num_rows == 0:
        return 0
    s, t = table["source_country"], table["target_country"]
    both = pc.and_(pc.is_valid(s), pc.is_valid(t))
    return int(pc.sum(pc.and_(both, pc.fill_null(pc.not_equal(s, t), False))).as_py() or 0)


def _value_counts(values: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    counts = pc.value_counts(values)
    return {str(k): int(v) for k, v in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())}


def _conform_table(table: pa.Table) -> pa.Table:
    cols = []
    for f in EVENT_SCHEMA:
        if f.name in table.column_names:
            cols.append(pc.cast(table[f.name], f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=EVENT_SCHEMA)


def _quarantine_table(rows: pd.DataFrame | pa.Table, batch_id: str) -> pa.Table:
    if isinstance(rows, pd.DataFrame):
        frame = rows.copy()
        for name in QUARANTINE_SCHEMA.names:
            if name not in frame.columns:
                frame[name] = None
        frame["batch_id"] = batch_id
        frame["source_line"] = pd.array(frame["source_line"], dtype="Int64")
        return pa.Table.from_pandas(frame[QUARANTINE_SCHEMA.names], schema=QUARANTINE_SCHEMA, preserve_index=False)
    cols = [rows[n] if n in rows.column_names else pa.nulls(rows.num_rows, QUARANTINE_SCHEMA.field(n).type) for n in QUARANTINE_SCHEMA.names]
    table = pa.Table.from_arrays(cols, names=QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA)
    return table.set_column(4, "batch_id", pa.array([batch_id] * rows.num_rows, pa.string()))
