"""Step 3 of the panel build: one bucket of long rows -> dense ``dyad x period`` arrays.

:class:`DyadArrays` is what every feature builder reads: the dyad's series by
direction and channel, their memoised cumulative and window sums, and the country
context of each side. Dyad selection (past-only, plus the monitored dyads) is here too.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import periods
from ..schema import FAMILIES
from .buckets import check_kind, dyad_labels, monitored_pairs
from .channels import CHANNELS, Channel, channel_bits
from .context import CountryContext
from .counts import country_index, side_codes

__all__ = ["DyadArrays", "dyad_arrays", "window_sums"]


def window_sums(cs: np.ndarray, window: int) -> np.ndarray:
    """Trailing-window sums (the last ``window`` periods up to and including t) from cumulative sums along axis 1."""
    out = np.empty_like(cs)
    w = min(window, cs.shape[1])
    out[:, :w] = cs[:, :w]
    np.subtract(cs[:, w:], cs[:, :-w] if w else cs[:, w:], out=out[:, w:])
    return out


@dataclass
class DyadArrays:
    """Dense ``dyad x period`` arrays of one bucket, read by the feature builders.

    Dyads are sorted by label; periods run over the whole panel axis. For a directed
    dyad ``A>B``, ``fwd`` is events A->B and ``rev`` events B->A; for an undirected
    dyad ``A|B`` (A < B), fwd is A->B and rev is B->A. ``own`` is the dyad's own
    series (directed: fwd; undirected: both). A channel is ``events``, ``goldstein``,
    ``hostile``, a family name, ``<family>_intensity``, a code-set channel of
    :data:`tension.dyads.CHANNELS`, or a tuple of code-set channels (events in any of them).
    Series and their cumulative sums are memoised: builders stay pure and cheap.
    """

    kind: str
    context: CountryContext
    labels: np.ndarray
    source: np.ndarray
    target: np.ndarray
    src_idx: np.ndarray
    tgt_idx: np.ndarray
    rows: Mapping[str, Mapping[str, np.ndarray]]
    rev_index: np.ndarray | None = None
    """Directed panels: position of each dyad's reverse dyad (-1: none); rev series are gathers of fwd ones."""
    _cache: dict[Any, np.ndarray] = field(default_factory=dict)
    _locks: dict[Any, threading.Lock] = field(default_factory=dict)

    def _memo(self, key: Any, make: Callable[[], np.ndarray]) -> np.ndarray:
        """Compute ``make()`` once per key, also when feature threads ask for it together."""
        if key in self._cache:
            return self._cache[key]
        with self._locks.setdefault(key, threading.Lock()):
            if key not in self._cache:
                self._cache[key] = make()
        return self._cache[key]

    @property
    def freq(self) -> str:
        return self.context.freq

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.labels), self.context.n_periods)

    def _weights(self, r: Mapping[str, np.ndarray], channel: Channel) -> np.ndarray:
        """Row weights of the channels that are neither code sets nor families (see :meth:`series`)."""
        plain = {"events": "n", "goldstein": "g", "hostile": "h"}
        if isinstance(channel, str) and channel in plain:
            return r[plain[channel]]
        raise KeyError(f"Unknown channel {channel!r}; known: events, goldstein, hostile, {FAMILIES}, "
                       f"<family>_intensity, {CHANNELS} or a tuple of them")

    def series(self, direction: str, channel: Channel) -> np.ndarray:
        """``direction`` in fwd / rev / both / own; events of ``channel`` per dyad and period."""
        if direction == "own":
            direction = "fwd" if self.kind == "directed" else "both"

        def make() -> np.ndarray:
            if direction == "both":
                return self.series("fwd", channel) + self.series("rev", channel)
            if direction == "rev" and self.rev_index is not None:
                return self._reverse(self.series("fwd", channel))
            r = self.rows[direction]
            size = self.shape[0] * self.shape[1]
            family = channel.removesuffix("_intensity") if isinstance(channel, str) else None
            if family in FAMILIES:  # every family at once: one pass over the rows
                weight = "g" if channel.endswith("_intensity") else "n"
                block = self._memo(("families", direction, weight), lambda: self._family_block(r, weight))
                return np.ascontiguousarray(block[..., FAMILIES.index(family)])
            bits = channel_bits(channel)
            if bits:  # code-set channels are sparse: add up only the rows that carry them
                take = np.flatnonzero(r["mask"] & bits)
                return np.bincount(r["flat"][take], weights=r["n"][take], minlength=size).reshape(self.shape)
            return np.bincount(r["flat"], weights=self._weights(r, channel), minlength=size).reshape(self.shape)

        return self._memo((direction, channel), make)

    def _family_block(self, r: Mapping[str, np.ndarray], weight: str) -> np.ndarray:
        """``(dyad, period, family)`` sums of ``r[weight]`` in one bincount."""
        k = len(FAMILIES)
        flat = r["flat"] * k + r["family"]
        return np.bincount(flat, weights=r[weight], minlength=self.shape[0] * self.shape[1] * k).reshape(*self.shape, k)

    def _reverse(self, fwd: np.ndarray) -> np.ndarray:
        assert self.rev_index is not None
        out = fwd[np.clip(self.rev_index, 0, None)]
        out[self.rev_index < 0] = 0
        return out

    def fwd(self, channel: Channel) -> np.ndarray:
        """Events source -> target of ``channel`` per dyad and period."""
        return self.series("fwd", channel)

    def rev(self, channel: Channel) -> np.ndarray:
        """Events target -> source of ``channel`` per dyad and period."""
        return self.series("rev", channel)

    def both(self, channel: Channel) -> np.ndarray:
        """Events in either direction."""
        return self.series("both", channel)

    def own(self, channel: Channel) -> np.ndarray:
        """The dyad's own series: directed -> fwd, undirected -> both directions."""
        return self.series("own", channel)

    def cumsum(self, direction: str, channel: Channel) -> np.ndarray:
        """Cumulative sum over periods of :meth:`series` (memoised; float32: counts are exact)."""
        key = ("cumsum", "fwd" if direction == "own" and self.kind == "directed" else ("both" if direction == "own" else direction), channel)

        def make() -> np.ndarray:
            if key[1] == "rev" and self.rev_index is not None:
                return self._reverse(self.cumsum("fwd", channel))
            if key[1] == "both":
                return self.cumsum("fwd", channel) + self.cumsum("rev", channel)
            return np.cumsum(self.series(direction, channel), axis=1, dtype=np.float32)

        return self._memo(key, make)

    def window_sum(self, direction: str, channel: Channel, window: int) -> np.ndarray:
        """Sum of :meth:`series` over the last ``window`` periods up to and including t (float32)."""
        return window_sums(self.cumsum(direction, channel), window)

    def ctx(self, name: str, side: str) -> np.ndarray:
        """Country-level array ``name`` for the dyad's ``source`` or ``target`` side."""
        return self.take_country(self.context.arrays[name], side)

    def take_country(self, arr: np.ndarray, side: str) -> np.ndarray:
        """Rows of a ``country x ...`` array for each dyad's ``source`` or ``target`` (0 for an unknown country)."""
        idx = self.src_idx if side == "source" else self.tgt_idx
        out = arr[np.clip(idx, 0, None)] if arr.shape[0] else np.zeros(self.shape)
        out[idx < 0] = 0.0
        return out

    def ctx_window_sum(self, name: str, window: int, sides: tuple[str, ...] = ("source", "target")) -> np.ndarray:
        """Sum over the last ``window`` periods of country array ``name``, added over ``sides``."""
        rolled = self._memo(("ctx_roll", name, window), lambda: window_sums(np.cumsum(self.context.arrays[name], axis=1), window))
        out = self.take_country(rolled, sides[0])
        for side in sides[1:]:
            out += self.take_country(rolled, side)
        return out

    @property
    def events_global(self) -> np.ndarray:
        return np.broadcast_to(self.context.events_global, self.shape)

    @property
    def low_coverage(self) -> np.ndarray:
        return np.broadcast_to(self.context.low_coverage, self.shape)

    def selected(self, lookback: int, monitored: Iterable[str] = ()) -> np.ndarray:
        """Past-only selection mask: any own event in the last ``lookback`` periods, or monitored."""
        sel = self.window_sum("own", "events", lookback) > 0
        watch = np.isin(self.labels, dyad_labels(monitored_pairs(monitored, self.kind), self.kind))
        sel[watch] = True
        return sel


