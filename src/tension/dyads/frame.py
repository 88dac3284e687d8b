"""The base panel: selected cells of :class:`~tension.dyads.DyadArrays` as rows, and
:func:`aggregate`, the three steps composed (events -> base panel without features).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .. import periods
from ..config import PanelConfig
from ..schema import FAMILIES
from .arrays import DyadArrays, dyad_arrays
from .buckets import check_kind, dyadic_rows
from .context import country_context
from .counts import event_counts

__all__ = ["BASE_COLUMNS", "base_columns", "base_frame", "aggregate", "take_strings"]

BASE_COLUMNS: tuple[str, ...] = (
    "dyad",
    "source",
    "target",
    "period",
    *(f"{f}_count" for f in FAMILIES),
    *(f"{f}_intensity" for f in FAMILIES),
    "material_conflict_count",
    "hostile_intensity",
    "events_dyad",
    "events_global",
    "events_source",
    "events_target",
    "low_coverage",
)
_INT_BASE = {f"{f}_count" for f in FAMILIES} | {"material_conflict_count", "events_dyad"}


def take_strings(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]`` as a pandas ``str`` array (one Arrow take, no Python strings per row)."""
    return pd.Series(pd.array(values.astype(object), dtype="str")).take(index).array


def base_columns(arrays: DyadArrays) -> dict[str, np.ndarray]:
    """Dense ``dyad x period`` arrays of the base columns that are numbers."""
    out: dict[str, np.ndarray] = {}
    for f in FAMILIES:
        out[f"{f}_count"] = arrays.own(f)
    for f in FAMILIES:
        out[f"{f}_intensity"] = arrays.own(f"{f}_intensity")
    out["material_conflict_count"] = arrays.own("material_conflict")
    out["hostile_intensity"] = arrays.own("hostile")
    out["events_dyad"] = arrays.own("events")
    return out


def _block(names: list[str], dtype: type, fill: Iterable[np.ndarray], n: int) -> pd.DataFrame:
    """Columns ``names`` filled one by one into one ``dtype`` block."""
    block = np.empty((len(names), n), dtype=dtype)
    for i, get in enumerate(fill):
        block[i] = get
    return pd.DataFrame(block.T, columns=names, copy=False)


def base_frame(arrays: DyadArrays, selected: np.ndarray) -> pd.DataFrame:
    """Base panel columns for the selected cells, sorted by (dyad, period)."""
    flat = np.flatnonzero(selected.ravel())
    n_t = arrays.shape[1]
    d_idx, t_idx = flat // n_t, flat % n_t
    labels = pd.DataFrame(
        {
            "dyad": take_strings(arrays.labels, d_idx),
            "source": take_strings(arrays.source, d_idx),
            "target": take_strings(arrays.target, d_idx),
            "period": arrays.context.periods[t_idx],
        }
    )
    dense = base_columns(arrays)
    ints = [n for n in dense if n in _INT_BASE]
    floats = [n for n in dense if n not in _INT_BASE]
    int_frame = _block(ints, np.int32, (dense[n].reshape(-1)[flat] for n in ints), len(flat))
    float_frame = _block(floats, np.float32, (dense[n].reshape(-1)[flat] for n in floats), len(flat))
    volume = np.vstack([arrays.context.arrays["volume"], np.zeros((1, n_t))])  # row -1: unknown country
    coverage = [
        arrays.context.events_global[t_idx],
        volume[arrays.src_idx[d_idx], t_idx],
        volume[arrays.tgt_idx[d_idx], t_idx],
    ]
    cover_frame = _block(["events_global", "events_source", "events_target"], np.int64, coverage, len(flat))
    flag = pd.DataFrame({"low_coverage": arrays.context.low_coverage[t_idx]})
    frame = pd.concat([labels, int_frame, float_frame, cover_frame, flag], axis=1)
    return frame[list(BASE_COLUMNS)]


def aggregate(
    source: Any,
    freq: str = "W",
    dyads: str = "directed",
    start: Any = None,
    end: Any = None,
    config: PanelConfig | None = None,
) -> pd.DataFrame:
    """Events -> base panel (no features): one row per selected dyad x period.

    Parameters
    ----------
    source : Store, store folder or canonical events DataFrame
    freq : ``D``, ``W`` or ``M``
    dyads : ``directed`` or ``undirected``
    start, end : inclusive date range of events (None: all)

    Examples
    --------
    >>> from tension.schema import conform
    >>> ev = conform(pd.DataFrame({"event_id": ["1"], "date": ["2024-01-03"], "source_country": ["ARM"],
    ...     "target_country": ["AZE"], "cameo_code": ["190"], "root_code": ["19"], "quad_class": [4],
    ...     "goldstein": [-10.0], "family": ["incident"]}))
    >>> aggregate(ev, freq="W")[["dyad", "period", "material_conflict_count"]].to_dict("records")
    [{'dyad': 'ARM>AZE', 'period': Timestamp('2024-01-01 00:00:00'), 'material_conflict_count': 1}]
    """
    cfg = config or PanelConfig()
    freq = periods.check(freq)
    check_kind(dyads)
    counts = event_counts(source, freq, start, end)
    context = country_context(counts, freq, cfg, start=start, end=end)
    arrays = dyad_arrays(dyadic_rows(counts), context, dyads, cfg.monitored)
    return base_frame(arrays, arrays.selected(periods.lookback(freq, cfg.lookback_months), cfg.monitored))
