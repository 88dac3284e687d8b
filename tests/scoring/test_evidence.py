"""Evidence: the dyad's recent events behind its score."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scoring_world import make_events

from tension.scoring import score


def test_evidence_lists_recent_dyad_events_without_future_ones(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,), events=make_events(panel))
    ev = json.loads(s.loc[s["dyad"] == "ARM>AZE", "evidence"].iloc[0])
    ids = [e["event_id"] for e in ev]
    assert "e4" not in ids and "e3" not in ids  # future event; other direction of a directed dyad
    assert set(ids) <= {"e1", "e2"} and ids
    assert {"event_id", "date", "text", "source_ref"} <= set(ev[0])
    assert json.loads(s.loc[s["dyad"] == "RUS>GEO", "evidence"].iloc[0]) == []


# -- the evidence read over a store: only the dyads and dates it shows ---------------------------------

COUNTRIES = ["ARM", "AZE", "GEO", "RUS", "TUR", "IRN", "FRA", "DEU", "USA", "CHN"]


def _store_events(days: int = 730, per_day: int = 90, seed: int = 3) -> pd.DataFrame:
    """Two years of hostile and friendly events among ten countries (one file per month in the store)."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    src = rng.integers(0, len(COUNTRIES), n)
    tgt = (src + rng.integers(1, len(COUNTRIES), n)) % len(COUNTRIES)
    gold = rng.choice([-10.0, -4.0, 3.0], n)
    return pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "date": pd.Timestamp("2022-01-03") + pd.to_timedelta(np.arange(n) // per_day, "D"),
        "source_actor": "Government", "source_country": np.array(COUNTRIES)[src],
        "target_actor": "Government", "target_country": np.array(COUNTRIES)[tgt],
        "cameo_code": np.where(gold < 0, "190", "042"), "root_code": np.where(gold < 0, "19", "04"),
        "quad_class": np.where(gold < 0, 4, 1), "goldstein": gold,
        "family": np.where(gold < 0, "incident", "cooperation"), "weight": 1.0, "dataset": "test",
        "text": [f"event {i}" for i in range(n)],
    })


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from tension.store import Store

    st = Store(str(tmp_path_factory.mktemp("evidence") / "store"))
    st.append(_store_events())
    return st


def _scans(profile: dict) -> list[dict]:
    found, todo = [], list(profile["operator"])
    while todo:
        node = todo.pop()
        todo.extend(node.get("children", []))
        if node.get("type") == "TABLE_SCAN" and node["extra_info"].get("Function") == "READ_PARQUET":
            found.append(node)
    return found


def test_evidence_reads_only_the_requested_dyads_and_window_pushed_into_the_parquet_scan(store, tmp_path):
    import duckdb

    from tension.scoring.evidence import evidence_weights, read_evidence

    events = store.read()
    start, cutoff = pd.Timestamp("2023-09-04"), pd.Timestamp("2023-11-26")  # 12 weeks of a 2-year store
    dyads = ["ARM>AZE", "RUS>GEO"]
    weights = evidence_weights([("ARM>AZE", "incidents", 0.7)])
    con = duckdb.connect()
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{tmp_path / 'profile.json'}'")
    found = read_evidence(store, weights, dyads, start, cutoff, directed=True, top=5, con=con)
    con.close()

    # the answer: the top 5 hostile events of each requested dyad inside the window, oldest first
    assert set(found) == set(dyads) and all(len(v) == 5 for v in found.values())
    d = events["date"]
    for dyad, listed in found.items():
        s, t = dyad.split(">")
        mine = events[(events["source_country"] == s) & (events["target_country"] == t) & (d >= start) & (d <= cutoff)]
        assert {e["event_id"] for e in listed} <= set(mine.loc[mine["goldstein"] < 0, "event_id"])
        assert [e["date"] for e in listed] == sorted(e["date"] for e in listed)
    # the read: only the files of the window's months; the date filter inside the Parquet scan, so it
    # streams the window's events, not the store's; the dyads' countries prune row groups by statistics
    scans = _scans(json.loads((tmp_path / "profile.json").read_text()))
    assert len(scans) == 1
    scan = scans[0]
    filters = " ".join(scan["extra_info"]["Filters"])
    assert "date >=" in filters and "date <=" in filters and "source_country" in filters
    assert int(scan["extra_info"]["Total Files Read"]) == len(store.files(start, cutoff)) < len(store.files())
    assert "target_country IN ('AZE', 'GEO')" in filters
    in_window = int(((d >= start) & (d <= cutoff)).sum())
    assert scan["rows_scanned"] == in_window and in_window < len(events) / 8


def test_evidence_from_a_store_equals_evidence_from_the_same_events_in_memory(store):
    from tension.scoring.evidence import evidence_weights, read_evidence

    events = store.read(start="2023-06-01")
    dyads = ["ARM>AZE", "AZE>ARM", "TUR>IRN", "FRA>DEU"]
    weights = evidence_weights([("ARM>AZE", "incidents", 0.7), ("TUR>IRN", "relationship", 0.2),
                                ("FRA>DEU", "alliances", 0.4)])
    args = (weights, dyads, pd.Timestamp("2023-10-02"), pd.Timestamp("2023-12-24"))
    assert read_evidence(store, *args, directed=True) == read_evidence(events, *args, directed=True)
    assert read_evidence(store, *args, directed=False) == read_evidence(events, *args, directed=False)
