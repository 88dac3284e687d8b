"""The forecast ledger: issued forecasts, their resolutions, and the track record.

The ledger is append-only. :meth:`Ledger.issue` writes issued forecasts to a new
Parquet file and :meth:`Ledger.resolve` writes resolutions (one record per resolved
forecast, keyed by ``forecast_id``) to another; no data file is ever rewritten, so
issued records stay byte-identical forever.

Crash safety (works on object storage too, where rename is not atomic): every data
file gets a unique name and becomes visible only when a new manifest naming it is
written last (``manifests/<seq>-<uuid>.json``). Readers take the newest manifest
that parses; a crash mid-write leaves an orphan file nobody reads.

Next to every model forecast the ledger stores two baseline forecasts issued at the
same time, computed from what was known then (windows that had fully ended by
``as_of``):

- ``base_rate``: share of positive outcomes over all dyads' windows of the same
  length that ended at or before ``as_of``.
- ``persistence``: the dyad's own most recent fully observed window (the ``h``
  periods ending at ``as_of``), 1 -> 0.95 and 0 -> 0.05 (clipped so the log score
  stays finite).

Hindcasts (backfilled scores, ``issue(..., hindcast=True)``) are stored but kept out
of the track record.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from .errors import UsageError, problem

__all__ = [
    "Ledger",
    "FORECAST_COLUMNS",
    "RESOLUTION_COLUMNS",
    "PERSISTENCE_CLIP",
    "window_bounds",
    "outcomes_from_panel",
    "baseline_forecasts",
    "track_record_of",
    "reliability_of",
]

FORECAST_COLUMNS: tuple[str, ...] = (
    "forecast_id", "issued_at", "dyad", "source", "target", "region", "as_of", "horizon",
    "window_start", "window_end", "probability", "lower", "upper", "coverage",
    "base_rate", "persistence", "model_version", "data_cutoff", "hindcast", "freq",
)
RESOLUTION_COLUMNS: tuple[str, ...] = ("forecast_id", "outcome", "resolved_at", "resolved_with")
FORECASTERS: tuple[str, ...] = ("model", "base_rate", "persistence")
PERSISTENCE_CLIP: tuple[float, float] = (0.05, 0.95)
_FORECAST_SCHEMA = pa.schema([
    ("forecast_id", pa.string()), ("issued_at", pa.timestamp("us", tz="UTC")), ("dyad", pa.string()),
    ("source", pa.string()), ("target", pa.string()), ("region", pa.string()),
    ("as_of", pa.timestamp("ns")), ("horizon", pa.int64()), ("window_start", pa.timestamp("ns")),
    ("window_end", pa.timestamp("ns")), ("probability", pa.float64()), ("lower", pa.float64()),
    ("upper", pa.float64()), ("coverage", pa.string()), ("base_rate", pa.float64()),
    ("persistence", pa.float64()), ("model_version", pa.string()), ("data_cutoff", pa.timestamp("ns")),
    ("hindcast", pa.bool_()), ("freq", pa.string()),
])
_RESOLUTION_SCHEMA = pa.schema([
    ("forecast_id", pa.string()), ("outcome", pa.float64()),
    ("resolved_at", pa.timestamp("us", tz="UTC")), ("resolved_with", pa.timestamp("ns")),
])


def _offset(freq: str) -> pd.DateOffset:
    """One period of the panel frequency (``D``, ``W`` Monday-labelled, ``M`` first-of-month)."""
    f = (freq or "W").upper()[0]
    if f == "D":
        return pd.DateOffset(days=1)
    if f == "W":
        return pd.DateOffset(weeks=1)
    if f == "M":
        return pd.DateOffset(months=1)
    raise UsageError(problem("Unknown panel frequency.", "'D', 'W' or 'M'", freq, "Check panel.freq in the config."))


def window_bounds(as_of: pd.Series, horizon: pd.Series, freq: str) -> tuple[pd.Series, pd.Series]:
    """Label of the first and last period of each forecast window ``[as_of + 1, as_of + h]``."""
    step = _offset(freq)
    as_of = pd.to_datetime(as_of)
    start = as_of + step
    end = pd.Series([a + step * int(h) for a, h in zip(as_of, horizon, strict=True)], index=as_of.index)
    return start, pd.to_datetime(end)


def _any_conflict_window(panel: pd.DataFrame, horizon: int, k: int = 1) -> pd.Series:
    """Fallback target (used only if ``tension.targets`` is missing): >= k material-conflict events in [t+1, t+h]."""
    counts = panel["material_conflict_count"].astype(float)
    grouped = counts.groupby(panel["dyad"], sort=False)
    total = sum(grouped.shift(-i) for i in range(1, horizon + 1))
    return (total >= k).astype(float).where(total.notna())


def outcomes_from_panel(panel: pd.DataFrame, horizons: Iterable[int], target: str = "any_material_conflict",
                        k: int = 1) -> pd.DataFrame:
    """Outcome of the window ``[period + 1, period + h]`` for every panel row and horizon.

    Returns ``dyad, as_of, horizon, outcome`` (NaN where the window runs past the panel).
    Uses ``tension.targets.make_target`` (the only forward-looking code) when available.
    """
    panel = panel.sort_values(["dyad", "period"], kind="stable").reset_index(drop=True)
    try:
        from .targets import make_target
    except ImportError:  # pragma: no cover - only before the targets stage lands
        make_target = None
    frames = []
    for h in sorted({int(h) for h in horizons}):
        if make_target is not None:
            y = make_target(panel, name=target, horizon=h, k=k)
        else:  # pragma: no cover
            y = _any_conflict_window(panel, h, k)
        frames.append(pd.DataFrame({"dyad": panel["dyad"].to_numpy(), "as_of": panel["period"].to_numpy(),
                                    "horizon": h, "outcome": np.asarray(y, dtype=float)}))
    return pd.concat(frames, ignore_index=True)


def baseline_forecasts(outcomes: pd.DataFrame, dyads: pd.Series, as_of: pd.Timestamp, horizon: int,
                       freq: str) -> pd.DataFrame:
    """Base-rate and persistence forecasts issued at ``as_of`` from windows fully ended by then.

    ``outcomes`` comes from :func:`outcomes_from_panel`. A window labelled ``t`` covers
    ``[t+1, t+h]``, so it has ended by ``as_of`` when ``t + h <= as_of``.
    """
    step = _offset(freq)
    as_of = pd.Timestamp(as_of)
    last_known = as_of - step * int(horizon)
    o = outcomes[(outcomes["horizon"] == horizon) & (outcomes["as_of"] <= last_known)].dropna(subset=["outcome"])
    base = float(o["outcome"].mean()) if len(o) else np.nan
    latest = o[o["as_of"] == last_known].set_index("dyad")["outcome"]
    pers = pd.Series(dyads.to_numpy()).map(latest).astype(float).clip(*PERSISTENCE_CLIP)
    return pd.DataFrame({"base_rate": base, "persistence": pers.to_numpy()})


def _forecast_id(row: pd.Series) -> str:
    key = "|".join([str(row["dyad"]), pd.Timestamp(row["as_of"]).isoformat(), str(int(row["horizon"])),
                    str(row["model_version"]), "hindcast" if row["hindcast"] else "issued"])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _log_score(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log likelihood (the same clipping as ``sklearn.metrics.log_loss``)."""
    eps = np.finfo(np.float64).eps
    p = np.clip(p.astype(np.float64), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def track_record_of(resolved: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Scores of resolved forecasts by horizon and region, for the model and both baselines.

    One row per (horizon, region, forecaster); region ``"all"`` pools every dyad. Columns:
    ``n, positives, brier, log_score, alerts, hits, misses, false_alarms`` where an alert is
    a probability at or above ``threshold``, a hit an alert followed by the event, a miss an
    event without an alert.
    """
    rows = []
    if resolved.empty:
        return pd.DataFrame(columns=["horizon", "region", "forecaster", "n", "positives", "brier", "log_score",
                                     "alerts", "hits", "misses", "false_alarms"])
    parts = [("all", resolved)]
    regions = resolved["region"].fillna("")
    parts += [(r, resolved[regions == r]) for r in sorted(set(regions) - {""})]
    for region, part in parts:
        for h, grp in part.groupby("horizon", sort=True):
            y = grp["outcome"].to_numpy(dtype=float)
            for name in FORECASTERS:
                col = "probability" if name == "model" else name
                ok = grp[col].notna().to_numpy()
                p = grp[col].to_numpy(dtype=float)[ok]
                yy = y[ok]
                alert = p >= threshold
                rows.append({
                    "horizon": int(h), "region": region, "forecaster": name, "n": int(ok.sum()),
                    "positives": int(yy.sum()),
                    "brier": float(np.mean((p - yy) ** 2)) if ok.any() else np.nan,
                    "log_score": _log_score(yy, p) if ok.any() else np.nan,
                    "alerts": int(alert.sum()), "hits": int((alert & (yy == 1)).sum()),
                    "misses": int((~alert & (yy == 1)).sum()), "false_alarms": int((alert & (yy == 0)).sum()),
                })
    return pd.DataFrame(rows)


def reliability_of(resolved: pd.DataFrame, bins: int = 10, column: str = "probability") -> pd.DataFrame:
    """Reliability table: per horizon and equal-width probability bin, mean forecast, observed frequency, n."""
    if resolved.empty:
        return pd.DataFrame(columns=["horizon", "bin", "mean_probability", "observed", "n"])
    edges = np.linspace(0, 1, bins + 1)
    b = np.clip(np.digitize(resolved[column].to_numpy(dtype=float), edges[1:-1]), 0, bins - 1)
    df = resolved.assign(bin=b)
    out = (df.groupby(["horizon", "bin"], sort=True)
             .agg(mean_probability=(column, "mean"), observed=("outcome", "mean"), n=("outcome", "size"))
             .reset_index())
    return out


@dataclass(frozen=True)
class _Manifest:
    seq: int
    forecasts: tuple[str, ...]
    resolutions: tuple[str, ...]


class Ledger:
    """Append-only ledger of issued forecasts at ``path`` (a folder; created on first write).

    Examples
    --------
    >>> ledger = Ledger(tmp_path / "ledger")               # doctest: +SKIP
    >>> ledger.issue(scores, panel=panel)                  # doctest: +SKIP
    >>> ledger.resolve(later_panel)                        # doctest: +SKIP
    >>> ledger.track_record()                              # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- manifest -------------------------------------------------------------------------
    def _manifest(self) -> _Manifest:
        folder = self.path / "manifests"
        if not folder.is_dir():
            return _Manifest(0, (), ())
        for name in sorted((p.name for p in folder.glob("*.json")), reverse=True):
            try:
                data = json.loads((folder / name).read_text(encoding="utf-8"))
                return _Manifest(int(data["seq"]), tuple(data["forecasts"]), tuple(data["resolutions"]))
            except (ValueError, KeyError, OSError):  # a torn manifest from a crash: use the previous one
                continue
        return _Manifest(0, (), ())

    def _commit(self, kind: str, table: pa.Table) -> str:
        """Write ``table`` under a unique name, then a new manifest naming it (written last)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{kind}/{stamp}-{uuid.uuid4().hex[:12]}.parquet"
        (self.path / kind).mkdir(parents=True, exist_ok=True)
        pq.write_table(table, self.path / name)
        current = self._manifest()
        files = {"forecasts": list(current.forecasts), "resolutions": list(current.resolutions)}
        files[kind].append(name)
        seq = current.seq + 1
        (self.path / "manifests").mkdir(parents=True, exist_ok=True)
        payload = {"seq": seq, "written_at": datetime.now(UTC).isoformat(), **files}
        (self.path / "manifests" / f"{seq:010d}-{uuid.uuid4().hex[:8]}.json").write_text(
            json.dumps(payload, indent=1), encoding="utf-8")
        return name

    def _lock(self) -> FileLock:
        self.path.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path / ".lock"), timeout=60)

    @property
    def files(self) -> dict[str, list[str]]:
        """Committed data files (relative to the ledger folder), in commit order."""
        m = self._manifest()
        return {"forecasts": list(m.forecasts), "resolutions": list(m.resolutions)}

    # -- reading --------------------------------------------------------------------------
    def _read(self, names: Iterable[str], schema: pa.Schema) -> pd.DataFrame:
        tables = [pq.read_table(self.path / n) for n in names]
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        return table.to_pandas()

    def forecasts(self) -> pd.DataFrame:
        """Every issued forecast (hindcasts included, flagged), in issue order."""
        return self._read(self._manifest().forecasts, _FORECAST_SCHEMA)

    def resolutions(self) -> pd.DataFrame:
        """Every resolution record (one per resolved forecast)."""
        return self._read(self._manifest().resolutions, _RESOLUTION_SCHEMA)

    def records(self) -> pd.DataFrame:
        """Forecasts joined with their resolution (``outcome`` NaN while unresolved)."""
        f = self.forecasts()
        r = self.resolutions().drop_duplicates("forecast_id", keep="first")
        return f.merge(r, on="forecast_id", how="left")

    def latest(self, include_hindcasts: bool = False) -> pd.DataFrame:
        """The most recently issued score per (dyad, horizon): the ``previous`` for ``score``."""
        f = self.forecasts()
        if not include_hindcasts:
            f = f[~f["hindcast"]]
        f = f.sort_values(["as_of", "issued_at"], kind="stable")
        return f.drop_duplicates(["dyad", "horizon"], keep="last").reset_index(drop=True)

    # -- writing --------------------------------------------------------------------------
    def issue(self, scores: pd.DataFrame, panel: pd.DataFrame | None = None, hindcast: bool = False,
              target: str = "any_material_conflict", k: int = 1) -> int:
        """Record ``scores`` (the scores table) as issued forecasts; returns how many were new.

        With ``panel`` (the panel the scores came from), base-rate and persistence forecasts
        are computed from windows that had ended by each ``as_of`` and stored beside them.
        Forecasts already in the ledger (same dyad, as_of, horizon, model version and kind)
        are skipped, so issuing twice is harmless. Issued records are never rewritten.
        """
        missing = [c for c in ("dyad", "as_of", "horizon", "probability", "model_version") if c not in scores]
        if missing:
            raise UsageError(problem("These scores cannot be issued: columns are missing.",
                                     "the scores table of tension.scoring.score", missing,
                                     "Issue the output of `tension score` unchanged."))
        if scores.empty:
            return 0
        freq = str(scores.attrs.get("freq") or (panel.attrs.get("freq") if panel is not None else None) or "W")
        s = scores.copy()
        s["as_of"] = pd.to_datetime(s["as_of"]).astype("datetime64[ns]")
        s["horizon"] = s["horizon"].astype("int64")
        for col, default in (("source", ""), ("target", ""), ("region", ""), ("coverage", "ok")):
            s[col] = s[col].fillna(default).astype(str) if col in s else default
        for col in ("lower", "upper"):
            s[col] = s[col].astype(float) if col in s else np.nan
        s["data_cutoff"] = pd.to_datetime(s["data_cutoff"]) if "data_cutoff" in s else s["as_of"]
        s["window_start"], s["window_end"] = window_bounds(s["as_of"], s["horizon"], freq)
        s["hindcast"] = bool(hindcast)
        s["freq"] = freq
        s["model_version"] = s["model_version"].astype(str)
        s["base_rate"] = np.nan
        s["persistence"] = np.nan
        if panel is not None and not panel.empty:
            outcomes = outcomes_from_panel(panel, s["horizon"].unique(), target=target, k=k)
            for (a, h), idx in s.groupby(["as_of", "horizon"]).groups.items():
                b = baseline_forecasts(outcomes, s.loc[idx, "dyad"], a, int(h), freq)
                s.loc[idx, "base_rate"] = b["base_rate"].to_numpy()
                s.loc[idx, "persistence"] = b["persistence"].to_numpy()
        s["issued_at"] = pd.Timestamp.now(tz="UTC")
        s["forecast_id"] = s.apply(_forecast_id, axis=1)
        with self._lock():
            known = set(self.forecasts()["forecast_id"])
            s = s[~s["forecast_id"].isin(known)].drop_duplicates("forecast_id")
            if s.empty:
                return 0
            table = pa.Table.from_pandas(s[list(FORECAST_COLUMNS)].reset_index(drop=True), schema=_FORECAST_SCHEMA,
                                         preserve_index=False)
            self._commit("forecasts", table)
        return len(s)

    def resolve(self, panel: pd.DataFrame, target: str = "any_material_conflict", k: int = 1) -> int:
        """Append resolutions for forecasts whose window has passed in ``panel``; returns how many.

        A forecast resolves when its whole window ``[as_of + 1, as_of + h]`` lies inside the
        panel. Already resolved forecasts are left alone; nothing issued is touched.
        """
        with self._lock():
            f = self.forecasts()
            done = set(self.resolutions()["forecast_id"])
            open_ = f[~f["forecast_id"].isin(done)]
            if open_.empty or panel.empty:
                return 0
            last = pd.Timestamp(panel["period"].max())
            open_ = open_[open_["window_end"] <= last]
            if open_.empty:
                return 0
            outcomes = outcomes_from_panel(panel, open_["horizon"].unique(), target=target, k=k)
            merged = open_.merge(outcomes, on=["dyad", "as_of", "horizon"], how="left")
            # A dyad absent from the panel at as_of had no events in its look-back: resolve from the window.
            merged = merged.dropna(subset=["outcome"])
            if merged.empty:
                return 0
            res = pd.DataFrame({
                "forecast_id": merged["forecast_id"].to_numpy(), "outcome": merged["outcome"].to_numpy(float),
                "resolved_at": pd.Timestamp.now(tz="UTC"), "resolved_with": last,
            })
            self._commit("resolutions", pa.Table.from_pandas(res, schema=_RESOLUTION_SCHEMA, preserve_index=False))
            return len(res)

    # -- the track record -----------------------------------------------------------------
    def resolved(self, include_hindcasts: bool = False) -> pd.DataFrame:
        """Resolved forecasts (hindcasts excluded unless asked)."""
        r = self.records().dropna(subset=["outcome"])
        if not include_hindcasts:
            r = r[~r["hindcast"]]
        return r.reset_index(drop=True)

    def track_record(self, threshold: float = 0.5, include_hindcasts: bool = False) -> pd.DataFrame:
        """Brier, log score and alert hits/misses by horizon and region, model next to baselines.

        See :func:`track_record_of`. Hindcasts are excluded: only forecasts issued live count.
        """
        return track_record_of(self.resolved(include_hindcasts), threshold)

    def reliability(self, bins: int = 10, include_hindcasts: bool = False) -> pd.DataFrame:
        """Reliability table of resolved live forecasts (see :func:`reliability_of`)."""
        return reliability_of(self.resolved(include_hindcasts), bins)

    def summary(self) -> dict[str, int]:
        """Counts: issued, hindcasts, resolved, open."""
        r = self.records()
        return {
            "issued": int((~r["hindcast"]).sum()) if len(r) else 0,
            "hindcasts": int(r["hindcast"].sum()) if len(r) else 0,
            "resolved": int(r["outcome"].notna().sum()) if len(r) else 0,
            "open": int(r["outcome"].isna().sum()) if len(r) else 0,
        }
