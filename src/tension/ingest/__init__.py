"""Ingestion: event files of any supported format -> the canonical event store.

``read_events`` reads one file into canonical rows (nothing is written);
``ingest`` writes one or more files through :class:`tension.store.Store` as one batch,
committed by a single manifest at the end, so an interrupted ingest changes nothing.

Counting rule, per file and in total: ``read == stored + duplicates + quarantined``.
Readers: :mod:`.icews`, :mod:`.icews_kg`, :mod:`.gdelt`, :mod:`.acled`, :mod:`.polecat`,
:mod:`.generic` (csv, jsonl); :mod:`.detect` guesses the format; :mod:`.validate` holds the
quarantine rules shared by all of them.

File-level problems stop the whole run with :class:`tension.errors.UsageError` (exit 2)
and commit nothing: a file that cannot be read or decompressed (a truncated ``.gz``, plain
text named ``.gz``), and a file whose records are almost all quarantined while another
format reads it (the wrong ``--format``). Folders are walked following symbolic links,
each real folder once; a link loop or a broken link is skipped with a warning.
"""
from __future__ import annotations

import io
import lzma
import os
import queue
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import fsspec
import pandas as pd
import pyarrow as pa

from ..config import CsvMapping
from ..errors import QuarantinedRowsError, UsageError, did_you_mean, problem
from ..schema import events_from_arrow
from ..store import Store
from . import acled, gdelt, generic, icews, icews_kg, polecat
from .detect import FORMATS, HEAD_BYTES, detect_format
from .validate import REASONS, Checked, clear_caches, finalize

__all__ = ["read_events", "ingest", "ReadResult", "FileReport", "IngestReport", "FORMATS", "REASONS", "detect_format",
           "input_bytes"]

_READERS: dict[str, tuple[Callable[..., Iterator[Any]], Callable[..., Any]]] = {
    "icews": (icews.rows, icews.parse),
    "icews-kg": (icews_kg.rows, icews_kg.parse),
    "gdelt1": (gdelt.rows_v1, gdelt.parse_v1),
    "gdelt2": (gdelt.rows_v2, gdelt.parse_v2),
    "acled": (acled.rows, acled.parse),
    "polecat": (polecat.rows, polecat.parse),
    "csv": (generic.csv_rows_for, generic.parse),
    "jsonl": (generic.jsonl_rows_for, generic.parse),
}

ProgressFn = Callable[[int, str], None]


