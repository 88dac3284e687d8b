"""Alerts: threshold and jump crossings in a scores table, written to a file and POSTed to a webhook."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import AlertsConfig

__all__ = ["find_alerts", "send_alerts"]


def find_alerts(scores: pd.DataFrame, config: AlertsConfig, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """Threshold and jump crossings in a scores table.

    ``threshold``: probability at or above ``config.threshold`` where the previous issued
    score (``probability - change``) was below it or absent. ``jump``: ``change`` at or
    above ``config.jump``. One row per crossing: dyad, horizon, as_of, probability, change,
    kind, message.
    """
    if scores is None or scores.empty:
        return pd.DataFrame(columns=["dyad", "horizon", "as_of", "probability", "change", "kind", "message"])
    s = scores.copy()
    change = s["change"].astype(float) if "change" in s else pd.Series(np.nan, index=s.index)
    before = s["probability"].astype(float) - change
    rows = []
    for i, r in s.iterrows():
        p, c, b = float(r["probability"]), change.loc[i], before.loc[i]
        base = {"dyad": r["dyad"], "horizon": int(r["horizon"]), "as_of": str(pd.Timestamp(r["as_of"]).date()),
                "probability": p, "change": None if pd.isna(c) else float(c)}
        if p >= config.threshold and (pd.isna(b) or b < config.threshold):
            rows.append({**base, "kind": "threshold",
                         "message": f"{r['dyad']}: escalation risk {p:.0%} crossed {config.threshold:.0%} "
                                    f"(horizon {int(r['horizon'])})"})
        if not pd.isna(c) and c >= config.jump:
            rows.append({**base, "kind": "jump",
                         "message": f"{r['dyad']}: escalation risk rose {c:+.0%} to {p:.0%} (horizon {int(r['horizon'])})"})
    return pd.DataFrame(rows, columns=["dyad", "horizon", "as_of", "probability", "change", "kind", "message"])


def _webhook_url(value: str) -> str:
    if value.startswith("env:"):
        return os.environ.get(value[4:], "")
    return value


def send_alerts(alerts: pd.DataFrame, file: str | Path, webhook: str = "", timeout: float = 10.0) -> dict[str, Any]:
    """Append alerts to a JSON-lines file and POST them as one JSON object to ``webhook``.

    Returns ``{"alerts", "file", "posted", "webhook_error"}``; a failing webhook is reported,
    not raised (the alerts are already in the file).
    """
    records = json.loads(alerts.to_json(orient="records")) if len(alerts) else []
    out: dict[str, Any] = {"alerts": len(records), "file": str(file), "posted": False, "webhook_error": None}
    if not records:
        return out
    path = Path(file)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")
    url = _webhook_url(webhook)
    if url:
        body = json.dumps({"source": "tension", "alerts": records}).encode()
        req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured URL
                out["posted"] = 200 <= resp.status < 300
        except (urllib.error.URLError, OSError) as exc:
            out["webhook_error"] = str(getattr(exc, "reason", exc))
    return out
