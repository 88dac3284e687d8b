"""Escalation targets: the ONLY code in tension that looks forward in time.

A target turns the panel row of dyad ``d`` at period ``t`` (the forecast origin) into
1.0 / 0.0 according to what happens in the window ``t+1 .. t+h``. Where that window is
not fully observed (it runs past the panel's last period, or crosses a period with no
events anywhere: a data outage) the target is NaN: "no data" is never "no tension".

Within an observed period a dyad without a panel row had no events (the panel only
drops dyads that were silent), so it counts as zero.

Targets
-------
any_material_conflict
    1 when the pair records at least ``k`` material-conflict events (CAMEO roots 15-20:
    force posture, reduce relations, coerce, assault, fight, mass violence; panel
    column ``material_conflict_count``) in total over the next ``h`` periods, else 0.
    The workhorse target: frequent enough to learn from, serious enough to matter.
onset
    The same event, asked only of dyads with no material conflict at all in the
    previous ``q`` periods (``t-q+1 .. t``, all observed); every other row is NaN so it
    drops out of training and scoring. This is the hard case: persistence cannot
    predict it, so it shows whether a model sees escalation coming rather than
    echoing it. ``onset_mask`` gives the eligible rows.
surge
    1 when the dyad's hostile intensity (panel column ``hostile_intensity``, the sum of
    -Goldstein over hostile events) summed over the next ``h`` periods is strictly above
    the ``quantile`` (an observed value: interpolation "higher") of the dyad's own
    ``h``-period sums over the trailing ``lookback`` periods ending at ``t`` (past only; at least half of them observed, else NaN). It
    measures escalation relative to the pair's normal, so chronically hostile pairs
    do not dominate; for a quiet pair (trailing quantile 0) any hostile event counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import UsageError, did_you_mean, problem

__all__ = ["TARGETS", "make_target", "onset_mask", "window_counts", "period_grid", "FREQ_ALIASES"]

TARGETS: tuple[str, ...] = ("any_material_conflict", "onset", "surge")
FREQ_ALIASES: dict[str, str] = {"D": "D", "W": "W-MON", "M": "MS"}


def _infer_freq(periods: pd.DatetimeIndex) -> str:
    if len(periods) < 2:
        return "M" if len(periods) and periods[0].day == 1 else "W"
    days = np.diff(periods.to_numpy().astype("datetime64[D]").astype(np.int64))
    if (periods.day == 1).all() and (days >= 28).all():
        return "M"
    if (periods.day_of_week == 0).all() and (days % 7 == 0).all():
        return "W"
    return "D"


def period_grid(panel: pd.DataFrame) -> tuple[pd.DatetimeIndex, str]:
    """The complete period grid from the panel's first to last period, and its frequency.

    The frequency comes from ``panel.attrs["freq"]`` when present, else from the periods.
    """
    periods = pd.DatetimeIndex(pd.unique(panel["period"])).sort_values()
    freq = str(panel.attrs.get("freq") or _infer_freq(periods)).upper()
    if freq not in FREQ_ALIASES:
        raise UsageError(problem("The panel's frequency is unknown.", "D, W or M", freq, "Rebuild the panel with --freq W or M."))
    if len(periods) == 0:
        return periods, freq
    return pd.date_range(periods[0], periods[-1], freq=FREQ_ALIASES[freq]), freq


class _Dense:
    """The panel as dense dyad x period arrays over the full grid (private helper)."""

    def __init__(self, panel: pd.DataFrame) -> None:
        self.grid, self.freq = period_grid(panel)
        self.dyad_codes, self.dyads = pd.factorize(panel["dyad"], sort=True)
        self.period_pos = self.grid.get_indexer(pd.DatetimeIndex(panel["period"]))
        if (self.period_pos < 0).any():
            raise UsageError(problem("Some panel periods are off the frequency grid.", f"periods on the {self.freq} grid", int((self.period_pos < 0).sum()), "Rebuild the panel."))
        present = np.zeros(len(self.grid), dtype=bool)
        present[self.period_pos] = True
        if "events_global" in panel.columns:
            glob = pd.Series(panel["events_global"].to_numpy(dtype=float)).groupby(self.period_pos).max()
            present[glob.index[glob.fillna(0).to_numpy() <= 0]] = False
        self.observed = present

    def array(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Dense (n_dyads, n_periods) float array: 0 for absent rows, NaN in unobserved periods."""
        out = np.zeros((len(self.dyads), len(self.grid)), dtype=float)
        out[self.dyad_codes, self.period_pos] = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
        out[:, ~self.observed] = np.nan
        return out

    def rows(self, dense: np.ndarray) -> np.ndarray:
        """Back from dense to the panel's rows."""
        return dense[self.dyad_codes, self.period_pos]


