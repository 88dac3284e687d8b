"""Targets: hand-made panels with known answers; the only forward-looking code."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tension.errors import UsageError
from tension.targets import TARGETS, make_target, onset_mask, period_grid, window_counts


def _panel(counts: dict[str, list[float]], freq: str = "M", hostile: dict[str, list[float]] | None = None, start: str = "2020-01-01") -> pd.DataFrame:
    rows = []
    alias = {"M": "MS", "W": "W-MON"}[freq]
    for dyad, values in counts.items():
        grid = pd.date_range(start, periods=len(values), freq=alias)
        for i, v in enumerate(values):
            if v is None:  # dyad absent from the panel at this period
                continue
            rows.append({"dyad": dyad, "period": grid[i], "material_conflict_count": v,
                         "hostile_intensity": (hostile or {}).get(dyad, [0.0] * len(values))[i], "events_global": 100})
    p = pd.DataFrame(rows)
    p.attrs["freq"] = freq
    return p


def test_any_material_conflict_counts_the_next_h_periods_and_is_nan_past_the_end():
    p = _panel({"A|B": [0, 0, 1, 0, 0, 2]})
    assert make_target(p, horizon=1).tolist()[:5] == [0.0, 1.0, 0.0, 0.0, 1.0]
    y2 = make_target(p, horizon=2)
    assert y2.tolist()[:4] == [1.0, 1.0, 0.0, 1.0]
    assert y2.iloc[4:].isna().all()


def test_k_requires_that_many_events_over_the_whole_window():
    p = _panel({"A|B": [0, 1, 1, 0, 3, 0]})
    assert make_target(p, horizon=2, k=2).tolist()[:4] == [1.0, 0.0, 1.0, 1.0]


def test_absent_dyad_rows_count_as_zero_but_unobserved_periods_give_nan():
    p = _panel({"A|B": [0, None, None, 1, 0, 0], "C|D": [1, 1, 1, 1, 1, 1]})
    y = make_target(p, horizon=2)
    ab = y[p["dyad"] == "A|B"].tolist()
    assert ab[:2] == [0.0, 0.0]  # row 0: periods 1, 2 absent -> zero, not NaN
    assert make_target(p, horizon=3)[p["dyad"] == "A|B"].iloc[0] == 1.0  # periods 1..3 reach the event at 3
    # a global outage (no events anywhere) in period 4 makes every window through it unknown
    p.loc[p["period"] == sorted(p["period"].unique())[4], "events_global"] = 0
    y = make_target(p, horizon=1)
    cd = y[p["dyad"] == "C|D"].tolist()
    assert np.isnan(cd[3]) and cd[2] == 1.0 and cd[4] == 1.0  # only the window through period 4 is unknown


def test_onset_only_asks_quiet_dyads_and_needs_the_full_quiet_window():
    p = _panel({"A|B": [0, 0, 0, 1, 0, 0, 0, 0, 1, 0], "C|D": [0] * 10})
    m = onset_mask(p, q=3)
    ab = m[p["dyad"] == "A|B"].tolist()
    assert ab == [False, False, True, False, False, False, True, True, False, False]
    y = make_target(p, "onset", horizon=1, q=3)
    ab_y = y[p["dyad"] == "A|B"].tolist()
    assert ab_y[2] == 1.0 and ab_y[7] == 1.0 and ab_y[6] == 0.0
    assert np.isnan(ab_y[3]) and np.isnan(ab_y[0])  # not quiet / quiet window not fully observed


def test_surge_compares_with_the_dyads_own_past_quantile():
    hostile = [1.0] * 12 + [1.0, 50.0, 1.0, 1.0]
    p = _panel({"A|B": [0] * 16}, hostile={"A|B": hostile})
    y = make_target(p, "surge", horizon=1, lookback=8, quantile=0.9)
    assert y.iloc[12] == 1.0  # next period 50 >> its past
    assert y.iloc[13] == 0.0 and y.iloc[11] == 0.0
    assert y.iloc[:3].isna().all()  # not enough past
    assert np.isnan(y.iloc[15])


def test_surge_of_a_chronically_hostile_pair_needs_more_than_its_usual():
    hostile = [40.0, 45.0] * 8
    p = _panel({"A|B": [0] * 16}, hostile={"A|B": hostile})
    y = make_target(p, "surge", horizon=1, lookback=6)
    assert (y.dropna() == 0).all()


def test_weekly_grid_and_frequency_inference():
    p = _panel({"A|B": [0, 1, 0]}, freq="W", start="2024-01-01")
    p.attrs.clear()
    grid, freq = period_grid(p)
    assert freq == "W" and len(grid) == 3
    assert make_target(p, horizon=1).tolist()[:2] == [1.0, 0.0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"name": "escalation"}, "Unknown target"),
    ({"name": "any_materal_conflict"}, "Did you mean 'any_material_conflict'"),
    ({"horizon": 0}, "'horizon' must be a positive integer"),
    ({"k": 0}, "'k' must be a positive integer"),
    ({"name": "surge", "quantile": 1.5}, "quantile must lie strictly between 0 and 1"),
])
def test_bad_parameters_say_what_and_how_to_fix(kwargs, match):
    p = _panel({"A|B": [0, 1, 0]})
    with pytest.raises(UsageError, match=match):
        make_target(p, **kwargs)


def test_missing_columns_are_named():
    with pytest.raises(UsageError, match="lacks columns"):
        make_target(pd.DataFrame({"dyad": ["A|B"], "period": [pd.Timestamp("2020-01-01")]}))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=3, max_size=20), st.integers(1, 4), st.integers(1, 3))
def test_target_at_t_ignores_everything_up_to_t_and_matches_a_direct_sum(counts, h, k):
    p = _panel({"A|B": counts})
    y = make_target(p, horizon=h, k=k).to_numpy()
    for t in range(len(counts)):
        if t + h < len(counts):
            assert y[t] == float(sum(counts[t + 1 : t + h + 1]) >= k)
        else:
            assert np.isnan(y[t])
    changed = list(counts)
    changed[0] = changed[0] + 5  # the past never changes a target at a later origin
    assert np.array_equal(make_target(_panel({"A|B": changed}), horizon=h, k=k).to_numpy()[1:], y[1:], equal_nan=True)


def test_window_counts_and_target_registry():
    p = _panel({"A|B": [0, 2, 3, 0]})
    assert window_counts(p, 2).tolist()[:2] == [5.0, 3.0]
    assert TARGETS == ("any_material_conflict", "onset", "surge")


def test_target_spec_is_validated_on_construction_and_changes_make_a_new_spec():
    from tension.config import TargetConfig
    from tension.targets import TargetSpec, target_spec

    spec = TargetSpec("surge", horizon=2, lookback=8)
    assert (spec.name, spec.horizon, spec.k, spec.q, spec.quantile, spec.lookback) == ("surge", 2, 1, 12, 0.9, 8)
    for bad, match in (({"name": "sugre"}, "Did you mean 'surge'"), ({"q": 0}, "'q' must be a positive integer"),
                       ({"lookback": 2.5}, "'lookback' must be a positive integer"), ({"quantile": 1.0}, "strictly between 0 and 1")):
        with pytest.raises(UsageError, match=match):
            TargetSpec(**bad)
    assert target_spec(spec, horizon=3, k=None) == TargetSpec("surge", horizon=3, lookback=8)
    assert target_spec("onset", q=4) == TargetSpec("onset", q=4) and target_spec() == TargetSpec()
    assert TargetSpec.from_config(TargetConfig(name="onset", horizon=6, q=3, lookback=20)) == TargetSpec("onset", horizon=6, q=3, lookback=20)
    with pytest.raises(UsageError, match="Unknown target parameter"):
        target_spec(spec, window=3)


def test_make_target_takes_the_spec_whole_and_keywords_change_it():
    from tension.targets import TargetSpec

    p = _panel({"A|B": [0, 1, 0, 0, 2, 0, 0, 0, 3, 0, 1, 0]})
    p["hostile_intensity"] = p["material_conflict_count"] * 3.0
    spec = TargetSpec("surge", horizon=2, lookback=4, quantile=0.5)
    y = make_target(p, spec)
    assert y.name == "surge_h2" and np.array_equal(y, make_target(p, "surge", horizon=2, lookback=4, quantile=0.5), equal_nan=True)
    assert not np.array_equal(y, make_target(p, spec, lookback=8), equal_nan=True)  # the lookback is used
    assert np.array_equal(make_target(p, spec, name="any_material_conflict"), make_target(p, horizon=2), equal_nan=True)
