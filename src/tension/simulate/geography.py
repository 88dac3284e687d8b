"""Fictional countries: names, regions, blocs, rivalries and the active directed dyads with their weights."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

REL_LEVEL = {"ally": -0.5, "neutral": 0.0, "rival": 1.0}

_SYLLABLES = (
    "ka", "lo", "vi", "ra", "mon", "tes", "dor", "an", "bel", "cyr", "el", "fa", "gon", "hal", "is",
    "jor", "kel", "lun", "mar", "nor", "os", "pra", "quin", "ros", "sal", "tor", "ul", "var", "wen",
    "yst", "zan", "bre", "cal", "dra", "esk", "fel", "gra", "hest", "ir", "lis",
)
_REGION_WORDS = (
    "Amber Coast", "Northern Marches", "Sapphire Basin", "High Steppe", "Iron Gulf", "Cedar Isles",
    "Salt Plateau", "Western Reach", "Red Delta", "Frost Rim", "Jade Valleys", "Southern Shelf",
    "Copper Hills", "Lantern Straits", "Ash Highlands", "Silver Lakes", "Dune Belt", "Eastern Fjords",
    "Moss Lowlands", "Storm Cape", "Obsidian Range", "Golden Plains", "Mist Archipelago", "Thorn Pass",
    "Pearl Lagoon", "Granite Shield",
)
_BLOC_WORDS = ("Aurora Pact", "Meridian League", "Basalt Accord", "Tidewater Union", "Zenith Compact",
               "Harbor Alliance", "Quartz Covenant", "Orchid Entente")


def _country_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    suffixes = ("ia", "ar", "stan", "land", "ora", "ea", "is", "onia")
    while len(names) < n:
        k = int(rng.integers(2, 4))
        stem = "".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), size=k))
        name = (stem + suffixes[int(rng.integers(0, len(suffixes)))]).capitalize()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def make_geography(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Countries, regions, blocs, rivalries and the active directed dyads with their weights."""
    codes = np.array([f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n)])
    names = np.array(_country_names(rng, n))
    region_names, region, bloc, size = _memberships(rng, n)
    pi, pj, rel, pair_w = _pairs(rng, region, bloc, size)
    src, tgt, weight, dyad_of = _directed(rng, n, pi, pj, pair_w)
    countries = pd.DataFrame(
        {
            "code": codes,
            "name": names,
            "region": np.array(region_names)[region],
            "bloc": np.where(bloc >= 0, np.array(_BLOC_WORDS)[np.maximum(bloc, 0)], ""),
        }
    )
    relations = pd.DataFrame(
        {
            "dyad": np.char.add(np.char.add(codes[pi], "|"), codes[pj]),
            "a": codes[pi],
            "b": codes[pj],
            "relation": rel,
            "weight": np.round(pair_w, 4),
        }
    )
    return {
        "codes": codes,
        "names": names,
        "bloc": bloc,
        "pi": pi,
        "pj": pj,
        "pair_rel": rel,
        "pair_level": np.vectorize(REL_LEVEL.get)(rel).astype(float) if len(pi) else np.zeros(0),
        "src": src,
        "tgt": tgt,
        "weight": weight,
        "dyad_of": dyad_of,
        "countries": countries,
        "relations": relations,
    }


def _memberships(rng: np.random.Generator, n: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Region names, each country's region and bloc (-1: unaligned), and its size (relative event volume)."""
    n_regions = max(2, int(round(n / 8)))
    region_names = [
        _REGION_WORDS[i % len(_REGION_WORDS)] + ("" if i < len(_REGION_WORDS) else f" {i // len(_REGION_WORDS) + 1}")
        for i in range(n_regions)
    ]
    region = rng.permutation(np.arange(n) % n_regions)
    n_blocs = min(len(_BLOC_WORDS), 2 + n // 60)
    in_bloc = rng.random(n) < 0.6
    # blocs lean regional: a country joins the bloc of its region's "home" bloc two times in three
    home = rng.integers(0, n_blocs, size=n_regions)
    bloc = np.where(rng.random(n) < 2 / 3, home[region], rng.integers(0, n_blocs, size=n))
    bloc = np.where(in_bloc, bloc, -1)
    size = rng.lognormal(0.0, 0.6, size=n)
    return region_names, region, bloc, size


def _pairs(rng: np.random.Generator, region: np.ndarray, bloc: np.ndarray,
           size: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The active undirected pairs (i < j): their relation (ally / rival / neutral) and weight."""
    n = len(region)
    pi, pj = np.triu_indices(n, k=1)
    same_region = region[pi] == region[pj]
    ally = (bloc[pi] >= 0) & (bloc[pi] == bloc[pj])
    rival_p = np.where(same_region, 0.35, 0.012)
    rival = ~ally & (rng.random(len(pi)) < rival_p)
    cross_p = min(1.0, 6.0 / n)
    active = ally | rival | np.where(same_region, rng.random(len(pi)) < 0.7, rng.random(len(pi)) < cross_p)
    pi, pj, ally, rival = pi[active], pj[active], ally[active], rival[active]
    rel = np.where(ally, "ally", np.where(rival, "rival", "neutral"))
    pair_w = size[pi] * size[pj] * rng.lognormal(0.0, 1.1, size=len(pi))
    pair_w /= pair_w.mean()
    # rivalry (hence episodes) is independent of event volume: rival pairs get weights at evenly
    # spread quantiles of all pair weights, so that volume alone predicts nothing even by chance
    riv = np.flatnonzero(rival)
    if len(riv):
        spread = np.quantile(pair_w, (np.arange(len(riv)) + 0.5) / len(riv))
        pair_w[riv] = rng.permutation(spread)
    return pi, pj, rel, pair_w


def _directed(rng: np.random.Generator, n: int, pi: np.ndarray, pj: np.ndarray,
              pair_w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both directions of every pair (2p = i -> j, 2p + 1 = j -> i): source, target, weight, and the (i, j) -> dyad table."""
    P = len(pi)
    src = np.empty(2 * P, dtype=np.int32)
    tgt = np.empty(2 * P, dtype=np.int32)
    src[0::2], src[1::2] = pi, pj
    tgt[0::2], tgt[1::2] = pj, pi
    weight = np.repeat(pair_w, 2) * rng.lognormal(0.0, 0.3, size=2 * P)
    weight /= weight.mean()
    dyad_of = np.full((n, n), -1, dtype=np.int64)
    dyad_of[src, tgt] = np.arange(2 * P)
    return src, tgt, weight, dyad_of
