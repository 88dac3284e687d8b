"""Reports for analysts: a self-contained HTML page (inline SVG, strict CSP, autoescaped), Markdown, CSV, JSON.

>>> from tension.reports import render_report, FORMATS
>>> FORMATS
('html', 'md', 'csv', 'json')
"""
from __future__ import annotations

from .formatting import md_escape
from .render import CSP, FORMATS, render_report, render_timeline
from .scores import load_scores

__all__ = ["render_report", "render_timeline", "load_scores", "md_escape", "FORMATS", "CSP"]
