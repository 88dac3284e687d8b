"""Events -> bilateral series: the heavy aggregation of the panel stage.

The build has three steps, each a pure function, so a distributed engine can run
the middle one per dyad-hash bucket and get the same rows as the local path:

1. :func:`event_counts` - one DuckDB ``GROUP BY`` over the events (a DataFrame or
   the store's Parquet files) into long rows ``(s, t, p, family, mask) -> n, g, h``:
   side keys (ISO3 country, ``@ORG`` or empty), integer period, event family, a
   bit mask of the code sets features need, event count, Goldstein sum, hostile sum.
2. :func:`country_context` - one small country-level pass over those rows:
   global and per-country volume, each country's conflict with everyone, allies'
   activity, bloc moves, region temperature, the ``low_coverage`` flag.
3. :func:`dyad_arrays` - one bucket of rows (all history of some dyads) -> dense
   dyad x period arrays (:class:`DyadArrays`) that feature builders read;
   :func:`base_frame` turns them into the base panel columns.

Periods are integers: days since 1970-01-01 (``D``), ISO weeks since Monday
1970-01-05 (``W``), months since January 1970 (``M``); :func:`period_dates`
turns them back into ``datetime64[ns]`` labels (the day, the Monday, the 1st).

Dyad selection is past-only: a dyad is in the panel at period t when it had at
least one event in the last ``lookback`` periods up to and including t (36
months, expressed in periods of the frequency), or when the analyst monitors it.
"""
from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .config import SOUTH_CAUCASUS, PanelConfig
from .errors import UsageError, problem
from .schema import FAMILIES

__all__ = [
    "FREQS",
    "DYAD_KINDS",
    "CHANNELS",
    "CountryContext",
    "DyadArrays",
    "aggregate",
    "event_counts",
    "country_context",
    "dyad_arrays",
    "base_frame",
    "bucket_of",
    "period_dates",
    "lookback_periods",
    "channel_codes",
]

FREQS: tuple[str, ...] = ("D", "W", "M")
DYAD_KINDS: tuple[str, ...] = ("directed", "undirected")
_WEEK_EPOCH = "1970-01-05"  # a Monday

# Code sets the features read, by channel: (name of the set in tension.taxonomy,
# CAMEO prefixes used when the taxonomy does not define that set).
CHANNEL_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "deny": ("DENY", ("016",)),
    "reject": ("REJECT", ("12",)),
    "accuse": ("ACCUSE", ("112",)),
    "criticize": ("CRITICIZE", ("111",)),
    "threaten": ("THREATEN", ("13",)),
    "force_posture": ("FORCE_POSTURE", ("15",)),
    "reduce_relations": ("REDUCE_RELATIONS", ("16",)),
    "coerce": ("COERCE", ("17",)),
    "assault": ("ASSAULT", ("18",)),
    "fight": ("FIGHT", ("19",)),
    "mass_violence": ("MASS_VIOLENCE", ("20",)),
    "sign_agreement": ("SIGN_AGREEMENT", ("057",)),
    "mil_cooperation": ("MIL_COOPERATION", ("0312", "0332", "0352", "062", "074")),
}
_QUAD_BITS = {"verbal_conflict": 3, "material_conflict": 4}
CHANNELS: tuple[str, ...] = tuple(CHANNEL_SOURCES) + tuple(_QUAD_BITS)
"""Mask channels (code sets and quad classes) that :class:`DyadArrays` exposes."""
_BIT = {name: 1 << i for i, name in enumerate(CHANNELS)}
_SUMS = ("events", "goldstein", "hostile")
"""Non-mask channels: event count, Goldstein sum, hostile sum (-goldstein of negative events)."""


