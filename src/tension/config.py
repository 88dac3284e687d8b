"""Configuration: one TOML file per experiment or job, loaded into frozen dataclasses.

Unknown keys are errors with a "did you mean", wrong types say what was expected.
Every problem in a file is collected and reported at once. Secrets (webhook
tokens, S3 keys) come from environment variables, never from these files.
Stages own their section: add fields to the section dataclass, with a default.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError, did_you_mean

__all__ = [
    "PanelConfig",
    "TargetConfig",
    "BacktestConfig",
    "ModelsConfig",
    "TrackingConfig",
    "RetrainConfig",
    "AlertsConfig",
    "CsvMapping",
    "Experiment",
    "load_experiment",
    "from_mapping",
    "default_store",
    "project_data_dir",
    "SOUTH_CAUCASUS",
]

SOUTH_CAUCASUS: tuple[str, ...] = ("ARM", "AZE", "GEO", "RUS", "TUR", "IRN")


def project_data_dir() -> Path:
    """The project's data directory: ``./data`` of the current working directory."""
    return Path.cwd() / "data"


def default_store() -> str:
    """``$TENSION_STORE`` if set, else ``./data/store``."""
    return os.environ.get("TENSION_STORE") or str(project_data_dir() / "store")


@dataclass(frozen=True)
class PanelConfig:
    """How events become the dyad panel."""

    freq: str = "W"
    """Period length: ``D`` day, ``W`` ISO week (Monday), ``M`` month."""
    dyads: str = "directed"
    """``directed`` (``ARM>AZE``) or ``undirected`` (``ARM|AZE``)."""
    lookback_months: int = 36
    """A dyad is in the panel at t if it had an event in the previous this many months."""
    monitored: tuple[str, ...] = ()
    """Dyads the analyst always wants, e.g. ``["ARM|AZE", "RUS>AZE"]``."""
    low_coverage_ratio: float = 0.25
    """A period whose global volume is below this share of its trailing median is ``low_coverage``."""
    coverage_window_months: int = 6
    """Length of that trailing window (t excluded), in months converted to periods of ``freq``."""
    ally_blocs: tuple[str, ...] = ("NATO", "CSTO", "EU")
    """Organisations whose members count as each other's allies (codes of ``tension.actors.ORGANISATIONS``)."""


@dataclass(frozen=True)
class TargetConfig:
    """The escalation target's fields and defaults, as the ``[target]`` section reads them; the one home of
    both: :class:`tension.targets.TargetSpec` is this, validated (see ``tension.targets``)."""

    name: str = "any_material_conflict"
    horizon: int = 4
    k: int = 1
    q: int = 12
    quantile: float = 0.9
    lookback: int = 52
    """Surge: trailing periods whose h-period sums set the dyad's own quantile."""


@dataclass(frozen=True)
class BacktestConfig:
    """The rolling-origin backtest (see ``tension.backtest.BacktestSpec``)."""

    start: str | None = None
    end: str | None = None
    step: int = 1
    refit_every: int = 4
    min_train_periods: int = 52
    gap: int | None = None
    alert_threshold: float = 0.3
    top_k: int = 10
    train_start: str | None = None
    """First period used for training (None: the panel's first)."""
    leakage_checks: int = 3
    """Origins at which the panel is rebuilt from truncated events to prove no look-ahead."""


@dataclass(frozen=True)
class ModelsConfig:
    """Which models to fit and which one is the candidate for ``champion``."""

    names: tuple[str, ...] = ("base_rate", "persistence", "history", "logit", "hgb")
    candidate: str = "logit"


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking; ``uri`` empty means ``$MLFLOW_TRACKING_URI`` or the project's SQLite file."""

    uri: str = ""
    experiment: str = "tension"
    registered_model: str = "tension"


@dataclass(frozen=True)
class RetrainConfig:
    """The scheduled job (``tension retrain``)."""

    inbox: str = ""
    fetch: tuple[str, ...] = ()
    promote_metric: str = "brier"
    promote_margin: float = 0.0
    recent_origins: int = 8
    min_volume_ratio: float = 0.3
    max_unknown_code_share: float = 0.05
    max_unresolved_share: float = 0.5
    max_share_jump: float = 0.2
    """Block when this run's unknown-code or unresolved-actor share exceeds the history's by more."""
    health_history: int = 12
    """Periods before the latest one whose median is the expected volume per source."""
    as_of: str = ""
    """Reference day (``YYYY-MM-DD``); the latest complete period before it is scored. Empty: today."""
    format: str = "auto"
    """``--format`` of the inbox files."""
    fetch_since: str = ""
    """First day fetched from ``fetch`` feeds; empty: ``health_history`` periods before ``as_of``."""
    fetch_list_url: str = ""
    """Master list URL replacing the feed's own (a mirror)."""
    lock: str = ""
    """Lock file; empty: ``retrain.lock`` beside the store."""
    ledger: str = ""
    """Ledger folder; empty: ``ledger`` beside the store."""
    reports: str = ""
    """Report folder; empty: ``reports`` beside the store."""


