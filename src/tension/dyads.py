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
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    "count_table",
    "country_context",
    "dyad_arrays",
    "base_frame",
    "bucket_of",
    "pair_keys",
    "pair_buckets",
    "monitored_bucket",
    "period_dates",
    "lookback_periods",
    "channel_codes",
    "dyadic_rows",
    "dyadic_mask",
    "BASE_COLUMNS",
]

FREQS: tuple[str, ...] = ("D", "W", "M")
DYAD_KINDS: tuple[str, ...] = ("directed", "undirected")
_WEEK_EPOCH = "1970-01-05"  # a Monday

# Code sets the features read, by channel: (name of the set in tension.taxonomy,
# CAMEO prefixes used when the taxonomy does not define that set).
CHANNEL_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "deny": ("DENY", ("016",)),
    "reject": ("REJECT", ("12",)),
    "accuse": ("ACCUSE", ("11",)),
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


def _universe() -> list[str]:
    """Every numeric CAMEO-shaped code (2-4 digits, roots 01-20) plus the taxonomy's own codes."""
    codes = [f"{r:02d}" for r in range(1, 21)]
    codes += [f"{r:02d}{d}" for r in range(1, 21) for d in range(10)]
    codes += [f"{r:02d}{d}{e}" for r in range(1, 21) for d in range(10) for e in range(10)]
    try:
        from .taxonomy import cameo_table

        codes += [str(c) for c in cameo_table()["code"]]
    except (ImportError, AttributeError, KeyError):  # pragma: no cover - taxonomy ships with the package
        pass
    return sorted(set(codes))


def channel_codes() -> dict[str, frozenset[str]]:
    """CAMEO codes of each code-set channel: ``tension.taxonomy`` sets, else documented prefixes."""
    try:
        from . import taxonomy as tx
    except ImportError:  # pragma: no cover - taxonomy always ships with the package
        tx = None
    universe = _universe()
    out: dict[str, frozenset[str]] = {}
    for channel, (set_name, prefixes) in CHANNEL_SOURCES.items():
        codes = getattr(tx, set_name, None) if tx is not None else None
        if not codes:
            codes = [c for c in universe if c.startswith(prefixes)]
        out[channel] = frozenset(str(c) for c in codes)
    return out


