"""Where the heavy work runs: in this process (``local``) or on a Dask cluster (``dask``).

Both engines expose the same three calls (:meth:`Engine.build_panel`,
:meth:`Engine.run_backtest`, :meth:`Engine.score`) and give the same rows; the Dask
engine only changes *where* the pure functions of the panel, backtest and scoring
stages run (../shared/ARCHITECTURE.md, "Engines"):

1. **Panel.** The committed month files of the store (:meth:`tension.store.Store.files`),
   in a few runs of consecutive months (pinned round-robin to the workers), are read on
   the workers and reduced with the same DuckDB ``GROUP BY`` as the local path
   (:func:`tension.dyads.event_counts`) into long rows. The long rows between two
   countries are split by :func:`tension.dyads.bucket_of` (both directions of a pair in
   one bucket) and shuffled into dyad-hash buckets: every bucket holds all history of
   its dyads. Side keys travel as categoricals (codes, never a string per row). The
   country-level pass (:func:`tension.dyads.country_context`) runs once over all long
   rows on one worker; its result is moved to the others by the scheduler (a future,
   never through the driver). :func:`tension.panel.build_bucket` then maps over the
   buckets (pinned evenly over the workers); each result travels back as plain numpy
   columns plus its dyad list while the other buckets still compute
   (``as_completed``), and the driver writes every column once into its final place:
   buckets are sorted by (dyad, period) already, so interleaving them by the (few)
   dyads gives the local order without a row sort. Long rows are pre-aggregated per run
   of month files before the shuffle (a map-side combine), so only aggregated rows
   travel, never raw events; since every downstream step sums rows, a (dyad, week)
   split over two month files sums to the same value. The local cluster's workers keep
   glibc's adaptive mmap threshold (see :func:`_local_cluster`).
2. **Backtest.** :func:`tension.backtest.run_backtest` itself with a :class:`ClusterExecutor`:
   the protocol runs on the driver, each (model, run of refit blocks) is a task (the feature
   matrix sent once) that logs a child MLflow run when ``parent_run_id`` is given.
3. **Scoring.** One task per horizon calls :func:`tension.scoring.score`; ranks are per
   horizon, so the concatenation equals the local table.

Equality: identical rows and integer columns; float columns equal within ``rtol=1e-9`` (Goldstein
sums are added in a different order) - ``tests/test_engines.py`` states and checks this.

Examples
--------
>>> with get_engine("local") as engine:       # doctest: +SKIP
...     panel = engine.build_panel("data/store", freq="W")
>>> with get_engine("dask") as engine:        # a LocalCluster with 2 worker processes  # doctest: +SKIP
...     panel = engine.build_panel("s3://bucket/events", freq="W")
"""
from __future__ import annotations

import contextlib
import dataclasses
import operator
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd

from . import periods
from .backtest import BacktestResult, BacktestSpec, run_backtest
from .config import Experiment, PanelConfig
from .dyads import check_kind, country_context, dyadic_mask, event_counts
from .dyads import monitored_bucket as _monitored_bucket
from .dyads import pair_buckets as _pair_buckets
from .errors import UsageError, problem
from .features import FEATURES
from .panel import build_bucket, merge_packed, pack_rows
from .panel import build_panel as _local_build_panel
from .scoring import score as _local_score
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["ENGINES", "Engine", "LocalEngine", "DaskEngine", "ClusterExecutor", "get_engine", "engine_options", "EVENT_COUNT_COLUMNS"]

ENGINES: tuple[str, ...] = ("local", "dask")

EVENT_COUNT_COLUMNS: tuple[str, ...] = (
    "date", "source_country", "source_org", "target_country", "target_org", "family", "cameo_code", "quad_class", "goldstein",
)
"""Event columns :func:`tension.dyads.event_counts` reads (the only ones workers load)."""

Progress = Callable[[str], None]


# --------------------------------------------------------------------------- choosing


