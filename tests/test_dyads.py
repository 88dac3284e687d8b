"""tension.dyads: DuckDB aggregation, periods, dyad kinds, past-only selection, buckets."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features.panel_tables import MONDAY0, events, hand_events, week

from tension.config import PanelConfig
from tension.dyads import (
    aggregate,
    bucket_of,
    country_context,
    event_counts,
    lookback_periods,
    period_dates,
)
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


def test_selection_uses_only_the_past_36_months() -> None:
    ev = events([("2010-01-05", "ARM", "AZE", "190"), ("2014-06-10", "TUR", "GRC", "042")])
    base = aggregate(ev, freq="M")
    arm = base[base["dyad"] == "ARM>AZE"]["period"]
    assert arm.min() == pd.Timestamp("2010-01-01")
    assert arm.max() == pd.Timestamp("2012-12-01")  # 36 months including the event's month
    assert len(arm) == 36
    assert lookback_periods("W") == 156 and lookback_periods("D") == 1096
    shorter = aggregate(ev, freq="M", config=PanelConfig(lookback_months=12))
    assert (shorter["dyad"] == "ARM>AZE").sum() == 12


def test_monitored_dyads_are_always_in() -> None:
    ev = events([("2010-01-05", "ARM", "AZE", "190"), ("2014-06-10", "TUR", "GRC", "042")])
    cfg = PanelConfig(monitored=("ARM|AZE", "GEO>RUS"))
    base = aggregate(ev, freq="M", config=cfg)
    assert (base["dyad"] == "ARM>AZE").sum() == 54  # every month of the axis
    assert (base["dyad"] == "AZE>ARM").sum() == 54  # "A|B" in a directed panel: both directions
    geo = base[base["dyad"] == "GEO>RUS"]
    assert len(geo) == 54 and geo["events_dyad"].sum() == 0 and geo["events_source"].sum() == 0
    with pytest.raises(UsageError, match="monitored dyad 'ARMAZE'"):
        aggregate(ev, freq="M", config=PanelConfig(monitored=("ARMAZE",)))


def test_event_counts_keep_every_event_for_coverage() -> None:
    ev = hand_events()
    counts = event_counts(ev, "W")
    assert counts["n"].sum() == len(ev)
    assert set(counts.columns) == {"s", "t", "p", "family", "mask", "n", "g", "h"}
    assert "@CSTO" in set(counts["t"])
    ctx = country_context(counts, "W")
    assert ctx.events_global.sum() == len(ev) and ctx.n_periods == 10
    assert ctx.periods[0] == np.datetime64(MONDAY0)


def test_start_and_end_filter_dates_inclusively() -> None:
    ev = hand_events()
    base = aggregate(ev, start=week(2, 0), end=week(4, 6))
    assert base["period"].min() == MONDAY0 + pd.Timedelta(weeks=2)
    assert base["period"].max() == MONDAY0 + pd.Timedelta(weeks=4)
    assert base.groupby("period")["events_global"].first().tolist() == [12, 12, 12]


def test_bucket_is_the_same_for_both_directions() -> None:
    assert bucket_of("ARM", "AZE", 16) == bucket_of("AZE", "ARM", 16)
    assert {bucket_of(a, b, 8) for a, b in [("ARM", "AZE"), ("RUS", "UKR"), ("IND", "PAK"), ("ISR", "LBN")]} <= set(range(8))


@pytest.mark.parametrize(("freq", "dyads", "match"), [("Q", "directed", "frequency"), ("W", "both", "dyad kind")])
def test_bad_arguments_say_what_to_use(freq: str, dyads: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        aggregate(hand_events(), freq=freq, dyads=dyads)


def test_no_events_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="No events"):
        aggregate(hand_events(), start="2030-01-01")


def test_events_without_canonical_columns_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="lacks canonical columns.*conform"):
        aggregate(pd.DataFrame({"date": ["2024-01-01"], "source_country": ["ARM"]}))
