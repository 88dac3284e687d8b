"""Look-ahead leak checks: features at a forecast origin must not change when the data after it is removed."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .errors import TensionError
from .models import feature_matrix

__all__ = ["LeakageError", "LeakageWarning", "check_leakage"]


class LeakageError(TensionError, RuntimeError):
    """Features at an origin depend on data after it (a look-ahead leak)."""

    exit_code = 1


class LeakageWarning(UserWarning):
    """A feature looks suspiciously like the future target (screen without a panel rebuild)."""


def check_leakage(panel: pd.DataFrame, origins: Sequence[pd.Timestamp], rebuild: Callable[[pd.Timestamp], pd.DataFrame] | None = None,
                  y: pd.Series | None = None, n_checks: int = 3, atol: float = 1e-6) -> dict[str, Any]:
    """Prove that features at an origin use no data after it; raise :class:`LeakageError` if they do.

    1. Truncation (always): the feature matrix recomputed from the panel cut at the
       origin must equal the full matrix at the origin.
    2. Rebuild (when ``rebuild(origin)`` is given: a panel built only from events up to
       the end of that period): every feature of every dyad at the origin must be
       unchanged, and the set of dyads the same. This catches leaks in the panel's own
       feature builders.
    3. Without ``rebuild``: a screen warns (:class:`LeakageWarning`) about any single
       feature that separates the future target almost perfectly (ROC-AUC >= 0.995).

    Checks ``n_checks`` origins spread over ``origins``. Returns a summary dict.
    """
    origins = pd.DatetimeIndex(origins)
    picks = origins[np.unique(np.linspace(0, len(origins) - 1, min(n_checks, len(origins))).round().astype(int))] if len(origins) else origins
    full = feature_matrix(panel)
    period = pd.DatetimeIndex(panel["period"])
    problems: list[str] = []
    for origin in picks:
        at = np.asarray(period == origin)
        trunc_panel = panel[np.asarray(period <= origin)]
        trunc_panel.attrs = dict(panel.attrs)
        problems += _compare(full[at], panel["dyad"][at], feature_matrix(trunc_panel).loc[trunc_panel.index[np.asarray(pd.DatetimeIndex(trunc_panel["period"]) == origin)]],
                             trunc_panel["dyad"][np.asarray(pd.DatetimeIndex(trunc_panel["period"]) == origin)], origin, "truncated panel", atol)
        if rebuild is not None:
            rebuilt = rebuild(origin)
            r_at = np.asarray(pd.DatetimeIndex(rebuilt["period"]) == origin)
            problems += _compare(full[at], panel["dyad"][at], feature_matrix(rebuilt)[r_at], rebuilt["dyad"][r_at], origin, "panel rebuilt from events up to the origin", atol)
    if problems:
        raise LeakageError(
            "Look-ahead leak: features at a forecast origin change when the data after it is removed.\n  - "
            + "\n  - ".join(problems[:12])
            + ("\n  - ..." if len(problems) > 12 else "")
            + "\nEvery feature at period t must use periods <= t only. Fix the named feature builder(s)."
        )
    summary: dict[str, Any] = {"origins_checked": [str(o.date()) for o in picks], "rebuild": rebuild is not None, "suspicious": []}
    if rebuild is None and y is not None:
        summary["suspicious"] = _screen(full, y)
        for col, auc in summary["suspicious"]:
            warnings.warn(f"Feature {col!r} separates the future target almost perfectly (ROC-AUC {auc:.3f}); it may look ahead. "
                          "Pass a rebuild function to check properly.", LeakageWarning, stacklevel=2)
    return summary


def _compare(a: pd.DataFrame, a_dyad: pd.Series, b: pd.DataFrame, b_dyad: pd.Series, origin: pd.Timestamp, how: str, atol: float) -> list[str]:
    out: list[str] = []
    A = a.set_axis(a_dyad.to_numpy()).sort_index()
    B = b.set_axis(b_dyad.to_numpy()).sort_index()
    only_a, only_b = A.index.difference(B.index), B.index.difference(A.index)
    if len(only_a) or len(only_b):
        out.append(f"{origin.date()}: dyad selection differs from the {how} ({len(only_a)} only in full, {len(only_b)} only in truncated; e.g. {list(only_a[:2]) + list(only_b[:2])}).")
    common = A.index.intersection(B.index)
    missing_cols = [c for c in A.columns if c not in B.columns]
    if missing_cols:
        out.append(f"{origin.date()}: columns {missing_cols[:5]} are absent from the {how}.")
    cols = [c for c in A.columns if c in B.columns]
    x, z = A.loc[common, cols].to_numpy(dtype=float), B.loc[common, cols].to_numpy(dtype=float)
    same = np.isclose(x, z, atol=atol, rtol=1e-6, equal_nan=True)
    for j in np.flatnonzero(~same.all(axis=0)):
        out.append(f"{origin.date()}: feature {cols[j]!r} differs on {int((~same[:, j]).sum())} of {len(common)} dyads in the {how}.")
    return out


def _screen(X: pd.DataFrame, y: pd.Series, limit: float = 0.995) -> list[tuple[str, float]]:
    ok = y.notna().to_numpy()
    yy = y[ok].to_numpy()
    if yy.sum() < 10 or yy.sum() == len(yy):
        return []
    out = []
    for col in X.columns:
        x = X[col].to_numpy(dtype=float)[ok]
        if np.isnan(x).all() or np.nanstd(x) == 0:
            continue
        auc = roc_auc_score(yy, np.nan_to_num(x, nan=np.nanmedian(x)))
        auc = max(auc, 1 - auc)
        if auc >= limit:
            out.append((col, float(auc)))
    return out