def _bucket_rows(bucket: pd.DataFrame, context: CountryContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows that count (two different known countries, inside the axis): source and target country index, axis position, row number."""
    p0, n_t = context.start, context.n_periods
    raw_p = bucket["p"].to_numpy()
    cs, cats_s = side_codes(bucket["s"])
    ct, cats_t = side_codes(bucket["t"])
    si = country_index(cats_s, context.countries)[cs]
    ti = country_index(cats_t, context.countries)[ct]
    ok = (raw_p >= p0) & (raw_p < p0 + n_t) & (si >= 0) & (ti >= 0) & (si != ti)
    keep: Any = slice(None) if ok.all() else np.flatnonzero(ok)  # the rows that count, gathered once
    return si[keep], ti[keep], raw_p[keep] - p0, np.arange(len(raw_p))[keep]


def _dyad_pairs(lo: np.ndarray, hi: np.ndarray, countries: tuple[str, ...], kind: str, monitored: Iterable[str]) -> list[tuple[str, str]]:
    """Sorted (source, target) of every dyad with rows (country indices ``lo``, ``hi``) or monitored."""
    width = len(countries) + 1
    present = np.flatnonzero(np.bincount(lo * width + hi, minlength=width * width))  # pair keys seen
    pairs = {(countries[k // width], countries[k % width]) for k in present.tolist()}
    return sorted(pairs | set(monitored_pairs(monitored, kind)))


def _direction_rows(bucket: pd.DataFrame, base: np.ndarray, pp: np.ndarray, where: np.ndarray, n_t: int) -> dict[str, np.ndarray]:
    """Columns of the rows with a dyad position ``where >= 0``, and ``flat``: their cell (dyad * n_t + period)."""
    take = np.flatnonzero(where >= 0)
    rows = {k: bucket[k].to_numpy()[base[take]] for k in ("family", "mask", "n", "g", "h")}
    rows["flat"] = where[take] * n_t + pp[take]
    return rows


def dyad_arrays(
    bucket: pd.DataFrame,
    context: CountryContext,
    kind: str = "directed",
    monitored: Iterable[str] = (),
) -> DyadArrays:
    """Dense arrays for the dyads of one bucket (its long rows: all history, both directions).

    ``bucket`` holds long rows of :func:`tension.dyads.event_counts` between two different
    countries (:func:`tension.dyads.dyadic_rows`). Dyads listed in ``monitored`` are added
    even without events.
    """
    periods.check(context.freq)
    check_kind(kind)
    n_t = context.n_periods
    si, ti, pp, base = _bucket_rows(bucket, context)
    lo, hi = (si, ti) if kind == "directed" else (np.minimum(si, ti), np.maximum(si, ti))
    dyads_sorted = _dyad_pairs(lo, hi, context.countries, kind, monitored)
    src = np.array([a for a, _ in dyads_sorted], dtype=object)
    tgt = np.array([b for _, b in dyads_sorted], dtype=object)
    src_idx, tgt_idx = context.index_of(src), context.index_of(tgt)
    # row -> dyad position through a dense pair-key table (countries are few: no sort needed)
    width = len(context.countries) + 1
    known = (src_idx >= 0) & (tgt_idx >= 0)
    pair_pos = np.full(width * width + 1, -1, dtype=np.int64)  # last slot: unknown pairs
    pair_pos[(src_idx * width + tgt_idx)[known]] = np.flatnonzero(known)

    def position(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        k = np.where((a >= 0) & (b >= 0), a * width + b, width * width)
        return pair_pos[k]

    rev_index = None
    if kind == "directed":
        fwd_pos, rev_pos = position(si, ti), np.full(len(si), -1)  # rev series are gathers of fwd ones
        rev_index = np.where(known, position(tgt_idx, src_idx), -1)
    else:
        forward = si < ti
        pos = position(lo, hi)
        fwd_pos, rev_pos = np.where(forward, pos, -1), np.where(~forward, pos, -1)
    return DyadArrays(
        kind=kind,
        context=context,
        labels=np.array(dyad_labels(dyads_sorted, kind), dtype=object),
        source=src,
        target=tgt,
        src_idx=src_idx,
        tgt_idx=tgt_idx,
        rows={"fwd": _direction_rows(bucket, base, pp, fwd_pos, n_t), "rev": _direction_rows(bucket, base, pp, rev_pos, n_t)},
        rev_index=rev_index,
    )
