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

Tamper evidence: every manifest keeps the sha256 of every data file it names
(``checksums``) and of the manifest before it (``previous``), and ``head.json`` (written
after each manifest) names the newest manifest and its sha256. :meth:`Ledger.verify` finds a
hand-edited data file, a deleted or edited manifest and a gap in the sequence; reads warn
(:class:`LedgerIntegrityWarning`) when a data file's bytes no longer match. Ledgers written
before checksums existed get them (for the files as they are then) at their next commit.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from . import periods
from .errors import UsageError, problem
from .targets import TargetSpec, make_target, target_spec

__all__ = [
    "Ledger",
    "LedgerIntegrityWarning",
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


def window_bounds(as_of: pd.Series, horizon: pd.Series, freq: str) -> tuple[pd.Series, pd.Series]:
    """Label of the first and last period of each forecast window ``[as_of + 1, as_of + h]``."""
    as_of = pd.to_datetime(as_of)
    start = periods.shift(as_of, 1, freq)
    end = pd.Series([periods.shift(a, int(h), freq) for a, h in zip(as_of, horizon, strict=True)], index=as_of.index)
    return start, pd.to_datetime(end)


def outcomes_from_panel(panel: pd.DataFrame, horizons: Iterable[int], target: TargetSpec | str | None = None,
                        k: int | None = None) -> pd.DataFrame:
    """Outcome of ``target`` (a :class:`~tension.targets.TargetSpec`, a name or None for the default) for every panel row and horizon.

    The target is computed by ``tension.targets.make_target`` (the only forward-looking code),
    once per horizon with the spec's other fields unchanged (``k`` replaces the spec's k).
    Returns ``dyad, as_of, horizon, outcome`` (NaN where the window runs past the panel).
    """
    spec = target_spec(target, k=k)
    panel = panel.sort_values(["dyad", "period"], kind="stable").reset_index(drop=True)
    frames = []
    for h in sorted({int(h) for h in horizons}):
        y = make_target(panel, spec, horizon=h)
        frames.append(pd.DataFrame({"dyad": panel["dyad"].to_numpy(), "as_of": panel["period"].to_numpy(),
                                    "horizon": h, "outcome": np.asarray(y, dtype=float)}))
    return pd.concat(frames, ignore_index=True)


def baseline_forecasts(outcomes: pd.DataFrame, dyads: pd.Series, as_of: pd.Timestamp, horizon: int,
                       freq: str) -> pd.DataFrame:
    """Base-rate and persistence forecasts issued at ``as_of`` from windows fully ended by then.

    ``outcomes`` comes from :func:`outcomes_from_panel`. A window labelled ``t`` covers
    ``[t+1, t+h]``, so it has ended by ``as_of`` when ``t + h <= as_of``.
    """
    as_of = pd.Timestamp(as_of)
    last_known = periods.shift(as_of, -int(horizon), freq)
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


class LedgerIntegrityWarning(UserWarning):
    """A ledger file's bytes differ from the checksum its manifest recorded (edited or damaged)."""


@dataclass(frozen=True)
class _Manifest:
    seq: int
    forecasts: tuple[str, ...]
    resolutions: tuple[str, ...]
    checksums: tuple[tuple[str, str], ...] = ()
    name: str = ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
                return _Manifest(int(data["seq"]), tuple(data["forecasts"]), tuple(data["resolutions"]),
                                 tuple(sorted(dict(data.get("checksums") or {}).items())), name)
            except (ValueError, KeyError, OSError, TypeError):  # a torn manifest from a crash: use the previous one
                continue
        return _Manifest(0, (), ())

    def _commit(self, kind: str, table: pa.Table) -> str:
        """Write ``table`` under a unique name, then a new manifest naming it (written last), then ``head.json``."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{kind}/{stamp}-{uuid.uuid4().hex[:12]}.parquet"
        (self.path / kind).mkdir(parents=True, exist_ok=True)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        data = sink.getvalue()
        (self.path / name).write_bytes(data)
        current = self._manifest()
        files = {"forecasts": list(current.forecasts), "resolutions": list(current.resolutions)}
        files[kind].append(name)
        checksums = dict(current.checksums)
        for known in (*files["forecasts"], *files["resolutions"]):
            if known not in checksums and known != name and (self.path / known).is_file():
                checksums[known] = _sha256((self.path / known).read_bytes())  # files from before checksums
        checksums[name] = _sha256(data)
        seq = current.seq + 1
        (self.path / "manifests").mkdir(parents=True, exist_ok=True)
        previous = _sha256((self.path / "manifests" / current.name).read_bytes()) if current.name else None
        payload = {"seq": seq, "written_at": datetime.now(UTC).isoformat(), **files, "checksums": checksums,
                   "previous": previous}
        manifest_name = f"{seq:010d}-{uuid.uuid4().hex[:8]}.json"
        text = json.dumps(payload, indent=1).encode("utf-8")
        (self.path / "manifests" / manifest_name).write_bytes(text)
        head = {"seq": seq, "manifest": manifest_name, "sha256": _sha256(text)}
        tmp = self.path / f".head.json.tmp-{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(head), encoding="utf-8")
        os.replace(tmp, self.path / "head.json")
        return name

    def verify(self) -> list[str]:
        """Tamper evidence: one line per problem found (empty when the ledger checks out); changes nothing.

        Checks that every data file still has the sha256 its manifest recorded, that the
        manifests run 1..n without a gap and each names the sha256 of the one before, and
        that the newest manifest is the one ``head.json`` names (a newer one is a commit
        killed before it wrote ``head.json``; an older one means the newest was deleted).
        """
        folder = self.path / "manifests"
        problems: list[str] = []
        manifests: dict[int, tuple[str, bytes, dict]] = {}
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            raw = path.read_bytes()
            try:
                data = json.loads(raw)
                seq = int(data["seq"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn manifest: reported by doctor's own check
            if seq in manifests:
                problems.append(f"two manifests claim sequence number {seq}: {manifests[seq][0]} and {path.name}")
            manifests[seq] = (path.name, raw, data)
        head_path = self.path / "head.json"
        head = None
        if head_path.is_file():
            try:
                head = json.loads(head_path.read_text(encoding="utf-8"))
                int(head["seq"])
            except (ValueError, KeyError, TypeError):
                problems.append("head.json does not parse")
                head = None
        if not manifests:
            if head is not None:
                problems.append(f"head.json names manifest {head.get('manifest')} (sequence {head['seq']}) but the "
                                "manifests folder holds none: the ledger's manifests were deleted")
            return problems
        newest = max(manifests)
        missing = sorted(set(range(1, newest + 1)) - set(manifests))
        if missing:
            problems.append(f"manifest sequence number(s) {missing[:10]} are missing (deleted manifests)")
        chained = any("checksums" in m[2] for m in manifests.values())
        if head is None and chained:
            problems.append("head.json is missing, though the manifests were written with checksums")
        if head is not None:
            hseq = int(head["seq"])
            if hseq > newest:
                problems.append(f"the newest manifest {head.get('manifest')} (sequence {hseq}, named by head.json) is "
                                f"missing; readers now see sequence {newest}, so a commit is invisible")
            elif hseq in manifests and (manifests[hseq][0] != head.get("manifest")
                                        or _sha256(manifests[hseq][1]) != head.get("sha256")):
                problems.append(f"manifest {manifests[hseq][0]} (sequence {hseq}) differs from the one head.json "
                                "recorded (edited or replaced)")
        for seq, (name, _, data) in sorted(manifests.items()):
            prev = data.get("previous")
            if prev and seq - 1 in manifests and _sha256(manifests[seq - 1][1]) != prev:
                problems.append(f"manifest {manifests[seq - 1][0]} (sequence {seq - 1}) differs from the one its "
                                f"successor {name} recorded (edited or replaced)")
        checksums = manifests[newest][2].get("checksums") or {}
        for rel, digest in sorted(checksums.items()):
            path = self.path / rel
            if not path.is_file():
                problems.append(f"{rel} is missing")
            elif _sha256(path.read_bytes()) != digest:
                problems.append(f"{rel} was changed after it was written (sha256 differs from the manifest's)")
        return problems

    def _lock(self) -> FileLock:
        self.path.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path / ".lock"), timeout=60)

    @property
    def files(self) -> dict[str, list[str]]:
        """Committed data files (relative to the ledger folder), in commit order."""
        m = self._manifest()
        return {"forecasts": list(m.forecasts), "resolutions": list(m.resolutions)}

    # -- reading --------------------------------------------------------------------------
    def _read(self, names: Iterable[str], schema: pa.Schema, checksums: dict[str, str]) -> pd.DataFrame:
        tables = []
        changed = []
        for n in names:
            data = (self.path / n).read_bytes()
            if n in checksums and _sha256(data) != checksums[n]:
                changed.append(n)
            table = pq.read_table(io.BytesIO(data))
            if not table.schema.equals(schema):  # written by something else (a hand edit): conform or say so
                try:
                    table = table.select(schema.names).cast(schema)
                except (KeyError, ValueError, pa.ArrowInvalid):
                    raise UsageError(problem(f"The ledger file {self.path / n} does not have the ledger's columns.",
                                             f"columns {schema.names}", table.schema.names,
                                             "Restore the ledger folder from backup; run `tension doctor`.")) from None
            tables.append(table)
        if changed:
            warnings.warn(f"{len(changed)} ledger file(s) in {self.path} changed after they were written, e.g. "
                          f"{changed[0]}: the track record may not be what was issued. Run `tension doctor` and "
                          "restore the ledger from backup.", LedgerIntegrityWarning, stacklevel=3)
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        return table.to_pandas()

    def forecasts(self) -> pd.DataFrame:
        """Every issued forecast (hindcasts included, flagged), in issue order."""
        m = self._manifest()
        return self._read(m.forecasts, _FORECAST_SCHEMA, dict(m.checksums))

    def resolutions(self) -> pd.DataFrame:
        """Every resolution record (one per resolved forecast)."""
        m = self._manifest()
        return self._read(m.resolutions, _RESOLUTION_SCHEMA, dict(m.checksums))

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
              target: TargetSpec | str | None = None, k: int | None = None) -> int:
        """Record ``scores`` (the scores table) as issued forecasts; returns how many were new.

        With ``panel`` (the panel the scores came from), base-rate and persistence forecasts
        are computed from windows that had ended by each ``as_of`` and stored beside them.
        Forecasts already in the ledger (same dyad, as_of, horizon, model version and kind)
        are skipped, so issuing twice is harmless. Issued records are never rewritten.
        ``target`` (a :class:`~tension.targets.TargetSpec` or a name; ``k`` changes its k)
        defines the outcomes the baselines learn from.
        """
        missing = [c for c in ("dyad", "as_of", "horizon", "probability", "model_version") if c not in scores]
        if missing:
            raise UsageError(problem("These scores cannot be issued: columns are missing.",
                                     "the scores table of tension.scoring.score", missing,
                                     "Issue the output of `tension score` unchanged."))
        if scores.empty:
            return 0
        freq = periods.check(scores.attrs.get("freq") or (panel.attrs.get("freq") if panel is not None else None) or "W")
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

    def resolve(self, panel: pd.DataFrame, target: TargetSpec | str | None = None, k: int | None = None) -> int:
        """Append resolutions of ``target`` for forecasts whose window has passed in ``panel``; returns how many.

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
