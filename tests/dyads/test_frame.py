"""tension.dyads.frame: the base panel from events (periods, dyad kinds, date range, argument checks)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features.panel_tables import MONDAY0, events, hand_events, week

from tension.dyads import aggregate
from tension.periods import to_dates as period_dates
from tension.errors import UsageError


def test_periods_are_day_iso_week_monday_and_month_start() -> None:
    ev = events([("2024-02-29", "ARM", "AZE", "190"), ("2024-03-03", "ARM", "AZE", "190")])  # Thu, Sun
    for freq, expected in {
        "D": ["2024-02-29", "2024-03-03"],
        "W": ["2024-02-26", "2024-02-26"],
        "M": ["2024-02-01", "2024-03-01"],
    }.items():
        base = aggregate(ev, freq=freq)
        got = base.loc[base["material_conflict_count"] > 0, "period"]
        assert got.dt.strftime("%Y-%m-%d").tolist() == sorted(set(expected))
        assert base["period"].dtype == "datetime64[ns]"
    days = aggregate(ev, freq="D")
    assert len(days) == 4  # Feb 29 .. Mar 3, dense from the first event
    assert period_dates(np.array([0]), "W")[0] == np.datetime64("1970-01-05")


def test_directed_and_undirected_dyads_only_between_two_countries() -> None:
    ev = events([
        (week(0), "ARM", "AZE", "190"),
        (week(0), "AZE", "ARM", "112"),
        (week(0), "ARM", "ARM", "190"),  # domestic: no dyad
        (week(0), "ARM", "", "161", "CSTO"),  # organisation: no dyad
        (week(0), "", "AZE", "190"),  # unresolved side: no dyad
    ])
    d = aggregate(ev, dyads="directed")
    assert sorted(d["dyad"]) == ["ARM>AZE", "AZE>ARM"]
    assert d.set_index("dyad").loc["ARM>AZE", ["source", "target"]].tolist() == ["ARM", "AZE"]
    u = aggregate(ev, dyads="undirected")
    assert u["dyad"].tolist() == ["ARM|AZE"]
    row = u.iloc[0]
    assert (row["events_dyad"], row["incident_count"], row["denial_count"]) == (2, 1, 1)
    assert row["hostile_intensity"] == pytest.approx(12.0)
    assert row["events_global"] == 5
    assert row["events_source"] == 4  # ARM: both dyadic events, the domestic one once, the CSTO one
    assert row["events_target"] == 3  # AZE: two dyadic + the unresolved attack


def test_start_and_end_filter_dates_inclusively() -> None:
    ev = hand_events()
    base = aggregate(ev, start=week(2, 0), end=week(4, 6))
    assert base["period"].min() == MONDAY0 + pd.Timedelta(weeks=2)
    assert base["period"].max() == MONDAY0 + pd.Timedelta(weeks=4)
    assert base.groupby("period")["events_global"].first().tolist() == [12, 12, 12]


@pytest.mark.parametrize(("freq", "dyads", "match"), [("Q", "directed", "frequency"), ("W", "both", "dyad kind")])
def test_bad_arguments_say_what_to_use(freq: str, dyads: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        aggregate(hand_events(), freq=freq, dyads=dyads)
