"""Shared validation: dates, event codes, actors, event ids -> canonical rows or quarantine.

Every reader turns its rows into a :class:`Parsed` (dates, candidate CAMEO codes, actor
names and whatever countries the format itself carries). :func:`finalize` then applies
the same rules to every format and gives each refused row exactly one reason, checked
in this order:

``bad_encoding`` / ``stray_carriage_return`` / ``wrong_column_count`` / ``bad_json``
    found while splitting the file (see :mod:`tension.ingest.text`);
``bad_date``
    unparseable, impossible (30 February), or outside the valid range: before
    :data:`tension.schema.EARLIEST_EVENT_DATE` (1900-01-01) or after tomorrow (UTC; a day
    of slack for time zones);
``unknown_event_code``
    no CAMEO code in the project's table (``tension.taxonomy``);
``empty_actor``
    a required actor is blank: both sides for ICEWS/ICEWS-KG, the source for ACLED,
    POLECAT and CSV/JSONL, at least one side for GDELT (single-actor events are common);
``polarity_claimed`` / ``polarity_denied`` / ``polarity_unknown``
    a machine-coded row (``tension code``) whose ``polarity`` column is not ``asserted``:
    an alleged or denied act is kept for review, never stored as an event.

Repeated events are *not* a quarantine reason: the store counts them as duplicates.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import EARLIEST_EVENT_DATE, EVENT_SCHEMA
from .text import STRAY_CR, Rows

REASONS: tuple[str, ...] = ("bad_encoding", STRAY_CR, "wrong_column_count", "bad_json", "bad_date", "unknown_event_code", "empty_actor",
                            "polarity_claimed", "polarity_denied", "polarity_unknown")
"""Every quarantine reason, in the order they are checked."""

_MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}

DATE_ISO = r"^\s*(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T][0-9:.+Z-]*)?\s*$"
DATE_US = r"^\s*(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})\s*$"
DATE_COMPACT = r"^\s*(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\d{6})?\s*$"
DATE_DAY_MONTH_NAME = r"^\s*(?P<d>\d{1,2})[ -](?P<mon>[A-Za-z]{3,9})[ -](?P<y>\d{4})\s*$"


def parse_dates(values: pa.Array, patterns: Sequence[str]) -> np.ndarray:
    """Strings -> ``datetime64[D]``; NaT where no pattern matches or the date does not exist.

    Each pattern is a regex with named groups ``y``, ``m`` (or ``mon``, a month name) and ``d``.
    Impossible dates (2014-02-30, month 13) are NaT, never rolled over.
    """
    n = len(values)
    values = pc.cast(values, pa.string())
    # fast path: strptime, then a round trip rejects rolled-over dates (20240231 -> 20240302)
    fast_out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    pending = np.ones(n, dtype=bool)
    for pattern in patterns:
        fmt = _STRPTIME.get(pattern)
        if fmt is None or not pending.any():
            continue
        parsed = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
        same = _round_trip(values, parsed, fmt) & pending
        if same.any():
            days = parsed.to_numpy(zero_copy_only=False).astype("datetime64[D]")
            fast_out[same] = days[same]
            pending &= ~same
    if not pending.any():
        return fast_out
    slow = _parse_dates_regex(values.filter(pa.array(pending)), patterns)
    fast_out[pending] = slow
    return fast_out


_STRPTIME = {DATE_ISO: "%Y-%m-%d", DATE_COMPACT: "%Y%m%d"}
_LAYOUT = {"%Y-%m-%d": (10, (5, 7), (8, 10)), "%Y%m%d": (8, (4, 6), (6, 8))}


def _round_trip(values: pa.Array, parsed: pa.Array, fmt: str) -> np.ndarray:
    """True where ``parsed`` is exactly the written date (strptime rolls 2014-02-30 over to March)."""
    length, (m0, m1), (d0, d1) = _LAYOUT[fmt]
    ok = pc.and_(pc.is_valid(parsed), pc.equal(pc.utf8_length(values), length))
    ok = pc.fill_null(ok, False)
    zero = pa.scalar("0")
    month = pc.cast(pc.if_else(ok, pc.utf8_slice_codeunits(values, m0, m1), zero), pa.int64())
    day = pc.cast(pc.if_else(ok, pc.utf8_slice_codeunits(values, d0, d1), zero), pa.int64())
    same = pc.and_(pc.equal(pc.month(parsed), month), pc.equal(pc.day(parsed), day))
    same = pc.and_(same, pc.greater_equal(pc.year(parsed), 1000))
    return pc.fill_null(pc.and_(ok, same), False).to_numpy(zero_copy_only=False)


def _parse_dates_regex(values: pa.Array, patterns: Sequence[str]) -> np.ndarray:
    n = len(values)
    y = np.zeros(n, dtype=np.int64)
    m = np.zeros(n, dtype=np.int64)
    d = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for pattern in patterns:
        if done.all():
            break
        parts = pc.extract_regex(values, pattern)
        hit = pc.is_valid(parts).to_numpy(zero_copy_only=False) & ~done
        if not hit.any():
            continue
        names = [parts.type.field(i).name for i in range(parts.type.num_fields)]
        sub = parts.filter(pa.array(hit))

        def ints(name: str) -> np.ndarray:
            return pc.cast(pc.struct_field(sub, name), pa.int64()).to_numpy(zero_copy_only=False)

        y[hit] = ints("y")
        d[hit] = ints("d")
        if "mon" in names:
            mons = pc.utf8_lower(pc.utf8_slice_codeunits(pc.struct_field(sub, "mon"), 0, 3)).to_pylist()
            m[hit] = [_MONTHS.get(x, 0) for x in mons]
        else:
            m[hit] = ints("m")
        done |= hit
    ok = done & (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1000) & (y <= 9999)
    months = np.where(ok, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    days_in_month = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    ok &= d <= days_in_month
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    out[ok] = months[ok].astype("datetime64[D]") + (d[ok] - 1)
    return out


def strip_quotes(values: pa.Array) -> pa.Array:
    """Remove one pair of surrounding double quotes (Dataverse ``.tab`` downloads quote strings)."""
    return pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r'^"(.*)"$', r"\1")


def blank_to_null(values: pa.Array | None, tokens: Sequence[str] = ("", "NA", "None", "null", "NULL", "nan")) -> pa.Array | None:
    """Trimmed strings with missing-value tokens turned into nulls."""
    if values is None:
        return None
    values = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    return pc.if_else(pc.is_in(values, value_set=pa.array(list(tokens), pa.string())), pa.scalar(None, pa.string()), values)


def map_unique(values: pa.Array, func, out_type: pa.DataType = pa.string(), cache: dict | None = None) -> pa.Array:  # noqa: ANN001
    """Apply ``func`` (pandas Series -> Series aligned) to the distinct values only, then spread back.

    ``cache`` (value -> result) carries results across blocks of one file.
    """
    encoded = pc.dictionary_encode(values if values.type == pa.string() else pc.cast(values, pa.string()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    uniques = encoded.dictionary.to_pylist()
    cache = {} if cache is None else cache
    todo = [u for u in uniques if u not in cache]
    if todo:
        mapped = func(pd.Series(todo, dtype="object"))
        mapped = pd.Series(mapped).astype(object)
        cache.update(zip(todo, mapped.where(pd.notna(mapped), None).tolist()))
    return pa.array([cache[u] for u in uniques], out_type).take(encoded.indices)


@dataclass
class Parsed:
    """What a reader extracted from one chunk, aligned to ``rows``."""

    rows: Rows
    dataset: str | pa.Array
    """One dataset name for the chunk, or one per row."""
    date: np.ndarray
    """``datetime64[D]``, NaT where the date is bad."""
    code: pa.Array
    """Candidate CAMEO code per row (null when the reader found none)."""
    source_actor: pa.Array
    target_actor: pa.Array
    source_country: pa.Array | None = None
    target_country: pa.Array | None = None
    source_org: pa.Array | None = None
    target_org: pa.Array | None = None
    event_id: pa.Array | None = None
    """Source ids (already prefixed with the dataset); None -> a stable content hash."""
    id_prefix: str = ""
    weight: pa.Array | None = None
    source_ref: pa.Array | None = None
    text: pa.Array | None = None
    polarity: pa.Array | None = None
    """Machine-coded rows: asserted / claimed / denied (null or absent: asserted)."""
    actors_required: str = "either"
    """``both`` (ICEWS), ``source`` (actor 1 always present) or ``either`` (GDELT: one side may be blank)."""
    resolve_names: bool = True
    """Fill missing countries/orgs from actor names with ``tension.actors.resolve_actors``."""


@dataclass
class Checked:
    """One chunk after validation."""

    events: pa.Table
    quarantine: list[tuple[int, str, str]]
    records: int
    unresolved: Counter[str]
    unresolved_events: int


_CACHES: dict[str, dict] = {}


def country_codes(values: pa.Array, scheme: str, clean: bool = True) -> pa.Array:
    """Country codes or names -> ISO alpha-3 via ``tension.actors.resolve_country_codes`` (distinct values only)."""
    from ..actors import resolve_country_codes

    cache = _CACHES.setdefault(f"country:{scheme}", {})
    return map_unique(blank_to_null(values) if clean else values, lambda s: resolve_country_codes(s.astype(str), scheme), cache=cache)


def org_of_names(names: pa.Array, clean: bool = True) -> pa.Array:
    """Organisation codes for actor names (date-free), distinct values only."""
    from ..actors import resolve_actors

    cache = _CACHES.setdefault("org", {})
    return map_unique(blank_to_null(names) if clean else names, lambda s: resolve_actors(s.astype(str))["org"], cache=cache)


def clear_caches() -> None:
    """Forget cached resolutions (called at the start of every ingest/read, so table updates apply)."""
    _CACHES.clear()


def resolve_names(names: pa.Array, dates: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Actor names (with event dates, for office holders) -> (country, org) via ``tension.actors``."""
    from ..actors import resolve_actors

    frame = pd.DataFrame({"name": pc.cast(names, pa.string()).to_pandas(), "date": pd.to_datetime(dates)})
    has = frame["name"].notna() & (frame["name"] != "")
    uniq = frame[has].drop_duplicates(ignore_index=True)
    if len(uniq):
        res = resolve_actors(uniq["name"].astype(str), uniq["date"])
        uniq["country"] = res["country"].to_numpy(dtype=object)
        uniq["org"] = res["org"].to_numpy(dtype=object)
        merged = frame.merge(uniq, on=["name", "date"], how="left")
    else:
        merged = frame.assign(country=None, org=None)
    country = merged["country"].astype(object).where(merged["country"].notna(), None).tolist()
    org = merged["org"].astype(object).where(merged["org"].notna(), None).tolist()
    return pa.array(country, pa.string()), pa.array(org, pa.string())


