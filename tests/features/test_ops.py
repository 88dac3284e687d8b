"""The causal window operations agree with pandas' own rolling/ewm on random series."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tension.features._ops import decayed_mean, ewma, ratio, rolling_mean, rolling_std, rolling_sum, shift, since_last, trend, trend_from_sums

RNG = np.random.default_rng(3)
X = RNG.poisson(1.5, size=(6, 40)).astype(np.float64)


def _pandas(x: np.ndarray, fn) -> np.ndarray:
    return np.vstack([fn(pd.Series(row)).to_numpy() for row in x])


@pytest.mark.parametrize("window", [1, 4, 12, 52])
def test_windows_match_pandas_rolling(window: int) -> None:
    np.testing.assert_allclose(rolling_sum(X, window), _pandas(X, lambda s: s.rolling(window, min_periods=1).sum()))
    np.testing.assert_allclose(rolling_mean(X, window), _pandas(X, lambda s: s.rolling(window, min_periods=1).mean()))
    np.testing.assert_allclose(rolling_std(X, window), _pandas(X, lambda s: s.rolling(window, min_periods=1).std(ddof=0)), atol=1e-9)


def test_ewma_matches_pandas_with_a_zero_start() -> None:
    padded = np.hstack([np.zeros((X.shape[0], 1)), X])  # our level starts at 0 before the first period
    expected = _pandas(padded, lambda s: s.ewm(span=4, adjust=False).mean())[:, 1:]
    np.testing.assert_allclose(ewma(X, 4), expected)


def test_trend_is_the_least_squares_slope() -> None:
    window, t = 12, 30
    y = X[2, t - window + 1 : t + 1]
    slope = np.polyfit(np.arange(window), y, 1)[0]
    assert trend(X, window)[2, t] == pytest.approx(slope)
    np.testing.assert_allclose(trend_from_sums(X, np.cumsum(X, axis=1), window), trend(X, window), atol=1e-9)


def test_shift_ratio_and_since_last() -> None:
    np.testing.assert_array_equal(shift(X, 2)[:, 2:], X[:, :-2])
    assert (shift(X, 2)[:, :2] == 0).all()
    r = ratio(np.array([1.0, 1.0]), np.array([2.0, 0.0]))
    assert r[0] == 0.5 and np.isnan(r[1])
    hits = np.array([[False, True, False, False, True]])
    np.testing.assert_array_equal(since_last(hits), [[np.nan, 0, 1, 2, 0]])


def test_decayed_mean_matches_pandas_ewm_skipping_unobserved_periods() -> None:
    observed = np.ones(X.shape[1], dtype=bool)
    observed[[0, 7, 8, 30]] = False  # e.g. periods without any events
    masked = np.where(observed[None, :], X, np.nan)
    expected = _pandas(masked, lambda s: s.ewm(halflife=6.0, ignore_na=True).mean())
    np.testing.assert_allclose(decayed_mean(X, 6.0, observed), expected)
    assert np.isnan(decayed_mean(X, 6.0, observed)[:, 0]).all()  # nothing observed yet
