"""The scores table as a file: reading what ``tension score`` wrote, writing it as JSON or spreadsheet-safe CSV."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import periods
from ..errors import UsageError, problem
from .formatting import json_list


def load_scores(path: str | Path) -> pd.DataFrame:
    """Read a scores table written by ``tension score`` (Parquet, CSV or JSON)."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(problem("The scores file does not exist.", "a file written by `tension score --out`",
                                 str(p), "Run `tension score --out FILE` first, or pass --scores."))
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
    elif p.suffix == ".csv":
        df = pd.read_csv(p, keep_default_na=True)
    elif p.suffix == ".json":
        data = json.loads(p.read_text(encoding="utf-8"))
        df = pd.DataFrame(data["scores"] if isinstance(data, dict) else data)
        for col in ("drivers", "evidence"):
            if col in df:
                df[col] = df[col].map(lambda v: v if isinstance(v, str) else json.dumps(v))
    else:
        raise UsageError(problem("Unknown scores file type.", ".parquet, .csv or .json", p.suffix,
                                 "Pass a file written by `tension score --out`."))
    for col in ("as_of", "data_cutoff", "window_start", "window_end"):
        if col in df:
            df[col] = pd.to_datetime(df[col])
    return df


def scores_freq(scores: pd.DataFrame, panel: pd.DataFrame | None) -> str:
    """``D``, ``W`` or ``M``: recorded on the scores or the panel, else the one-period step from as_of to
    window_start, else the panel's periods (:mod:`tension.periods`); ``W`` when nothing tells."""
    for frame in (scores, panel):
        if frame is not None and frame.attrs.get("freq"):
            return periods.check(frame.attrs["freq"])
    if "window_start" in scores and len(scores):
        as_of, start = pd.to_datetime(scores["as_of"]), pd.to_datetime(scores["window_start"])
        hits = {f: int((periods.shift(as_of, 1, f) == start).sum()) for f in periods.FREQS}
        best = max(hits, key=lambda f: hits[f])
        if hits[best]:
            return best
    if panel is not None and panel["period"].nunique() > 1:
        return periods.of_panel(panel)
    return "W"


def scores_json(scores: pd.DataFrame) -> str:
    """The scores as one JSON object: as_of, model versions, and every row with drivers and evidence as lists."""
    records = []
    for r in scores.to_dict("records"):
        row = {}
        for k, v in r.items():
            if k in ("drivers", "evidence"):
                row[k] = json_list(v)
            elif isinstance(v, pd.Timestamp):
                row[k] = v.date().isoformat() if v == v.normalize() else v.isoformat()
            elif v is None or (isinstance(v, float) and not math.isfinite(v)) or v is pd.NA:
                row[k] = None
            elif isinstance(v, np.generic):
                row[k] = v.item()
            else:
                row[k] = v
        records.append(row)
    as_of = pd.to_datetime(scores["as_of"]).max()
    payload = {"as_of": as_of.date().isoformat(), "model_version": sorted(set(map(str, scores["model_version"]))),
               "scores": records}
    return json.dumps(payload, ensure_ascii=False, indent=1)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with ``'`` (OWASP CSV injection)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            values = out[col]
            text = values.astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[col] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out