def _resolve_missing(
    actor: pa.Array, dates: np.ndarray, country: pa.Array | None, org: pa.Array | None
) -> tuple[pa.Array, pa.Array]:
    """Fill country/org from the actor name where the format gave neither."""
    missing = np.ones(len(actor), dtype=bool)
    for given in (country, org):
        if given is not None:
            missing &= ~pc.is_valid(given).to_numpy(zero_copy_only=False)
    if not missing.any():
        nulls = pa.nulls(len(actor), pa.string())
        return (country if country is not None else nulls), (org if org is not None else nulls)
    names = pc.if_else(pa.array(missing), actor, pa.scalar(None, pa.string()))
    c, o = resolve_names(names, dates)
    return (c if country is None else pc.coalesce(country, c)), (o if org is None else pc.coalesce(org, o))


MAX_WEIGHT = 1e6
"""Weights (GDELT NumMentions) outside [0, MAX_WEIGHT], or not finite, are garbage: they become 1."""


def _weights(values: pa.Array) -> pa.Array:
    v = pc.cast(values, pa.float64())
    ok = pc.fill_null(pc.and_(pc.is_finite(v), pc.and_(pc.greater_equal(v, 0), pc.less_equal(v, MAX_WEIGHT))), False)
    return pc.cast(pc.if_else(ok, v, 1.0), pa.float32())


