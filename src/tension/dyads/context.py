"""Step 2 of the panel build: the country-level pass over every long row.

Small ``country x period`` arrays that every dyad bucket shares: each country's
volume, conflict, hostility and alliance moves, its allies' activity (dated bloc
membership), conflict with each bloc, the region temperature, and the global volume
with its ``low_coverage`` flag. Everything is causal per period.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import periods
from ..actors import ORGANISATIONS
from ..config import SOUTH_CAUCASUS, PanelConfig
from ..errors import UsageError, problem
from ..schema import FAMILIES
from .channels import BIT
from .counts import country_index, side_codes

__all__ = ["CountryContext", "country_context", "trailing_median"]


@dataclass(frozen=True)
class CountryContext:
    """The country-level pass: small ``country x period`` arrays shared by every bucket.

    ``arrays`` names: ``volume`` (events involving the country, any partner),
    ``conflict`` (material conflict events with another country), ``hostile``
    (hostile intensity with another country), ``alliance_moves`` (alliance-move
    events with anyone, organisations included), ``bloc_joins`` / ``bloc_exits``
    (events with an organisation: alliance moves with Goldstein >= 0 / reductions of
    relations or negative alliance moves), ``ally_conflict`` / ``ally_alliance_moves``
    (the same summed over the country's allies: members of the blocs it belongs to).
    ``bloc_members[b, c, p]``: country c is a member of bloc b in period p (dated; see
    :func:`_bloc_members`). ``bloc_conflict[c, b, p]``: material conflict between country c
    and the members of bloc b in period p.
    ``region_of[c]``: index of the country's (first) region, -1 unknown; ``region_totals[r, p]``:
    material conflict between two countries with at least one in region r.
    """

    freq: str
    start: int
    countries: tuple[str, ...]
    arrays: Mapping[str, np.ndarray]
    blocs: tuple[str, ...]
    bloc_members: np.ndarray
    bloc_conflict: np.ndarray
    region_of: np.ndarray
    region_totals: np.ndarray
    events_global: np.ndarray
    low_coverage: np.ndarray

    @property
    def n_periods(self) -> int:
        return int(self.events_global.shape[0])

    @property
    def periods(self) -> np.ndarray:
        return periods.to_dates(self.start + np.arange(self.n_periods), self.freq)

    def index_of(self, codes: Sequence[str] | pd.Series | pd.Index) -> np.ndarray:
        """Position of each country code in :attr:`countries` (-1 when absent)."""
        return pd.Index(self.countries, dtype=object).get_indexer(pd.Index(np.asarray(codes, dtype=object)))


@dataclass(frozen=True)
class _Rows:
    """The long rows inside the period axis, with country indices of both sides (-1: not a country)."""

    n_t: int
    si: np.ndarray
    ti: np.ndarray
    p: np.ndarray
    n: np.ndarray
    g: np.ndarray
    h: np.ndarray
    family: np.ndarray
    mask: np.ndarray
    cs: np.ndarray
    ct: np.ndarray
    org_s: np.ndarray
    org_t: np.ndarray
    """Side-key codes of each row, and per side-key code (last entry: missing) whether it is an organisation."""

    @functools.cached_property
    def dyadic(self) -> np.ndarray:
        return (self.si >= 0) & (self.ti >= 0) & (self.si != self.ti)


def trailing_median(x: np.ndarray, window: int) -> np.ndarray:
    """Median of the previous ``window`` values (t excluded), NaN until 3 past values exist."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(3, n):
        out[i] = np.median(x[max(0, i - window) : i])
    return out


def _bincount2(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    flat = rows * shape[1] + cols
    return np.bincount(flat, weights=weights, minlength=shape[0] * shape[1]).reshape(shape)


def _bloc_members(blocs: Sequence[str], days: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Dated members of each bloc from ``tension.actors.ORGANISATIONS``: bloc -> country -> member on each day.

    Membership at a period is read on the period's first day, so a feature never uses a
    membership that began later (Finland is not a NATO ally before April 2023). Blocs the
    actors table does not know are left out.
    """
    out: dict[str, dict[str, np.ndarray]] = {}
    for b in blocs:
        if b not in ORGANISATIONS:
            continue
        spans: dict[str, np.ndarray] = {}
        for m in ORGANISATIONS[b].memberships:
            on = np.ones(len(days), dtype=bool)
            if m.start:
                on &= days >= np.datetime64(m.start, "D")
            if m.end:
                on &= days <= np.datetime64(m.end, "D")
            spans[m.country] = spans.get(m.country, np.zeros(len(days), dtype=bool)) | on
        out[b] = spans
    return out


def _allies(countries: Sequence[str], membership: Mapping[str, Any], n_t: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Bloc membership ``[bloc, country, period]``: dated spans (bloc -> country -> bool per period) or static member lists."""
    names = tuple(membership)
    member = np.zeros((len(names), len(countries), n_t), dtype=bool)
    index = {c: i for i, c in enumerate(countries)}
    for bi, b in enumerate(names):
        spans = membership[b]
        for c in spans:
            if c in index:
                member[bi, index[c]] = spans[c] if isinstance(spans, Mapping) else True
    return names, member


def _ally_sum(members: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per country and period, ``values`` summed over its allies (fellow members of a bloc in that period)."""
    out = np.zeros_like(values)
    n_b, n_c, n_t = members.shape
    if n_b == 0 or n_c == 0:
        return out
    epochs, which = np.unique(members.reshape(n_b * n_c, n_t).T, axis=0, return_inverse=True)
    for k, column in enumerate(epochs):  # membership changes rarely: one ally matrix per epoch
        m = column.reshape(n_b, n_c).astype(np.float64)
        ally = (m.T @ m) > 0
        np.fill_diagonal(ally, False)
        cols = np.flatnonzero(which.ravel() == k)
        out[:n_c, cols] = ally.astype(np.float64) @ values[:n_c][:, cols]
    return out


def _axis(counts: pd.DataFrame, freq: str, start: Any, end: Any) -> tuple[int, int]:
    """First period and number of periods: ``start`` (else the first event) to ``end`` (else the last)."""
    p0 = periods.to_index(start, freq) if start is not None else int(counts["p"].min())
    p1 = periods.to_index(end, freq) if end is not None else int(counts["p"].max())
    return p0, p1 - p0 + 1


def _rows(counts: pd.DataFrame, p0: int, n_t: int) -> tuple[_Rows, tuple[str, ...]]:
    """The long rows inside the axis with both sides as country indices, and the sorted countries seen."""
    raw_p = counts["p"].to_numpy()
    inside: Any = (raw_p >= p0) & (raw_p < p0 + n_t)
    if inside.all():
        inside = slice(None)  # the usual case: no boolean gathers of every column
    cs, cats_s = side_codes(counts["s"])
    ct, cats_t = side_codes(counts["t"])
    cs, ct = cs[inside], ct[inside]
    present_s = np.flatnonzero(np.bincount(cs.astype(np.int64) + 1, minlength=len(cats_s) + 1)[1:])  # codes in use (-1: missing)
    present_t = np.flatnonzero(np.bincount(ct.astype(np.int64) + 1, minlength=len(cats_t) + 1)[1:])
    keys = set(np.asarray(cats_s, dtype=object)[present_s]) | set(np.asarray(cats_t, dtype=object)[present_t])
    countries = tuple(sorted(k for k in keys if k and not str(k).startswith("@")))
    org_s, org_t = (np.append(np.char.startswith(np.asarray(cats, dtype=str), "@"), False) for cats in (cats_s, cats_t))
    rows = _Rows(
        n_t=n_t,
        si=country_index(cats_s, countries)[cs],
        ti=country_index(cats_t, countries)[ct],
        p=raw_p[inside] - p0,
        n=counts["n"].to_numpy()[inside],
        g=counts["g"].to_numpy()[inside],
        h=counts["h"].to_numpy()[inside],
        family=counts["family"].to_numpy()[inside],
        mask=counts["mask"].to_numpy()[inside],
        cs=cs,
        ct=ct,
        org_s=org_s,
        org_t=org_t,
    )
    return rows, countries


def _per_country(r: _Rows, n_c: int, weights: np.ndarray, select: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``weights`` per (country, period) over both sides; a domestic event counts once."""
    shape = (max(n_c, 1), r.n_t)
    size = shape[0] * r.n_t
    if select is None:
        a, b, pp, w = r.si, r.ti, r.p, weights
    else:
        take = np.flatnonzero(select)
        a, b, pp, w = r.si[take], r.ti[take], r.p[take], weights[take]
    ok_s, ok_t = a >= 0, (b >= 0) & (b != a)
    out = np.bincount((a * r.n_t + pp)[ok_s], weights=w[ok_s], minlength=size)
    out += np.bincount((b * r.n_t + pp)[ok_t], weights=w[ok_t], minlength=size)
    return out.reshape(shape)


def _country_arrays(r: _Rows, n_c: int, conflict_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Volume, conflict, hostility, alliance moves and bloc joins/exits of each country per period."""
    alliance = r.family == FAMILIES.index("alliance_move")
    reduced = (r.mask & BIT["reduce_relations"]) > 0
    org_row = alliance | reduced  # only these rows can be bloc moves; of them, those with an organisation side
    org_row[org_row] = r.org_s[r.cs[org_row]] | r.org_t[r.ct[org_row]]
    exits = org_row & (reduced | (alliance & (r.g < 0)))
    joins = org_row & alliance & (r.g >= 0) & ~exits
    return {
        "volume": _per_country(r, n_c, r.n),
        "conflict": _per_country(r, n_c, r.n, conflict_rows),
        "hostile": _per_country(r, n_c, r.h, r.dyadic & (r.h != 0)),
        "alliance_moves": _per_country(r, n_c, r.n, alliance),
        "bloc_joins": _per_country(r, n_c, r.n, joins),
        "bloc_exits": _per_country(r, n_c, r.n, exits),
    }


def _bloc_conflict(r: _Rows, conflict_rows: np.ndarray, members: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``[country, bloc, period]``: material conflict between the country and the bloc's members of that period."""
    out = np.zeros((shape[0], members.shape[0], r.n_t))
    c = np.flatnonzero(conflict_rows)
    c_si, c_ti, c_p, c_n = r.si[c], r.ti[c], r.p[c], r.n[c]
    for bi in range(members.shape[0]):
        inb = members[bi]  # conflict rows have two known countries: no -1 index
        rs = inb[c_ti, c_p]
        out[:, bi, :] += _bincount2(c_si[rs], c_p[rs], c_n[rs], shape)
        rt = inb[c_si, c_p]
        out[:, bi, :] += _bincount2(c_ti[rt], c_p[rt], c_n[rt], shape)
    return out


def _regions(r: _Rows, conflict_rows: np.ndarray, countries: Sequence[str], regions: Mapping[str, Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Each country's (first) region (-1 unknown) and the material conflict touching each region per period."""
    c = np.flatnonzero(conflict_rows)
    c_si, c_ti, c_p, c_n = r.si[c], r.ti[c], r.p[c], r.n[c]
    region_of = np.full(len(countries), -1, dtype=np.int64)
    region_totals = np.zeros((len(regions), r.n_t))
    for ri, members_r in enumerate(regions.values()):
        inr = np.array([k in set(members_r) for k in countries], dtype=bool)
        region_of[inr & (region_of < 0)] = ri
        rows = inr[c_si] | inr[c_ti]
        region_totals[ri] = np.bincount(c_p[rows], weights=c_n[rows], minlength=r.n_t)
    return region_of, region_totals


def _low_coverage(events_global: np.ndarray, freq: str, cfg: PanelConfig) -> np.ndarray:
    """Periods whose global volume falls below ``cfg.low_coverage_ratio`` of its own trailing median."""
    med = trailing_median(events_global, periods.lookback(freq, cfg.coverage_window_months))
    with np.errstate(invalid="ignore"):
        low = np.nan_to_num(med) > 0
        low &= events_global < cfg.low_coverage_ratio * np.nan_to_num(med)
    return low


def country_context(
    counts: pd.DataFrame,
    freq: str,
    config: PanelConfig | None = None,
    regions: Mapping[str, Sequence[str]] | None = None,
    start: Any = None,
    end: Any = None,
    blocs: Mapping[str, Sequence[str]] | None = None,
) -> CountryContext:
    """The country-level pass over all long rows (see :class:`CountryContext`).

    The period axis runs from ``start`` (else the first period with any event) to
    ``end`` (else the last period with any event). Everything here is causal per
    period; ``low_coverage`` compares period t with its own trailing past only.
    ``blocs`` (bloc code -> member ISO3 codes) overrides the membership that
    ``config.ally_blocs`` takes from ``tension.actors.ORGANISATIONS``.
    """
    cfg = config or PanelConfig()
    regions = {"South Caucasus": SOUTH_CAUCASUS} if regions is None else regions
    if counts.empty:
        raise UsageError(problem("No events in the requested range.", "at least one event", "0 events", "Check --store, the dates, or ingest events first."))
    p0, n_t = _axis(counts, freq, start, end)
    r, countries = _rows(counts, p0, n_t)
    shape = (max(len(countries), 1), n_t)
    conflict_rows = r.dyadic & ((r.mask & BIT["material_conflict"]) > 0)
    arrays = _country_arrays(r, len(countries), conflict_rows)
    days = periods.to_dates(p0 + np.arange(n_t), freq).astype("datetime64[D]")
    bloc_names, members = _allies(countries, _bloc_members(cfg.ally_blocs, days) if blocs is None else blocs, n_t)
    arrays["ally_conflict"] = _ally_sum(members, arrays["conflict"])
    arrays["ally_alliance_moves"] = _ally_sum(members, arrays["alliance_moves"])
    region_of, region_totals = _regions(r, conflict_rows, countries, regions)
    events_global = np.bincount(r.p, weights=r.n, minlength=n_t).astype(np.float64)
    return CountryContext(
        freq=freq,
        start=p0,
        countries=countries,
        arrays=arrays,
        blocs=bloc_names,
        bloc_members=members,
        bloc_conflict=_bloc_conflict(r, conflict_rows, members, shape),
        region_of=region_of,
        region_totals=region_totals,
        events_global=events_global,
        low_coverage=_low_coverage(events_global, freq, cfg),
    )