def channel_codes() -> dict[str, frozenset[str]]:
    """CAMEO codes of each code-set channel: ``tension.taxonomy`` sets, else documented prefixes."""
    try:
        from . import taxonomy as tx
    except ImportError:  # pragma: no cover - taxonomy always ships with the package
        tx = None
    universe = [f"{r:02d}" for r in range(1, 21)]
    universe += [f"{r:02d}{d}" for r in range(1, 21) for d in range(10)]
    universe += [f"{r:02d}{d}{e}" for r in range(1, 21) for d in range(10) for e in range(10)]
    out: dict[str, frozenset[str]] = {}
    for channel, (set_name, prefixes) in CHANNEL_SOURCES.items():
        codes = getattr(tx, set_name, None) if tx is not None else None
        if not codes:
            codes = [c for c in universe if c.startswith(prefixes)]
        out[channel] = frozenset(str(c) for c in codes)
    return out


@functools.lru_cache(maxsize=1)
def _code_lookup() -> pd.DataFrame:
    codes = channel_codes()
    masks: dict[str, int] = {}
    for channel, members in codes.items():
        for code in members:
            masks[code] = masks.get(code, 0) | _BIT[channel]
    return pd.DataFrame({"cameo_code": list(masks), "mask": np.array(list(masks.values()), dtype=np.int64)})


def _check(freq: str, dyads: str) -> None:
    if freq not in FREQS:
        raise UsageError(problem("Unknown panel frequency.", "one of D (day), W (ISO week), M (month)", freq, "Use --freq W."))
    if dyads not in DYAD_KINDS:
        raise UsageError(problem("Unknown dyad kind.", "directed or undirected", dyads, "Use --dyads directed."))


def lookback_periods(freq: str, months: int = 36) -> int:
    """``months`` expressed in periods of ``freq`` (36 months = 36 M, 156 W, 1096 D)."""
    _check(freq, "directed")
    if freq == "M":
        return int(months)
    if freq == "W":
        return int(round(months * 52 / 12))
    return int(round(months * 365.25 / 12))


def period_dates(index: np.ndarray, freq: str) -> np.ndarray:
    """Integer periods -> ``datetime64[ns]`` labels (day; Monday of the ISO week; first of the month)."""
    index = np.asarray(index, dtype=np.int64)
    if freq == "D":
        out = index.astype("datetime64[D]")
    elif freq == "W":
        out = np.datetime64(_WEEK_EPOCH, "D") + 7 * index
    else:
        out = index.astype("datetime64[M]").astype("datetime64[D]")
    return out.astype("datetime64[ns]")


def _period_sql(freq: str, column: str = "date") -> str:
    day = f"date_diff('day', DATE '{_WEEK_EPOCH}', CAST({column} AS DATE))"
    if freq == "D":
        return f"date_diff('day', DATE '1970-01-01', CAST({column} AS DATE))"
    if freq == "W":
        return f"(({day} + 700000007) // 7 - 100000001)"
    return f"((year(CAST({column} AS DATE)) - 1970) * 12 + month(CAST({column} AS DATE)) - 1)"


def _period_of(day: Any, freq: str) -> int:
    d = np.datetime64(pd.Timestamp(day).date(), "D")
    if freq == "D":
        return int(d.astype(np.int64))
    if freq == "W":
        return int((d - np.datetime64(_WEEK_EPOCH, "D")).astype(np.int64) // 7)
    return int(d.astype("datetime64[M]").astype(np.int64))


_NEEDED = ["date", "source_country", "source_org", "target_country", "target_org", "cameo_code", "quad_class", "goldstein", "family"]


def _relation(con: duckdb.DuckDBPyConnection, source: Any, start: Any = None, end: Any = None) -> str:
    """Register the events with DuckDB; return the SQL to select from."""
    if isinstance(source, pd.DataFrame):
        con.register("events_input", source)
        return "events_input"
    if isinstance(source, (str, Path)):
        from .store import Store

        source = Store(str(source))
    if not hasattr(source, "files"):
        raise UsageError(problem("Cannot read events from this source.", "a Store, a store folder or an events DataFrame", type(source).__name__))
    if not getattr(source, "is_local", True):  # object storage: let the store read, DuckDB aggregates
        con.register("events_input", source.read_table(start, end, columns=_NEEDED))
        return "events_input"
    files = source.files(start, end)
    if not files:
        raise UsageError(problem("The event store holds no events in the requested range.", "at least one committed Parquet file", "0 files", "Ingest events first: tension ingest FILE."))
    quoted = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{quoted}], union_by_name = true)"