@dataclass(frozen=True)
class AlertsConfig:
    """Alert on a probability above ``threshold`` or a rise of ``jump`` since the last issue."""

    threshold: float = 0.5
    jump: float = 0.2
    webhook: str = ""
    """URL to POST alerts to as JSON; ``env:NAME`` reads it from the environment (for secrets)."""
    file: str = ""
    """JSON-lines file alerts are appended to; empty: ``alerts.jsonl`` beside the store."""


@dataclass(frozen=True)
class CsvMapping:
    """Column mapping for generic CSV/JSONL (analysts' own coding): canonical name -> file column."""

    event_id: str = ""
    date: str = "date"
    source_actor: str = "source_actor"
    target_actor: str = "target_actor"
    cameo_code: str = "cameo_code"
    event_name: str = ""
    plover_type: str = ""
    source_country: str = ""
    target_country: str = ""
    weight: str = ""
    source_ref: str = "source_ref"
    text: str = "text"
    dataset: str = "analyst"


@dataclass(frozen=True)
class Experiment:
    """One experiment or job file (``experiments/*.toml``)."""

    name: str = "default"
    store: str = ""
    panel: PanelConfig = field(default_factory=PanelConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    csv: CsvMapping = field(default_factory=CsvMapping)
    regions: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"South Caucasus": SOUTH_CAUCASUS})


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "nothing")


def _coerce(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    """Check ``value`` against the annotation ``tp``; record a problem and return None if wrong."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            sub: list[str] = []
            out = _coerce(value, arg, where, sub)
            if not sub:
                return out
        problems.append(f"{where}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}.")
        return None
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a table [{where}], got {value!r}.")
            return None
        return _build(tp, value, where, problems)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            problems.append(f"{where}: expected a list, got {value!r}.")
            return None
        (item_tp, *_rest) = typing.get_args(tp)
        return tuple(_coerce(v, item_tp, f"{where}[{i}]", problems) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a table, got {value!r}.")
            return None
        _k, v_tp = typing.get_args(tp)
        return {k: _coerce(v, v_tp, f"{where}.{k}", problems) for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if isinstance(value, bool) and tp is not bool:
            problems.append(f"{where}: expected {tp.__name__}, got {value!r}.")
            return None
        if not isinstance(value, tp):
            problems.append(f"{where}: expected {tp.__name__}, got {value!r} ({type(value).__name__}).")
            return None
        return value
    return value


def _build(cls: type, mapping: dict[str, Any], where: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in mapping.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            problems.append(f"{path}: unknown key.{did_you_mean(key, names)} Known keys: {', '.join(names)}.")
            continue
        out = _coerce(value, hints[key], path, problems)
        if out is not None or value is None:
            kwargs[key] = out
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        problems.append(f"{where or cls.__name__}: {exc}")
        return None


def from_mapping(cls: type, mapping: dict[str, Any], source: str = "config") -> Any:
    """Build the frozen dataclass ``cls`` from a mapping, validating every key.

    Raises
    ------
    UsageError
        Listing every problem found, with "did you mean" for misspelt keys.
    """
    problems: list[str] = []
    out = _build(cls, mapping, "", problems)
    if problems:
        lines = "\n  - ".join(problems)
        raise UsageError(
            f"{source} has {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n  - {lines}\n"
            "Fix the file and run again (see experiments/default.toml for every key)."
        )
    return out


def load_experiment(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Experiment:
    """Load an experiment TOML (or the defaults when ``path`` is None), then apply overrides.

    ``overrides`` use dotted section names with ``__``: ``panel__freq="M"``.
    """
    data: dict[str, Any] = {}
    source = "the default configuration"
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise UsageError(
                f"Configuration file not found. Expected a TOML file. Got {str(p)!r}. "
                "Check the path, or omit the option to use the defaults."
            )
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{p} is not valid TOML: {exc}. Fix the syntax and run again.") from None
        source = str(p)
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        if name:
            data.setdefault(section, {})[name] = value
        else:
            data[key] = value
    return from_mapping(Experiment, data, source)