def _constant(value: str, n: int) -> pa.Array:
    return pc.fill_null(pa.nulls(n, pa.string()), value)


def content_ids(prefix: str, columns: Sequence[pa.Array]) -> pa.Array:
    """Stable ids ``<prefix>:h<32 hex>`` from a BLAKE2b hash of the given columns' text."""
    lists = [pc.fill_null(pc.cast(c, pa.string()), "").to_pylist() for c in columns]
    out = [
        f"{prefix}:h" + hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()
        for parts in zip(*lists)
    ]
    return pa.array(out, pa.string())


def _empty(values: pa.Array) -> np.ndarray:
    v = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    return pc.fill_null(pc.equal(v, ""), True).to_numpy(zero_copy_only=False)


EARLIEST = np.datetime64(EARLIEST_EVENT_DATE, "D")


def date_in_range(dates: np.ndarray, today: np.datetime64 | None = None) -> np.ndarray:
    """True where a ``datetime64[D]`` date lies in the valid range: EARLIEST_EVENT_DATE .. today + 1 day (UTC)."""
    if today is None:
        today = np.datetime64(datetime.now(timezone.utc).date(), "D")
    return (dates >= EARLIEST) & (dates <= today + np.timedelta64(1, "D"))


def polarity_reasons(polarity: pa.Array | None, reason: np.ndarray) -> None:
    """Set ``polarity_<value>`` as the reason of rows not yet refused whose polarity is not ``asserted`` (in place)."""
    if polarity is None:
        return
    values = pc.utf8_lower(pc.utf8_trim_whitespace(pc.fill_null(pc.cast(polarity, pa.string()), "asserted")))
    values = pc.if_else(pc.equal(values, ""), pa.scalar("asserted"), values).to_numpy(zero_copy_only=False)
    kept = (values != "asserted") & (reason == None)  # noqa: E711
    if kept.any():
        named = np.where(np.isin(values, ("claimed", "denied")), values, "unknown")
        reason[kept] = np.char.add("polarity_", named[kept].astype(str))


