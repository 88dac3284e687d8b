"""The dyad panel: events -> base counts and coverage -> every registered feature.

:func:`build_panel` runs three pure steps (see :mod:`tension.dyads`): one DuckDB
aggregation, one small country-level pass, and :func:`build_bucket` over one bucket
holding every dyad. A distributed engine shuffles the long rows into dyad-hash
buckets (:func:`tension.dyads.bucket_of`) and maps :func:`build_bucket` over them
with the same country context; its rows are identical.

:func:`build_bucket` cuts a large bucket into chunks of whole country pairs of about
:data:`CHUNK_CELLS` dyad x period cells, computes them (on ``threads`` threads) and
merges their rows in (dyad, period) order. A feature's temporaries then stay about a
megabyte: reused by the allocator and in cache, instead of fresh pages for every array
(figures in docs/panel.md, "Speed").
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from . import periods
from .config import PanelConfig
from .dyads import (
    CountryContext,
    base_frame,
    check_kind,
    country_context,
    dyad_arrays,
    dyadic_rows,
    event_counts,
    monitored_pairs,
    pair_keys,
    take_strings,
)
from .features import FEATURES, Builder

__all__ = ["build_panel", "build_bucket", "pack_rows", "merge_packed", "CHUNK_CELLS"]

CHUNK_CELLS = 160_000
"""Country pair x period cells per chunk of :func:`build_bucket` (float64 temporaries of about 1.3 MB)."""
_LABELS = ("dyad", "source", "target")

Progress = Callable[[str], None]


def build_bucket(
    bucket: pd.DataFrame,
    context: CountryContext,
    dyads: str = "directed",
    config: PanelConfig | None = None,
    features: Sequence[Builder] = FEATURES,
    monitored: Iterable[str] | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """Panel rows (base columns + features) of the dyads in one bucket of long rows, sorted by (dyad, period).

    ``bucket``: rows of :func:`tension.dyads.event_counts` between two different countries,
    holding all history of its dyads in both directions. Pure: same inputs, same rows.
    ``monitored`` defaults to ``config.monitored`` (a distributed engine passes only those
    of this bucket). ``threads`` > 1 computes chunks (or, for one chunk, features)
    concurrently; numpy releases the GIL and each writes its own rows, so the result does
    not depend on it.
    """
    cfg = config or PanelConfig()
    watch = tuple(cfg.monitored if monitored is None else monitored)
    pair, keys = pair_keys(bucket["s"], bucket["t"])
    present = np.bincount(pair) > 0
    n = _chunk_count(present, context.n_periods)
    if n == 1:
        return _build_chunk(bucket, context, dyads, cfg, features, watch, threads)
    row_chunk, chunk_of = _pair_chunks(pair, keys, present, n)
    order = np.argsort(row_chunk, kind="stable")  # small ints: a radix sort
    bounds = np.searchsorted(row_chunk[order], np.arange(n + 1))
    mine: dict[int, list[str]] = {}
    for item in watch:  # a monitored dyad goes with its pair's rows (to one chunk only)
        mine.setdefault(chunk_of(item), []).append(item)

    def one(c: int) -> pd.DataFrame | None:
        take = order[bounds[c] : bounds[c + 1]]
        if not len(take) and c not in mine:
            return None
        return _build_chunk(bucket.iloc[take], context, dyads, cfg, features, tuple(mine.get(c, ())), 1)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        frames = [f for f in pool.map(one, range(n)) if f is not None]
    return _merge_chunks(frames, threads)


def _build_chunk(
    bucket: pd.DataFrame,
    context: CountryContext,
    dyads: str,
    cfg: PanelConfig,
    features: Sequence[Builder],
    watch: tuple[str, ...],
    threads: int,
) -> pd.DataFrame:
    """:func:`build_bucket` of one chunk: dense arrays, selection, base columns, every feature."""
    arrays = dyad_arrays(bucket, context, dyads, watch)
    selected = arrays.selected(periods.lookback(context.freq, cfg.lookback_months), watch)
    frame = base_frame(arrays, selected)
    if not features:
        return frame
    flat = np.flatnonzero(selected.ravel())
    every = len(flat) == selected.size
    block = np.empty((len(features), len(flat)), dtype=np.float32)  # one float32 block, no per-column copies

    def compute(i: int) -> None:
        builder = features[i]
        values = np.asarray(builder(arrays))
        if values.shape != arrays.shape:
            raise ValueError(f"Feature {builder.__name__} returned shape {values.shape}, expected {arrays.shape}.")
        if every:
            block[i] = values.reshape(-1)
        elif values.dtype == np.float32:
            np.take(values.reshape(-1), flat, out=block[i])
        else:
            block[i] = np.take(values.reshape(-1), flat)  # an index gather: far cheaper than a boolean mask

    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(compute, range(len(features))))
    else:
        for i in range(len(features)):
            compute(i)
    feats = pd.DataFrame(block.T, columns=[f.__name__ for f in features], index=frame.index, copy=False)
    return pd.concat([frame, feats], axis=1)


def build_panel(
    source: Any,
    freq: str = "W",
    dyads: str = "directed",
    config: PanelConfig | None = None,
    features: Sequence[Builder] = FEATURES,
    start: Any = None,
    end: Any = None,
    regions: Mapping[str, Sequence[str]] | None = None,
    blocs: Mapping[str, Sequence[str]] | None = None,
    on_progress: Progress | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Build the dyad panel: one row per selected dyad x period with base columns and features.

    Parameters
    ----------
    source : Store, store folder, or canonical events DataFrame (``tension.schema``)
    freq : ``D`` day, ``W`` ISO week (Monday label), ``M`` month (first-day label)
    dyads : ``directed`` (``ARM>AZE``) or ``undirected`` (``ARM|AZE``)
    config : panel configuration (lookback, monitored dyads, coverage rule, ally blocs)
    features : builders to compute (default: every registered one)
    start, end : inclusive event date range (None: everything)
    regions : region name -> ISO3 codes for the region temperature (default: South Caucasus)
    blocs : bloc code -> member ISO3 codes for allies (default: ``config.ally_blocs`` members
        from ``tension.actors.ORGANISATIONS``)
    on_progress : called with a step name after each step (CLI progress bar)
    threads : feature threads (default: the machine's cores, at most 4); results do not depend on it

    Returns
    -------
    DataFrame sorted by (dyad, period) with ``attrs`` ``freq``, ``dyads``, ``features``.

    Examples
    --------
    >>> from tension.schema import conform
    >>> ev = conform(pd.DataFrame({"event_id": ["1", "2"], "date": ["2024-01-03", "2024-01-10"],
    ...     "source_country": ["ARM", "AZE"], "target_country": ["AZE", "ARM"], "cameo_code": ["190", "112"],
    ...     "root_code": ["19", "11"], "quad_class": [4, 3], "goldstein": [-10.0, -2.0], "family": ["incident", "denial"]}))
    >>> p = build_panel(ev, freq="W", dyads="undirected")
    >>> p[["dyad", "period", "hostile_intensity", "incidents_hostile_intensity_4p"]].to_string(index=False)
    '   dyad     period  hostile_intensity  incidents_hostile_intensity_4p\\nARM|AZE 2024-01-01               10.0                            10.0\\nARM|AZE 2024-01-08                2.0                            12.0'
    """
    cfg = config or PanelConfig()
    freq = periods.check(freq)
    check_kind(dyads)
    step = on_progress or (lambda _name: None)
    counts = event_counts(source, freq, start, end)
    step("aggregate")
    context = country_context(counts, freq, cfg, regions=regions, start=start, end=end, blocs=blocs)
    step("country pass")
    n_threads = threads if threads is not None else min(4, os.cpu_count() or 1)
    rows = dyadic_rows(counts)
    del counts  # the features read only the rows between two countries: free the rest before building them
    panel = build_bucket(rows, context, dyads, cfg, tuple(features), threads=n_threads)
    step("features")
    panel.attrs["freq"] = freq
    panel.attrs["dyads"] = dyads
    panel.attrs["features"] = [f.__name__ for f in features]
    return panel


