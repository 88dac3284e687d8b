"""A source outage is flagged ``low_coverage`` and is not read as calm."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from panel_tables import MONDAY0, events, week

from tension.config import PanelConfig
from tension.panel import build_panel

OUTAGE = 20


def _world(outage_volume: int) -> pd.DataFrame:
    rows: list[tuple] = []
    for k in range(30):
        if k == OUTAGE:
            rows += [(week(k, 1), "TUR", "", "010")] * outage_volume  # the source recorded almost nothing
            continue
        rows += [(week(k, 1), "TUR", "", "010")] * 40
        rows += [(week(k, 2), "ARM", "AZE", "190"), (week(k, 3), "AZE", "ARM", "112")]
    return events(rows)


@pytest.mark.parametrize("outage_volume", [0, 3])
def test_outage_week_is_flagged_and_not_calm(outage_volume: int) -> None:
    panel = build_panel(_world(outage_volume), freq="W", dyads="undirected")
    dyad = panel[panel["dyad"] == "ARM|AZE"].set_index("period")
    outage = MONDAY0 + pd.Timedelta(weeks=OUTAGE)
    # the dyad stays in the panel through the outage, with the flag set on that week only
    assert outage in dyad.index
    assert dyad["low_coverage"].sum() == 1 and bool(dyad.loc[outage, "low_coverage"])
    assert dyad.loc[outage, "events_global"] == outage_volume
    # raw counts fall to zero, but the volume-normalised intensity does not fall: no false calm
    assert dyad.loc[outage, "material_conflict_count"] == 0
    before = dyad.loc[outage - pd.Timedelta(weeks=1), "relationship_hostile_per_1k_4p"]
    assert dyad.loc[outage, "relationship_hostile_per_1k_4p"] >= 0.9 * before
    # the next week is judged against its own past and is not flagged
    assert not dyad.loc[outage + pd.Timedelta(weeks=1), "low_coverage"]


def test_flag_uses_only_the_past() -> None:
    """Deleting every week after the outage leaves the outage's flag as it was."""
    ev = _world(3)
    cut = ev[ev["date"] < MONDAY0 + pd.Timedelta(weeks=OUTAGE + 1)]
    a = build_panel(ev, freq="W", dyads="undirected", features=())
    b = build_panel(cut, freq="W", dyads="undirected", features=())
    outage = MONDAY0 + pd.Timedelta(weeks=OUTAGE)
    assert a.loc[a["period"] <= outage, "low_coverage"].tolist() == b["low_coverage"].tolist()


def test_ratio_is_configurable() -> None:
    panel = build_panel(_world(15), freq="W", dyads="undirected", features=(), config=PanelConfig(low_coverage_ratio=0.25))
    assert not panel["low_coverage"].any()  # 15 of ~42 is above a quarter
    panel = build_panel(_world(15), freq="W", dyads="undirected", features=(), config=PanelConfig(low_coverage_ratio=0.5))
    assert np.count_nonzero(panel["low_coverage"]) == 1
