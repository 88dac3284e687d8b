"""The canonical event store: a Parquet dataset partitioned by month, committed by manifest.

Layout under the store location (a local folder or any fsspec URL, e.g. ``s3://bucket/events``)::

    data/month=2014-06/<batch_id>-<uuid>.parquet   event files (canonical schema)
    quarantine/<batch_id>-<uuid>.parquet           rejected rows: source_file, source_line, reason, raw, batch_id
    _manifests/manifest-00000007.json             one per commit; the highest complete one is the store
    _lock                                          writer lock (local stores only)

Crash safety works the same on local disk and on object storage (where rename is not
atomic): data files get unique names and stay invisible until a new numbered manifest
naming them is written, last. On a local disk the manifest is written to a temporary name
and moved into place with ``os.replace``; elsewhere a new object is written whole and
readers skip any manifest that does not parse or lacks ``"complete": true``. An interrupted
write leaves orphan files that no manifest names; ``compact`` moves them to
``trash/<YYYY-MM-DD>/`` inside the store, where they stay for :data:`TRASH_RETENTION_DAYS`
days (or until ``compact(empty_trash=True)``).

A folder proves it is a store by a complete manifest carrying :data:`STORE_MARKER` and a
schema version. Manifests written before the marker existed (``complete``,
``schema_version``, ``batches`` and ``files``, nothing else claiming the folder) are
recognised by that shape and gain the marker at the next commit. ``retract`` and
``compact`` refuse any folder that is not a proven store (:meth:`Store.require_store`);
writes go only into a store or a new, empty folder; and an orphan is only a file of the store's own naming scheme inside its own partition
folders (``data/month=YYYY-MM/<batch>-<12 hex>.parquet``, ``quarantine/<batch>-<12 hex>.parquet``).

Rows dated before :data:`tension.schema.EARLIEST_EVENT_DATE` or after 2262-04-11 (the last
day pandas can hold), which older versions could store, are left out of :meth:`Store.read` with an :class:`OutOfRangeDatesWarning` giving
their count; :meth:`Store.summary` counts them and ``retract`` removes them with their batch.

Every batch record keeps its counts (read, stored, duplicates, quarantined), so the
identity ``read == stored + duplicates + quarantined`` can be checked at any time, also
after ``retract`` and ``compact``. Within a batch, ``event_id`` is unique; against the
stored events, duplicates are detected in the months the batch touches (an id is
expected to keep its date).

The store knows nothing about source formats (see ``tension.ingest``).
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import UsageError, problem
from .schema import (
    EARLIEST_EVENT_DATE,
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    SCHEMA_VERSION,
    empty_events,
    events_from_arrow,
    events_to_arrow,
)

__all__ = [
    "Store",
    "AppendResult",
    "QUARANTINE_SCHEMA",
    "STORE_MARKER",
    "TRASH_RETENTION_DAYS",
    "OutOfRangeDatesWarning",
    "new_batch_id",
]

STORE_MARKER = "tension-event-store"
"""The value of ``"store"`` in every manifest: what makes a folder a tension event store."""
TRASH_RETENTION_DAYS = 30
"""Days orphan files stay in ``trash/`` before ``compact`` deletes them."""
LAST_READABLE_DATE = date(2262, 4, 11)
"""The last day pandas' nanosecond timestamps can hold."""


class OutOfRangeDatesWarning(UserWarning):
    """Stored rows were left out of a read because their date is outside the valid range."""

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("source_line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
        pa.field("batch_id", pa.string()),
    ]
)
"""Rows a reader refused: where they came from, why, and their raw text."""

_DICTIONARY_COLUMNS = [
    "date", "source_actor", "source_country", "source_org", "target_actor", "target_country", "target_org",
    "cameo_code", "root_code", "quad_class", "goldstein", "family", "weight", "dataset", "batch_id",
    "ingested_at", "source_file",
]
"""Low-cardinality columns worth Parquet dictionary encoding (ids, URLs, texts and lines are not)."""
_MANIFEST_DIR = "_manifests"
_MANIFEST_RE = re.compile(r"manifest-(\d{8})\.json$")
_KEEP_MANIFESTS = 20
_DIGEST_MOD = 1 << 64


