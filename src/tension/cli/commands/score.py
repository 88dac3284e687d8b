"""CLI commands for the score stage."""
from __future__ import annotations

from .. import app  # noqa: F401

