"""tension: escalation-risk forecasts for country relationships, tracked and scored.

The public API for notebooks is kept small (``__all__``); everything else is an
implementation detail. Nothing runs at import time.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__: list[str] = []