@functools.lru_cache(maxsize=1)
def _class_lookup() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(cameo_code, family, quad_class) -> small class id, with each class's family index and mask.

    Grouping events on one small integer instead of the code, family and quad strings keeps
    the DuckDB ``GROUP BY`` close to a bare one. Class 0 is "unknown" (a code outside the
    universe: family ``other``, no code-set bits); such events still count in every volume.
    """
    masks: dict[str, int] = {}
    for channel, members in channel_codes().items():
        for code in members:
            masks[code] = masks.get(code, 0) | _BIT[channel]
    classes: dict[tuple[int, int], int] = {(FAMILIES.index("other"), 0): 0}
    codes, fams, quads, ids = [], [], [], []
    for code in _universe():
        base = masks.get(code, 0)
        for fi, fam in enumerate(FAMILIES):
            for quad in (1, 2, 3, 4):
                m = base | (_BIT["verbal_conflict"] if quad == 3 else 0) | (_BIT["material_conflict"] if quad == 4 else 0)
                cls = classes.setdefault((fi, m), len(classes))
                codes.append(code)
                fams.append(fam)
                quads.append(quad)
                ids.append(cls)
    table = pd.DataFrame(
        {
            "cameo_code": np.array(codes, dtype=object),
            "family": np.array(fams, dtype=object),
            "quad_class": np.array(quads, dtype=np.int8),
            "cls": np.array(ids, dtype=np.int32),
        }
    )
    fam_of = np.zeros(len(classes), dtype=np.int8)
    mask_of = np.zeros(len(classes), dtype=np.int64)
    for (fi, m), cls in classes.items():
        fam_of[cls], mask_of[cls] = fi, m
    return table, fam_of, mask_of


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
        missing = [c for c in _NEEDED if c not in source.columns]
        if missing:
            raise UsageError(problem("The events table lacks canonical columns.", f"the columns of tension.schema ({', '.join(_NEEDED)})", missing, "Pass it through tension.schema.conform(events) first."))
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


def event_counts(source: Any, freq: str = "W", start: Any = None, end: Any = None, threads: int | None = None) -> pd.DataFrame:
    """Group events into long rows ``s, t, p, family, mask, n, g, h`` with one DuckDB query.

    ``s``/``t``: source/target side (ISO3, ``@ORG`` or ``""``; categoricals sharing one
    sorted category list); ``p``: integer period; ``family``: index in
    :data:`tension.schema.FAMILIES`; ``mask``: code-set bits (:data:`CHANNELS`);
    ``n`` events, ``g`` Goldstein sum, ``h`` hostile sum (-Goldstein of negative events).
    Every event is counted, dyadic or not (coverage needs all). Rows are not unique per
    key (sum them); order is arbitrary. Dates are filtered to ``start <= date <= end``
    (inclusive, either may be None). ``threads`` caps DuckDB's threads (default: every core;
    a distributed engine passes 1 per worker thread).
    """
    _, fam_of, mask_of = _class_lookup()
    return _counts_frame(count_table(source, freq, start, end, threads), fam_of, mask_of)


def count_table(source: Any, freq: str = "W", start: Any = None, end: Any = None, threads: int | None = None) -> pa.Table:
    """The DuckDB aggregation of :func:`event_counts` alone, as Arrow: ``s, t, p, cls, n, g, h``.

    ``cls`` is a small class id (family and code-set bits; see :func:`_class_lookup`). This is
    the least aggregation the registered features need; the panel benchmark times it alone.
    """
    _check(freq, "directed")
    lookup, _, _ = _class_lookup()
    con = duckdb.connect(config={} if threads is None else {"threads": int(threads)})
    try:
        rel = _relation(con, source, start, end)
        con.register("class_lookup", lookup)
        where = []
        if start is not None:
            where.append(f"CAST(date AS DATE) >= DATE '{pd.Timestamp(start).date()}'")
        if end is not None:
            where.append(f"CAST(date AS DATE) <= DATE '{pd.Timestamp(end).date()}'")
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        # group on the two side keys, the integer period and one small class id (close to a bare
        # GROUP BY); the side keys are then dictionary-encoded by Arrow, not per row in Python
        return con.sql(f"""
            SELECT {_side_sql('e.source')} AS s, {_side_sql('e.target')} AS t,
                   ({_period_sql(freq, 'e.date')})::INTEGER AS p, coalesce(l.cls, 0)::INTEGER AS cls,
                   count(*)::DOUBLE AS n,
                   coalesce(sum(e.goldstein), 0)::DOUBLE AS g,
                   coalesce(-sum(least(e.goldstein, 0)), 0)::DOUBLE AS h
            FROM (SELECT * FROM {rel} {clause}) e
            LEFT JOIN class_lookup l
              ON e.cameo_code = l.cameo_code AND e.family = l.family AND e.quad_class = l.quad_class
            GROUP BY ALL
        """).to_arrow_table()
    finally:
        con.close()


def _side_sql(side: str) -> str:
    """SQL of a side key: the country (ISO3), else ``@ORG``, else ``''`` (NULLs count as empty)."""
    c, o = f"{side}_country", f"{side}_org"
    return f"(CASE WHEN {c} <> '' THEN {c} WHEN {o} <> '' THEN '@' || {o} ELSE '' END)"


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes and values of a non-null string column."""
    enc = pc.dictionary_encode(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
    return enc.indices.to_numpy(zero_copy_only=False), [str(v) for v in enc.dictionary.to_pylist()]


def _counts_frame(table: pa.Table, fam_of: np.ndarray, mask_of: np.ndarray) -> pd.DataFrame:
    """Long rows with both side keys as categoricals over one sorted key list."""
    s_codes, s_keys = _encode(table["s"])
    t_codes, t_keys = _encode(table["t"])
    keys = sorted(set(s_keys) | set(t_keys))
    pos = {k: i for i, k in enumerate(keys)}
    dtype = pd.CategoricalDtype(pd.Index(keys, dtype=object))
    cls = table["cls"].to_numpy()

    def side(codes: np.ndarray, values: list[str]) -> pd.Categorical:
        lut = np.array([pos[v] for v in values], dtype=np.int32)
        return pd.Categorical.from_codes(lut[codes] if len(values) else codes.astype(np.int32), dtype=dtype, validate=False)

    return pd.DataFrame(
        {
            "s": side(s_codes, s_keys),
            "t": side(t_codes, t_keys),
            "p": table["p"].to_numpy().astype(np.int64),
            "family": fam_of[cls],
            "mask": mask_of[cls],
            "n": table["n"].to_numpy(),
            "g": table["g"].to_numpy(),
            "h": table["h"].to_numpy(),
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
        return period_dates(self.start + np.arange(self.n_periods), self.freq)

    def index_of(self, codes: Sequence[str] | pd.Series | pd.Index) -> np.ndarray:
        """Position of each country code in :attr:`countries` (-1 when absent)."""
        return pd.Index(self.countries, dtype=object).get_indexer(pd.Index(np.asarray(codes, dtype=object)))


def _key_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Category codes and categories of a side-key column (categorical or plain strings)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), column.cat.categories
    codes, cats = pd.factorize(column.astype(object).fillna(""))
    return codes, pd.Index(cats, dtype=object)


def _country_lut(cats: pd.Index, countries: Sequence[str]) -> np.ndarray:
    """category code -> country index (-1 for organisations, empty or unknown keys)."""
    lut = pd.Index(countries, dtype=object).get_indexer(pd.Index(np.asarray(cats, dtype=object)))
    return np.append(lut, -1).astype(np.int64)  # code -1 (missing) -> last entry


def _is_country_key(cats: pd.Index) -> np.ndarray:
    return np.array([bool(c) and not str(c).startswith("@") for c in cats], dtype=bool)


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


def _bloc_members(blocs: Sequence[str], days: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Dated members of each bloc from ``tension.actors.ORGANISATIONS``: bloc -> country -> member on each day.

    Membership at a period is read on the period's first day, so a feature never uses a
    membership that began later (Finland is not a NATO ally before April 2023). Blocs the
    actors table does not know are left out.
    """
    try:
        from .actors import ORGANISATIONS
    except ImportError:  # actors not built yet: no allies rather than guessed ones
        return {}
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
    raw_p = counts["p"].to_numpy()
    inside: Any = (raw_p >= p0) & (raw_p <= p1)
    if inside.all():
        inside = slice(None)  # the usual case: no boolean gathers of every column
    p = raw_p[inside] - p0
    n = counts["n"].to_numpy()[inside]
    cs, cats_s = _key_codes(counts["s"])
    ct, cats_t = _key_codes(counts["t"])
    cs, ct = cs[inside], ct[inside]
    present_s = np.flatnonzero(np.bincount(cs.astype(np.int64) + 1, minlength=len(cats_s) + 1)[1:])  # codes in use (-1: missing)
    present_t = np.flatnonzero(np.bincount(ct.astype(np.int64) + 1, minlength=len(cats_t) + 1)[1:])
    keys = set(np.asarray(cats_s, dtype=object)[present_s]) | set(np.asarray(cats_t, dtype=object)[present_t])
    countries = tuple(sorted(k for k in keys if k and not str(k).startswith("@")))
    n_c = len(countries)
    si = _country_lut(cats_s, countries)[cs]
    ti = _country_lut(cats_t, countries)[ct]
    shape = (max(n_c, 1), n_t)
    events_global = np.bincount(p, weights=n, minlength=n_t).astype(np.float64)
    size = shape[0] * n_t

    def per_country(weights: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``weights`` per (country, period) over both sides; a domestic event counts once."""
        if rows is None:
            a, b, pp, w = si, ti, p, weights
        else:
            take = np.flatnonzero(rows)
            a, b, pp, w = si[take], ti[take], p[take], weights[take]
        ok_s, ok_t = a >= 0, (b >= 0) & (b != a)
        out = np.bincount((a * n_t + pp)[ok_s], weights=w[ok_s], minlength=size)
        out += np.bincount((b * n_t + pp)[ok_t], weights=w[ok_t], minlength=size)
        return out.reshape(shape)

    mask = counts["mask"].to_numpy()[inside]
    fam = counts["family"].to_numpy()[inside]
    g = counts["g"].to_numpy()[inside]
    h = counts["h"].to_numpy()[inside]
    dyadic = (si >= 0) & (ti >= 0) & (si != ti)
    conflict_rows = dyadic & ((mask & _BIT["material_conflict"]) > 0)
    alliance = fam == FAMILIES.index("alliance_move")
    reduced = (mask & _BIT["reduce_relations"]) > 0
    org_row = alliance | reduced  # only these rows can be bloc moves; of them, those with an organisation side
    org_s, org_t = (np.append(np.char.startswith(np.asarray(cats, dtype=str), "@"), False) for cats in (cats_s, cats_t))
    org_row[org_row] = org_s[cs[org_row]] | org_t[ct[org_row]]
    exits = org_row & (reduced | (alliance & (g < 0)))
    joins = org_row & alliance & (g >= 0) & ~exits
    arrays: dict[str, np.ndarray] = {
        "volume": per_country(n),
        "conflict": per_country(n, conflict_rows),
        "hostile": per_country(h, dyadic & (h != 0)),
        "alliance_moves": per_country(n, alliance),
        "bloc_joins": per_country(n, joins),
        "bloc_exits": per_country(n, exits),
    }
    days = period_dates(p0 + np.arange(n_t), freq).astype("datetime64[D]")
    bloc_names, members = _allies(countries, _bloc_members(cfg.ally_blocs, days) if blocs is None else blocs, n_t)
    arrays["ally_conflict"] = _ally_sum(members, arrays["conflict"])
    arrays["ally_alliance_moves"] = _ally_sum(members, arrays["alliance_moves"])
    bloc_conflict = np.zeros((shape[0], len(bloc_names), n_t))
    c_rows = np.flatnonzero(conflict_rows)
    c_si, c_ti, c_p, c_n = si[c_rows], ti[c_rows], p[c_rows], n[c_rows]
    for bi in range(len(bloc_names)):
        inb = members[bi]  # conflict rows have two known countries: no -1 index
        rs = inb[c_ti, c_p]
        bloc_conflict[:, bi, :] += _bincount2(c_si[rs], c_p[rs], c_n[rs], shape)
        rt = inb[c_si, c_p]
        bloc_conflict[:, bi, :] += _bincount2(c_ti[rt], c_p[rt], c_n[rt], shape)
    region_of = np.full(n_c, -1, dtype=np.int64)
    region_totals = np.zeros((len(regions), n_t))
    for ri, members_r in enumerate(regions.values()):
        inr = np.array([c in set(members_r) for c in countries], dtype=bool)
        region_of[inr & (region_of < 0)] = ri
        rows = inr[c_si] | inr[c_ti]
        region_totals[ri] = np.bincount(c_p[rows], weights=c_n[rows], minlength=n_t)
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


def pair_keys(s: pd.Series, t: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Per long row, an integer key of its unordered pair of side keys, and the sorted key list it indexes.

    Key ``k`` is the pair ``(keys[k // len(keys)], keys[k % len(keys)])``, the smaller first;
    both directions of a pair share it.
    """
    cs, cats_s = _key_codes(s)
    ct, cats_t = _key_codes(t)
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
    text = str(item).strip().upper()
    sep = ">" if ">" in text else "|" if "|" in text else None
    parts = text.split(sep) if sep else []
    if len(parts) != 2 or not all(parts):
        return 0
    return bucket_of(parts[0], parts[1], n_buckets)


def _rolling(cs: np.ndarray, window: int) -> np.ndarray:
    """Trailing-window sums from cumulative sums along axis 1."""
    out = np.empty_like(cs)
    w = min(window, cs.shape[1])
    out[:, :w] = cs[:, :w]
    np.subtract(cs[:, w:], cs[:, :-w] if w else cs[:, w:], out=out[:, w:])
    return out


Channel = str | tuple[str, ...]


def _bits(channel: Channel) -> int:
    """Mask bits of a code-set channel or tuple of them (0 for other channels)."""
    names = channel if isinstance(channel, tuple) else (channel,)
    bits = 0
    for name in names:
        if name not in _BIT:
            if isinstance(channel, tuple):
                raise KeyError(f"Unknown channel {name!r} in {channel!r}; tuples combine code-set channels: {CHANNELS}")
            return 0
        bits |= _BIT[name]
    return bits


@dataclass
class DyadArrays:
    """Dense ``dyad x period`` arrays of one bucket, read by the feature builders.

    Dyads are sorted by label; periods run over the whole panel axis. For a directed
    dyad ``A>B``, ``fwd`` is events A->B and ``rev`` events B->A; for an undirected
    dyad ``A|B`` (A < B), fwd is A->B and rev is B->A. ``own`` is the dyad's own
    series (directed: fwd; undirected: both). A channel is ``events``, ``goldstein``,
    ``hostile``, a family name, ``<family>_intensity``, a code-set channel of
    :data:`CHANNELS`, or a tuple of code-set channels (events in any of them).
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
            bits = _bits(channel)
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
        return _rolling(self.cumsum(direction, channel), window)

    def ctx(self, name: str, side: str) -> np.ndarray:
        """Country-level array ``name`` for the dyad's ``source`` or ``target`` side."""
        return self._take_country(self.context.arrays[name], side)

    def _take_country(self, arr: np.ndarray, side: str) -> np.ndarray:
        idx = self.src_idx if side == "source" else self.tgt_idx
        out = arr[np.clip(idx, 0, None)] if arr.shape[0] else np.zeros(self.shape)
        out[idx < 0] = 0.0
        return out

    def ctx_window_sum(self, name: str, window: int, sides: tuple[str, ...] = ("source", "target")) -> np.ndarray:
        """Sum over the last ``window`` periods of country array ``name``, added over ``sides``."""
        rolled = self._memo(("ctx_roll", name, window), lambda: _rolling(np.cumsum(self.context.arrays[name], axis=1), window))
        out = self._take_country(rolled, sides[0])
        for side in sides[1:]:
            out += self._take_country(rolled, side)
        return out

    def region_conflict(self, window: int = 1) -> np.ndarray:
        """Material conflict in the region(s) of either side (each region once) over the last ``window`` periods; NaN when neither side's region is known."""
        ctx = self.context
        lut = np.append(ctx.region_of, -1)
        rs, rt = lut[self.src_idx], lut[self.tgt_idx]
        out = np.full(self.shape, np.nan)
        if ctx.region_totals.shape[0] == 0:
            return out
        rolled = _rolling(np.cumsum(ctx.region_totals, axis=1), window)
        totals = np.vstack([rolled, np.zeros((1, ctx.n_periods))])  # row -1: no region
        known = np.flatnonzero((rs >= 0) | (rt >= 0))
        same = rt[known] == rs[known]
        out[known] = totals[rs[known]] + np.where(same[:, None], 0.0, totals[rt[known]])
        return out

    def rival_bloc_conflict(self, window: int = 1) -> np.ndarray:
        """Material conflict over the last ``window`` periods of each side with the other members of the other side's blocs it is not in (membership of each period)."""
        ctx = self.context
        out = np.zeros(self.shape)
        if not ctx.blocs:
            return out
        m = ctx.bloc_members
        si, ti = np.clip(self.src_idx, 0, None), np.clip(self.tgt_idx, 0, None)
        known = ((self.src_idx >= 0) & (self.tgt_idx >= 0))[:, None]
        rolled = _rolling(np.cumsum(ctx.bloc_conflict, axis=2).reshape(-1, ctx.n_periods), window).reshape(ctx.bloc_conflict.shape)
        for bi in range(len(ctx.blocs)):
            s_in, t_in = m[bi][si] & known, m[bi][ti] & known
            for me, partner, mine, theirs in ((si, ti, s_in, t_in), (ti, si, t_in, s_in)):
                cells = theirs & ~mine  # the partner's bloc, not mine, in period t
                rows = np.flatnonzero(cells.any(axis=1))
                if not len(rows):
                    continue
                # my conflict with the bloc's members, less the dyad's own conflict in periods the partner was one
                own = self.both("material_conflict")[rows] * m[bi][partner[rows]]
                value = rolled[me[rows], bi, :] - _rolling(np.cumsum(own, axis=1), window)
                out[rows] += np.where(cells[rows], value, 0.0)
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
        if kind == "undirected":
            pairs.append(tuple(sorted((a, b))))  # type: ignore[arg-type]
        elif sep == ">":
            pairs.append((a, b))
        else:
            pairs.extend([(a, b), (b, a)])
    return sorted(set(pairs))


def dyad_labels(pairs: Iterable[tuple[str, str]], kind: str) -> list[str]:
    """``A>B`` (directed) or ``A|B`` (undirected) labels of country pairs."""
    sep = ">" if kind == "directed" else "|"
    return [f"{a}{sep}{b}" for a, b in pairs]


def dyad_arrays(
    bucket: pd.DataFrame,
    context: CountryContext,
    kind: str = "directed",
    monitored: Iterable[str] = (),
) -> DyadArrays:
    """Dense arrays for the dyads of one bucket (its long rows: all history, both directions).

    ``bucket`` holds long rows of :func:`event_counts` between two different countries
    (:func:`dyadic_rows`). Dyads listed in ``monitored`` are added even without events.
    """
    _check(context.freq, kind)
    p0, n_t = context.start, context.n_periods
    raw_p = bucket["p"].to_numpy()
    cs, cats_s = _key_codes(bucket["s"])
    ct, cats_t = _key_codes(bucket["t"])
    n_c = len(context.countries)
    si = _country_lut(cats_s, context.countries)[cs]
    ti = _country_lut(cats_t, context.countries)[ct]
    ok = (raw_p >= p0) & (raw_p < p0 + n_t) & (si >= 0) & (ti >= 0) & (si != ti)
    keep: Any = slice(None) if ok.all() else np.flatnonzero(ok)  # the rows that count, gathered once
    si, ti, pp = si[keep], ti[keep], raw_p[keep] - p0
    if kind == "directed":
        lo, hi = si, ti
    else:
        lo, hi = np.minimum(si, ti), np.maximum(si, ti)
    width = n_c + 1
    present = np.flatnonzero(np.bincount(lo * width + hi, minlength=width * width))  # pair keys seen
    names = context.countries
    pairs = {(names[k // width], names[k % width]) for k in present.tolist()}
    pairs |= set(_parse_monitored(monitored, kind))
    dyads_sorted = sorted(pairs)
    src = np.array([a for a, _ in dyads_sorted], dtype=object)
    tgt = np.array([b for _, b in dyads_sorted], dtype=object)
    src_idx, tgt_idx = context.index_of(src), context.index_of(tgt)
    # row -> dyad position through a dense pair-key table (countries are few: no sort needed)
    known = (src_idx >= 0) & (tgt_idx >= 0)
    pair_pos = np.full(width * width + 1, -1, dtype=np.int64)  # last slot: unknown pairs
    pair_pos[(src_idx * width + tgt_idx)[known]] = np.flatnonzero(known)

    def position(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        k = np.where((a >= 0) & (b >= 0), a * width + b, width * width)
        return pair_pos[k]

    rev_index = None
    if kind == "directed":
        fwd_pos, rev_pos = position(si, ti), np.full(len(si), -1)  # rev series are gathers of fwd ones
        rev_index = np.where((src_idx >= 0) & (tgt_idx >= 0), position(tgt_idx, src_idx), -1)
    else:
        forward = si < ti
        pos = position(lo, hi)
        fwd_pos, rev_pos = np.where(forward, pos, -1), np.where(~forward, pos, -1)
    rows = {}
    base = np.arange(len(raw_p))[keep]
    for name, where in (("fwd", fwd_pos), ("rev", rev_pos)):
        take = np.flatnonzero(where >= 0)
        rows[name] = {k: bucket[k].to_numpy()[base[take]] for k in ("family", "mask", "n", "g", "h")}
        rows[name]["flat"] = where[take] * n_t + pp[take]
    return DyadArrays(
        kind=kind,
        context=context,
        labels=np.array(dyad_labels(dyads_sorted, kind), dtype=object),
        source=src,
        target=tgt,
        src_idx=src_idx,
        tgt_idx=tgt_idx,
        rows=rows,
        rev_index=rev_index,
    )


def dyadic_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """Long rows between two different countries (the rows buckets are made of)."""
    return counts[dyadic_mask(counts)]


def dyadic_mask(counts: pd.DataFrame) -> np.ndarray:
    """Which long rows are between two different countries (see :func:`dyadic_rows`)."""
    cs, cats_s = _key_codes(counts["s"])
    ct, cats_t = _key_codes(counts["t"])
    is_s = np.append(_is_country_key(cats_s), False)[cs]
    is_t = np.append(_is_country_key(cats_t), False)[ct]
    keep = is_s & is_t
    if cats_s.equals(cats_t):
        keep &= cs != ct
    else:
        keep &= counts["s"].astype(object).to_numpy() != counts["t"].astype(object).to_numpy()
    return keep


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


def _strings(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]`` as a pandas ``str`` array (one Arrow take, no Python strings per row)."""
    return pd.Series(pd.array(values.astype(object), dtype="str")).take(index).array


def base_columns(arrays: DyadArrays) -> dict[str, np.ndarray | None]:
    """Dense ``dyad x period`` arrays of the base columns that are numbers."""
    out: dict[str, np.ndarray] = {}
    for f in FAMILIES:
        out[f"{f}_count"] = arrays.own(f)
    for f in FAMILIES:
        out[f"{f}_intensity"] = arrays.own(f"{f}_intensity")
    out["material_conflict_count"] = arrays.own("material_conflict")
    out["hostile_intensity"] = arrays.own("hostile")
    out["events_dyad"] = arrays.own("events")
    return out


_INT_BASE = {f"{f}_count" for f in FAMILIES} | {"material_conflict_count", "events_dyad"}


def _block(names: list[str], dtype: type, fill: Any, n: int) -> tuple[np.ndarray, pd.DataFrame]:
    block = np.empty((len(names), n), dtype=dtype)
    for i, get in enumerate(fill):
        block[i] = get
    return block, pd.DataFrame(block.T, columns=names, copy=False)


def base_frame(arrays: DyadArrays, selected: np.ndarray) -> pd.DataFrame:
    """Base panel columns for the selected cells, sorted by (dyad, period)."""
    flat = np.flatnonzero(selected.ravel())
    n_t = arrays.shape[1]
    d_idx, t_idx = flat // n_t, flat % n_t
    labels = pd.DataFrame(
        {
            "dyad": _strings(arrays.labels, d_idx),
            "source": _strings(arrays.source, d_idx),
            "target": _strings(arrays.target, d_idx),
            "period": arrays.context.periods[t_idx],
        }
    )
    dense = base_columns(arrays)
    ints = [n for n in dense if n in _INT_BASE]
    floats = [n for n in dense if n not in _INT_BASE]
    _, int_frame = _block(ints, np.int32, (dense[n].reshape(-1)[flat] for n in ints), len(flat))
    _, float_frame = _block(floats, np.float32, (dense[n].reshape(-1)[flat] for n in floats), len(flat))
    volume = np.vstack([arrays.context.arrays["volume"], np.zeros((1, n_t))])  # row -1: unknown country
    coverage = [
        arrays.context.events_global[t_idx],
        volume[arrays.src_idx[d_idx], t_idx],
        volume[arrays.tgt_idx[d_idx], t_idx],
    ]
    _, cover_frame = _block(["events_global", "events_source", "events_target"], np.int64, coverage, len(flat))
    flag = pd.DataFrame({"low_coverage": arrays.context.low_coverage[t_idx]})
    frame = pd.concat([labels, int_frame, float_frame, cover_frame, flag], axis=1)
    return frame[list(BASE_COLUMNS)]


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