def _side(country: str, org: str) -> str:
    return (
        f"CASE WHEN coalesce({country}, '') <> '' THEN {country} "
        f"WHEN coalesce({org}, '') <> '' THEN '@' || {org} ELSE '' END"
    )


def event_counts(source: Any, freq: str = "W", start: Any = None, end: Any = None) -> pd.DataFrame:
    """Group events into long rows ``s, t, p, family, mask, n, g, h`` with one DuckDB query.

    ``s``/``t``: source/target side (ISO3, ``@ORG`` or ``""``); ``p``: integer period;
    ``mask``: code-set bits (:data:`CHANNELS`); ``n`` events, ``g`` Goldstein sum,
    ``h`` hostile sum. Every event is counted, dyadic or not (coverage needs all).
    Dates are filtered to ``start <= date <= end`` (inclusive, either may be None).
    """
    _check(freq, "directed")
    con = duckdb.connect()
    try:
        rel = _relation(con, source, start, end)
        con.register("code_lookup", _code_lookup())
        where = []
        if start is not None:
            where.append(f"CAST(date AS DATE) >= DATE '{pd.Timestamp(start).date()}'")
        if end is not None:
            where.append(f"CAST(date AS DATE) <= DATE '{pd.Timestamp(end).date()}'")
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        quad = " | ".join(f"(CASE WHEN e.quad_class = {q} THEN {_BIT[name]} ELSE 0 END)" for name, q in _QUAD_BITS.items())
        sql = f"""
            SELECT {_side('e.source_country', 'e.source_org')} AS s,
                   {_side('e.target_country', 'e.target_org')} AS t,
                   {_period_sql(freq, 'e.date')} AS p,
                   coalesce(e.family, 'other') AS family,
                   coalesce(l.mask, 0) | {quad} AS mask,
                   count(*) AS n,
                   coalesce(sum(e.goldstein), 0)::DOUBLE AS g,
                   coalesce(sum(CASE WHEN e.goldstein < 0 THEN -e.goldstein ELSE 0 END), 0)::DOUBLE AS h
            FROM (SELECT * FROM {rel} {clause}) e
            LEFT JOIN code_lookup l ON e.cameo_code = l.cameo_code
            GROUP BY ALL
        """
        table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return _counts_frame(table)


def _counts_frame(table: pa.Table) -> pd.DataFrame:
    fam = pc.index_in(table["family"], value_set=pa.array(FAMILIES)).fill_null(len(FAMILIES) - 1)
    return pd.DataFrame(
        {
            "s": table["s"].to_pandas(),
            "t": table["t"].to_pandas(),
            "p": table["p"].to_numpy().astype(np.int64),
            "family": fam.to_numpy().astype(np.int8),
            "mask": table["mask"].to_numpy().astype(np.int64),
            "n": table["n"].to_numpy().astype(np.float64),
            "g": table["g"].to_numpy().astype(np.float64),
            "h": table["h"].to_numpy().astype(np.float64),
        }
    )


# --------------------------------------------------------------------------- country pass


@dataclass(frozen=True)
class CountryContext:
    """The country-level pass: small ``country x period`` arrays shared by every bucket.

    ``arrays`` names: ``volume`` (events involving the country, any partner),
    ``conflict`` (material conflict events with another country), ``hostile``
    (hostile intensity with another country), ``alliance_moves`` (alliance-move
    events with anyone, organisations included), ``bloc_joins`` / ``bloc_exits``
    (events with an organisation: alliance moves with Goldstein >= 0 / reductions of
    relations or negative alliance moves), ``ally_conflict`` / ``ally_alliance_moves``
    (the same summed over the country's allies: members of the blocs it belongs to),
    ``bloc_conflict[c, b, p]``: material conflict between country c and members of bloc b.
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
        return period_dates(self.start + np.arange(self.n_periods), self.freq)

    def index_of(self, codes: Sequence[str] | pd.Series) -> np.ndarray:
        """Position of each country code in :attr:`countries` (-1 when absent)."""
        lookup = pd.Series(np.arange(len(self.countries)), index=pd.Index(self.countries, dtype=object))
        idx = pd.Series(np.asarray(codes, dtype=object)).map(lookup)
        return idx.fillna(-1).to_numpy(dtype=np.int64)


def _is_country(keys: pd.Series) -> np.ndarray:
    k = keys.to_numpy(dtype=object)
    return np.array([bool(x) and not str(x).startswith("@") for x in k], dtype=bool) if len(k) < 64 else (
        (keys.str.len() > 0) & ~keys.str.startswith("@")
    ).to_numpy(dtype=bool)


def _bincount2(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    flat = rows * shape[1] + cols
    return np.bincount(flat, weights=weights, minlength=shape[0] * shape[1]).reshape(shape)


def trailing_median(x: np.ndarray, window: int) -> np.ndarray:
    """Median of the previous ``window`` values (t excluded), NaN until 3 past values exist."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(3, n):
        out[i] = np.median(x[max(0, i - window) : i])
    return out


