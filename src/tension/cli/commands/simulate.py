"""CLI commands for the simulate stage."""
from __future__ import annotations

from .. import app  # noqa: F401

