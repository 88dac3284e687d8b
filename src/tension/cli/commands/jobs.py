"""CLI commands for the jobs stage."""
from __future__ import annotations

from .. import app  # noqa: F401

