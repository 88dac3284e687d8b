"""Small hand-made dyad panels with known structure, for the targets/models/backtest tests."""
from __future__ import annotations

import numpy as np
import pandas as pd

FREQS = {"W": "W-MON", "M": "MS"}


def toy_panel(n_dyads: int = 12, periods: int = 80, freq: str = "W", seed: int = 0, control: bool = False,
              start: str = "2020-01-06") -> pd.DataFrame:
    """A panel following docs/contracts.md columns.

    Each dyad has a latent tension following an AR(1); ``threat_count`` (a past-only
    feature) is a noisy reading of it at t, and material conflict at t+1 is Poisson in
    the latent. With ``control=True`` conflict is independent noise at a fixed rate.
    """
    rng = np.random.default_rng(seed)
    grid = pd.date_range(start, periods=periods, freq=FREQS[freq])
    codes = [f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n_dyads + 1)]
    rows = []
    for d in range(n_dyads):
        src, tgt = codes[d], codes[d + 1]
        latent = np.zeros(periods)
        for t in range(1, periods):
            latent[t] = 0.85 * latent[t - 1] + rng.normal(0, 0.6)
        threat = rng.poisson(np.exp(0.3 + 0.9 * latent))
        if control:
            mc = rng.poisson(0.25, size=periods)
        else:
            lam = np.exp(-2.2 + 1.6 * np.concatenate([[0.0], latent[:-1]]))
            mc = rng.poisson(lam)
        hostile = mc * 6.5 + threat * 4.0
        for t in range(periods):
            rows.append({
                "dyad": f"{src}|{tgt}", "source": src, "target": tgt, "period": grid[t],
                "incident_count": int(mc[t]), "incident_intensity": float(-8.0 * mc[t]),
                "denial_count": int(threat[t]), "denial_intensity": float(-4.0 * threat[t]),
                "material_conflict_count": int(mc[t]), "hostile_intensity": float(hostile[t]),
                "events_dyad": int(mc[t] + threat[t] + 1),
            })
    panel = pd.DataFrame(rows)
    glob = panel.groupby("period")["events_dyad"].transform("sum")
    panel["events_global"] = glob.astype(int)
    panel["events_source"] = panel["events_dyad"] * 3
    panel["events_target"] = panel["events_dyad"] * 2
    panel["low_coverage"] = False
    panel["denial_count_4"] = panel.groupby("dyad")["denial_count"].transform(lambda s: s.rolling(4, min_periods=1).sum())
    panel = panel.sort_values(["dyad", "period"], ignore_index=True)
    panel.attrs.update({"freq": freq, "dyads": "undirected", "features": ["denial_count_4"]})
    return panel