@dataclass
class FileReport:
    """Counts for one source file (or the total)."""

    file: str
    format: str
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    unresolved_events: int = 0
    """Events stored or duplicated with at least one actor resolved to neither country nor organisation."""
    unresolved: Counter[str] = field(default_factory=Counter)
    """Unresolved actor strings and how often they occur."""
    dyad_events: int = 0
    """Stored events whose source and target are two different countries."""

    @property
    def dyad_share(self) -> float:
        """Share of stored events forming a two-country dyad (NaN when nothing was stored)."""
        return self.dyad_events / self.stored if self.stored else float("nan")

    @property
    def identity_holds(self) -> bool:
        return self.read == self.stored + self.duplicates + self.quarantined

    def add(self, other: FileReport) -> None:
        for name in ("read", "stored", "duplicates", "quarantined", "unresolved_events", "dyad_events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        reasons = Counter(self.quarantined_by_reason)
        reasons.update(other.quarantined_by_reason)
        self.quarantined_by_reason = dict(sorted(reasons.items()))
        self.unresolved.update(other.unresolved)

    def as_dict(self, top: int = 20) -> dict[str, Any]:
        out = asdict(self)
        out.pop("unresolved")
        out["unresolved_actors"] = len(self.unresolved)
        out["top_unresolved"] = [{"actor": a, "events": n} for a, n in self.unresolved.most_common(top)]
        out["dyad_share"] = self.dyad_share
        out["identity_holds"] = self.identity_holds
        return out


@dataclass
class IngestReport:
    """What one ``ingest`` call did: one report per file plus the total."""

    batch_id: str
    store: str
    files: list[FileReport]
    total: FileReport
    digest: str = ""
    skipped: list[dict[str, str]] = field(default_factory=list)
    """Paths found in the input folders but not read (``path``, ``reason``): link loops, broken links."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "store": self.store,
            "digest": self.digest,
            "files": [f.as_dict(top=10) for f in self.files],
            "total": self.total.as_dict(top=50),
            "skipped": self.skipped,
        }


@dataclass
class ReadResult:
    """One file read into canonical rows (not deduplicated, not stored)."""

    events: pd.DataFrame
    quarantine: pd.DataFrame
    read: int
    unresolved: Counter[str]
    format: str


# -- opening files ------------------------------------------------------------------------


def _walk_local(root: str, skipped: list[dict[str, str]]) -> list[str]:
    """Files under a local folder, following symbolic links; each real folder is read once."""
    seen: set[str] = set()
    out: list[str] = []

    def unreadable(err: OSError) -> None:
        skipped.append({"path": str(err.filename), "reason": f"cannot be listed ({err.strerror})"})

    for folder, dirs, names in os.walk(root, followlinks=True, onerror=unreadable):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            skipped.append({"path": folder, "reason": f"a symbolic link back to {real}, already read (a link loop?)"})
            continue
        seen.add(real)
        dirs.sort()
        for name in names:
            if name.startswith("."):
                continue
            full = os.path.join(folder, name)
            if os.path.isfile(full):
                out.append(full)
            else:
                why = "a broken or looping symbolic link" if os.path.islink(full) else "not a regular file"
                skipped.append({"path": full, "reason": why})
    return sorted(out)


def _expand(paths: Sequence[str | os.PathLike[str]], skipped: list[dict[str, str]] | None = None) -> list[str]:
    skipped = [] if skipped is None else skipped
    out: list[str] = []
    for p in paths:
        text = str(p)
        fs, root = fsspec.core.url_to_fs(text)
        local = "://" not in text or text.startswith("file://")
        if fs.isdir(root):
            if local:
                found = _walk_local(root, skipped)
            else:
                found = sorted(f for f in fs.find(root) if not os.path.basename(f).startswith("."))
            out.extend(found if "://" not in text else [f"{text.split('://')[0]}://{f}" for f in found])
        elif fs.exists(root):
            out.append(text)
        else:
            raise UsageError(problem(f"Input file not found: {text!r}.", "an existing file or folder", text, "Check the path (globs are expanded by your shell)."))
    if not out:
        raise UsageError(problem("No input files.", "at least one file", list(map(str, paths)), "Pass the event files to ingest."))
    return out


@contextmanager
def open_source(path: str) -> Iterator[IO[bytes]]:
    """Open a local path or URL for binary reading; .gz/.bz2/.xz/.zst are decompressed, .zip's single member read."""
    if path.lower().endswith(".zip"):
        with fsspec.open(path, "rb") as raw, zipfile.ZipFile(raw) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            if len(members) != 1:
                raise UsageError(problem(f"{path} holds {len(members)} files.", "exactly one file inside a .zip", [m.filename for m in members][:5], "Unzip it and pass the files."))
            with zf.open(members[0]) as fh:
                yield fh
        return
    with fsspec.open(path, "rb", compression="infer") as fh:
        yield fh


_UNREADABLE = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)
"""What reading or decompressing a damaged file raises (gzip.BadGzipFile is an OSError)."""