def finalize(p: Parsed, source_file: str, today: np.datetime64 | None = None) -> Checked:
    """Validate one chunk and build canonical rows (without batch_id/ingested_at)."""
    from ..taxonomy import lookup_codes

    rows = p.rows
    quarantine = list(rows.bad)
    if len(rows) == 0:
        return Checked(EVENT_SCHEMA.empty_table(), quarantine, rows.records, Counter(), 0)
    looked = lookup_codes_arrow(p.code, lookup_codes)
    reason = _reasons(p, looked, today)
    good = reason == None  # noqa: E711
    if not good.all():
        bad_idx = np.flatnonzero(~good)
        raws = rows.raw_of(bad_idx)
        quarantine.extend((int(rows.line[i]), str(reason[i]), r) for i, r in zip(bad_idx, raws))
        quarantine.sort()
    take = _Keep(good)
    sides = _sides(p, take, p.date[good])
    table = _canonical(p, take, looked, sides, source_file)
    unresolved, n_unresolved = _unresolved(sides, int(good.sum()))
    return Checked(table, quarantine, rows.records, unresolved, n_unresolved)


def _reasons(p: Parsed, looked: dict[str, pa.Array], today: np.datetime64 | None) -> np.ndarray:
    """The first reason each row is refused (``None`` for a good row): date, event code, actors, polarity."""
    if today is None:
        today = np.datetime64(datetime.now(timezone.utc).date(), "D")
    reason = np.full(len(p.rows), None, dtype=object)
    bad_date = np.isnat(p.date) | ~date_in_range(p.date, today)
    reason[bad_date] = "bad_date"
    unknown = ~pc.is_valid(looked["cameo_code"]).to_numpy(zero_copy_only=False)
    reason[unknown & (reason == None)] = "unknown_event_code"  # noqa: E711
    src_empty = _empty(p.source_actor)
    tgt_empty = _empty(p.target_actor)
    no_actor = {"both": src_empty | tgt_empty, "source": src_empty}.get(p.actors_required, src_empty & tgt_empty)
    reason[no_actor & (reason == None)] = "empty_actor"  # noqa: E711
    polarity_reasons(p.polarity, reason)
    return reason


class _Keep:
    """The good rows of a chunk: ``sel`` filters an array to them, ``text`` also casts to string (None stays None)."""

    def __init__(self, good: np.ndarray) -> None:
        self.good = good
        self.all = bool(good.all())
        self.mask = pa.array(good)

    def sel(self, arr: pa.Array) -> pa.Array:
        return arr if self.all else arr.filter(self.mask)

    def text(self, arr: pa.Array | None) -> pa.Array | None:
        if arr is None:
            return None
        return self.sel(arr if arr.type in (pa.string(), pa.float32()) else pc.cast(arr, pa.string()))


def _sides(p: Parsed, take: _Keep, dates: np.ndarray) -> dict[str, pa.Array]:
    """Actor, country and organisation of both sides for the good rows; names resolved where the reader asks."""
    src_actor, tgt_actor = take.text(p.source_actor), take.text(p.target_actor)
    src_country, tgt_country = take.text(p.source_country), take.text(p.target_country)
    src_org, tgt_org = take.text(p.source_org), take.text(p.target_org)
    if p.resolve_names:
        src_country, src_org = _resolve_missing(src_actor, dates, src_country, src_org)
        tgt_country, tgt_org = _resolve_missing(tgt_actor, dates, tgt_country, tgt_org)
    nulls = pa.nulls(len(dates), pa.string())
    src_country = nulls if src_country is None else src_country
    tgt_country = nulls if tgt_country is None else tgt_country
    src_org = nulls if src_org is None else src_org
    tgt_org = nulls if tgt_org is None else tgt_org
    # an organisation is never a country
    src_country = pc.if_else(pc.is_valid(src_org), pa.scalar(None, pa.string()), src_country)
    tgt_country = pc.if_else(pc.is_valid(tgt_org), pa.scalar(None, pa.string()), tgt_country)
    return {"source_actor": src_actor, "source_country": src_country, "source_org": src_org,
            "target_actor": tgt_actor, "target_country": tgt_country, "target_org": tgt_org}


