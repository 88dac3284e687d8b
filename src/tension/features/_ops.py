"""Causal window operations over dense ``dyad x period`` arrays (axis 1 is time).

Every function here reads only columns ``<= t`` to produce column ``t``: cumulative
sums for windows, shifts for lags, a forward recursion for EWMA. That is what makes
every feature leak-free by construction (and the property test checks it).
"""
from __future__ import annotations

import numpy as np

from ..dyads import window_sums


def rolling_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum over the last ``window`` periods up to and including t (shorter at the start)."""
    return window_sums(np.cumsum(x, axis=1, dtype=np.float64), window)


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over the last ``window`` periods (divides by the periods available so far)."""
    n = np.minimum(np.arange(1, x.shape[1] + 1), window)
    return rolling_sum(x, window) / n


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Population standard deviation over the last ``window`` periods."""
    mean = rolling_mean(x, window)
    sq = rolling_mean(np.asarray(x, dtype=np.float64) ** 2, window)
    return np.sqrt(np.clip(sq - mean**2, 0.0, None))


def shift(x: np.ndarray, lag: int, fill: float = 0.0) -> np.ndarray:
    """Value at t - ``lag`` (``fill`` before the first period)."""
    out = np.full(x.shape, fill, dtype=np.float64)
    if lag < x.shape[1]:
        out[:, lag:] = x[:, : x.shape[1] - lag]
    return out


def periods_seen(n_periods: int, window: int) -> np.ndarray:
    """Number of periods in a trailing window at each t (``min(t + 1, window)``), shape ``(n_periods,)``."""
    return np.minimum(np.arange(1, n_periods + 1), window).astype(np.float64)


def trend_from_sums(x: np.ndarray, cs: np.ndarray, window: int) -> np.ndarray:
    """:func:`trend` with the cumulative sum of ``x`` given (saves a pass)."""
    n_t = x.shape[1]
    t_idx = np.arange(n_t, dtype=np.float64)
    n = periods_seen(n_t, window)
    sx = cs - shift(cs, window)
    ct = np.cumsum(t_idx)
    st = ct - np.concatenate([np.zeros(min(window, n_t)), ct[: n_t - window]]) if window < n_t else ct
    ctt = np.cumsum(t_idx**2)
    stt = ctt - np.concatenate([np.zeros(min(window, n_t)), ctt[: n_t - window]]) if window < n_t else ctt
    ctx = np.cumsum(x * t_idx, axis=1)
    stx = ctx - shift(ctx, window)
    den = n * stt - st**2  # per period, shared by all dyads
    inv = np.where(den > 0, 1.0 / np.where(den > 0, den, 1.0), 0.0)
    return (n * stx - st * sx) * inv


def ewma(x: np.ndarray, span: int) -> np.ndarray:
    """Exponentially weighted level, ``alpha = 2 / (span + 1)``, started at 0 (forward recursion)."""
    alpha = 2.0 / (span + 1.0)
    xt = np.ascontiguousarray(x.T) * alpha  # time-major: each step is one contiguous row
    for t in range(1, xt.shape[0]):
        xt[t] += (1 - alpha) * xt[t - 1]
    return xt.T


def trend(x: np.ndarray, window: int) -> np.ndarray:
    """Least-squares slope per period over the last ``window`` periods (0 with fewer than 2)."""
    t_idx = np.arange(x.shape[1], dtype=np.float64)
    n = np.minimum(np.arange(1, x.shape[1] + 1), window).astype(np.float64)
    sx = rolling_sum(x, window)
    st = rolling_sum(np.broadcast_to(t_idx, x.shape), window)
    stt = rolling_sum(np.broadcast_to(t_idx**2, x.shape), window)
    stx = rolling_sum(x * t_idx, window)
    den = n * stt - st**2
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * stx - st * sx) / den
    return np.where(den > 0, slope, 0.0)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0 (unknown, not zero)."""
    out = np.full(np.broadcast_shapes(np.shape(num), np.shape(den)), np.nan, dtype=np.result_type(num, den, np.float32))
    np.divide(num, den, out=out, where=den != 0)
    return out


def since_last(hit: np.ndarray) -> np.ndarray:
    """Periods since the last period where ``hit`` is true (0 at a hit; NaN before any)."""
    t_idx = np.broadcast_to(np.arange(hit.shape[1]), hit.shape)
    last = np.where(hit, t_idx, -1)
    last = np.maximum.accumulate(last, axis=1)
    return np.where(last >= 0, t_idx - last, np.nan).astype(np.float64)


def decayed_mean(x: np.ndarray, halflife: float, observed: np.ndarray | None = None) -> np.ndarray:
    """Exponentially weighted mean with half-life ``halflife`` periods, over observed periods only.

    Weights ``(1 - alpha) ** k`` for the k-th observed period back, ``alpha = 1 - 0.5 ** (1 / halflife)``,
    normalised by their sum (pandas' ``ewm(halflife=..., ignore_na=True).mean()``); an unobserved
    period (``observed[t]`` False, e.g. no events anywhere) keeps the previous value; NaN before the
    first observed period.
    """
    keep = np.ones(x.shape[1], dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    decay = 0.5 ** (1.0 / halflife)
    xt = np.nan_to_num(np.asarray(x, dtype=np.float64).T)  # time-major
    out = np.full(xt.shape, np.nan)
    num = np.zeros(xt.shape[1])
    den = 0.0
    for t in range(xt.shape[0]):
        if keep[t]:
            num = decay * num + xt[t]
            den = decay * den + 1.0
        if den > 0:
            out[t] = num / den
    return out.T
