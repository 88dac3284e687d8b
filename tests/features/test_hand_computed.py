"""Hand-computed expectations for every feature family on a tiny table (3 dyads, 10 weeks).

The numbers below were worked out by hand from ``panel_tables.hand_rows`` (see the
comments); the code under test never produced them.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from panel_tables import MONDAY0, hand_events

from tension.config import PanelConfig
from tension.panel import build_panel

BLOCS = {"CSTO": ("ARM", "RUS")}


@pytest.fixture(scope="module")
def directed() -> pd.DataFrame:
    return build_panel(hand_events(), freq="W", dyads="directed", blocs=BLOCS)


@pytest.fixture(scope="module")
def undirected() -> pd.DataFrame:
    return build_panel(hand_events(), freq="W", dyads="undirected", blocs=BLOCS)


def at(panel: pd.DataFrame, dyad: str, k: int, column: str) -> float:
    row = panel[(panel["dyad"] == dyad) & (panel["period"] == MONDAY0 + pd.Timedelta(weeks=k))]
    assert len(row) == 1, f"{dyad} week {k}: {len(row)} rows"
    return float(row[column].iloc[0])


def test_dyads_enter_at_their_first_event_and_stay(directed: pd.DataFrame) -> None:
    first = directed.groupby("dyad")["period"].min()
    assert first.to_dict() == {
        "ARM>AZE": MONDAY0 + pd.Timedelta(weeks=1),
        "AZE>ARM": MONDAY0 + pd.Timedelta(weeks=2),
        "RUS>AZE": MONDAY0,
    }
    assert directed.groupby("dyad").size().to_dict() == {"ARM>AZE": 9, "AZE>ARM": 8, "RUS>AZE": 10}


def test_base_counts_and_coverage(directed: pd.DataFrame, undirected: pd.DataFrame) -> None:
    assert at(directed, "ARM>AZE", 1, "material_conflict_count") == 2
    assert at(directed, "ARM>AZE", 1, "hostile_intensity") == 20.0
    assert at(directed, "ARM>AZE", 1, "incident_intensity") == -20.0
    assert at(directed, "ARM>AZE", 2, "denial_count") == 1
    # undirected ARM|AZE week 2: ARM accuses (denial) and AZE fights (incident)
    assert at(undirected, "ARM|AZE", 2, "events_dyad") == 2
    assert at(undirected, "ARM|AZE", 2, "material_conflict_count") == 1
    # coverage: 10 background events + the week's dyadic ones; ARM involved in 2 events in week 2
    assert at(directed, "ARM>AZE", 2, "events_global") == 12
    assert at(directed, "ARM>AZE", 2, "events_source") == 2
    assert at(directed, "ARM>AZE", 5, "events_source") == 2  # the fight and the CSTO move
    assert not directed["low_coverage"].any()


def test_incidents(directed: pd.DataFrame) -> None:
    # ARM>AZE material conflict by week: W1 2, W3 1, W5 1
    assert at(directed, "ARM>AZE", 4, "incidents_material_conflict_4p") == 3
    assert at(directed, "ARM>AZE", 5, "incidents_material_conflict_4p") == 2
    assert at(directed, "ARM>AZE", 9, "incidents_material_conflict_12p") == 4
    assert at(directed, "ARM>AZE", 3, "incidents_force_posture_4p") == 1
    assert at(directed, "ARM>AZE", 4, "incidents_hostile_intensity_4p") == 29.0  # 20 + 2 + 7
    assert at(directed, "ARM>AZE", 5, "incidents_violence_4p") == 1  # W1 fights left the window
    assert at(directed, "RUS>AZE", 7, "incidents_coercion_4p") == 1


def test_denials_each_direction(directed: pd.DataFrame) -> None:
    assert at(directed, "ARM>AZE", 2, "denials_accuse_by_source_4p") == 1
    assert at(directed, "AZE>ARM", 2, "denials_accuse_by_target_4p") == 1
    assert at(directed, "ARM>AZE", 4, "denials_deny_by_target_4p") == 1
    assert at(directed, "ARM>AZE", 4, "denials_deny_by_source_4p") == 0
    assert at(directed, "AZE>ARM", 4, "denials_criticize_by_source_4p") == 1
    assert at(directed, "ARM>AZE", 9, "denials_threaten_by_target_4p") == 1
    assert at(directed, "ARM>AZE", 4, "denials_verbal_conflict_12p") == 2  # accuse W2 + criticize W4


def test_alliance_moves(directed: pd.DataFrame) -> None:
    assert at(directed, "ARM>AZE", 6, "alliances_agreements_12p") == 1
    assert at(directed, "AZE>ARM", 9, "alliances_agreements_12p") == 1  # either direction
    assert at(directed, "RUS>AZE", 3, "alliances_mil_cooperation_12p") == 1
    assert at(directed, "RUS>AZE", 7, "alliances_relations_reduced_12p") == 1
    # Armenia's move away from the CSTO counts for Armenia's dyads only
    assert at(directed, "ARM>AZE", 5, "alliances_bloc_exits_12p") == 1
    assert at(directed, "ARM>AZE", 4, "alliances_bloc_exits_12p") == 0
    assert at(directed, "RUS>AZE", 5, "alliances_bloc_exits_12p") == 0
    # Russia (Armenia's CSTO ally) made alliance moves in W3 (062) and W7 (161)
    assert at(directed, "ARM>AZE", 7, "alliances_ally_moves_12p") == 2
    assert at(directed, "ARM>AZE", 2, "alliances_ally_moves_12p") == 0


def test_dynamics(directed: pd.DataFrame) -> None:
    # hostile intensity ARM>AZE from W0: 0, 20, 2, 7, 0, 10, 0 ...
    assert at(directed, "ARM>AZE", 1, "dynamics_hostile_ewma_4p") == pytest.approx(8.0)  # 0.4 * 20
    assert at(directed, "ARM>AZE", 2, "dynamics_hostile_ewma_4p") == pytest.approx(5.6)  # 0.6 * 8 + 0.4 * 2
    assert at(directed, "ARM>AZE", 2, "dynamics_hostile_trend_12p") == pytest.approx(1.0)  # slope of 0, 20, 2
    assert [at(directed, "ARM>AZE", k, "dynamics_periods_since_conflict") for k in range(1, 10)] == [0, 1, 0, 1, 0, 1, 2, 3, 4]
    # 52-period mean at W5 = 4/6 per period, 4-period mean = 2/4 -> ratio 0.75
    assert at(directed, "ARM>AZE", 5, "dynamics_conflict_ratio_4p_52p") == pytest.approx(0.75)
    # hostile counts 0,2,1,1 over W0..W3: mean 1, sd sqrt(0.5) -> (sd - mean)/(sd + mean)
    sd = math.sqrt(0.5)
    assert at(directed, "ARM>AZE", 3, "dynamics_hostile_burstiness_12p") == pytest.approx((sd - 1) / (sd + 1), rel=1e-6)
    assert at(directed, "ARM>AZE", 2, "dynamics_hostile_volatility_12p") == pytest.approx(8.993825, rel=1e-6)


def test_relationship(directed: pd.DataFrame) -> None:
    # responses: AZE W2 after ARM W1, ARM W3 after AZE W2, AZE W4 after ARM W3, ARM W5 after AZE W4
    assert at(directed, "ARM>AZE", 3, "relationship_tit_for_tat_12p") == 2
    assert at(directed, "ARM>AZE", 9, "relationship_tit_for_tat_12p") == 4
    assert at(directed, "ARM>AZE", 2, "relationship_asymmetry_12p") == pytest.approx(0.5)  # (3 - 1) / 4
    assert at(directed, "ARM>AZE", 2, "relationship_reciprocity_12p") == pytest.approx(1 / 3)
    assert at(directed, "ARM>AZE", 2, "relationship_hostile_share_4p") == 1.0
    assert at(directed, "ARM>AZE", 6, "relationship_hostile_share_4p") == pytest.approx(0.6)  # 3 of 5
    # hostile intensity 22 over W0..W2; global volume 11 (W0: background + the visit) + 12 + 12 = 35
    assert at(directed, "ARM>AZE", 2, "relationship_hostile_per_1k_4p") == pytest.approx(1000 * 22 / 35, rel=1e-6)
    assert at(directed, "RUS>AZE", 0, "relationship_cooperation_share_12p") == 1.0


def test_context(directed: pd.DataFrame) -> None:
    # AZE's material conflict with others than Russia over W0..W3: W1 2, W2 1, W3 1
    assert at(directed, "RUS>AZE", 3, "context_target_conflict_others_4p") == 4
    # Armenia fought only Azerbaijan; its CSTO move is not a country conflict
    assert at(directed, "ARM>AZE", 5, "context_source_conflict_others_4p") == 0
    # region (South Caucasus, each region once): W4..W7 material conflict = W5 fight + W7 coerce + W7 reduce
    assert at(directed, "ARM>AZE", 7, "context_region_conflict_4p") == 3
    # Russia, Armenia's ally, had 2 material-conflict events in W7 (with Azerbaijan)
    assert at(directed, "ARM>AZE", 7, "context_ally_conflict_4p") == 2
    # Azerbaijan's conflict with CSTO members other than Armenia: Russia's 2 events in W7
    assert at(directed, "ARM>AZE", 7, "context_rival_bloc_conflict_4p") == 2
    assert at(directed, "ARM>AZE", 6, "context_rival_bloc_conflict_4p") == 0


def test_allies_follow_dated_bloc_membership():
    """Finland joined NATO on 2023-04-04: US conflict counts as an ally's only from then on (no future membership)."""
    from tension.schema import conform

    weeks = ["2022-06-06", "2024-06-03"]
    rows = []
    for i, day in enumerate(weeks):
        rows.append({"event_id": f"u{i}", "date": day, "source_country": "USA", "target_country": "IRN", "cameo_code": "190",
                     "root_code": "19", "quad_class": 4, "goldstein": -10.0, "family": "incident"})
        rows.append({"event_id": f"f{i}", "date": day, "source_country": "FIN", "target_country": "RUS", "cameo_code": "112",
                     "root_code": "11", "quad_class": 3, "goldstein": -2.0, "family": "denial"})
        rows.append({"event_id": f"r{i}", "date": day, "source_country": "RUS", "target_country": "USA", "cameo_code": "190",
                     "root_code": "19", "quad_class": 4, "goldstein": -10.0, "family": "incident"})
    panel = build_panel(conform(pd.DataFrame(rows)), freq="W", dyads="directed", config=PanelConfig(ally_blocs=("NATO",)))
    fin = panel[panel["dyad"] == "FIN>RUS"].set_index("period")
    before, after = (fin.loc[pd.Timestamp(w)] for w in weeks)
    # allies' conflict: USA (a NATO ally of Finland only after April 2023) fought IRN and RUS -> 2 events, then counted
    assert before["context_ally_conflict_4p"] == 0
    assert after["context_ally_conflict_4p"] == 2
    # rival bloc: Russia's conflict with NATO members other than Finland counts for FIN>RUS only once Finland is in NATO
    assert before["context_rival_bloc_conflict_4p"] == 0
    assert after["context_rival_bloc_conflict_4p"] == 1


def test_history_ewma_of_conflict_periods(directed: pd.DataFrame) -> None:
    # ARM>AZE has material conflict in W1, W3, W5 (the axis starts at W0, before the dyad's first event)
    d = 0.5 ** (1 / 6)  # half-life 6 periods
    assert at(directed, "ARM>AZE", 1, "history_conflict_ewma_6p") == pytest.approx(1 / (1 + d), rel=1e-6)
    assert at(directed, "ARM>AZE", 3, "history_conflict_ewma_6p") == pytest.approx((1 + d**2) / (1 + d + d**2 + d**3), rel=1e-6)
    assert at(directed, "RUS>AZE", 0, "history_conflict_ewma_6p") == 0.0