def _bloc_members(blocs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Members of each bloc from ``tension.actors.ORGANISATIONS`` (blocs it does not know are left out)."""
    try:
        from .actors import ORGANISATIONS
    except ImportError:  # actors not built yet: no allies rather than guessed ones
        return {}
    return {b: tuple(ORGANISATIONS[b].members) for b in blocs if b in ORGANISATIONS}


def _allies(countries: Sequence[str], membership: Mapping[str, Sequence[str]]) -> tuple[tuple[str, ...], np.ndarray]:
    """Bloc membership matrix ``[bloc, country]``."""
    names = tuple(membership)
    member = np.zeros((len(names), len(countries)), dtype=bool)
    index = {c: i for i, c in enumerate(countries)}
    for bi, b in enumerate(names):
        for c in membership[b]:
            if c in index:
                member[bi, index[c]] = True
    return names, member


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
    p0 = _period_of(start, freq) if start is not None else int(counts["p"].min())
    p1 = _period_of(end, freq) if end is not None else int(counts["p"].max())
    n_t = p1 - p0 + 1
    counts = counts[(counts["p"] >= p0) & (counts["p"] <= p1)]
    p = counts["p"].to_numpy() - p0
    n = counts["n"].to_numpy()
    s_c = _is_country(counts["s"])
    t_c = _is_country(counts["t"])
    countries = tuple(sorted(set(counts["s"][s_c]) | set(counts["t"][t_c])))
    index = {c: i for i, c in enumerate(countries)}
    n_c = len(countries)
    si = counts["s"].map(index).fillna(-1).to_numpy(dtype=np.int64)
    ti = counts["t"].map(index).fillna(-1).to_numpy(dtype=np.int64)
    shape = (max(n_c, 1), n_t)
    events_global = np.bincount(p, weights=n, minlength=n_t).astype(np.float64)

    def per_country(weights: np.ndarray, rows: np.ndarray, count_same_once: bool = True) -> np.ndarray:
        both = (si >= 0) & (ti >= 0) & (si == ti)
        out = np.zeros(shape)
        ms = si >= 0
        out += _bincount2(si[ms], p[ms], weights[ms] * rows[ms], shape)
        mt = (ti >= 0) & ~(both if count_same_once else np.zeros_like(both))
        out += _bincount2(ti[mt], p[mt], weights[mt] * rows[mt], shape)
        return out

    mask = counts["mask"].to_numpy()
    fam = counts["family"].to_numpy()
    dyadic = (si >= 0) & (ti >= 0) & (si != ti)
    conflict_rows = dyadic & ((mask & _BIT["material_conflict"]) > 0)
    alliance = fam == FAMILIES.index("alliance_move")
    org_row = (counts["s"].str.startswith("@") | counts["t"].str.startswith("@")).to_numpy(dtype=bool)
    g = counts["g"].to_numpy()
    exits = org_row & (((mask & _BIT["reduce_relations"]) > 0) | (alliance & (g < 0)))
    joins = org_row & alliance & (g >= 0) & ~exits
    ones = np.ones_like(n, dtype=bool)
    arrays: dict[str, np.ndarray] = {
        "volume": per_country(n, ones),
        "conflict": per_country(n, conflict_rows),
        "hostile": per_country(counts["h"].to_numpy(), dyadic),
        "alliance_moves": per_country(n, alliance),
        "bloc_joins": per_country(n, joins),
        "bloc_exits": per_country(n, exits),
    }
    bloc_names, members = _allies(countries, _bloc_members(cfg.ally_blocs) if blocs is None else blocs)
    ally = (members.T.astype(np.float64) @ members.astype(np.float64)) > 0 if bloc_names else np.zeros((n_c, n_c), bool)
    np.fill_diagonal(ally, False)
    allyf = ally.astype(np.float64)
    arrays["ally_conflict"] = allyf @ arrays["conflict"][:n_c] if n_c else arrays["conflict"] * 0
    arrays["ally_alliance_moves"] = allyf @ arrays["alliance_moves"][:n_c] if n_c else arrays["conflict"] * 0
    bloc_conflict = np.zeros((max(n_c, 1), len(bloc_names), n_t))
    for bi in range(len(bloc_names)):
        inb = members[bi]
        rs = conflict_rows & (ti >= 0) & inb[np.clip(ti, 0, None)] if n_c else conflict_rows
        bloc_conflict[:, bi, :] += _bincount2(si[rs], p[rs], n[rs], shape)
        rt = conflict_rows & (si >= 0) & inb[np.clip(si, 0, None)] if n_c else conflict_rows
        bloc_conflict[:, bi, :] += _bincount2(ti[rt], p[rt], n[rt], shape)
    region_of = np.full(n_c, -1, dtype=np.int64)
    region_totals = np.zeros((len(regions), n_t))
    for ri, members_r in enumerate(regions.values()):
        inr = np.array([c in set(members_r) for c in countries], dtype=bool)
        region_of[inr & (region_of < 0)] = ri
        rows = conflict_rows & (inr[np.clip(si, 0, None)] | inr[np.clip(ti, 0, None)]) if n_c else conflict_rows
        region_totals[ri] = np.bincount(p[rows], weights=n[rows], minlength=n_t)
    window = lookback_periods(freq, cfg.coverage_window_months)
    med = trailing_median(events_global, window)
    with np.errstate(invalid="ignore"):
        low = np.nan_to_num(med) > 0
        low &= events_global < cfg.low_coverage_ratio * np.nan_to_num(med)
    return CountryContext(
        freq=freq,
        start=p0,
        countries=countries,
        arrays=arrays,
        blocs=bloc_names,
        bloc_members=members,
        bloc_conflict=bloc_conflict,
        region_of=region_of,
        region_totals=region_totals,
        events_global=events_global,
        low_coverage=low,
    )


# --------------------------------------------------------------------------- buckets


def bucket_of(source: str, target: str, n_buckets: int) -> int:
    """Dyad-hash bucket of a country pair, the same for both directions (stable across runs)."""
    a, b = sorted((source, target))
    return zlib.crc32(f"{a}|{b}".encode()) % max(1, n_buckets)


def _rolling_any(x: np.ndarray, window: int) -> np.ndarray:
    cs = np.cumsum(x, axis=1)
    out = cs.copy()
    out[:, window:] -= cs[:, :-window]
    return out > 0


@dataclass
class DyadArrays:
    """Dense ``dyad x period`` arrays of one bucket, read by the feature builders.

    Dyads are sorted by label; periods run over the whole panel axis. For a directed
    dyad ``A>B``, :meth:`fwd` reads events A->B and :meth:`rev` events B->A; for an
    undirected dyad ``A|B`` (A < B), fwd is A->B and rev is B->A. :meth:`own` is the
    dyad's own series (directed: fwd; undirected: both). Channels: ``events``,
    ``goldstein``, ``hostile``, a family name, or a code-set channel of :data:`CHANNELS`.
    """

    kind: str
    context: CountryContext
    labels: np.ndarray
    source: np.ndarray
    target: np.ndarray
    src_idx: np.ndarray
    tgt_idx: np.ndarray
    pair_fwd: np.ndarray
    pair_rev: np.ndarray
    rows: pd.DataFrame
    n_pairs: int
    _cache: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def freq(self) -> str:
        return self.context.freq

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.labels), self.context.n_periods)

    def _pair(self, channel: str) -> np.ndarray:
        if channel not in self._cache:
            r = self.rows
            if channel == "events":
                w = r["n"].to_numpy()
            elif channel == "goldstein":
                w = r["g"].to_numpy()
            elif channel == "hostile":
                w = r["h"].to_numpy()
            elif channel in FAMILIES:
                w = np.where(r["family"].to_numpy() == FAMILIES.index(channel), r["n"].to_numpy(), 0.0)
            elif channel.endswith("_intensity") and channel.removesuffix("_intensity") in FAMILIES:
                fam = FAMILIES.index(channel.removesuffix("_intensity"))
                w = np.where(r["family"].to_numpy() == fam, r["g"].to_numpy(), 0.0)
            elif channel in _BIT:
                w = np.where((r["mask"].to_numpy() & _BIT[channel]) > 0, r["n"].to_numpy(), 0.0)
            else:
                raise KeyError(f"Unknown channel {channel!r}; known: events, goldstein, hostile, {FAMILIES}, {CHANNELS}")
            shape = (self.n_pairs + 1, self.context.n_periods)  # last row: the empty pair
            self._cache[channel] = _bincount2(r["pair"].to_numpy(), r["pp"].to_numpy(), w, shape)
        return self._cache[channel]

    def fwd(self, channel: str) -> np.ndarray:
        """Events source -> target of ``channel`` per dyad and period."""
        return self._pair(channel)[self.pair_fwd]

    def rev(self, channel: str) -> np.ndarray:
        """Events target -> source of ``channel`` per dyad and period."""
        return self._pair(channel)[self.pair_rev]

    def both(self, channel: str) -> np.ndarray:
        """Events in either direction."""
        return self.fwd(channel) + self.rev(channel)

    def own(self, channel: str) -> np.ndarray:
        """The dyad's own series: directed -> fwd, undirected -> both directions."""
        return self.fwd(channel) if self.kind == "directed" else self.both(channel)

    def ctx(self, name: str, side: str) -> np.ndarray:
        """Country-level array ``name`` for the dyad's ``source`` or ``target`` side."""
        idx = self.src_idx if side == "source" else self.tgt_idx
        arr = self.context.arrays[name]
        out = arr[np.clip(idx, 0, None)] if arr.shape[0] else np.zeros((len(idx), self.context.n_periods))
        out[idx < 0] = 0.0
        return out

    def region_conflict(self) -> np.ndarray:
        """Material conflict in the region(s) of either side (each region once); NaN when neither side's region is known."""
        ctx = self.context
        rs = np.where(self.src_idx >= 0, ctx.region_of[np.clip(self.src_idx, 0, None)], -1) if len(ctx.region_of) else np.full(len(self.src_idx), -1)
        rt = np.where(self.tgt_idx >= 0, ctx.region_of[np.clip(self.tgt_idx, 0, None)], -1) if len(ctx.region_of) else np.full(len(self.tgt_idx), -1)
        out = np.full(self.shape, np.nan)
        if ctx.region_totals.shape[0] == 0:
            return out
        zero = np.zeros((1, ctx.n_periods))
        totals = np.vstack([ctx.region_totals, zero])  # row -1: no region
        known = (rs >= 0) | (rt >= 0)
        value = totals[rs] + np.where((rt != rs)[:, None], totals[rt], 0.0)
        out[known] = value[known]
        return out

    def rival_bloc_conflict(self) -> np.ndarray:
        """Material conflict of each side with the other members of the other side's blocs it is not in."""
        ctx = self.context
        out = np.zeros(self.shape)
        if not ctx.blocs:
            return out
        m = ctx.bloc_members
        si, ti = np.clip(self.src_idx, 0, None), np.clip(self.tgt_idx, 0, None)
        known = (self.src_idx >= 0) & (self.tgt_idx >= 0)
        own = self.both("material_conflict")  # the partner is a member: leave the dyad itself out
        for bi in range(len(ctx.blocs)):
            s_in = m[bi][si] & known
            t_in = m[bi][ti] & known
            a = (ctx.bloc_conflict[si, bi, :] - own) * (t_in & ~s_in)[:, None]
            b = (ctx.bloc_conflict[ti, bi, :] - own) * (s_in & ~t_in)[:, None]
            out += a + b
        return out

    @property
    def events_global(self) -> np.ndarray:
        return np.broadcast_to(self.context.events_global, self.shape)

    @property
    def low_coverage(self) -> np.ndarray:
        return np.broadcast_to(self.context.low_coverage, self.shape)

    def selected(self, lookback: int, monitored: Iterable[str] = ()) -> np.ndarray:
        """Past-only selection mask: any own event in the last ``lookback`` periods, or monitored."""
        sel = _rolling_any(self.own("events"), lookback)
        watch = np.isin(self.labels, dyad_labels(_parse_monitored(monitored, self.kind), self.kind))
        sel[watch] = True
        return sel


def _parse_monitored(monitored: Iterable[str], kind: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in monitored:
        text = str(item).strip().upper()
        sep = ">" if ">" in text else "|" if "|" in text else None
        parts = text.split(sep) if sep else []
        if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
            raise UsageError(problem(f"Cannot read the monitored dyad {item!r}.", "'ARM|AZE' or 'RUS>AZE' (two different ISO3 codes)", item))
        a, b = parts
        if kind == "undirected" or sep == ">":
            pairs.append((a, b) if kind == "directed" else tuple(sorted((a, b))))  # type: ignore[arg-type]
        else:
            pairs.extend([(a, b), (b, a)])
    return sorted(set(pairs))


def dyad_labels(pairs: Iterable[tuple[str, str]], kind: str) -> list[str]:
    sep = ">" if kind == "directed" else "|"
    return [f"{a}{sep}{b}" for a, b in pairs]


def dyad_arrays(
    bucket: pd.DataFrame,
    context: CountryContext,
    kind: str = "directed",
    monitored: Iterable[str] = (),
) -> DyadArrays:
    """Dense arrays for the dyads of one bucket (its long rows: all history, both directions).

    ``bucket`` holds long rows of :func:`event_counts` between two different countries.
    Monitored dyads whose countries are in this bucket's rows or in ``monitored`` are added.
    """
    _check(context.freq, kind)
    p0, n_t = context.start, context.n_periods
    b = bucket[(bucket["p"] >= p0) & (bucket["p"] < p0 + n_t)]
    n_c = len(context.countries)
    key = context.index_of(b["s"]) * (n_c + 1) + context.index_of(b["t"])
    ukeys, pair_codes = np.unique(key, return_inverse=True)
    names = context.countries
    ordered = [(names[k // (n_c + 1)], names[k % (n_c + 1)]) for k in ukeys.tolist()]
    if kind == "directed":
        dyads = set(ordered)
    else:
        dyads = {tuple(sorted(x)) for x in ordered}
    dyads |= set(_parse_monitored(monitored, kind))
    dyads_sorted = sorted(dyads)
    pos = {pair: i for i, pair in enumerate(ordered)}
    empty = len(ordered)
    src = np.array([a for a, _ in dyads_sorted], dtype=object)
    tgt = np.array([b_ for _, b_ in dyads_sorted], dtype=object)
    rows = pd.DataFrame(
        {
            "pair": pair_codes.astype(np.int64),
            "pp": b["p"].to_numpy() - p0,
            "family": b["family"].to_numpy(),
            "mask": b["mask"].to_numpy(),
            "n": b["n"].to_numpy(),
            "g": b["g"].to_numpy(),
            "h": b["h"].to_numpy(),
        }
    )
    return DyadArrays(
        kind=kind,
        context=context,
        labels=np.array(dyad_labels(dyads_sorted, kind), dtype=object),
        source=src,
        target=tgt,
        src_idx=context.index_of(list(src)),
        tgt_idx=context.index_of(list(tgt)),
        pair_fwd=np.array([pos.get((a, b_), empty) for a, b_ in dyads_sorted], dtype=np.int64),
        pair_rev=np.array([pos.get((b_, a), empty) for a, b_ in dyads_sorted], dtype=np.int64),
        rows=rows,
        n_pairs=len(ordered),
    )


def dyadic_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """Long rows between two different countries (the rows buckets are made of)."""
    s_c = _is_country(counts["s"])
    t_c = _is_country(counts["t"])
    keep = s_c & t_c & (counts["s"].to_numpy(dtype=object) != counts["t"].to_numpy(dtype=object))
    return counts[keep]


BASE_COLUMNS: tuple[str, ...] = (
    "dyad",
    "source",
    "target",
    "period",
    *(f"{f}_count" for f in FAMILIES),
    *(f"{f}_intensity" for f in FAMILIES),
    "material_conflict_count",
    "hostile_intensity",
    "events_dyad",
    "events_global",
    "events_source",
    "events_target",
    "low_coverage",
)


def base_frame(arrays: DyadArrays, selected: np.ndarray) -> pd.DataFrame:
    """Base panel columns for the selected cells, sorted by (dyad, period)."""
    d_idx, t_idx = np.nonzero(selected)
    periods = arrays.context.periods
    labels = pd.array(arrays.labels, dtype="str")
    out: dict[str, Any] = {
        "dyad": pd.Series(labels).take(d_idx).reset_index(drop=True),
        "source": pd.Series(pd.array(arrays.source, dtype="str")).take(d_idx).reset_index(drop=True),
        "target": pd.Series(pd.array(arrays.target, dtype="str")).take(d_idx).reset_index(drop=True),
        "period": periods[t_idx],
    }
    for f in FAMILIES:
        out[f"{f}_count"] = arrays.own(f)[d_idx, t_idx].astype(np.int32)
    for f in FAMILIES:
        out[f"{f}_intensity"] = arrays.own(f"{f}_intensity")[d_idx, t_idx].astype(np.float32)
    out["material_conflict_count"] = arrays.own("material_conflict")[d_idx, t_idx].astype(np.int32)
    out["hostile_intensity"] = arrays.own("hostile")[d_idx, t_idx].astype(np.float32)
    out["events_dyad"] = arrays.own("events")[d_idx, t_idx].astype(np.int32)
    out["events_global"] = arrays.context.events_global[t_idx].astype(np.int64)
    out["events_source"] = arrays.ctx("volume", "source")[d_idx, t_idx].astype(np.int64)
    out["events_target"] = arrays.ctx("volume", "target")[d_idx, t_idx].astype(np.int64)
    out["low_coverage"] = arrays.context.low_coverage[t_idx]
    return pd.DataFrame(out)


def aggregate(
    source: Any,
    freq: str = "W",
    dyads: str = "directed",
    start: Any = None,
    end: Any = None,
    config: PanelConfig | None = None,
) -> pd.DataFrame:
    """Events -> base panel (no features): one row per selected dyad x period.

    Parameters
    ----------
    source : Store, store folder or canonical events DataFrame
    freq : ``D``, ``W`` or ``M``
    dyads : ``directed`` or ``undirected``
    start, end : inclusive date range of events (None: all)

    Examples
    --------
    >>> from tension.schema import conform
    >>> ev = conform(pd.DataFrame({"event_id": ["1"], "date": ["2024-01-03"], "source_country": ["ARM"],
    ...     "target_country": ["AZE"], "cameo_code": ["190"], "root_code": ["19"], "quad_class": [4],
    ...     "goldstein": [-10.0], "family": ["incident"]}))
    >>> aggregate(ev, freq="W")[["dyad", "period", "material_conflict_count"]].to_dict("records")
    [{'dyad': 'ARM>AZE', 'period': Timestamp('2024-01-01 00:00:00'), 'material_conflict_count': 1}]
    """
    cfg = config or PanelConfig()
    _check(freq, dyads)
    counts = event_counts(source, freq, start, end)
    context = country_context(counts, freq, cfg, start=start, end=end)
    arrays = dyad_arrays(dyadic_rows(counts), context, dyads, cfg.monitored)
    return base_frame(arrays, arrays.selected(lookback_periods(freq, cfg.lookback_months), cfg.monitored))
