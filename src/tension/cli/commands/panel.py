"""CLI commands for the panel stage."""
from __future__ import annotations

from .. import app  # noqa: F401

