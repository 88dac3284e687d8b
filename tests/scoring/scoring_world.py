"""The small weekly directed panel, models and events the scoring tests share."""
from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ["incidents_material_conflict_4p", "incidents_hostile_intensity_4p", "denials_accuse_by_source_4p",
            "relationship_cooperation_count_4p"]
DYADS = [("ARM", "AZE"), ("AZE", "ARM"), ("RUS", "GEO"), ("TUR", "ARM"), ("USA", "CHN"), ("FRA", "DEU")]


def make_panel(periods: int = 60, seed: int = 0, quiet: tuple[str, ...] = ("FRA>DEU",)) -> pd.DataFrame:
    """A small weekly directed panel with contract columns and 4-week window features."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2023-01-02", periods=periods, freq="W-MON")
    rows = []
    for s, t in DYADS:
        dyad = f"{s}>{t}"
        level = 0.0 if dyad in quiet else rng.uniform(0.5, 4)
        for w in weeks:
            inc = rng.poisson(level)
            rows.append({"dyad": dyad, "source": s, "target": t, "period": w, "incident_count": inc,
                         "denial_count": rng.poisson(level / 2), "cooperation_count": rng.poisson(1.0) if level else 0,
                         "alliance_move_count": 0, "other_count": 0,
                         "material_conflict_count": rng.poisson(level / 3),
                         "hostile_intensity": float(inc) * 5.0})
    p = pd.DataFrame(rows)
    p["events_dyad"] = p[["incident_count", "denial_count", "cooperation_count"]].sum(axis=1)
    p["events_global"] = p.groupby("period")["events_dyad"].transform("sum") + 100
    p["events_source"] = p["events_dyad"]
    p["events_target"] = p["events_dyad"]
    p["low_coverage"] = False
    g = p.groupby("dyad", sort=False)
    sources = {"incidents_material_conflict_4p": "material_conflict_count",
               "incidents_hostile_intensity_4p": "hostile_intensity",
               "denials_accuse_by_source_4p": "denial_count", "relationship_cooperation_count_4p": "cooperation_count"}
    for feature, column in sources.items():
        p[feature] = g[column].transform(lambda s: s.rolling(4, min_periods=1).sum()).astype(float)
    p = p.sort_values(["dyad", "period"]).reset_index(drop=True)
    p.attrs["freq"] = "W"
    return p


def target_of(panel: pd.DataFrame, h: int = 1) -> pd.Series:
    fwd = panel.groupby("dyad")["material_conflict_count"].shift(-h)
    return (fwd > 0).astype(float).where(fwd.notna())


def fitted(panel: pd.DataFrame, estimator, h: int = 1):
    y = target_of(panel, h)
    ok = y.notna()
    return estimator.fit(panel.loc[ok, FEATURES], y[ok].astype(int))


def make_events(panel: pd.DataFrame) -> pd.DataFrame:
    last = panel["period"].max()
    return pd.DataFrame({
        "event_id": ["e1", "e2", "e3", "e4"],
        "date": pd.to_datetime([last, last - pd.Timedelta(days=7), last, last + pd.Timedelta(days=30)]),
        "source_country": ["ARM", "ARM", "AZE", "ARM"], "target_country": ["AZE", "AZE", "ARM", "AZE"],
        "source_actor": ["Armenia", "Armenia", "Azerbaijan", "Armenia"],
        "target_actor": ["Azerbaijan", "Azerbaijan", "Armenia", "Azerbaijan"],
        "cameo_code": ["190", "112", "190", "190"], "root_code": ["19", "11", "19", "19"],
        "goldstein": np.array([-10, -2, -10, -10], dtype="float32"),
        "family": ["incident", "incident", "incident", "incident"], "weight": np.float32(1.0),
        "source_ref": ["https://example.org/a", "story-2", "story-3", "story-future"],
        "text": ["Shelling near the border", "Accusation of ceasefire violation", "Reverse shelling", "future"],
    })


REGIONS = {"South Caucasus": ("ARM", "AZE", "GEO", "RUS", "TUR", "IRN")}