_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_OWN_FILE = re.compile(
    r"^(?:data/month=\d{4}-\d{2}|quarantine)/[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}-[0-9a-f]{12}\.parquet$"
)
"""Data and quarantine files as the store names them (relative to the store root)."""
_OWN_TMP_MANIFEST = re.compile(r"^_manifests/manifest-\d{8}\.json\.tmp-[0-9a-f]{32}$")
_TRASH_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_store_manifest(data: Any) -> bool:
    """A complete manifest of this store kind (those written before the marker: by their shape)."""
    if not isinstance(data, dict) or data.get("complete") is not True:
        return False
    return (
        data.get("store", STORE_MARKER) == STORE_MARKER
        and "schema_version" in data
        and isinstance(data.get("batches"), list)
        and isinstance(data.get("files"), list)
    )


def _read_json(fs: Any, path: str) -> Any:
    try:
        with fs.open(path, "rb") as fh:
            return json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


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


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _row_hash_sum(table: pa.Table) -> int:
    """Order-independent fingerprint of the event ids: sum of 64-bit hashes, modulo 2**64."""
    if table.num_rows == 0:
        return 0
    ids = table["event_id"].to_pandas()
    hashed = pd.util.hash_pandas_object(ids, index=False).to_numpy(dtype=np.uint64)
    return int(hashed.sum(dtype=np.uint64))


def _date_bound(value: Any, name: str) -> date | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise UsageError(problem(f"The {name} date is not a date.", "YYYY-MM-DD", value, "Use e.g. 2014-06-30.")) from None


class _Batch:
    """An open write transaction; see :meth:`Store.batch`."""

    def __init__(self, store: Store, batch_id: str, meta: dict[str, Any]):
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
            ids = part["event_id"]
            existing = self._existing_ids(month)
            dup = np.zeros(part.num_rows, dtype=bool)
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


