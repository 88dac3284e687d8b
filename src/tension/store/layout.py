"""Where things are in a store and how a commit becomes visible: paths, manifests, the digest, the writer lock.

Layout under the store location (a local folder or any fsspec URL)::

    data/month=2014-06/<batch_id>-<uuid>.parquet   event files (canonical schema)
    quarantine/<batch_id>-<uuid>.parquet           rejected rows: source_file, source_line, reason, raw, batch_id
    _manifests/manifest-00000007.json             one per commit; the highest complete one is the store
    _lock                                          writer lock (local stores only)
    trash/<YYYY-MM-DD>/...                         orphan files moved aside by ``compact``
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any

import fsspec
import pyarrow as pa

from ..errors import UsageError, problem
from ..schema import SCHEMA_VERSION

STORE_MARKER = "tension-event-store"
"""The value of ``"store"`` in every manifest: what makes a folder a tension event store."""
TRASH_RETENTION_DAYS = 30
"""Days orphan files stay in ``trash/`` before ``compact`` deletes them."""
LAST_READABLE_DATE = date(2262, 4, 11)
"""The last day pandas' nanosecond timestamps can hold."""

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

MANIFEST_DIR = "_manifests"
MANIFEST_RE = re.compile(r"manifest-(\d{8})\.json$")
KEEP_MANIFESTS = 20
"""Older manifests beyond this many are deleted at a commit."""
DIGEST_MOD = 1 << 64
OWN_FILE = re.compile(
    r"^(?:data/month=\d{4}-\d{2}|quarantine)/[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}-[0-9a-f]{12}\.parquet$"
)
"""Data and quarantine files as the store names them (relative to the store root)."""
OWN_TMP_MANIFEST = re.compile(r"^_manifests/manifest-\d{8}\.json\.tmp-[0-9a-f]{32}$")
TRASH_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_store_manifest(data: Any) -> bool:
    """A complete manifest of this store kind (those written before the marker: by their shape)."""
    if not isinstance(data, dict) or data.get("complete") is not True:
        return False
    return (
        data.get("store", STORE_MARKER) == STORE_MARKER
        and "schema_version" in data
        and isinstance(data.get("batches"), list)
        and isinstance(data.get("files"), list)
    )


def read_json(fs: Any, path: str) -> Any:
    """The parsed JSON file at ``path``, or ``None`` when it cannot be read or parsed."""
    try:
        with fs.open(path, "rb") as fh:
            return json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


class StoreLayout:
    """A store location: its file system, paths, manifests, commits and writer lock (the base of :class:`Store`)."""

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

    def manifest_paths(self) -> list[tuple[int, str]]:
        """(version, path) of every manifest file, oldest first, complete or not (``tension doctor`` reads the newest)."""
        try:
            names = self.fs.ls(self._p(MANIFEST_DIR), detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except PermissionError as exc:
            raise UsageError(problem(f"The event store at {self.location} cannot be read ({exc.strerror or exc}).",
                                     "a readable store folder", self.location,
                                     "Fix its permissions, or point --store / $TENSION_STORE at another store.")) from None
        out = []
        for name in names:
            m = MANIFEST_RE.search(str(name))
            if m:
                out.append((int(m.group(1)), str(name)))
        return sorted(out)

    def _load_manifest(self) -> dict[str, Any]:
        self.fs.invalidate_cache()
        for version, path in reversed(self.manifest_paths()):
            try:
                with self.fs.open(path, "rb") as fh:
                    data = json.loads(fh.read().decode("utf-8"))
            except (OSError, ValueError):
                continue
            if is_store_manifest(data):
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
        total = sum(int(f["hash_sum"]) for f in manifest["files"]) % DIGEST_MOD
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
        final = self._p(MANIFEST_DIR, f"manifest-{version:08d}.json")
        self.fs.makedirs(self._p(MANIFEST_DIR), exist_ok=True)
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
        for old_version, path in self.manifest_paths()[:-KEEP_MANIFESTS]:
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
