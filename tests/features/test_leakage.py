"""Every registered feature at period t is a function of events up to t only.

Property (hypothesis): deleting or altering any event dated after period t leaves every
base column and every feature value at t unchanged; values are deterministic; the rows
(dyad, period) at t are the same rows in the same order.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from panel_tables import CODES, events, week

from tension.features import FEATURES
from tension.panel import build_panel

COUNTRIES = ("ARM", "AZE", "GEO", "RUS")
BLOCS = {"CSTO": ("ARM", "RUS"), "NATO": ("GEO",)}

event_row = st.tuples(
    st.integers(0, 15),  # week
    st.integers(0, 6),  # day of week
    st.sampled_from(COUNTRIES),
    st.sampled_from(COUNTRIES + ("",)),
    st.sampled_from(sorted(CODES)),
    st.sampled_from(("", "", "CSTO", "NATO")),
)


def _rows(raw: list[tuple]) -> list[tuple]:
    return [(week(w, d), s, t, code, org if not t else "") for w, d, s, t, code, org in raw]


def _assert_same_up_to(full: pd.DataFrame, cut: pd.DataFrame, t: pd.Timestamp) -> None:
    a = full[full["period"] <= t].reset_index(drop=True)
    b = cut[cut["period"] <= t].reset_index(drop=True)
    assert list(a["dyad"]) == list(b["dyad"]) and list(a["period"]) == list(b["period"])
    pd.testing.assert_frame_equal(a, b, check_exact=True)


# no shrink phase: each example builds two panels, and shrinking one took minutes
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    raw=st.lists(event_row, min_size=3, max_size=40),
    cut_week=st.integers(0, 14),
    alter=st.booleans(),
    kind=st.sampled_from(("directed", "undirected")),
)
def test_events_after_t_never_change_values_at_t(raw: list[tuple], cut_week: int, alter: bool, kind: str) -> None:
    rows = _rows(raw)
    t = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=cut_week)
    past = [r for r in rows if r[0] < t + pd.Timedelta(days=7)]
    if not past:
        return
    future = [r for r in rows if r[0] >= t + pd.Timedelta(days=7)]
    if alter:  # the future events change code, target and day, but stay in the future
        changed = [(d + pd.Timedelta(days=3), tgt or "GEO", src, "190" if code != "190" else "057") for d, src, tgt, code, _org in future]
        changed = [(d, s, tg, c) for d, s, tg, c in changed if s != tg]
        other = past + changed
    else:
        other = past
    keep_axis = alter and len(other) > len(past)
    full = build_panel(events(rows), freq="W", dyads=kind, blocs=BLOCS)
    # the cut world still knows week t has passed (as a forecaster at t does): end = t's Sunday
    cut = build_panel(events(other), freq="W", dyads=kind, blocs=BLOCS, end=None if keep_axis else t + pd.Timedelta(days=6))
    _assert_same_up_to(full, cut, min(t, full["period"].max()))


def test_builds_are_deterministic_and_rows_keep_their_order() -> None:
    rng = np.random.default_rng(7)
    raw = [(int(rng.integers(0, 16)), int(rng.integers(0, 7)), str(rng.choice(COUNTRIES)), str(rng.choice(COUNTRIES)),
            str(rng.choice(sorted(CODES))), "") for _ in range(200)]
    raw = [r for r in raw if r[2] != r[3]]
    ev = events(_rows(raw))
    a = build_panel(ev, freq="W", blocs=BLOCS)
    b = build_panel(ev.sample(frac=1.0, random_state=3), freq="W", blocs=BLOCS)  # input order must not matter
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.index.equals(pd.RangeIndex(len(a)))
    keys = a[["dyad", "period"]]
    assert keys.equals(keys.sort_values(["dyad", "period"]).reset_index(drop=True))
    assert not keys.duplicated().any()


@pytest.fixture(scope="module")
def full_and_cut() -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """One random world built twice: with every event, and with only the events up to week 8."""
    rng = np.random.default_rng(11)
    raw = [(int(rng.integers(0, 16)), int(rng.integers(0, 7)), str(rng.choice(COUNTRIES)),
            str(rng.choice(COUNTRIES + ("",))), str(rng.choice(sorted(CODES))), str(rng.choice(["", "CSTO"]))) for _ in range(150)]
    rows = _rows(raw)
    t = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=8)
    past = [r for r in rows if r[0] < t + pd.Timedelta(days=7)]
    full = build_panel(events(rows), freq="W", blocs=BLOCS)
    cut = build_panel(events(past), freq="W", blocs=BLOCS, end=t + pd.Timedelta(days=6))
    return full, cut, t


@pytest.mark.parametrize("builder", FEATURES, ids=lambda f: f.__name__)
def test_each_feature_ignores_the_future(builder, full_and_cut) -> None:
    """Per builder: values at t with and without all events after t are identical (NaN == NaN)."""
    full, cut, t = full_and_cut
    name = builder.__name__
    a = full.loc[full["period"] <= t, name].to_numpy()
    b = cut.loc[cut["period"] <= t, name].to_numpy()
    assert len(a) > 20
    np.testing.assert_array_equal(a, b)
    assert full[name].dtype == np.float32
    assert np.isfinite(full[name]).any(), f"{name} is never finite on a busy world"