def engine_options() -> dict[str, Any]:
    """Typer option types for ``--engine`` and ``--scheduler`` (one definition for every command).

    Usage in a CLI command::

        opts = engine_options()
        def panel(..., engine: opts["engine"] = "local", scheduler: opts["scheduler"] = None):
            with get_engine(engine, scheduler) as eng:
                frame = eng.build_panel(store, freq=freq, ...)
    """
    import typer

    return {
        "engine": Annotated[str, typer.Option("--engine", help="Where to run: local (this process) or dask (a Dask cluster).")],
        "scheduler": Annotated[
            str | None,
            typer.Option("--scheduler", help="Address of an existing Dask scheduler (tcp://host:8786); "
                         "default with --engine dask: a local cluster of 2 worker processes."),
        ],
    }


def get_engine(name: str = "local", scheduler: str | None = None, *, n_workers: int = 2, client: Any = None) -> Engine:
    """The engine called ``name`` (``local`` or ``dask``); use it as a context manager.

    ``scheduler``: address of a running Dask scheduler (``tcp://10.0.0.5:8786``); without
    it ``dask`` starts a :class:`distributed.LocalCluster` of ``n_workers`` worker
    processes (one thread each) and stops it on exit. ``client``: an existing
    :class:`distributed.Client` to use instead (not closed on exit).
    """
    key = str(name).strip().lower()
    if key not in ENGINES:
        from .errors import did_you_mean

        raise UsageError(problem("Unknown engine.", "local or dask", name, "Use --engine local or --engine dask." + did_you_mean(key, list(ENGINES))))
    if key == "local":
        if scheduler:
            raise UsageError(problem("--scheduler only applies to the Dask engine.", "--engine dask with --scheduler", f"--engine local --scheduler {scheduler}",
                                     "Add --engine dask, or drop --scheduler."))
        return LocalEngine()
    return DaskEngine(scheduler=scheduler, n_workers=n_workers, client=client)