class Store:
    """A month-partitioned Parquet event store at a local folder or fsspec URL.

    Parameters
    ----------
    location
        A folder (created on first write) or a URL such as ``s3://bucket/events``.
    storage_options
        Passed to fsspec (credentials come from the environment, never from config files).

    Examples
    --------
    >>> store = Store("/tmp/tension-doc-store")  # doctest: +SKIP
    >>> store.append(events).stored               # doctest: +SKIP
    >>> store.read("2014-01-01", "2014-06-30")    # doctest: +SKIP
    """

    def __init__(self, location: str | os.PathLike[str], **storage_options: Any):
        self.location = str(location)
        self.fs, root = fsspec.core.url_to_fs(self.location, **storage_options)
        self.root = root.rstrip("/") or "/"
        self.is_local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    # -- paths --------------------------------------------------------------------------
    def _p(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    # -- manifest -----------------------------------------------------------------------
    def _rel(self, path: str) -> str:
        """``path`` (as fsspec lists it) relative to the store root."""
        path = str(path)
        return posixpath.relpath(path, self.root) if self.root != "/" else path.lstrip("/")

    def _manifest_paths(self) -> list[tuple[int, str]]:
        try:
            names = self.fs.ls(self._p(_MANIFEST_DIR), detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except PermissionError as exc:
            raise UsageError(problem(f"The event store at {self.location} cannot be read ({exc.strerror or exc}).",
                                     "a readable store folder", self.location,
                                     "Fix its permissions, or point --store / $TENSION_STORE at another store.")) from None
        out = []
        for name in names:
            m = _MANIFEST_RE.search(str(name))
            if m:
                out.append((int(m.group(1)), str(name)))
        return sorted(out)

    def _load_manifest(self) -> dict[str, Any]:
        self.fs.invalidate_cache()
        for version, path in reversed(self._manifest_paths()):
            try:
                with self.fs.open(path, "rb") as fh:
                    data = json.loads(fh.read().decode("utf-8"))
            except (OSError, ValueError):
                continue
            if _is_store_manifest(data):
                if data.get("schema_version") != SCHEMA_VERSION:
                    raise UsageError(
                        problem(
                            f"The event store at {self.location} was written with another schema version.",
                            f"schema_version {SCHEMA_VERSION}",
                            data.get("schema_version"),
                            "Re-ingest the source files into a new store with this version of tension.",
                        )
                    )
                data["version"] = version
                return data
        return {"schema_version": SCHEMA_VERSION, "version": 0, "batches": [], "files": [], "complete": True}

    @property
    def manifest(self) -> dict[str, Any]:
        """The current committed manifest (schema_version, version, batches, files, digest)."""
        manifest = self._load_manifest()
        manifest["digest"] = self._digest_of(manifest)
        return manifest

    @staticmethod
    def _digest_of(manifest: dict[str, Any]) -> str:
        total = sum(int(f["hash_sum"]) for f in manifest["files"]) % _DIGEST_MOD
        rows = sum(int(f["rows"]) for f in manifest["files"])
        return hashlib.sha256(f"v{SCHEMA_VERSION}:{rows}:{total}".encode()).hexdigest()[:16]

    @property
    def digest(self) -> str:
        """Fingerprint of the set of stored event ids; independent of file layout (unchanged by compact)."""
        return self._digest_of(self._load_manifest())

    def _commit(self, manifest: dict[str, Any]) -> None:
        version = int(self._load_manifest()["version"]) + 1
        manifest = {k: v for k, v in manifest.items() if k not in ("version", "digest")}
        manifest.update(
            store=STORE_MARKER,
            schema_version=SCHEMA_VERSION,
            version=version,
            committed_at=datetime.now(timezone.utc).isoformat(),
            complete=True,
        )
        manifest["digest"] = self._digest_of(manifest)
        payload = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        final = self._p(_MANIFEST_DIR, f"manifest-{version:08d}.json")
        self.fs.makedirs(self._p(_MANIFEST_DIR), exist_ok=True)
        if self.is_local:
            tmp = final + f".tmp-{uuid.uuid4().hex}"
            with open(tmp, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        else:
            with self.fs.open(final, "wb") as fh:
                fh.write(payload)
        for old_version, path in self._manifest_paths()[:-_KEEP_MANIFESTS]:
            if old_version < version:
                self.fs.rm(path)

    # -- locking ------------------------------------------------------------------------
    @contextmanager
    def _lock(self) -> Iterator[None]:
        if not self.is_local:  # object storage: one writer at a time is the caller's job
            yield
            return
        from filelock import FileLock, Timeout

        lock = FileLock(self._p("_lock"))
        try:
            self.fs.makedirs(self.root, exist_ok=True)
            # FileLock retries forever on a path it cannot create (e.g. under /proc): probe first
            os.close(os.open(self._p("_lock"), os.O_WRONLY | os.O_CREAT, 0o644))
            lock.acquire()
        except Timeout:
            raise
        except OSError as exc:
            raise UsageError(
                problem(
                    f"The event store at {self.location} cannot be written ({exc.strerror or type(exc).__name__}).",
                    "a folder you can create and write to",
                    self.location,
                    "Point --store (or $TENSION_STORE) at a writable folder, e.g. ./data/store.",
                )
            ) from None
        try:
            yield
        finally:
            lock.release()

    # -- identity -----------------------------------------------------------------------
    def identify(self) -> dict[str, Any]:
        """What the location holds: ``{"kind": ..., "detail": ..., "stores": [...]}``; changes nothing.

        ``kind`` is ``store`` (a complete manifest with :data:`STORE_MARKER`), ``missing``,
        ``empty``, ``not_a_folder``, ``damaged`` (manifest files, none complete) or
        ``not_a_store`` (a folder with other contents; ``detail`` names them and ``stores``
        lists event stores found up to three levels below, relative to the location).
        """
        try:
            if not self.fs.exists(self.root):
                return {"kind": "missing", "detail": f"{self.location} does not exist"}
            if not self.fs.isdir(self.root):
                return {"kind": "not_a_folder", "detail": f"{self.location} is a file, not a folder"}
            manifests = self._manifest_paths()
            for _, path in reversed(manifests):
                if _is_store_manifest(_read_json(self.fs, path)):
                    return {"kind": "store", "detail": f"{self.location} is a tension event store"}
            if manifests:
                return {"kind": "damaged", "detail": f"{self.location}/{_MANIFEST_DIR} holds {len(manifests)} manifest "
                        "file(s), none of them complete"}
            entries = sorted(self.fs.ls(self.root, detail=True), key=lambda e: str(e["name"]))
        except PermissionError as exc:
            return {"kind": "not_a_store", "detail": f"{self.location} cannot be read ({exc.strerror or exc})"}
        except OSError as exc:
            return {"kind": "not_a_store", "detail": f"{self.location} cannot be listed ({exc.strerror or exc})"}
        entries = [e for e in entries if posixpath.basename(str(e["name"]).rstrip("/")) not in ("_lock", "_lock.lock")]
        if not entries:
            return {"kind": "empty", "detail": f"{self.location} is an empty folder"}
        if self._only_own_files(entries):
            return {"kind": "empty", "detail": f"{self.location} holds only data files of a first ingest that never "
                    "committed (no manifest yet)"}
        text, stores = self._describe(entries)
        return {"kind": "not_a_store", "detail": f"{self.location} holds {text}", "stores": stores}

    def _only_own_files(self, entries: list[dict[str, Any]]) -> bool:
        """Whether every file under the top-level ``entries`` is one this store writes (before any commit)."""
        if any(posixpath.basename(str(e["name"]).rstrip("/")) not in ("data", "quarantine", _MANIFEST_DIR)
               or e.get("type") != "directory" for e in entries):
            return False
        for e in entries:
            for path in self.fs.find(str(e["name"])):
                rel = self._rel(str(path))
                if not (_OWN_FILE.match(rel) or _OWN_TMP_MANIFEST.match(rel)):
                    return False
        return True

    def _require_writable_location(self) -> None:
        """Writes go only into a store, a new (missing or empty) folder, or a store's damaged remains."""
        found = self.identify()
        if found["kind"] in ("store", "missing", "empty", "damaged"):
            return
        stores = found.get("stores") or []
        hint = f"Did you mean --store {posixpath.join(self.location, stores[0])}? " if stores else ""
        raise UsageError(
            problem(
                f"Cannot write events: {self.location} is not a tension event store and not empty. Nothing was changed.",
                "an event store, or a new or empty folder for one",
                found["detail"],
                f"{hint}Point --store (or $TENSION_STORE) at the store, or at a new folder such as ./data/store.",
            )
        )

    def _describe(self, entries: list[dict[str, Any]], limit: int = 12) -> tuple[str, list[str]]:
        """Name the entries of a folder that is not a store, and any store, ledger or database under it."""
        names = []
        for e in entries[:limit]:
            name = posixpath.basename(str(e["name"]).rstrip("/"))
            names.append(name + "/" if e.get("type") == "directory" else name)
        more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
        text = ", ".join(names) + more
        found = []
        stores = []
        for depth in ("*", "*/*", "*/*/*"):
            try:
                hits = self.fs.glob(self._p(depth, _MANIFEST_DIR)) + self.fs.glob(self._p(depth, "manifests"))
                hits += self.fs.glob(self._p(depth, "*.db")) if depth != "*/*/*" else []
                hits += self.fs.glob(self._p("*.db")) if depth == "*" else []
            except OSError:
                continue
            for hit in hits:
                rel = self._rel(str(hit))
                base = posixpath.basename(rel)
                if base == _MANIFEST_DIR:
                    stores.append(posixpath.dirname(rel))
                    found.append(f"an event store at {posixpath.dirname(rel)}")
                elif base == "manifests":
                    found.append(f"a forecast ledger at {posixpath.dirname(rel)}")
                elif base.endswith(".db"):
                    found.append(f"a database file {rel}")
        if found:
            text += "; under it: " + ", ".join(dict.fromkeys(found))
        return text, stores

    def require_store(self, action: str) -> None:
        """Raise :class:`UsageError` (exit 2) unless the location proves it is a tension event store."""
        found = self.identify()
        if found["kind"] == "store":
            return
        stores = found.get("stores") or []
        hint = (f"Did you mean --store {posixpath.join(self.location, stores[0])}? " if stores else "")
        fix = {
            "missing": f"{hint}Check the path, or create a store with `tension ingest FILE --store {self.location}`.",
            "empty": f"{hint}Create a store with `tension ingest FILE --store {self.location}`, or check the path.",
        }.get(found["kind"], f"{hint}Point --store (or $TENSION_STORE) at the store folder itself (the one holding "
                             f"{_MANIFEST_DIR}/).")
        raise UsageError(
            problem(
                f"Cannot {action}: {self.location} is not a tension event store. Nothing was changed.",
                f"a folder with {_MANIFEST_DIR}/manifest-NNNNNNNN.json marked \"store\": \"{STORE_MARKER}\"",
                found["detail"],
                fix,
            )
        )

    # -- writing ------------------------------------------------------------------------
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

    # -- reading ------------------------------------------------------------------------
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

    # -- maintenance --------------------------------------------------------------------
    def retract(self, batch_id: str) -> int:
        """Remove one batch's events and quarantine rows; returns the number of events removed.

        The batch record stays (flagged ``retracted``) so the history is kept. Files that
        also hold other batches' rows (after ``compact``) are rewritten without this batch.
        Later batches whose rows were counted as duplicates of this batch keep their
        counts; :meth:`retract_impact` names them so they can be re-ingested.
        """
        self.require_store("retract a batch")
        with self._lock():
            manifest = self._load_manifest()
            record = next((b for b in manifest["batches"] if b["batch_id"] == batch_id), None)
            if record is None or record.get("retracted"):
                known = [b["batch_id"] for b in manifest["batches"] if not b.get("retracted")]
                raise UsageError(
                    problem(
                        "No such batch in the store." if record is None else "This batch was already retracted.",
                        "one of the batch ids listed by `tension store info`",
                        batch_id,
                        "Run `tension store info` to list the batches." + _did_you_mean(batch_id, known),
                    )
                )
            removed = 0
            files = []
            for f in manifest["files"]:
                n = int(f.get("batches", {}).get(batch_id, 0))
                if n == 0:
                    files.append(f)
                    continue
                removed += n
                if n == int(f["rows"]):
                    continue
                table = self._read_paths([f["path"]])
                table = table.filter(pc.not_equal(table["batch_id"], batch_id))
                keep_batch = max(f["batches"], key=lambda k: f["batches"][k] if k != batch_id else -1)
                files.append(self._write_events(table, f["month"], f"c{keep_batch}"))
            record["retracted"] = True
            record["retracted_at"] = datetime.now(timezone.utc).isoformat()
            manifest["files"] = files
            self._commit(manifest)
            return removed

    def retract_impact(self, batch_id: str) -> list[dict[str, Any]]:
        """Later batches that counted rows as duplicates of ``batch_id`` (re-ingest them after a retract)."""
        out = []
        for b in self._load_manifest()["batches"]:
            n = int(b.get("duplicates_of", {}).get(batch_id, 0))
            if n and b["batch_id"] != batch_id and not b.get("retracted"):
                out.append({"batch_id": b["batch_id"], "rows": n, "sources": b.get("meta", {}).get("source_files", [])})
        return out

    def compact(self, target_rows: int = 2_000_000, empty_trash: bool = False) -> dict[str, Any]:
        """Merge each month's files into as few files as possible; move orphan files to ``trash/``.

        Only a proven store is touched (:meth:`require_store`; anything else raises
        :class:`UsageError` and nothing changes). Orphans are the store's own data and
        quarantine files that no manifest names (an interrupted ingest, data of retracted
        batches, files replaced by an earlier compaction); they move to
        ``trash/<YYYY-MM-DD>/<their path>``. Files replaced by *this* compaction stay until the
        next one, so readers of the previous manifest are safe. Trash older than
        :data:`TRASH_RETENTION_DAYS` days is deleted; ``empty_trash=True`` deletes all of it.
        Returns counts: months rewritten, files before/after, orphans moved to the trash
        (``orphans_removed``), trash files deleted. The digest and every batch's counts are unchanged.
        """
        self.require_store("compact")
        with self._lock():
            manifest = self._load_manifest()
            previous = [f["path"] for f in manifest["files"]]
            by_month: dict[str, list[dict[str, Any]]] = {}
            for f in manifest["files"]:
                by_month.setdefault(f["month"], []).append(f)
            files: list[dict[str, Any]] = []
            rewritten = 0
            for month, group in sorted(by_month.items()):
                if len(group) == 1:
                    files.extend(group)
                    continue
                rewritten += 1
                table = self._read_paths([f["path"] for f in group])
                for start in range(0, table.num_rows, target_rows):
                    files.append(self._write_events(table.slice(start, target_rows), month, "compact", compression="zstd"))
            before = len(manifest["files"])
            manifest["files"] = files
            if rewritten:
                self._commit(manifest)
            # files the previous manifest named stay one more round: a reader may still be using them
            today = datetime.now(timezone.utc).date()
            orphans, temporary = self._trash_orphans(manifest, keep=set(previous), day=today)
            deleted = self._purge_trash(today, everything=empty_trash)
            return {
                "months_rewritten": rewritten,
                "files_before": before,
                "files_after": len(files),
                "orphans_removed": orphans,
                "temporary_manifests_removed": temporary,
                "trash": self._p("trash", today.isoformat()) if orphans or temporary else None,
                "trash_files_deleted": deleted,
                "trash_retention_days": TRASH_RETENTION_DAYS,
            }

    def _trash_orphans(self, manifest: dict[str, Any], keep: set[str], day: date) -> tuple[int, int]:
        """Move the store's own unnamed files to ``trash/<day>/``; returns (data/quarantine files, temp manifests)."""
        named = {f["path"] for f in manifest["files"]} | set(keep)
        named |= {p for b in manifest["batches"] if not b.get("retracted") for p in b.get("quarantine_files", [])}
        moved = 0
        for sub in ("data", "quarantine"):
            try:
                found = self.fs.find(self._p(sub))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for path in found:
                rel = self._rel(str(path))
                if rel not in named and _OWN_FILE.match(rel):
                    self._move_to_trash(str(path), rel, day)
                    moved += 1
        temporary = 0
        if self.is_local:  # a commit killed between writing its temporary manifest and the rename
            for path in self.fs.glob(self._p(_MANIFEST_DIR, "*.tmp-*")):
                rel = self._rel(str(path))
                if _OWN_TMP_MANIFEST.match(rel):
                    self._move_to_trash(str(path), rel, day)
                    temporary += 1
        return moved, temporary

    def _move_to_trash(self, path: str, rel: str, day: date) -> None:
        dest = self._p("trash", day.isoformat(), rel)
        self.fs.makedirs(posixpath.dirname(dest), exist_ok=True)
        self.fs.mv(path, dest)

    def _purge_trash(self, today: date, everything: bool = False) -> int:
        """Delete trashed files older than the retention period (all with ``everything``); returns how many."""
        try:
            days = self.fs.ls(self._p("trash"), detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        deleted = 0
        for folder in days:
            folder = str(folder).rstrip("/")
            name = posixpath.basename(folder)
            if not _TRASH_DAY.match(name):
                continue
            try:
                age = (today - date.fromisoformat(name)).days
            except ValueError:
                continue
            if not everything and age < TRASH_RETENTION_DAYS:
                continue
            for path in self.fs.find(folder):
                rel = posixpath.relpath(str(path), folder)
                if _OWN_FILE.match(rel) or _OWN_TMP_MANIFEST.match(rel):
                    self.fs.rm(str(path))
                    deleted += 1
            if self.is_local:
                _remove_empty_folders(folder)
        return deleted


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


def _remove_empty_folders(folder: str) -> None:
    """Remove ``folder`` and its sub-folders where they are empty (never a file)."""
    for parent, _, _ in sorted(os.walk(folder), key=lambda t: -len(t[0])):
        try:
            os.rmdir(parent)
        except OSError:
            pass


def _did_you_mean(word: str, choices: list[str]) -> str:
    from .errors import did_you_mean

    return did_you_mean(word, choices)