def _why_unreadable(path: str, exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the compressed data ends early (a truncated or half-finished download?)"
    if path.lower().endswith((".gz", ".bz2", ".xz", ".zst", ".zip")) and not isinstance(exc, FileNotFoundError | PermissionError):
        return f"it is not a valid {path.rsplit('.', 1)[-1]} file ({exc})"
    return f"reading failed ({exc})"


@contextmanager
def _reading(path: str) -> Iterator[None]:
    """Turn a damaged or unreadable file into a usage error (exit 2) naming it and the reason."""
    try:
        yield
    except _UNREADABLE as exc:
        raise UsageError(
            problem(
                f"Cannot read {path}: {_why_unreadable(path, exc)}.",
                "a complete, readable file (compressed files whole and named by their compression)",
                f"{type(exc).__name__}: {exc}",
                "Nothing was stored (the batch was not committed). Download or copy the file again, "
                "or leave it out of the input and rerun.",
            )
        ) from None


def _head(path: str, size: int = HEAD_BYTES) -> bytes:
    with _reading(path), open_source(path) as fh:
        return fh.read(size)


def _resolve_format(path: str, format: str, mapping: CsvMapping | None) -> str:
    if format not in FORMATS:
        raise UsageError(problem(f"Unknown --format {format!r}.{did_you_mean(format, FORMATS)}", f"one of {', '.join(FORMATS)}", format))
    return detect_format(_head(path), os.path.basename(path), mapping) if format == "auto" else format


def input_bytes(paths: Sequence[str | os.PathLike[str]]) -> int:
    """Bytes that ``ingest``'s ``on_progress`` will report for these inputs: uncompressed local files (0 when unknown)."""
    return sum(os.path.getsize(p) for p in map(str, paths)
               if os.path.isfile(p) and not p.lower().endswith((".gz", ".bz2", ".xz", ".zst", ".zip")))


def _size(path: str) -> int | None:
    if path.lower().endswith((".gz", ".bz2", ".xz", ".zst", ".zip")):
        return None
    try:
        fs, root = fsspec.core.url_to_fs(path)
        return int(fs.size(root))
    except (OSError, TypeError, ValueError):
        return None


_DONE = object()


def _prefetch(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """Run ``items`` in a background thread, ``depth`` items ahead.

    Reading and splitting the next block (file IO, numpy and pyarrow.csv, which release
    the GIL) overlaps with validating and storing the current one.
    """
    out: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        out.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            out.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            out.put(exc)

    thread = threading.Thread(target=work, name="tension-ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _chunks(path: str, fmt: str, mapping: CsvMapping | None, on_bytes: Callable[[int], None] | None) -> Iterator[Checked]:
    split, parse = _READERS[fmt]
    with _reading(path), open_source(path) as fh:
        buffered = fh if isinstance(fh, io.BufferedIOBase) else io.BufferedReader(fh)  # type: ignore[arg-type]
        for rows in _prefetch(split(buffered, mapping, on_bytes=on_bytes)):
            yield finalize(parse(rows, mapping), path)


MOSTLY_QUARANTINED = 0.9
"""A file with at least this share of its records quarantined is checked against the other formats."""
MIN_RECORDS_FOR_FORMAT = 2
"""Fewer records than this are no evidence of a wrong format: one cut-short line can have another format's shape."""
SAMPLE_BYTES = 256 * 1024


def _sample_counts(sample: bytes, fmt: str, mapping: CsvMapping | None) -> tuple[int, int]:
    """(records, rows that would be stored) when ``sample`` is read as ``fmt``; (0, 0) if that reader refuses it."""
    split, parse = _READERS[fmt]
    records = good = 0
    try:
        for rows in split(io.BufferedReader(io.BytesIO(sample)), mapping):  # type: ignore[arg-type]
            checked = finalize(parse(rows, mapping), "sample")
            records += checked.records
            good += checked.events.num_rows
    except Exception:  # noqa: BLE001 - a reader that cannot read the sample at all just does not qualify
        return 0, 0
    return records, good


def better_format(path: str, fmt: str, mapping: CsvMapping | None = None) -> tuple[str, int, int] | None:
    """The format that stores most of the file's first records, if it stores more than ``fmt`` does.

    Reads the first :data:`SAMPLE_BYTES` (cut at a line end) with every other reader and
    returns ``(format, stored, records)`` for the best one storing at least half of its
    records, or None.
    """
    sample = _head(path, SAMPLE_BYTES)
    if len(sample) == SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rfind(b"\n") + 1]
    _, baseline = _sample_counts(sample, fmt, mapping)
    best: tuple[str, int, int] | None = None
    for other in _READERS:
        if other == fmt:
            continue
        records, good = _sample_counts(sample, other, mapping)
        if records and good * 2 >= records and good > baseline and (best is None or good > best[1]):
            best = (other, good, records)
    return best


def _check_format(rep: FileReport, requested: str, mapping: CsvMapping | None) -> None:
    """Refuse a file read with the wrong format: almost every record quarantined and another format reads it."""
    if rep.read < MIN_RECORDS_FOR_FORMAT or rep.quarantined < MOSTLY_QUARANTINED * rep.read:
        return
    found = better_format(rep.file, rep.format, mapping)
    if found is None:
        return
    other, good, records = found
    how = f"--format {rep.format}" if requested != "auto" else f"the detected format {rep.format}"
    reasons = ", ".join(f"{k} {v:,}" for k, v in rep.quarantined_by_reason.items())
    raise UsageError(
        problem(
            f"{rep.file}: {rep.quarantined:,} of {rep.read:,} records were quarantined under {how} ({reasons}); "
            f"the file reads as {other} ({good:,} of the first {records:,} records would be stored).",
            f"a file in the format {rep.format}",
            f"a file that reads as {other}",
            f"Nothing was stored (the batch was not committed). Rerun with --format {other}.",
        )
    )


def _quarantine_frame(rows: list[tuple[int, str, str]], path: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": [path] * len(rows),
            "source_line": pd.array([r[0] for r in rows], dtype="Int64"),
            "reason": [r[1] for r in rows],
            "raw": [r[2] for r in rows],
        }
    )


# -- public API ---------------------------------------------------------------------------


def read_events(path: str | os.PathLike[str], format: str = "auto", mapping: CsvMapping | None = None) -> ReadResult:
    """Read one event file into canonical rows, without storing anything.

    Parameters
    ----------
    path
        A local path or fsspec URL; compressed files (.gz, .zip, ...) are read directly.
    format
        One of :data:`FORMATS`; ``auto`` detects it (see :mod:`tension.ingest.detect`).
    mapping
        Column mapping for ``csv``/``jsonl`` (default :class:`tension.config.CsvMapping`).

    Returns
    -------
    ReadResult
        ``events`` (canonical columns; ``batch_id``/``ingested_at`` empty), ``quarantine``
        (source_file, source_line, reason, raw), ``read`` (records seen), ``unresolved``.
    """
    clear_caches()
    text = _expand([path])[0]
    fmt = _resolve_format(text, format, mapping)
    tables, bad = [], []
    read = 0
    unresolved: Counter[str] = Counter()
    for checked in _chunks(text, fmt, mapping, None):
        tables.append(checked.events)
        bad.extend(checked.quarantine)
        read += checked.records
        unresolved.update(checked.unresolved)
    from ..schema import EVENT_SCHEMA

    table = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    return ReadResult(events_from_arrow(table), _quarantine_frame(bad, text), read, unresolved, fmt)


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    store: Store | str,
    format: str = "auto",
    mapping: CsvMapping | None = None,
    strict: bool = False,
    on_progress: ProgressFn | None = None,
    batch_id: str | None = None,
) -> IngestReport:
    """Read event files and append them to ``store`` as one batch (one manifest commit).

    Formats are checked for every file before anything is written. Duplicates (within the
    batch or already stored) are counted, bad rows quarantined beside the store. A file
    that cannot be read (a damaged or mislabelled compressed file) or that another format
    reads where the given one quarantines almost every record raises
    :class:`tension.errors.UsageError` and nothing is committed. With
    ``strict=True`` the batch is still committed, then :class:`QuarantinedRowsError` is
    raised if any row was quarantined (exit code 6).

    ``on_progress(n_bytes, description)`` is called as the files are read.
    """
    clear_caches()
    store = store if isinstance(store, Store) else Store(store)
    skipped: list[dict[str, str]] = []
    files = _expand(list(paths), skipped)
    formats = [_resolve_format(f, format, mapping) for f in files]
    reports: list[FileReport] = []
    with store.batch(meta={"source_files": files, "formats": formats}) as tx:
        for path, fmt in zip(files, formats):
            rep = FileReport(file=path, format=fmt)
            bad: list[tuple[int, str, str]] = []
            reasons: Counter[str] = Counter()

            def on_bytes(n: int, _path: str = path) -> None:
                if on_progress is not None:
                    on_progress(n, os.path.basename(_path))

            for checked in _chunks(path, fmt, mapping, on_bytes):
                stored, dups, dyads = tx.append(checked.events)
                rep.read += checked.records
                rep.stored += stored
                rep.duplicates += dups
                rep.dyad_events += dyads
                rep.unresolved_events += checked.unresolved_events
                rep.unresolved.update(checked.unresolved)
                bad.extend(checked.quarantine)
                reasons.update(r[1] for r in checked.quarantine)
            rep.quarantined = len(bad)
            rep.quarantined_by_reason = dict(sorted(reasons.items()))
            _check_format(rep, format, mapping)
            if bad:
                tx.add_quarantine(_quarantine_frame(bad, path))
            reports.append(rep)
        total = FileReport(file="total", format=",".join(sorted(set(formats))))
        for rep in reports:
            total.add(rep)
        tx.read = total.read
        tx.meta.update(
            files=[r.as_dict(top=10) for r in reports],
            unresolved_events=total.unresolved_events,
            dyad_events=total.dyad_events,
        )
        batch = tx.batch_id
    report = IngestReport(batch_id=batch, store=store.location, files=reports, total=total, digest=store.digest, skipped=skipped)
    if strict and total.quarantined:
        err = QuarantinedRowsError(
            problem(
                f"{total.quarantined} rows were quarantined and --strict was given.",
                "no quarantined rows",
                total.quarantined_by_reason,
                f"The good rows are stored (batch {batch}); see `tension store info` and the quarantine files, "
                "or retract the batch with `tension store retract`.",
            )
        )
        err.report = report  # type: ignore[attr-defined]
        raise err
    return report
