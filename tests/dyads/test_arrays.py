"""tension.dyads.arrays: past-only dyad selection and monitored dyads."""
from __future__ import annotations

import pandas as pd
import pytest
from features.panel_tables import events

from tension.config import PanelConfig
from tension.dyads import aggregate
from tension.periods import lookback as lookback_periods
from tension.errors import UsageError


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
