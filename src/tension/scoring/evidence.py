"""Evidence: the few events behind each dyad's score, read straight from the events' Parquet files.

For each scored dyad: its hostile events (Goldstein < 0; alliance moves of any sign) dated in
``[start, cutoff]`` (the ``coverage_window`` periods up to the data cutoff), weighted by the
positive contribution of the drivers that count their family (incidents, denials, hostility
dynamics, ...), then by severity (|Goldstein| + 1) x weight, most recent first among ties; each
event once (by ``event_id``); the chosen ones listed in date order (oldest first), each with
``event_id``, ``date``, a one-line ``text`` and ``source_ref``. With no positive driver, the most
severe hostile events are listed.

One DuckDB query does it all. Over a store it reads only the Parquet files whose dates overlap
the window (the manifest's date range), and the date, country and hostility filters are pushed
into the Parquet scan (row groups outside them are skipped); the ranking keeps ``top`` rows per
dyad, so memory follows the dyads scored, not the events stored.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

__all__ = ["EVENT_FAMILIES", "evidence_weights", "events_relation", "read_evidence", "last_event_date"]

EVENT_FAMILIES: dict[str, tuple[str, ...]] = {
    "incidents": ("incident",), "denials": ("denial",), "alliances": ("alliance_move",),
    "relationship": ("incident", "denial"), "dynamics": ("incident", "denial"),
    "history": ("incident",),
}
"""Driver group -> the event families whose events show it."""

_OPTIONAL = ("text", "source_ref", "source_actor", "target_actor", "cameo_code")


def evidence_weights(rows: Iterable[tuple[str, str, float]]) -> pd.DataFrame:
    """``dyad, family, weight`` from ``(dyad, driver group, contribution)``: positive contributions summed per family."""
    out = [(dyad, fam, max(float(c), 0.0)) for dyad, group, c in rows for fam in EVENT_FAMILIES.get(group, ())]
    frame = pd.DataFrame(out, columns=["dyad", "family", "weight"])
    return frame.groupby(["dyad", "family"], as_index=False).sum()


def _one_line(text: Any, limit: int = 160) -> str:
    s = " ".join(str(text).split()) if isinstance(text, str) else ""
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


@lru_cache(maxsize=1)
def _cameo_names() -> dict[str, str]:
    from ..taxonomy import cameo_table

    t = cameo_table()
    return dict(zip(t["code"].astype(str), t["name"].astype(str), strict=True))


def _cameo_name(code: str) -> str:
    names = _cameo_names()
    return names.get(code) or names.get(code[:3]) or names.get(code[:2]) or "event"


def _sql_date(value: Any) -> str:
    return f"DATE '{pd.Timestamp(value).date().isoformat()}'"


def events_relation(con: duckdb.DuckDBPyConnection, source: Any, start: Any,
                    end: Any) -> tuple[str, set[str]] | None:
    """The SQL relation of the events in ``source`` (store, store folder or DataFrame) and its columns.

    None when a store holds no file overlapping ``[start, end]`` (either may be None).

    A local store is read by DuckDB from the Parquet files overlapping ``[start, end]``, so the
    query's filters reach the scan; other stores hand DuckDB the Arrow table of that date range.
    """
    if isinstance(source, pd.DataFrame):
        con.register("evidence_events", source)
        return "evidence_events", set(source.columns)
    if isinstance(source, (str, Path)):
        from ..store import Store

        source = Store(str(source))
    from ..schema import EVENT_COLUMNS

    if not getattr(source, "is_local", True):
        con.register("evidence_events", source.read_table(start, end))
        return "evidence_events", set(EVENT_COLUMNS)
    files = source.files(start, end)
    if not files:
        return None
    quoted = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{quoted}], union_by_name = true)", set(EVENT_COLUMNS)


def _in_list(values: Iterable[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in sorted(set(values))) or "NULL"


def _dyad_sql(directed: bool) -> str:
    if directed:
        return "source_country || '>' || target_country"
    return "least(source_country, target_country) || '|' || greatest(source_country, target_country)"


def read_evidence(source: Any, weights: pd.DataFrame, dyads: Sequence[str], start: Any, cutoff: Any,
                  directed: bool, top: int = 5,
                  con: duckdb.DuckDBPyConnection | None = None) -> dict[str, list[dict[str, Any]]]:
    """The ``top`` evidence events of each of ``dyads`` in ``[start, cutoff]`` (see module doc).

    ``source``: a :class:`tension.store.Store`, a store folder or an events DataFrame (None: no
    evidence). ``weights``: ``dyad, family, weight`` from :func:`evidence_weights`. ``con``: a DuckDB
    connection to run on (default: a fresh one).
    """
    if source is None or not len(dyads) or (isinstance(source, pd.DataFrame) and source.empty):
        return {}
    own = con is None
    con = duckdb.connect() if con is None else con
    try:
        scan = events_relation(con, source, start, cutoff)
        if scan is None:
            return {}
        rel, columns = scan
        wanted = pd.DataFrame({"dyad": pd.unique(pd.Series(list(dyads), dtype=object))})
        con.register("evidence_dyads", wanted)
        con.register("evidence_weights", weights if len(weights) else pd.DataFrame(
            {"dyad": pd.Series(dtype=object), "family": pd.Series(dtype=object), "weight": pd.Series(dtype=float)}))
        sides = [d.replace("|", ">").split(">") for d in wanted["dyad"]]
        sources = {s[0] for s in sides} | (set() if directed else {s[-1] for s in sides})
        targets = {s[-1] for s in sides} | (set() if directed else {s[0] for s in sides})
        optional = ", ".join(f"{c}" if c in columns else f"NULL AS {c}" for c in _OPTIONAL)
        weight = "coalesce(CAST(weight AS DOUBLE), 1.0)" if "weight" in columns else "1.0"
        rows = con.execute(f"""
            WITH e AS (
                SELECT CAST(event_id AS VARCHAR) AS event_id, CAST(date AS DATE) AS d, family, {optional},
                       {_dyad_sql(directed)} AS dyad,
                       (abs(coalesce(CAST(goldstein AS DOUBLE), 0.0)) + 1.0) * {weight} AS sev,
                       coalesce(goldstein, 0) < 0 AS hostile
                FROM {rel}
                WHERE date >= {_sql_date(start)} AND date <= {_sql_date(cutoff)}
                  AND source_country IN ({_in_list(sources)}) AND target_country IN ({_in_list(targets)})
                  AND (goldstein < 0 OR family = 'alliance_move')
            ), k AS (
                SELECT e.*, coalesce(w.weight, 0.0) * e.sev AS s0
                FROM e SEMI JOIN evidence_dyads USING (dyad)
                LEFT JOIN evidence_weights w ON w.dyad = e.dyad AND w.family = e.family
            ), s AS (
                SELECT *, CASE WHEN max(s0) OVER (PARTITION BY dyad) > 0 THEN s0
                               ELSE CAST(hostile AS DOUBLE) * sev END AS strength
                FROM k
            ), one AS (
                SELECT * FROM s WHERE strength > 0
                QUALIFY row_number() OVER (PARTITION BY dyad, event_id ORDER BY strength DESC, d DESC) = 1
            )
            SELECT dyad, event_id, d, family, {", ".join(_OPTIONAL)} FROM one
            QUALIFY row_number() OVER (PARTITION BY dyad ORDER BY strength DESC, d DESC, event_id) <= {int(top)}
            ORDER BY dyad, d, strength DESC, event_id
        """).df()
    finally:
        if own:
            con.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows.to_dict("records"):
        text = _one_line(r.get("text"))
        if not text:  # no headline in the source: say who did what to whom in CAMEO's words
            what = _cameo_name(str(r.get("cameo_code") or ""))
            text = _one_line(f"{r.get('source_actor') or '?'} \u2192 {r.get('target_actor') or '?'}: {what} "
                             f"(CAMEO {r.get('cameo_code')})")
        ref = r.get("source_ref")
        out.setdefault(r["dyad"], []).append({
            "event_id": str(r["event_id"]), "date": pd.Timestamp(r["d"]).date().isoformat(), "text": text,
            "source_ref": "" if ref is None or pd.isna(ref) else str(ref), "family": str(r.get("family"))})
    return out


def last_event_date(source: Any, start: Any, end: Any) -> pd.Timestamp | None:
    """The date of the last event in ``[start, end]`` of ``source`` (store, folder or DataFrame); None if none."""
    if source is None or (isinstance(source, pd.DataFrame) and source.empty):
        return None
    con = duckdb.connect()
    try:
        scan = events_relation(con, source, start, end)
        if scan is None:
            return None
        found = con.execute(f"SELECT max(CAST(date AS DATE)) FROM {scan[0]} "
                            f"WHERE date >= {_sql_date(start)} AND date <= {_sql_date(end)}").fetchone()[0]
    finally:
        con.close()
    return None if found is None else pd.Timestamp(found)