def _cumsums(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zeros = np.zeros((a.shape[0], 1))
    c = np.concatenate([zeros, np.cumsum(np.nan_to_num(a), axis=1)], axis=1)
    m = np.concatenate([zeros, np.cumsum(np.isnan(a), axis=1)], axis=1)
    return c, m


def _forward_sum(a: np.ndarray, h: int) -> np.ndarray:
    """out[:, t] = sum of a[:, t+1 .. t+h]; NaN if incomplete or any period unobserved."""
    n, T = a.shape
    out = np.full((n, T), np.nan)
    if T - h <= 0:
        return out
    c, m = _cumsums(a)
    t = np.arange(T - h)
    s = c[:, t + h + 1] - c[:, t + 1]
    bad = (m[:, t + h + 1] - m[:, t + 1]) > 0
    out[:, t] = np.where(bad, np.nan, s)
    return out


def _backward_sum(a: np.ndarray, q: int) -> np.ndarray:
    """out[:, t] = sum of a[:, t-q+1 .. t]; NaN if incomplete or any period unobserved."""
    n, T = a.shape
    out = np.full((n, T), np.nan)
    if T - q + 1 <= 0:
        return out
    c, m = _cumsums(a)
    t = np.arange(q - 1, T)
    s = c[:, t + 1] - c[:, t + 1 - q]
    bad = (m[:, t + 1] - m[:, t + 1 - q]) > 0
    out[:, t] = np.where(bad, np.nan, s)
    return out


def _require(panel: pd.DataFrame, columns: tuple[str, ...], target: str) -> None:
    missing = [c for c in ("dyad", "period", *columns) if c not in panel.columns]
    if missing:
        raise UsageError(problem(f"The panel lacks columns needed by the target {target!r}.", ", ".join(("dyad", "period", *columns)), missing, "Build it with tension.panel.build_panel."))


def _positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(problem(f"The target parameter {name!r} must be a positive integer.", "1 or more", value, f"Use --{name} 1 or more."))


def window_counts(panel: pd.DataFrame, horizon: int = 4, column: str = "material_conflict_count") -> pd.Series:
    """Sum of ``column`` over the next ``horizon`` periods (t+1 .. t+h) per row; NaN if not fully observed."""
    _positive("horizon", horizon)
    _require(panel, (column,), "window_counts")
    dense = _Dense(panel)
    out = dense.rows(_forward_sum(dense.array(panel[column]), horizon))
    return pd.Series(out, index=panel.index, name=f"{column}_next{horizon}")


def onset_mask(panel: pd.DataFrame, q: int = 12) -> pd.Series:
    """True where the dyad had no material conflict in the previous ``q`` periods (t-q+1 .. t, all observed)."""
    _positive("q", q)
    _require(panel, ("material_conflict_count",), "onset")
    dense = _Dense(panel)
    past = dense.rows(_backward_sum(dense.array(panel["material_conflict_count"]), q))
    return pd.Series(past == 0, index=panel.index, name=f"onset_eligible_q{q}")


def make_target(
    panel: pd.DataFrame,
    name: str = "any_material_conflict",
    horizon: int = 4,
    k: int = 1,
    q: int = 12,
    quantile: float = 0.9,
    lookback: int = 52,
) -> pd.Series:
    """The escalation target ``name`` for every panel row (see the module docstring).

    Parameters
    ----------
    panel : DataFrame
        The dyad panel (``docs/contracts.md``), any row order.
    name : {"any_material_conflict", "onset", "surge"}
    horizon : int
        Window length h in periods of the panel's frequency: the window is t+1 .. t+h.
    k : int
        Minimum number of material-conflict events in the window.
    q : int
        Quiet periods required before an onset.
    quantile, lookback : float, int
        Surge threshold: this quantile of the dyad's own h-period sums over the last
        ``lookback`` periods.

    Returns
    -------
    Series
        Float 1.0 / 0.0, NaN where the window is not fully observed (or the row is not
        eligible), aligned to ``panel.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"dyad": ["A|B"] * 3, "period": pd.date_range("2020-01-01", periods=3, freq="MS"),
    ...                   "material_conflict_count": [0, 2, 0]})
    >>> make_target(p, horizon=1).tolist()
    [1.0, 0.0, nan]
    """
    if name not in TARGETS:
        raise UsageError(problem("Unknown target." + did_you_mean(str(name), TARGETS), "one of " + ", ".join(TARGETS), name, "Use --target any_material_conflict, onset or surge."))
    _positive("horizon", horizon)
    _positive("k", k)
    if name == "surge":
        _positive("lookback", lookback)
        if not 0.0 < quantile < 1.0:
            raise UsageError(problem("The surge quantile must lie strictly between 0 and 1.", "e.g. 0.9", quantile, "Set [target] quantile = 0.9."))
        _require(panel, ("hostile_intensity",), name)
        dense = _Dense(panel)
        a = dense.array(panel["hostile_intensity"])
        future = _forward_sum(a, horizon)
        past = _backward_sum(a, horizon)  # past[:, s] = sum over s-h+1 .. s, known at s
        thresh = (
            pd.DataFrame(past.T)
            .rolling(lookback, min_periods=max(1, lookback // 2))
            .quantile(quantile, interpolation="higher")
            .to_numpy()
            .T
        )
        out = np.where(np.isnan(future) | np.isnan(thresh), np.nan, (future > thresh).astype(float))
        return pd.Series(dense.rows(out), index=panel.index, name=f"surge_h{horizon}")
    counts = window_counts(panel, horizon)
    y = np.where(counts.isna(), np.nan, (counts >= k).astype(float))
    if name == "onset":
        y = np.where(onset_mask(panel, q).to_numpy(), y, np.nan)
    return pd.Series(y, index=panel.index, name=f"{name}_h{horizon}_k{k}")
