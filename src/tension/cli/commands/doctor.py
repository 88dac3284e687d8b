"""CLI commands for the doctor stage."""
from __future__ import annotations

from .. import app  # noqa: F401

