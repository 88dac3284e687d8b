"""CLI commands for the demo stage."""
from __future__ import annotations

from .. import app  # noqa: F401

