"""Latent tension, escalation episodes and the expected event rates they drive, per dyad and week."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .geography import REL_LEVEL
from .vocabulary import PRECURSOR_KINDS

_RAMP_SHARE = {"deny": 0.12, "reject": 0.14, "accuse": 0.26, "threaten": 0.14, "incident": 0.22, "rival_move": 0.12}
_EPISODE_SHARE = {"deny": 0.06, "reject": 0.08, "accuse": 0.20, "threaten": 0.10, "incident": 0.40, "rival_move": 0.06}

_PRECURSOR_BASE = 0.05  # background precursor-type events per unit dyad weight and week
_TENSION_GAIN = 0.7  # precursor background multiplier exp(gain * tension)
_HAZARD = {"ally": 0.0, "neutral": 0.0002, "rival": 0.0045}  # weekly episode hazard at tension 0
_HAZARD_GAIN = 1.6
_NOISE_CONFLICT = 0.00015  # material-conflict events per dyad-week outside episodes
_SURPRISE_SHARE = 0.12  # episodes without any precursor ramp
OUTAGE_FACTOR = 0.03
"""Share of the usual event volume in a source-outage week."""


def latent_tension(rng: np.random.Generator, level: np.ndarray, T: int) -> np.ndarray:
    """Pair x week latent tension: relation level + AR(1) drift + positive jumps (crises)."""
    P = len(level)
    u = np.empty((P, T))
    x = rng.normal(0.0, 0.3, size=P)
    eps = rng.normal(0.0, 0.12, size=(P, T))
    jumps = (rng.random((P, T)) < 0.02) * rng.exponential(0.9, size=(P, T))
    for t in range(T):
        x = 0.93 * x + eps[:, t] + jumps[:, t]
        u[:, t] = x
    return level[:, None] + u


def draw_episodes(rng: np.random.Generator, tension: np.ndarray, rel: np.ndarray, T: int) -> pd.DataFrame:
    """Escalation episodes per pair: start/end week, intensity, lead, initiator side."""
    P = tension.shape[0]
    base = np.vectorize(_HAZARD.get)(rel).astype(float) if P else np.zeros(0)
    level = np.vectorize(REL_LEVEL.get)(rel).astype(float) if P else np.zeros(0)
    busy_until = np.full(P, -1)
    draws = rng.random((P, T))
    rows: list[tuple[int, int, int]] = []
    for t in range(T):
        hazard = base * np.exp(_HAZARD_GAIN * (tension[:, t] - level))
        start = (draws[:, t] < np.minimum(hazard, 0.5)) & (busy_until < t)
        for p in np.flatnonzero(start):
            duration = int(min(1 + rng.geometric(0.3), 12))
            end = min(t + duration - 1, T - 1)
            busy_until[p] = end + int(rng.integers(12, 41))
            rows.append((int(p), t, end))
    ep = pd.DataFrame(rows, columns=["pair", "start", "end"]).astype("int64")
    n = len(ep)
    ep["intensity"] = rng.lognormal(np.log(4.0), 0.5, size=n)
    lead = rng.integers(1, 7, size=n)
    ep["lead"] = np.where(rng.random(n) < _SURPRISE_SHARE, 0, lead)
    ep["initiator"] = rng.integers(0, 2, size=n)
    ep["ally_pick"] = rng.integers(0, 2**31 - 1, size=n)
    return ep


def precursor_rates(geo: dict[str, Any], tension: np.ndarray, ep: pd.DataFrame, T: int, scale: float) -> dict[str, np.ndarray]:
    """Expected precursor-type events per directed dyad-week, by kind (before texture)."""
    w = geo["weight"]
    D = len(w)
    pair = np.arange(D) // 2
    base = (scale * _PRECURSOR_BASE * w)[:, None] * np.exp(_TENSION_GAIN * tension[pair])
    per_kind = {k: (base * (_RAMP_SHARE[k])).astype(np.float32) for k in PRECURSOR_KINDS}
    ally = np.zeros((D, T), dtype=np.float32)
    ramps, inside, ally_moves = _episode_spans(geo, ep, np.sqrt(scale))
    for (d, t, v), share in ((ramps, _RAMP_SHARE), (inside, _EPISODE_SHARE)):
        if len(d):
            for k in PRECURSOR_KINDS:
                np.add.at(per_kind[k], (d, t), (v * share[k]).astype(np.float32))
    if len(ally_moves[0]):
        np.add.at(ally, (ally_moves[0], ally_moves[1]), ally_moves[2].astype(np.float32))
    # allies also sign agreements and cooperate militarily in ordinary times
    ally_pairs = np.flatnonzero(geo["pair_rel"] == "ally")
    ally_dyads = np.concatenate([2 * ally_pairs, 2 * ally_pairs + 1])
    ally[ally_dyads] += (scale * 0.02 * w[ally_dyads])[:, None].astype(np.float32)
    per_kind["ally_move"] = ally
    return per_kind


Spans = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Directed dyads, weeks and intensities of a set of event spans, aligned."""


