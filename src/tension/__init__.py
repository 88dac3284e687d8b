"""tension: escalation-risk forecasts for country relationships, tracked and scored.

The public API for notebooks is this short ``__all__``; everything else is an
implementation detail. Names are imported lazily, so ``import tension`` is cheap and
nothing runs at import time.

>>> import tension
>>> {"build_panel", "run_backtest", "make_model", "score"} <= set(tension.__all__)
True
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, tuple[str, str]] = {
    "read_events": ("tension.ingest", "read_events"),
    "Store": ("tension.store", "Store"),
    "simulate": ("tension.simulate", "simulate"),
    "build_panel": ("tension.panel", "build_panel"),
    "FEATURES": ("tension.features", "FEATURES"),
    "make_target": ("tension.targets", "make_target"),
    "TargetSpec": ("tension.targets", "TargetSpec"),
    "MODELS": ("tension.models", "MODELS"),
    "make_model": ("tension.models", "make_model"),
    "BaseRate": ("tension.models", "BaseRate"),
    "Persistence": ("tension.models", "Persistence"),
    "DyadHistory": ("tension.models", "DyadHistory"),
    "LogisticGLM": ("tension.models", "LogisticGLM"),
    "CountGLM": ("tension.models", "CountGLM"),
    "TimeCalibrated": ("tension.models", "TimeCalibrated"),
    "WeightedEnsemble": ("tension.models", "WeightedEnsemble"),
    "BacktestSpec": ("tension.backtest", "BacktestSpec"),
    "Backtest": ("tension.backtest", "BacktestSpec"),
    "evaluate": ("tension.backtest", "evaluate"),
    "run_backtest": ("tension.backtest", "run_backtest"),
    "score": ("tension.scoring", "score"),
    "render_report": ("tension.reports", "render_report"),
    "Ledger": ("tension.ledger", "Ledger"),
    "code_text": ("tension.coder", "code_text"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'tension' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
