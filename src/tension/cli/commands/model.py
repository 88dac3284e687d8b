"""CLI commands for the model stage."""
from __future__ import annotations

from .. import app  # noqa: F401

