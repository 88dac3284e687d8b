"""``tension doctor``: check the installation, the tracking store, the event store and the ledger.

Each check returns a :class:`Check` with a status (``ok``, ``warn``, ``fail``), what was
found, and for every problem what to do about it. Checks never change anything.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["Check", "Targets", "targets", "check_versions", "check_store", "check_ledger", "check_tracking", "run_checks"]

_PINNED = ("mlflow", "pandas", "numpy", "pyarrow", "duckdb", "scikit-learn", "statsmodels", "dask", "distributed")


@dataclass(frozen=True)
class Check:
    """One finding of ``tension doctor``."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Targets:
    """Where ``tension doctor`` looks, and where each location came from."""

    store: str
    ledger: Path
    tracking_uri: str
    source: str
    """``--config FILE``, or the defaults (``$TENSION_STORE``, ``$MLFLOW_TRACKING_URI``, ./data)."""

    def as_dict(self) -> dict[str, str]:
        return {"store": self.store, "ledger": str(self.ledger), "tracking_uri": self.tracking_uri, "source": self.source}


def targets(config: Path | None = None, store: str | None = None, ledger: Path | None = None) -> Targets:
    """The store, ledger and tracking URI a job with ``config`` uses (options win over the file).

    As ``tension retrain`` resolves them: the config's ``store`` (else ``$TENSION_STORE``, else
    ./data/store), ``[retrain] ledger`` (else ``ledger`` beside the store), ``[tracking] uri``
    (else ``$MLFLOW_TRACKING_URI``, else ./data/mlflow.db).
    """
    from . import tracking
    from .config import default_store, load_experiment, project_data_dir

    if config is None:
        return Targets(store or default_store(), ledger or project_data_dir() / "ledger", tracking.tracking_uri(),
                       "the defaults ($TENSION_STORE, $MLFLOW_TRACKING_URI, ./data)")
    exp = load_experiment(config)
    location = store or exp.store or default_store()
    if ledger is None:
        if exp.retrain.ledger:
            ledger = Path(exp.retrain.ledger)
        elif "://" in location:
            ledger = project_data_dir() / "ledger"
        else:
            ledger = Path(location).resolve().parent / "ledger"
    return Targets(location, ledger, tracking.tracking_uri(exp.tracking), f"--config {config}")


def _demo_hint() -> str:
    """Where `tension demo` put its store and ledger, if it ran in this project."""
    from .config import project_data_dir

    demo = project_data_dir() / "demo"
    if (demo / "demo.toml").is_file():
        return (f" `tension demo` wrote its store and ledger under {demo}: check those with "
                f"`tension doctor --config {demo / 'demo.toml'}`.")
    return ""


def _pins(constraints: Path) -> dict[str, str]:
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        name, sep, ver = line.strip().partition("==")
        if sep:
            pins[name.lower().replace("_", "-")] = ver.strip()
    return pins


def check_versions(constraints: Path | None = None) -> list[Check]:
    """Installed versions against ``constraints.txt`` (MLflow must match: it migrates its database)."""
    installed = {}
    for name in _PINNED:
        try:
            installed[name] = version(name)
        except PackageNotFoundError:
            installed[name] = None
    detail = f"python {sys.version.split()[0]}, tension {version('tension')}, " + ", ".join(
        f"{k} {v}" for k, v in installed.items() if v
    )
    checks = [Check("versions", "ok", detail)]
    if constraints is None or not constraints.is_file():
        return checks
    pins = _pins(constraints)
    for name, have in installed.items():
        want = pins.get(name)
        if want and have != want:
            status = "fail" if name == "mlflow" else "warn"
            checks.append(
                Check(
                    f"pin:{name}",
                    status,
                    f"{name} {have} is installed but {constraints.name} pins {want}.",
                    f"Run: .venv/bin/pip install -c {constraints} -e . (scheduled jobs and notebooks must share versions).",
                )
            )
    return checks


def check_store(location: str) -> list[Check]:
    """Manifest vs files, schema version, the counting identity, duplicate event ids."""
    import duckdb

    from .errors import UsageError
    from .store import Store

    store = Store(location)
    found = store.identify()
    if found["kind"] in ("missing", "empty"):
        return [Check("store", "warn", f"No event store at {location} yet ({found['detail']}).",
                      "Run `tension ingest FILE --store ...`, or point --store / --config at your store." + _demo_hint())]
    if found["kind"] != "store":
        return [Check("store", "fail", f"{location} is not a tension event store: {found['detail']}.",
                      "Point --store (or $TENSION_STORE, or the config's store) at the folder holding _manifests/.")]
    try:
        manifest = store.manifest
    except UsageError as exc:
        return [Check("store", "fail", str(exc), "Re-ingest into a new store with this version.")]
    torn = _torn_newest(store)
    if torn:
        return [Check("store:manifest", "fail", torn,
                      "Move the torn manifest file away after checking its batch; rerun the ingest that wrote it "
                      "(ingest is idempotent), then run `tension doctor` again.")]
    if manifest["version"] == 0:
        return [Check("store", "warn", f"No events stored at {location} yet.",
                      "Run `tension ingest FILE --store ...`." + _demo_hint())]
    checks = []
    files = store.files()
    missing = [f for f in files if not store.fs.exists(f.split("://", 1)[-1] if not store.is_local else f)]
    if missing:
        checks.append(
            Check("store:files", "fail", f"{len(missing)} file(s) named by the manifest are missing, e.g. {missing[0]}.",
                  "Restore them from backup, or retract the batches that wrote them (`tension store retract`).")
        )
    summary = store.summary()
    checks.append(
        Check(
            "store:identity",
            "ok" if summary["identity_holds"] else "fail",
            f"{summary['events']:,} events in {summary['files']} files, {summary['batches']} batches, "
            f"read {summary['read']:,} = stored {summary['stored']:,} + duplicates {summary['duplicates']:,} "
            f"+ quarantined {summary['quarantined']:,}; last event {summary['last_date']}.",
            "" if summary["identity_holds"] else "Counts disagree with the files: run `tension store compact`, then re-ingest.",
        )
    )
    if files and store.is_local and not missing:
        con = duckdb.connect()
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM read_parquet(?)", [files]
        ).fetchone()
        con.close()
        checks.append(
            Check(
                "store:duplicates",
                "ok" if total == distinct else "fail",
                f"{total - distinct} duplicate event ids among {total:,} events.",
                "" if total == distinct else "Run `tension store compact` (it rewrites files without duplicates).",
            )
        )
    return checks


