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

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import periods
from .config import TargetConfig
from .errors import UsageError, did_you_mean, problem

__all__ = ["TARGETS", "TargetSpec", "target_spec", "make_target", "onset_mask", "window_counts", "period_grid", "DensePanel"]

TARGETS: tuple[str, ...] = ("any_material_conflict", "onset", "surge")

period_grid = periods.grid
"""The panel's complete period grid and frequency (:func:`tension.periods.grid`; kept here for old imports)."""


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(problem(f"The target parameter {name!r} must be a positive integer.", "1 or more", value, f"Use --{name} 1 or more."))
    return int(value)


@dataclass(frozen=True)
class TargetSpec(TargetConfig):
    """What to forecast: the target's name and every parameter it takes, validated on construction.

    Parameters
    ----------
    name : {"any_material_conflict", "onset", "surge"}
    horizon : int
        Window length h in periods of the panel's frequency: the window is t+1 .. t+h.
    k : int
        Minimum number of material-conflict events in the window.
    q : int
        Quiet periods required before an onset.
    quantile, lookback : float, int
        Surge threshold: this quantile (strictly between 0 and 1) of the dyad's own
        h-period sums over the last ``lookback`` periods.

    Examples
    --------
    >>> TargetSpec("surge", horizon=2).lookback
    52
    """

    def __post_init__(self) -> None:
        if self.name not in TARGETS:
            raise UsageError(problem("Unknown target." + did_you_mean(str(self.name), TARGETS), "one of " + ", ".join(TARGETS), self.name,
                                     "Use --target any_material_conflict, onset or surge."))
        for field_name in ("horizon", "k", "q", "lookback"):
            object.__setattr__(self, field_name, _positive(field_name, getattr(self, field_name)))
        quantile = self.quantile
        if isinstance(quantile, bool) or not isinstance(quantile, (int, float, np.number)) or not 0.0 < float(quantile) < 1.0:
            raise UsageError(problem("The surge quantile must lie strictly between 0 and 1.", "e.g. 0.9", quantile, "Set [target] quantile = 0.9."))
        object.__setattr__(self, "quantile", float(quantile))

    @classmethod
    def from_config(cls, config: TargetConfig) -> TargetSpec:
        """The spec of an experiment's ``[target]`` section (:class:`tension.config.TargetConfig`)."""
        return cls(**asdict(config))


def target_spec(spec: TargetSpec | str | None = None, **changes: Any) -> TargetSpec:
    """A :class:`TargetSpec` from a spec, a target name or nothing (the defaults), with ``changes`` applied.

    ``changes`` are the spec's fields; those that are None are left as they are. This is
    how the keyword calls (``make_target(panel, "onset", horizon=2)``) become one spec.
    """
    fields = asdict(spec) if isinstance(spec, TargetSpec) else {} if spec is None else {"name": spec}
    unknown = set(changes) - set(asdict(TargetSpec()))
    if unknown:
        raise UsageError(problem("Unknown target parameter.", "name, horizon, k, q, quantile or lookback", sorted(unknown)))
    fields.update({key: value for key, value in changes.items() if value is not None})
    return TargetSpec(**fields)


class DensePanel:
    """The panel as dense dyad x period arrays over its full period grid (:func:`tension.periods.grid`).

    A dyad without a row in an observed period counts 0; periods with no events anywhere
    (``events_global`` <= 0, a data outage) are unobserved and hold NaN.
    """

    def __init__(self, panel: pd.DataFrame) -> None:
        self.grid, self.freq = periods.grid(panel)
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


def window_counts(panel: pd.DataFrame, horizon: int = 4, column: str = "material_conflict_count") -> pd.Series:
    """Sum of ``column`` over the next ``horizon`` periods (t+1 .. t+h) per row; NaN if not fully observed."""
    horizon = _positive("horizon", horizon)
    _require(panel, (column,), "window_counts")
    dense = DensePanel(panel)
    out = dense.rows(_forward_sum(dense.array(panel[column]), horizon))
    return pd.Series(out, index=panel.index, name=f"{column}_next{horizon}")


def onset_mask(panel: pd.DataFrame, q: int = 12) -> pd.Series:
    """True where the dyad had no material conflict in the previous ``q`` periods (t-q+1 .. t, all observed)."""
    q = _positive("q", q)
    _require(panel, ("material_conflict_count",), "onset")
    dense = DensePanel(panel)
    past = dense.rows(_backward_sum(dense.array(panel["material_conflict_count"]), q))
    return pd.Series(past == 0, index=panel.index, name=f"onset_eligible_q{q}")


def make_target(
    panel: pd.DataFrame,
    spec: TargetSpec | str | None = None,
    *,
    name: str | None = None,
    horizon: int | None = None,
    k: int | None = None,
    q: int | None = None,
    quantile: float | None = None,
    lookback: int | None = None,
) -> pd.Series:
    """The escalation target of ``spec`` for every panel row (see the module docstring).

    Parameters
    ----------
    panel : DataFrame
        The dyad panel (``docs/contracts.md``), any row order.
    spec : TargetSpec or str or None
        What to forecast; a target name, or None for the defaults of :class:`TargetSpec`.
    name, horizon, k, q, quantile, lookback
        Changes to ``spec`` (see :class:`TargetSpec`); None leaves a field as it is.

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
    >>> make_target(p, TargetSpec(horizon=1)).tolist()
    [1.0, 0.0, nan]
    >>> make_target(p, horizon=1).tolist()
    [1.0, 0.0, nan]
    """
    t = target_spec(spec, name=name, horizon=horizon, k=k, q=q, quantile=quantile, lookback=lookback)
    if t.name == "surge":
        _require(panel, ("hostile_intensity",), t.name)
        dense = DensePanel(panel)
        a = dense.array(panel["hostile_intensity"])
        future = _forward_sum(a, t.horizon)
        past = _backward_sum(a, t.horizon)  # past[:, s] = sum over s-h+1 .. s, known at s
        thresh = (
            pd.DataFrame(past.T)
            .rolling(t.lookback, min_periods=max(1, t.lookback // 2))
            .quantile(t.quantile, interpolation="higher")
            .to_numpy()
            .T
        )
        out = np.where(np.isnan(future) | np.isnan(thresh), np.nan, (future > thresh).astype(float))
        return pd.Series(dense.rows(out), index=panel.index, name=f"surge_h{t.horizon}")
    counts = window_counts(panel, t.horizon)
    y = np.where(counts.isna(), np.nan, (counts >= t.k).astype(float))
    if t.name == "onset":
        y = np.where(onset_mask(panel, t.q).to_numpy(), y, np.nan)
    return pd.Series(y, index=panel.index, name=f"{t.name}_h{t.horizon}_k{t.k}")
