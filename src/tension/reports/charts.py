"""Charts as inline SVG strings: matplotlib figures (no pyplot, Agg-safe) and hand-built sparklines.

Only numbers and dates reach a chart; no free text from events or actors is drawn, so the
SVG carries nothing an attacker wrote. Output is deterministic (fixed hash salt, no date).
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["sparkline", "figure_svg", "series_chart", "reliability_chart"]

_INK = "#1f3b57"
_ACCENT = "#c0392b"
_MUTED = "#9aa5b1"


def sparkline(values: Sequence[float], width: int = 120, height: int = 26, marker: bool = True) -> str:
    """A tiny SVG polyline of ``values`` (NaN drawn as 0), last point marked; empty string if no values."""
    v = np.nan_to_num(np.asarray(list(values), dtype=float), nan=0.0)
    if len(v) == 0:
        return ""
    if len(v) == 1:
        v = np.repeat(v, 2)
    top = float(v.max()) or 1.0
    xs = np.linspace(1, width - 3, len(v))
    ys = height - 2 - (v / top) * (height - 4)
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    dot = f'<circle cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="2" fill="{_ACCENT}"/>' if marker else ""
    return (f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="hostility series">'
            f'<polyline fill="none" stroke="{_INK}" stroke-width="1.2" points="{pts}"/>{dot}</svg>')


def figure_svg(fig, css: str = "chart small") -> str:
    """A matplotlib Figure as an inline ``<svg>`` element (XML prolog and DOCTYPE stripped)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "tension", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="' + css + '"', text, count=1)
    return text


def series_chart(history: pd.DataFrame, as_of: pd.Timestamp, periods: int = 104, width: int = 760,
                 height: int = 170) -> str:
    """Hand-built SVG for one dyad up to ``as_of``: bars of hostile intensity, a line of material-conflict
    counts (own scale, right axis), low-coverage periods shaded. Only numbers and dates are drawn."""
    h = history[history["period"] <= as_of].sort_values("period").tail(periods)
    left, right, top, bottom = 44, 40, 10, 22
    pw, ph = width - left - right, height - top - bottom
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="hostility and material conflict series">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfcfd" stroke="#d8dee4"/>']
    n = len(h)
    if n:
        step = pw / n
        hostile = h["hostile_intensity"].fillna(0).to_numpy(float) if "hostile_intensity" in h else np.zeros(n)
        hmax = float(hostile.max()) or 1.0
        low = h["low_coverage"].fillna(False).astype(bool).to_numpy() if "low_coverage" in h else np.zeros(n, bool)
        for i in np.flatnonzero(low):
            parts.append(f'<rect x="{left + i * step:.1f}" y="{top}" width="{step:.1f}" height="{ph}" fill="#f5d76e" '
                         f'opacity="0.45"/>')
        for i, v in enumerate(hostile):
            bh = v / hmax * ph
            if bh > 0:
                parts.append(f'<rect x="{left + i * step + step * 0.1:.1f}" y="{top + ph - bh:.1f}" '
                             f'width="{max(step * 0.8, 0.8):.1f}" height="{bh:.1f}" fill="{_MUTED}"/>')
        if "material_conflict_count" in h:
            mc = h["material_conflict_count"].fillna(0).to_numpy(float)
            mmax = float(mc.max()) or 1.0
            pts = " ".join(f"{left + (i + 0.5) * step:.1f},{top + ph - v / mmax * ph:.1f}" for i, v in enumerate(mc))
            parts.append(f'<polyline fill="none" stroke="{_ACCENT}" stroke-width="1.4" points="{pts}"/>')
            parts.append(f'<text x="{width - right + 4}" y="{top + 9}" font-size="10" fill="{_ACCENT}">{mmax:g}</text>'
                         f'<text x="{width - right + 4}" y="{top + ph}" font-size="10" fill="{_ACCENT}">0</text>')
        parts.append(f'<text x="{left - 4}" y="{top + 9}" font-size="10" text-anchor="end" fill="#5d6b79">{hmax:.0f}</text>'
                     f'<text x="{left - 4}" y="{top + ph}" font-size="10" text-anchor="end" fill="#5d6b79">0</text>')
        dates = pd.to_datetime(h["period"]).dt.date.astype(str).to_numpy()
        for i, anchor in ((0, "start"), (n // 2, "middle"), (n - 1, "end")):
            parts.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{height - 6}" font-size="10" '
                         f'text-anchor="{anchor}" fill="#5d6b79">{dates[i]}</text>')
    else:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" font-size="12" text-anchor="middle" fill="#5d6b79">'
                     'no series</text>')
    parts.append("</svg>")
    return "".join(parts)


def reliability_chart(table: pd.DataFrame, label: str = "issued forecasts") -> str:
    """Reliability diagram from a table with ``mean_probability``, ``observed``, ``n`` (one line per horizon)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.6, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], linestyle="--", color=_MUTED, linewidth=1, label="perfect calibration")
    groups = table.groupby("horizon") if "horizon" in table else [("", table)]
    for h, g in groups:
        ax.plot(g["mean_probability"], g["observed"], marker="o", linewidth=1.2,
                label=f"{label}, h={h}" if h != "" else label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("forecast probability", fontsize=8)
    ax.set_ylabel("observed frequency", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="upper left", frameon=False)
    fig.subplots_adjust(left=0.16, bottom=0.14, right=0.97, top=0.97)
    return figure_svg(fig)