def _canonical(p: Parsed, take: _Keep, looked: dict[str, pa.Array], sides: dict[str, pa.Array], source_file: str) -> pa.Table:
    """The good rows as a table of the canonical event schema."""
    good = take.good
    m = int(good.sum())
    nulls = pa.nulls(m, pa.string())
    codes = {k: take.sel(v) for k, v in looked.items()}
    date_arr = pa.array(p.date[good], pa.date32())
    event_id = None if p.event_id is None else take.text(p.event_id)
    if event_id is None or event_id.null_count:
        hashed = content_ids(
            p.id_prefix or (p.dataset if isinstance(p.dataset, str) else "event"),
            [pc.cast(date_arr, pa.string()), sides["source_actor"], sides["target_actor"], codes["cameo_code"],
             take.text(p.source_ref) or nulls, take.text(p.text) or nulls],
        )
        event_id = hashed if event_id is None else pc.coalesce(event_id, hashed)
    weight = pa.array(np.ones(m, dtype=np.float32)) if p.weight is None else _weights(take.sel(p.weight))
    columns = {
        "event_id": event_id,
        "date": date_arr,
        **sides,
        **{k: codes[k] for k in ("cameo_code", "root_code", "quad_class", "goldstein", "family")},
        "weight": weight,
        "dataset": _constant(p.dataset, m) if isinstance(p.dataset, str) else take.text(p.dataset),
        "source_ref": take.text(p.source_ref) if p.source_ref is not None else nulls,
        "text": take.text(p.text) if p.text is not None else nulls,
        "batch_id": nulls,
        "ingested_at": pa.nulls(m, pa.timestamp("us", tz="UTC")),
        "source_file": _constant(source_file, m),
        "source_line": pa.array(p.rows.line[good], pa.int64()),
    }
    return pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)


def _unresolved(sides: dict[str, pa.Array], m: int) -> tuple[Counter[str], int]:
    """Actor names stored with neither a country nor an organisation (by count), and the events holding one."""
    unresolved: Counter[str] = Counter()
    unresolved_events = np.zeros(m, dtype=bool)
    for side in ("source", "target"):
        actor, country, org = sides[f"{side}_actor"], sides[f"{side}_country"], sides[f"{side}_org"]
        miss = (~_empty(actor)) & ~pc.is_valid(country).to_numpy(zero_copy_only=False) & ~pc.is_valid(org).to_numpy(zero_copy_only=False)
        unresolved_events |= miss
        if miss.any():
            counts = pc.value_counts(pc.utf8_trim_whitespace(actor.filter(pa.array(miss))))
            unresolved.update(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))
    return unresolved, int(unresolved_events.sum())


_CODE_FIELDS = (("cameo_code", pa.string()), ("root_code", pa.string()), ("quad_class", pa.int8()), ("goldstein", pa.float32()), ("family", pa.string()))


def lookup_codes_arrow(codes: pa.Array, lookup_codes, cache_key: str = "codes") -> dict[str, pa.Array]:  # noqa: ANN001
    """``tension.taxonomy.lookup_codes`` over the distinct codes only (cached per ingest), spread back as Arrow."""
    encoded = pc.dictionary_encode(codes if codes.type == pa.string() else pc.cast(codes, pa.string()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    uniques = encoded.dictionary.to_pylist()
    cache = _CACHES.setdefault(cache_key, {})
    todo = [u for u in uniques if u not in cache]
    if todo:
        table = lookup_codes(pd.Series(todo, dtype="object"))
        cols = [table[name].astype(object).where(pd.notna(table[name]), None).tolist() for name, _ in _CODE_FIELDS]
        for u, *values in zip(todo, *cols):
            cache[u] = tuple(values)
    rows = [cache[u] for u in uniques]
    out = {}
    for k, (name, typ) in enumerate(_CODE_FIELDS):
        values = [r[k] for r in rows]
        if typ == pa.int8():
            values = [None if v is None else int(v) for v in values]
        out[name] = pa.array(values, typ).take(encoded.indices)
    return out


def to_number(values: pa.Array) -> pa.Array:
    """Numeric text -> float64; anything else -> null (never an error)."""
    v = blank_to_null(values)
    ok = pc.fill_null(pc.match_substring_regex(v, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), False)
    return pc.cast(pc.if_else(ok, v, pa.scalar(None, pa.string())), pa.float64())
