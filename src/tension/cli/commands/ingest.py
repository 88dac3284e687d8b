"""CLI commands for the ingest stage."""
from __future__ import annotations

from .. import app  # noqa: F401