class Engine:
    """Common interface; see :class:`LocalEngine` and :class:`DaskEngine`."""

    name = "engine"

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release resources (a cluster this engine started)."""

    def describe(self) -> dict[str, Any]:
        """What runs where (for ``--json`` output and MLflow tags)."""
        return {"engine": self.name}

    def build_panel(self, source: Any, freq: str = "W", dyads: str = "directed", config: PanelConfig | None = None,
                    features: Sequence[Any] = FEATURES, start: Any = None, end: Any = None,
                    regions: Mapping[str, Sequence[str]] | None = None, blocs: Mapping[str, Sequence[str]] | None = None,
                    on_progress: Progress | None = None) -> pd.DataFrame:
        raise NotImplementedError

    def run_backtest(self, panel: pd.DataFrame, spec: BacktestSpec, models: Any = None, **kwargs: Any) -> BacktestResult:
        raise NotImplementedError

    def score(self, model: Any, panel: pd.DataFrame, as_of: Any = None, horizons: Sequence[int] = (1, 3, 6),
              previous: pd.DataFrame | None = None, **kwargs: Any) -> pd.DataFrame:
        raise NotImplementedError


def _event_source(source: Any) -> Any:
    """A Store for paths/URLs; an object store is read through fsspec (DuckDB has no S3 reader here)."""
    if isinstance(source, pd.DataFrame):
        return source
    store = _as_store(source)
    if getattr(store, "is_local", True):
        return store
    files = store.files()
    if not files:
        return store  # the panel stage raises its "no events" message
    return store.read(columns=list(EVENT_COUNT_COLUMNS))


def _as_store(source: Any) -> Any:
    """A :class:`Store` for a location; anything with ``files()`` (a Store, a file list adapter) as is."""
    return source if hasattr(source, "files") and not isinstance(source, (str, os.PathLike)) else Store(str(source))


class LocalEngine(Engine):
    """Everything in this process: the library functions themselves."""

    name = "local"

    def build_panel(self, source: Any, freq: str = "W", dyads: str = "directed", config: PanelConfig | None = None,
                    features: Sequence[Any] = FEATURES, start: Any = None, end: Any = None,
                    regions: Mapping[str, Sequence[str]] | None = None, blocs: Mapping[str, Sequence[str]] | None = None,
                    on_progress: Progress | None = None) -> pd.DataFrame:
        """:func:`tension.panel.build_panel` (object stores are read through fsspec first)."""
        return _local_build_panel(_event_source(source), freq, dyads, config, features, start, end, regions=regions, blocs=blocs,
                                  on_progress=on_progress)

    def run_backtest(self, panel: pd.DataFrame, spec: BacktestSpec, models: Any = None, *, parent_run_id: str | None = None,
                     experiment: Experiment | None = None, **kwargs: Any) -> BacktestResult:
        """:func:`tension.backtest.run_backtest`; with ``parent_run_id`` and ``experiment``, one child MLflow run per model.

        The Dask engine's child runs (:func:`_log_worker_run`), one per model here instead of one per
        task; the first model's ``seconds`` include the leakage check.
        """
        if experiment is None or not parent_run_id:
            return run_backtest(panel, spec, models, **kwargs)
        user_progress = kwargs.pop("on_progress", None)
        finished: list[tuple[str, float]] = []

        def on_progress(name: str) -> None:
            finished.append((name, time.perf_counter()))
            if user_progress:
                user_progress(name)

        t0 = time.perf_counter()
        result = run_backtest(panel, spec, models, on_progress=on_progress, **kwargs)
        for name, t1 in finished:
            pred = result.predictions[result.predictions["model"] == name]
            _log_worker_run(pred, [], experiment, parent_run_id, f"local {name} {spec.start.date()}..{spec.end.date()}",
                            {"seconds": t1 - t0, "rows": float(len(pred)), "origins": float(pred["origin"].nunique()) if len(pred) else 0.0})
            t0 = t1
        return result

    def score(self, model: Any, panel: pd.DataFrame, as_of: Any = None, horizons: Sequence[int] = (1, 3, 6),
              previous: pd.DataFrame | None = None, **kwargs: Any) -> pd.DataFrame:
        """:func:`tension.scoring.score`."""
        return _local_score(model, panel, as_of, horizons, previous, **kwargs)


# --------------------------------------------------------------------------- Dask: tasks (pure, run on workers)


class _Files:
    """Parquet files in the shape :func:`tension.dyads.event_counts` reads (``files()``), so DuckDB scans them directly."""

    is_local = True

    def __init__(self, paths: list[str]):
        self._paths = paths

    def files(self, start: Any = None, end: Any = None) -> list[str]:
        return self._paths


def _read_part(part: Any, storage_options: Mapping[str, Any]) -> Any:
    """Events of some month files or an in-memory chunk: local files go to DuckDB as they are, remote ones via fsspec."""
    if isinstance(part, pd.DataFrame):
        return part
    paths = [str(p) for p in part]
    if all("://" not in p or p.startswith("file://") for p in paths):
        return _Files([p.removeprefix("file://") for p in paths])
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .schema import events_from_arrow

    tables = []
    for path in paths:
        with fsspec.open(path, "rb", **dict(storage_options)) as fh:
            tables.append(pq.read_table(fh, columns=list(EVENT_COUNT_COLUMNS)))
    return events_from_arrow(pa.concat_tables(tables))


def _split_files(files: list[str], n: int) -> list[list[str]]:
    """``files`` in at most ``n`` runs of consecutive files of about equal bytes (local files; others by count)."""
    n = max(1, min(n, len(files)))
    try:
        sizes = np.array([os.path.getsize(f.removeprefix("file://")) for f in files], dtype=np.float64)
    except OSError:  # remote (s3://...) or unreadable here: equal counts
        sizes = np.ones(len(files))
    ends = np.concatenate([[0.0], np.cumsum(sizes)])  # ends[k]: bytes of files[:k]
    targets = ends[-1] * np.arange(1, n) / n
    above = np.searchsorted(ends, targets, side="left")  # first cut with at least the target's bytes
    below = np.maximum(above - 1, 0)
    cuts = np.where(np.abs(ends[below] - targets) <= np.abs(ends[above] - targets), below, above)  # the closer cut
    bounds = np.unique(np.clip(np.concatenate([[0], cuts, [len(files)]]), 0, len(files)))
    return [files[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _part_counts(part: Any, freq: str, start: Any, end: Any, n_buckets: int, storage_options: Mapping[str, Any]) -> list[pd.DataFrame]:
    """Map step: some month files -> their long rows in ``n_buckets + 1`` pieces.

    Returns ``[bucket 0 rows, ..., bucket n-1 rows, other rows]``: the rows between two
    countries split by dyad bucket, then the rest (organisations, one-sided, domestic).
    The country pass reads all pieces, a bucket only its own; side keys stay categoricals
    (codes and a few categories travel, not a string per row).
    """
    events = _read_part(part, storage_options)
    counts = event_counts(events, freq, start, end, threads=1)  # one map task per worker thread
    dyadic = dyadic_mask(counts)
    rows = counts[dyadic]
    bucket = _pair_buckets(rows["s"], rows["t"], n_buckets) if len(rows) else np.zeros(0, dtype=np.int64)
    out = [rows[bucket == b] for b in range(n_buckets)]
    out.append(counts[~dyadic])
    return out


def _concat_rows(pieces: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Long rows of several pieces in one frame; side keys recoded to one shared sorted category list (no strings)."""
    pieces = [p for p in pieces if len(p)] or list(pieces[:1])
    if len(pieces) == 1:
        return pieces[0]
    cats = sorted(set().union(*(set(p[c].cat.categories) for p in pieces for c in ("s", "t"))))
    dtype = pd.CategoricalDtype(pd.Index(cats, dtype=object))
    recoded = [p.assign(s=p["s"].cat.set_categories(dtype.categories), t=p["t"].cat.set_categories(dtype.categories)) for p in pieces]
    return pd.concat(recoded, ignore_index=True)


