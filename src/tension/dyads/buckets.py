"""Which dyads exist and where their rows go: dyad kinds and labels, the one parser of
a written dyad (``ARM|AZE``, ``RUS>AZE``), and the dyad-hash buckets a distributed
engine shuffles long rows into (both directions of a pair share a bucket).
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import UsageError, problem
from .counts import is_country_key, side_codes

__all__ = [
    "DYAD_KINDS",
    "check_kind",
    "parse_dyad",
    "monitored_pairs",
    "dyad_labels",
    "bucket_of",
    "pair_keys",
    "pair_buckets",
    "monitored_bucket",
    "dyadic_rows",
    "dyadic_mask",
]

DYAD_KINDS: tuple[str, ...] = ("directed", "undirected")


def check_kind(dyads: str) -> str:
    """``dyads`` when it is one of :data:`DYAD_KINDS`; a usage error that says what to use otherwise."""
    if dyads not in DYAD_KINDS:
        raise UsageError(problem("Unknown dyad kind.", "directed or undirected", dyads, "Use --dyads directed."))
    return dyads


def parse_dyad(item: str) -> tuple[str, str, str]:
    """A written dyad -> ``(first, second, separator)``, upper-cased: ``'arm|aze'`` -> ``('ARM', 'AZE', '|')``.

    Raises a usage error unless ``item`` is two different codes joined by ``>`` or ``|``.
    """
    text = str(item).strip().upper()
    sep = ">" if ">" in text else "|" if "|" in text else ""
    parts = text.split(sep) if sep else []
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise UsageError(problem(f"Cannot read the monitored dyad {item!r}.", "'ARM|AZE' or 'RUS>AZE' (two different ISO3 codes)", item))
    return parts[0], parts[1], sep


def monitored_pairs(monitored: Iterable[str], kind: str) -> list[tuple[str, str]]:
    """Sorted ``(source, target)`` pairs of the monitored dyads in a panel of ``kind``.

    Undirected: one sorted pair per item. Directed: ``A>B`` is one pair, ``A|B`` both directions.
    """
    pairs: set[tuple[str, str]] = set()
    for item in monitored:
        a, b, sep = parse_dyad(item)
        if kind == "undirected":
            pairs.add((min(a, b), max(a, b)))
        elif sep == ">":
            pairs.add((a, b))
        else:
            pairs.update([(a, b), (b, a)])
    return sorted(pairs)


def dyad_labels(pairs: Iterable[tuple[str, str]], kind: str) -> list[str]:
    """``A>B`` (directed) or ``A|B`` (undirected) labels of country pairs."""
    sep = ">" if kind == "directed" else "|"
    return [f"{a}{sep}{b}" for a, b in pairs]


def bucket_of(source: str, target: str, n_buckets: int) -> int:
    """Dyad-hash bucket of a country pair, the same for both directions (stable across runs)."""
    a, b = sorted((source, target))
    return zlib.crc32(f"{a}|{b}".encode()) % max(1, n_buckets)


def pair_keys(s: pd.Series, t: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Per long row, an integer key of its unordered pair of side keys, and the sorted key list it indexes.

    Key ``k`` is the pair ``(keys[k // len(keys)], keys[k % len(keys)])``, the smaller first;
    both directions of a pair share it.
    """
    cs, cats_s = side_codes(s)
    ct, cats_t = side_codes(t)
    keys = pd.Index(cats_s, dtype=object).union(pd.Index(cats_t, dtype=object))
    a = np.append(keys.get_indexer(pd.Index(cats_s, dtype=object)), 0)[cs].astype(np.int64)  # code -1 (missing) -> first key
    b = np.append(keys.get_indexer(pd.Index(cats_t, dtype=object)), 0)[ct].astype(np.int64)
    return np.minimum(a, b) * max(1, len(keys)) + np.maximum(a, b), keys


def pair_buckets(s: pd.Series, t: pd.Series, n_buckets: int) -> np.ndarray:
    """:func:`bucket_of` of each long row (side-key columns ``s``, ``t``), hashed once per distinct pair."""
    pair, keys = pair_keys(s, t)
    if not len(pair):
        return np.zeros(0, dtype=np.int64)
    width = max(1, len(keys))
    present = np.flatnonzero(np.bincount(pair))
    lut = np.zeros(int(pair.max()) + 1, dtype=np.int64)
    lut[present] = [bucket_of(keys[k // width], keys[k % width], n_buckets) for k in present.tolist()]
    return lut[pair]


def monitored_bucket(item: str, n_buckets: int) -> int:
    """:func:`bucket_of` of a monitored dyad written ``A>B`` or ``A|B`` (0 when unreadable: the build reports it)."""
    try:
        a, b, _ = parse_dyad(item)
    except UsageError:
        return 0
    return bucket_of(a, b, n_buckets)


def dyadic_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """Long rows between two different countries (the rows buckets are made of)."""
    return counts[dyadic_mask(counts)]


def dyadic_mask(counts: pd.DataFrame) -> np.ndarray:
    """Which long rows are between two different countries (see :func:`dyadic_rows`)."""
    cs, cats_s = side_codes(counts["s"])
    ct, cats_t = side_codes(counts["t"])
    is_s = np.append(is_country_key(cats_s), False)[cs]
    is_t = np.append(is_country_key(cats_t), False)[ct]
    keep = is_s & is_t
    if cats_s.equals(cats_t):
        keep &= cs != ct
    else:
        keep &= counts["s"].astype(object).to_numpy() != counts["t"].astype(object).to_numpy()
    return keep
