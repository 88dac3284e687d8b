"""How numbers, changes and links read in a report: percentages, significant digits, arrows, safe hrefs."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from ..scoring import period_words


def pct(p: Any, digits: int | None = None) -> str:
    """A probability in percent with enough digits for rare events: 42%, 5.4%, 0.3%, 0.04%."""
    if p is None or (isinstance(p, float) and not math.isfinite(p)) or pd.isna(p):
        return "\u2013"
    v = float(p) * 100
    if digits is not None:
        return f"{v:.{digits}f}%"
    if v == 0:
        return "0%"
    if v >= 99.5 and v < 100:
        return f"{v:.1f}%"
    if v >= 10:
        return f"{v:.0f}%"
    return f"{positional(v, 2)}%"


def num(x: Any, digits: int = 3) -> str:
    """A score with ``digits`` significant digits (Brier 0.00544, ECE 0.0012), never rounded to 0.000."""
    if x is None:
        return "\u2013"
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(f):
        return "\u2013"
    if f == 0:
        return "0"
    if abs(f) >= 10 ** digits:
        return f"{f:,.0f}"
    return positional(f, digits)


def positional(f: float, digits: int) -> str:
    """``f`` rounded to ``digits`` significant digits, written without an exponent (0.0000123, not 1.23e-05)."""
    return np.format_float_positional(float(f"{f:.{digits}g}"), trim="-")


def signed(x: float | None) -> str:
    """A difference with its sign: +0.012, −0.003, ±0."""
    if x is None:
        return "\u2013"
    return ("+" if x > 0 else "\u2212" if x < 0 else "\u00b1") + num(abs(x))


def finite(x: Any) -> float | None:
    """``x`` as a float, or None when it is missing, not a number or infinite."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def json_list(value: Any) -> list[Any]:
    """A list stored as JSON text (drivers, evidence), or ``[]`` when there is none."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.strip():
        try:
            out = json.loads(value)
        except ValueError:
            return []
        return out if isinstance(out, list) else []
    return []


def periods_text(n: int, freq: str) -> str:
    """``4 weeks``, ``1 month``: a count of panel periods in the panel's own unit."""
    one, many = period_words(freq)
    return f"{int(n)} {one if int(n) == 1 else many}"


def change(c: Any) -> dict[str, str]:
    """The change since the last forecast as an arrow, a text in points and a CSS class."""
    if c is None or pd.isna(c):
        return {"arrow": "\u2022", "text": "new", "cls": "flat"}
    pts = float(c) * 100
    if pts >= 0.5:
        return {"arrow": "\u25b2", "text": f"+{pts:.0f} pts", "cls": "up"}
    if pts <= -0.5:
        return {"arrow": "\u25bc", "text": f"\u2212{abs(pts):.0f} pts", "cls": "down"}
    return {"arrow": "\u25b6", "text": "\u00b10", "cls": "flat"}


def href(ref: str) -> str | None:
    """The reference as a link target when it is an http(s) URL, else None (no other scheme is linked)."""
    r = str(ref or "").strip()
    return r if r.lower().startswith(("https://", "http://")) else None


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]{}()#+!|~>"} | {"<": "&lt;", "&": "&amp;"})


def md_escape(text: Any) -> str:
    """Text safe inside Markdown: no raw HTML, no accidental formatting, no table breaks."""
    return " ".join(str(text).split()).translate(_MD_SPECIAL)
