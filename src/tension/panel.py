"""The dyad panel: events -> base counts and coverage -> every registered feature.

:func:`build_panel` runs three pure steps (see :mod:`tension.dyads`): one DuckDB
aggregation, one small country-level pass, and :func:`build_bucket` over one bucket
holding every dyad. A distributed engine shuffles the long rows into dyad-hash
buckets (:func:`tension.dyads.bucket_of`) and maps :func:`build_bucket` over them
with the same country context; concatenating and sorting gives identical rows.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from .config import PanelConfig
from .dyads import (
    CountryContext,
    _check,
    base_frame,
    country_context,
    dyad_arrays,
    dyadic_rows,
    event_counts,
    lookback_periods,
)
from .features import FEATURES, Builder

__all__ = ["build_panel", "build_bucket"]

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
    """Panel rows (base columns + features) of the dyads in one bucket of long rows.

    ``bucket``: rows of :func:`tension.dyads.event_counts` between two different countries,
    holding all history of its dyads in both directions. Pure: same inputs, same rows.
    ``monitored`` defaults to ``config.monitored`` (a distributed engine passes only those
    of this bucket). ``threads`` > 1 computes features concurrently (numpy releases the GIL);
    each feature writes its own row of the output block, so the result does not depend on it.
    """
    cfg = config or PanelConfig()
    watch = tuple(cfg.monitored if monitored is None else monitored)
    arrays = dyad_arrays(bucket, context, dyads, watch)
    selected = arrays.selected(lookback_periods(context.freq, cfg.lookback_months), watch)
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
    _check(freq, dyads)
    step = on_progress or (lambda _name: None)
    counts = event_counts(source, freq, start, end)
    step("aggregate")
    context = country_context(counts, freq, cfg, regions=regions, start=start, end=end, blocs=blocs)
    step("country pass")
    n_threads = threads if threads is not None else min(4, os.cpu_count() or 1)
    panel = build_bucket(dyadic_rows(counts), context, dyads, cfg, tuple(features), threads=n_threads)
    step("features")
    panel.attrs["freq"] = freq
    panel.attrs["dyads"] = dyads
    panel.attrs["features"] = [f.__name__ for f in features]
    return panel