def _torn_newest(store: Any) -> str:
    """A message when the newest store manifest does not parse (readers silently use an older one)."""
    import json

    paths = store.manifest_paths()
    if not paths:
        return ""
    version, newest = paths[-1]
    try:
        with store.fs.open(newest, "rb") as fh:
            data = json.loads(fh.read().decode("utf-8"))
        if isinstance(data, dict) and data.get("complete") is True:
            return ""
    except (OSError, ValueError):
        pass
    return (f"The newest store manifest ({newest}, version {version}) is torn or incomplete: readers fall back to "
            "the previous one, so the batch it committed is invisible.")


def check_ledger(path: Path) -> list[Check]:
    """Every ledger file named by its manifest exists and reads; resolutions point at forecasts."""
    from .ledger import Ledger

    import json

    manifests = sorted((path / "manifests").glob("*.json")) if (path / "manifests").is_dir() else []
    if manifests:
        try:
            json.loads(manifests[-1].read_text(encoding="utf-8"))["forecasts"]
        except (OSError, ValueError, KeyError, TypeError):
            return [Check("ledger", "fail",
                          f"The newest ledger manifest {manifests[-1].name} is torn: readers fall back to the previous one, "
                          "so the forecasts or resolutions it committed are invisible.",
                          "Restore the ledger folder from backup, or move that manifest away and rerun "
                          "`tension ledger resolve` (resolutions are idempotent).")]
    ledger = Ledger(path)
    names = ledger.files
    tampered = ledger.verify()
    if not names["forecasts"] and not tampered:
        return [Check("ledger", "warn", f"No forecasts issued to {path} yet.",
                      "Run `tension score --issue`, or point --ledger / --config at your ledger." + _demo_hint())]
    missing = [n for group in names.values() for n in group if not (path / n).is_file()]
    if missing:
        return [Check("ledger", "fail", f"{len(missing)} ledger file(s) missing, e.g. {missing[0]}.",
                      "Restore the ledger folder from backup; issued forecasts must never be lost.")]
    if tampered:
        return [Check("ledger:integrity", "fail",
                      f"{len(tampered)} integrity problem(s) in {path}: " + "; ".join(tampered[:5]) + ".",
                      "The ledger was edited or files were deleted by hand: restore the ledger folder from backup "
                      "(issued forecasts are never rewritten by tension).")]
    import warnings

    from .ledger import LedgerIntegrityWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LedgerIntegrityWarning)  # verify() reported it already
        forecasts = ledger.forecasts()
        resolutions = ledger.resolutions()
    orphans = set(resolutions["forecast_id"]) - set(forecasts["forecast_id"]) if len(resolutions) else set()
    dup = int(forecasts["forecast_id"].duplicated().sum())
    status = "ok" if not orphans and not dup else "fail"
    return [
        Check(
            "ledger",
            status,
            f"{len(forecasts):,} forecasts, {len(resolutions):,} resolutions, {len(orphans)} orphan resolutions, "
            f"{dup} duplicated forecast ids.",
            "" if status == "ok" else "The ledger was edited by hand; restore it from backup.",
        )
    ]


def check_tracking(uri: str | None = None) -> list[Check]:
    """The tracking URI answers and its schema is current."""
    from . import tracking
    from .errors import TrackingUnavailableError

    uri = uri or tracking.tracking_uri()
    try:
        status = tracking.store_status(uri)
    except TrackingUnavailableError as exc:
        return [Check("tracking", "fail", str(exc), "Start the server or fix MLFLOW_TRACKING_URI.")]
    ok = status["reachable"] and status["schema_current"]
    return [
        Check(
            "tracking",
            "ok" if ok else "warn",
            f"{uri}: " + status["detail"],
            "" if ok else status.get("fix", ""),
        )
    ]


def run_checks(store: str, ledger: Path, constraints: Path | None, tracking_uri: str | None = None) -> list[Check]:
    """All checks, in the order a person would fix them (see :func:`targets` for the locations of a job)."""
    return [*check_versions(constraints), *check_tracking(tracking_uri), *check_store(store), *check_ledger(ledger)]