def _country_pass(parts: list[pd.DataFrame], freq: str, config: PanelConfig, regions: Any, start: Any, end: Any, blocs: Any) -> Any:
    """The country-level pass over every long row (run once, on one worker; its result moves to the others)."""
    with _one_blas_thread():
        return country_context(_concat_rows(parts), freq, config, regions=regions, start=start, end=end, blocs=blocs)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS/OpenMP pools at one thread inside a task (a worker thread is one core's worth of work; any cluster)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        yield
        return
    with threadpool_limits(1):
        yield


def _bucket_panel(pieces: list[pd.DataFrame], context: Any, dyads: str, config: PanelConfig, features: Sequence[Any],
                  monitored: tuple[str, ...]) -> dict[str, Any] | None:
    """Reduce step: one dyad-hash bucket (all history of its dyads) -> its panel rows, packed for the trip.

    :func:`tension.panel.pack_rows`: rows are sorted by (dyad, period) already, so the driver
    merges buckets by dyad without a sort (:func:`tension.panel.merge_packed`), and no string
    per row travels.
    """
    rows = _concat_rows(pieces)
    if rows.empty and not monitored:
        return None
    with _one_blas_thread():
        frame = build_bucket(rows, context, dyads, config, features, monitored=monitored)
    return pack_rows(frame) if len(frame) else None


def _log_worker_run(predictions: pd.DataFrame, warns: list[str], experiment: Experiment, parent_run_id: str, run_name: str,
                    extra: Mapping[str, float]) -> str | None:
    """One child run of the driver's run for a worker task (through tension.tracking)."""
    from . import tracking

    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = "driver"
    result = SimpleNamespace(predictions=predictions, metrics=None, warnings=[f"worker {worker}", *warns])
    for attempt in range(5):  # SQLite: two workers may commit at the same moment
        try:
            return tracking.track_backtest(result, experiment=experiment, parent_run_id=parent_run_id, run_name=run_name,
                                           nested_origins=False, extra_metrics=dict(extra))
        except Exception as exc:  # noqa: BLE001 - retry only "database is locked"
            if "locked" not in str(exc) or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    return None


def _tracked(fn: Callable[..., Any], track: tuple[Experiment, str] | None, *args: Any) -> Any:
    """Run one backtest task (``fn(*args)`` -> (predictions, warnings)); with ``track``, log it as a child MLflow run."""
    t0 = time.perf_counter()
    pred, warns = fn(*args)
    if track is not None:
        experiment, parent = track
        label = (f"{pred['model'].iloc[0]} {pd.Timestamp(pred['origin'].min()).date()}..{pd.Timestamp(pred['origin'].max()).date()}"
                 if len(pred) else "no predictions")
        _log_worker_run(pred, list(warns), experiment, parent, f"worker {label}",
                        {"seconds": time.perf_counter() - t0, "rows": float(len(pred)),
                         "origins": float(pred["origin"].nunique()) if len(pred) else 0.0})
    return pred, warns


class ClusterExecutor:
    """A ``concurrent.futures``-style executor on a Dask cluster, for :func:`tension.backtest.run_backtest`.

    ``submit(fn, *args)`` sends every large argument (a DataFrame, or anything not a plain
    value) to the workers once (``scatter``, broadcast) and reuses it for later tasks, so the
    panel's feature matrix travels once, not once per task. With ``track`` each task logs a
    child MLflow run of the driver's run from its worker.
    """

    _PLAIN = (str, bytes, int, float, bool, type(None), pd.Timestamp, pd.DatetimeIndex)

    def __init__(self, client: Any, track: tuple[Experiment, str] | None = None):
        self.client = client
        self.track = track
        self._sent: dict[int, tuple[Any, Any]] = {}

    def _send(self, value: Any) -> Any:
        if isinstance(value, self._PLAIN):
            return value
        key = id(value)
        if key not in self._sent:  # keep the object alive with its future, so its id is not reused
            self._sent[key] = (value, self.client.scatter(value, broadcast=True, hash=False))
        return self._sent[key][1]

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(_tracked, fn, self.track, *[self._send(a) for a in args], pure=False)


def _score_horizon(model: Any, panel: pd.DataFrame, as_of: Any, horizon: int, previous: Any, kwargs: Mapping[str, Any]) -> pd.DataFrame:
    return _local_score(model, panel, as_of, (horizon,), previous, **dict(kwargs))


# --------------------------------------------------------------------------- Dask: driver


def _local_cluster(cls: Any, n_workers: int, memory_limit: str | float | None = "auto") -> Any:
    """A local cluster of ``n_workers`` one-thread worker processes that allocate memory like this process does.

    Dask's default ``MALLOC_TRIM_THRESHOLD_`` for workers fixes glibc's mmap threshold at
    128 KiB, so every large temporary array of the panel's numpy work is a fresh mmap
    whose pages fault in again (measured: ~3x the page faults and seconds of system time
    per bucket at 10M events); left unset, workers reuse freed memory as the local engine
    does. BLAS/OpenMP stay at one thread (Dask's defaults).
    """
    import dask

    key = "MALLOC_TRIM_THRESHOLD_"
    default = dask.config.get(f"distributed.nanny.pre-spawn-environ.{key}", None)
    # a cluster started earlier in this process left Dask's value in os.environ (Nanny sets it there): hide it while spawning
    inherited = os.environ.pop(key, None) if default is not None and os.environ.get(key) == str(default) else None
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{key}": None}):
            return cls(n_workers=n_workers, processes=True, threads_per_worker=1, dashboard_address=":0", memory_limit=memory_limit)
    finally:
        if inherited is not None:
            os.environ[key] = inherited


class DaskEngine(Engine):
    """The same pure functions as :class:`LocalEngine`, run as Dask tasks.

    Parameters
    ----------
    scheduler : address of a running scheduler, or None for a local cluster
    n_workers : worker processes of the local cluster (one thread each)
    client : an existing :class:`distributed.Client` (takes precedence; not closed)
    n_buckets : dyad-hash buckets (default: 2 per worker thread)
    connect_timeout : how long to try reaching ``scheduler``
    memory_limit : each local worker's memory limit (``"4GB"``; default ``"auto"``: the machine's share);
        a worker past 60% of it spills to disk, past 95% it is restarted
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, n_workers: int = 2, client: Any = None, n_buckets: int | None = None,
                 connect_timeout: str = "10s", n_parts: int | None = None, memory_limit: str | float | None = "auto"):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - a declared dependency
            raise UsageError(problem("The Dask engine needs the 'distributed' package.", "dask[distributed] installed", "not installed",
                                     "pip install 'dask[distributed]' or use --engine local.")) from None
        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
        elif scheduler:
            try:
                self.client = Client(scheduler, timeout=connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise UsageError(problem("Cannot reach the Dask scheduler.", "a running `dask scheduler` at that address", scheduler,
                                         f"Start it (dask scheduler; dask worker {scheduler}) or drop --scheduler for a local cluster. ({exc})")) from None
        else:
            if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
                raise UsageError(problem("The number of Dask workers must be a positive integer.", "1 or more", n_workers))
            self._cluster = _local_cluster(LocalCluster, n_workers, memory_limit)
            self.client = Client(self._cluster, direct_to_workers=True)
        self._n_buckets = n_buckets
        self._n_parts = n_parts

    # -- housekeeping -------------------------------------------------------------------
    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    @property
    def threads(self) -> int:
        """Worker threads in the cluster (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def _slots(self) -> list[list[str] | None]:
        """One entry per worker thread, workers interleaved (``[[a], [b], [a], [b]]``): where to pin the i-th of a set of equal tasks."""
        threads = self.client.nthreads()
        most = max(threads.values(), default=1)
        slots = [[w] for k in range(most) for w in sorted(threads) if threads[w] > k]
        return slots or [None]

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "scheduler": self.client.scheduler.address, "workers": len(self.client.nthreads()),
                "threads": self.threads}

    # -- panel --------------------------------------------------------------------------
    def build_panel(self, source: Any, freq: str = "W", dyads: str = "directed", config: PanelConfig | None = None,
                    features: Sequence[Any] = FEATURES, start: Any = None, end: Any = None,
                    regions: Mapping[str, Sequence[str]] | None = None, blocs: Mapping[str, Sequence[str]] | None = None,
                    on_progress: Progress | None = None) -> pd.DataFrame:
        """Build the panel on the cluster; the same rows as :func:`tension.panel.build_panel`.

        ``source``: a Store, a store location (folder or fsspec URL workers can reach) or a
        canonical events DataFrame (split into chunks and scattered).
        """
        cfg = config or PanelConfig()
        freq = periods.check(freq)
        check_kind(dyads)
        step = on_progress or (lambda _name: None)
        client = self.client
        n_buckets = self._n_buckets or 2 * self.threads
        if isinstance(source, pd.DataFrame):
            if source.empty:
                raise UsageError(problem("No events in the requested range.", "at least one event", "0 events", "Check the data."))
            n = max(1, min(4 * self.threads, len(source) // 50_000 or 1))
            parts: list[Any] = client.scatter([source.iloc[i::n] for i in range(n)])
            options: dict[str, Any] = {}
        else:
            store = _as_store(source)
            files = store.files(start, end)
            if not files:
                raise UsageError(problem("The event store holds no events.", "at least one committed Parquet file", "0 files",
                                         "Ingest events first: tension ingest FILE."))
            options = dict(getattr(getattr(store, "fs", None), "storage_options", None) or {})
            parts = _split_files([str(f) for f in files], self._n_parts or self.threads)  # one map task per worker thread
        from distributed import as_completed, wait

        slots = self._slots()
        mapped = [client.submit(_part_counts, part, freq=freq, start=start, end=end, n_buckets=n_buckets, storage_options=options,
                                pure=False, workers=slots[i % len(slots)], allow_other_workers=True) for i, part in enumerate(parts)]
        pieces = [[client.submit(operator.getitem, f, b, pure=False) for f in mapped] for b in range(n_buckets + 1)]
        wait(mapped)
        step("aggregate")
        # the context stays on the cluster: the scheduler moves it once to each worker that needs it
        context = client.submit(_country_pass, [p for ps in pieces for p in ps], freq, cfg, regions, start, end, blocs, pure=False)
        wait(context)
        step("country pass")
        monitored: dict[int, list[str]] = {}
        for item in cfg.monitored:
            monitored.setdefault(_monitored_bucket(item, n_buckets), []).append(item)
        buckets = [client.submit(_bucket_panel, pieces[b], context, dyads, cfg, tuple(features), tuple(monitored.get(b, ())), pure=False,
                                 workers=slots[b % len(slots)], allow_other_workers=True)  # spread evenly, not by where data lies
                   for b in range(n_buckets)]
        empty = pieces[0][0]  # bucket 0 of the first part: the long-rows columns, for a panel without dyad rows
        del pieces, mapped
        frames = []
        for future in as_completed(buckets):  # a finished bucket travels while the others compute
            result = client.gather(future, direct=True)
            if result is not None:
                frames.append(result)
        step("features")  # computing and gathering overlap (as_completed)
        if frames:
            panel = merge_packed(frames, threads=min(4, os.cpu_count() or 1))
        else:  # no dyad rows at all: the (empty) local result, with its columns
            panel = build_bucket(client.gather(empty, direct=True), client.gather(context, direct=True), dyads, cfg, features)
        panel.attrs["freq"] = freq
        panel.attrs["dyads"] = dyads
        panel.attrs["features"] = [f.__name__ for f in features]
        step("order")
        return panel

    # -- backtest -----------------------------------------------------------------------
    def run_backtest(self, panel: pd.DataFrame, spec: BacktestSpec, models: Any = None, *, parent_run_id: str | None = None,
                     experiment: Experiment | None = None, chunks_per_model: int | None = None, **kwargs: Any) -> BacktestResult:
        """:func:`tension.backtest.run_backtest` with its tasks on the cluster (:class:`ClusterExecutor`).

        Each model's refit blocks go out in ``chunks_per_model`` runs (default: 2 per worker
        thread); with ``parent_run_id`` and ``experiment`` every task logs a child MLflow run.
        """
        track = None
        if experiment is not None and parent_run_id:
            from . import tracking

            uri = tracking.ensure_store(tracking.tracking_uri(experiment.tracking))  # once, before any parallel work
            experiment = dataclasses.replace(experiment, tracking=dataclasses.replace(experiment.tracking, uri=uri))  # absolute for workers
            track = (experiment, parent_run_id)
        return run_backtest(panel, spec, models, executor=ClusterExecutor(self.client, track),
                            parts=chunks_per_model or 2 * self.threads, **kwargs)

    # -- scoring ------------------------------------------------------------------------
    def score(self, model: Any, panel: pd.DataFrame, as_of: Any = None, horizons: Sequence[int] = (1, 3, 6),
              previous: pd.DataFrame | None = None, **kwargs: Any) -> pd.DataFrame:
        """:func:`tension.scoring.score` with one task per horizon (ranks are per horizon)."""
        hs = tuple(int(h) for h in horizons)
        if len(hs) <= 1:
            return self.client.submit(_score_horizon, model, panel, as_of, hs[0] if hs else 0, previous, kwargs, pure=False).result()
        shared = self.client.scatter(panel, broadcast=True)
        parts = self.client.gather([self.client.submit(_score_horizon, model, shared, as_of, h, previous, kwargs, pure=False) for h in hs])
        out = pd.concat(parts, ignore_index=True)
        out = out.sort_values(["horizon", "rank", "dyad"], kind="stable", na_position="last").reset_index(drop=True)
        out.attrs = dict(parts[0].attrs)
        return out


