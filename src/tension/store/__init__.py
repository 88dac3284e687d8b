"""The canonical event store: a Parquet dataset partitioned by month, committed by manifest.

One class, :class:`Store`, built up by concern, each in its own module:

- :mod:`.layout`: paths, manifests, the digest, the commit (manifest last) and the writer lock;
- :mod:`.identity`: the store marker; telling a store from anything else and refusing to touch the rest;
- :mod:`.read`: committed events by date, batches, quarantine, the summary;
- :mod:`.write`: batches as transactions, duplicate checks, quarantine;
- :mod:`.maintain`: retract, compact, the trash.

Crash safety works the same on local disk and on object storage (where rename is not
atomic): data files get unique names and stay invisible until a new numbered manifest
naming them is written, last. On a local disk the manifest is written to a temporary name
and moved into place with ``os.replace``; elsewhere a new object is written whole and
readers skip any manifest that does not parse or lacks ``"complete": true``. An interrupted
write leaves orphan files that no manifest names; ``compact`` moves them to
``trash/<YYYY-MM-DD>/`` inside the store, where they stay for :data:`TRASH_RETENTION_DAYS`
days (or until ``compact(empty_trash=True)``).

A folder proves it is a store by a complete manifest carrying :data:`STORE_MARKER` and a
schema version (older manifests: by their shape). ``retract`` and ``compact`` refuse any
folder that is not a proven store (:meth:`Store.require_store`); writes go only into a store
or a new, empty folder; and an orphan is only a file of the store's own naming scheme inside
its own partition folders.

Every batch record keeps its counts (read, stored, duplicates, quarantined), so the
identity ``read == stored + duplicates + quarantined`` can be checked at any time, also
after ``retract`` and ``compact``. The store knows nothing about source formats (see
``tension.ingest``).
"""
from __future__ import annotations

from .layout import QUARANTINE_SCHEMA, STORE_MARKER, TRASH_RETENTION_DAYS
from .maintain import StoreMaintenance
from .read import OutOfRangeDatesWarning
from .write import AppendResult, new_batch_id

__all__ = [
    "Store",
    "AppendResult",
    "QUARANTINE_SCHEMA",
    "STORE_MARKER",
    "TRASH_RETENTION_DAYS",
    "OutOfRangeDatesWarning",
    "new_batch_id",
]


class Store(StoreMaintenance):
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