def _chunk_count(present: np.ndarray, n_periods: int) -> int:
    """Chunks of about :data:`CHUNK_CELLS` cells (unordered country pairs x periods); ``present[k]``: pair key k has rows."""
    pairs = int(np.count_nonzero(present))
    return int(np.clip(round(2 * pairs * n_periods / CHUNK_CELLS), 1, 256))  # up to 2 directed dyads a pair


def _pair_chunks(pair: np.ndarray, keys: pd.Index, present: np.ndarray, n: int) -> tuple[np.ndarray, Callable[[str], int]]:
    """Chunk of each row (unordered pairs in key order, cut into ``n`` runs of about equal pairs), and of a monitored dyad."""
    rank = np.cumsum(present) - 1
    lut = (rank * n // max(1, int(present.sum()))).astype(np.int16)

    def chunk_of(item: str) -> int:
        (a, b), = monitored_pairs([item], "undirected")  # raises the helpful message for an unreadable item
        where = keys.get_indexer(pd.Index([a, b], dtype=object))
        key = int(where[0]) * len(keys) + int(where[1])
        return int(lut[key]) if (where >= 0).all() and key < len(present) and present[key] else 0  # no rows: any one chunk

    return lut[pair], chunk_of


def _merge_chunks(frames: Sequence[pd.DataFrame], threads: int = 1) -> pd.DataFrame:
    """Panels of disjoint chunks (each sorted by dyad, period) -> one panel sorted by (dyad, period)."""
    nonempty = [f for f in frames if len(f)]
    if len(nonempty) <= 1:
        return nonempty[0] if nonempty else frames[0]
    return merge_packed([pack_rows(f) for f in nonempty], threads)


def pack_rows(frame: pd.DataFrame) -> dict[str, Any]:
    """Panel rows of one chunk or bucket (sorted by dyad, period) as plain parts, no string per row.

    ``columns`` (column order), ``pairs`` ((source, target, dyad) per dyad, in row order),
    ``lengths`` (rows per dyad) and ``data`` (every other column: numpy, or pandas for an
    extension dtype). A distributed engine sends these from its workers.
    """
    columns = list(frame.columns)
    if tuple(columns[: len(_LABELS)]) != _LABELS:
        raise ValueError(f"Panel rows must start with the columns {_LABELS}; got {columns[:3]}.")
    codes, labels = pd.factorize(frame["dyad"], sort=False)
    first = np.flatnonzero(np.diff(codes, prepend=-1))
    if len(first) != len(labels):  # never: build_bucket sorts by dyad
        raise AssertionError("panel rows are not grouped by dyad")
    pairs = list(zip(frame["source"].iloc[first].tolist(), frame["target"].iloc[first].tolist(), frame["dyad"].iloc[first].tolist(), strict=True))
    data = {c: frame[c].to_numpy() if isinstance(frame[c].dtype, np.dtype) else frame[c] for c in columns[len(_LABELS) :]}
    return {"columns": columns, "pairs": pairs, "lengths": np.diff(np.append(first, len(frame))), "data": data}


def merge_packed(parts: Sequence[Mapping[str, Any]], threads: int = 1) -> pd.DataFrame:
    """:func:`pack_rows` of disjoint dyad sets -> one panel sorted by (dyad, period), as build_bucket sorts.

    The (few) dyads are sorted once and every column is gathered once into its final place
    (no row sort); label columns are rebuilt from the dyads (one Arrow take each). Columns
    keep their order and dtypes.
    """
    columns = list(parts[0]["columns"])
    pairs = [pair for part in parts for pair in part["pairs"]]
    lengths = np.concatenate([part["lengths"] for part in parts])
    total = int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # first row of each dyad, parts one after another
    order = np.array(sorted(range(len(pairs)), key=pairs.__getitem__), dtype=np.int64)  # (source, target)
    out_first = np.empty(len(pairs), dtype=np.int64)
    out_first[order] = np.concatenate([[0], np.cumsum(lengths[order])[:-1]])  # first output row of each dyad
    dest = np.repeat(out_first - starts, lengths) + np.arange(total)  # output row of each row, parts one after another
    bounds = np.cumsum([0] + [int(part["lengths"].sum()) for part in parts])
    dyad_index = np.repeat(np.arange(len(order)), lengths[order])
    ordered = [pairs[i] for i in order]
    labels = {name: take_strings(np.array([p[k] for p in ordered], dtype=object), dyad_index)
              for k, name in ((2, "dyad"), (0, "source"), (1, "target"))}
    out: dict[str, Any] = {}

    def place(name: str) -> None:
        values = [part["data"][name] for part in parts]
        if all(isinstance(v, np.ndarray) for v in values):
            column = np.empty(total, dtype=values[0].dtype)  # one array per column (reused memory, not one fresh block)
            for i, v in enumerate(values):
                column[dest[bounds[i] : bounds[i + 1]]] = v  # runs of consecutive rows: measured faster than a gather
            out[name] = column
        else:  # an extension dtype: pandas does the gathering
            perm = np.empty(total, dtype=np.int64)
            perm[dest] = np.arange(total)
            out[name] = pd.concat([pd.Series(v) for v in values], ignore_index=True).take(perm).array

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:  # numpy releases the GIL while copying
        list(pool.map(place, columns[len(_LABELS) :]))
    return pd.DataFrame({**{name: labels[name] for name in _LABELS}, **{name: out[name] for name in columns[len(_LABELS) :]}}, copy=False)