def _episode_spans(geo: dict[str, Any], ep: pd.DataFrame, vol: float) -> tuple[Spans, Spans, Spans]:
    """Each episode's ramp before it, its weeks inside, and the alliance moves of both sides during the ramp."""
    ramp_d, ramp_t, ramp_v = [], [], []
    in_d, in_t, in_v = [], [], []
    ally_d, ally_t, ally_v = [], [], []
    bloc, dyad_of, pi, pj = geo["bloc"], geo["dyad_of"], geo["pi"], geo["pj"]
    members = {b: np.flatnonzero(bloc == b) for b in np.unique(bloc) if b >= 0}
    for row in ep.itertuples(index=False):
        a, b = (int(pi[row.pair]), int(pj[row.pair]))
        d_ab, d_ba = 2 * row.pair, 2 * row.pair + 1
        first, second = (d_ab, d_ba) if row.initiator == 0 else (d_ba, d_ab)
        strength = {first: 1.0, second: 0.7}
        if row.lead > 0:
            weeks = np.arange(row.start - row.lead, row.start)
            ramp = row.intensity * vol * (np.arange(1, row.lead + 1) / row.lead)
            keep = weeks >= 0
            for d, s in strength.items():
                ramp_d.append(np.full(keep.sum(), d))
                ramp_t.append(weeks[keep])
                ramp_v.append(ramp[keep] * s)
            for d in _ally_dyads(np.random.default_rng(row.ally_pick), a, b, bloc, members, dyad_of):
                ally_d.append(np.full(keep.sum(), d))
                ally_t.append(weeks[keep])
                ally_v.append(ramp[keep] * 0.25)
        weeks = np.arange(row.start, row.end + 1)
        for d, s in strength.items():
            in_d.append(np.full(len(weeks), d))
            in_t.append(weeks)
            in_v.append(np.full(len(weeks), row.intensity * vol * s))
    return _joined(ramp_d, ramp_t, ramp_v), _joined(in_d, in_t, in_v), _joined(ally_d, ally_t, ally_v)


def _ally_dyads(pick: np.random.Generator, a: int, b: int, bloc: np.ndarray, members: dict[Any, np.ndarray],
                dyad_of: np.ndarray) -> list[int]:
    """Alliance moves: each side turns to up to two of its allies (both directions of each such dyad)."""
    out = []
    for me in (a, b):
        if bloc[me] < 0:
            continue
        friends = members[int(bloc[me])]
        friends = friends[(friends != a) & (friends != b)]
        for c in pick.permutation(friends)[:2]:
            out += [d for d in (dyad_of[me, c], dyad_of[c, me]) if d >= 0]
    return out


def _joined(d: list[np.ndarray], t: list[np.ndarray], v: list[np.ndarray]) -> Spans:
    if not d:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(d), np.concatenate(t), np.concatenate(v)


def conflict_rates(geo: dict[str, Any], ep: pd.DataFrame, T: int, scale: float) -> np.ndarray:
    """Expected material-conflict events per directed dyad-week: episodes plus rare noise."""
    w = geo["weight"]
    rate = np.repeat((scale * _NOISE_CONFLICT * np.sqrt(w))[:, None], T, axis=1).astype(np.float32)
    if len(ep):
        lengths = (ep["end"] - ep["start"] + 1).to_numpy()
        weeks = np.concatenate([np.arange(s, e + 1) for s, e in zip(ep["start"], ep["end"])])
        pair = np.repeat(ep["pair"].to_numpy(), lengths)
        init = np.repeat(ep["initiator"].to_numpy(), lengths)
        value = np.repeat(ep["intensity"].to_numpy() * 1.5 * np.sqrt(scale), lengths)
        first = 2 * pair + init
        second = 2 * pair + (1 - init)
        np.add.at(rate, (first, weeks), value.astype(np.float32))
        np.add.at(rate, (second, weeks), (value * 0.6).astype(np.float32))
    return rate


def draw_outages(rng: np.random.Generator, T: int, years: float) -> np.ndarray:
    """Weeks of global source outage: about one outage a year, each one or two weeks long."""
    if T < 20:
        return np.zeros(0, dtype=np.int64)
    n = max(1, int(round(years * 0.8)))
    starts = rng.choice(np.arange(8, T - 2), size=min(n, T - 10), replace=False)
    weeks = np.unique(np.concatenate([np.arange(s, s + int(rng.integers(1, 3))) for s in starts]))
    return weeks[weeks < T]
