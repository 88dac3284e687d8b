"""Code-set channels: which event codes each feature channel reads, as bits of one mask.

The aggregation groups events on a small class id (:func:`class_lookup`) that carries
the event's family and the bits of every channel its code belongs to; the dense arrays
then add up the rows whose mask has a channel's bit (:func:`channel_bits`).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .. import taxonomy
from ..schema import FAMILIES

__all__ = ["CHANNEL_SETS", "CHANNELS", "BIT", "Channel", "channel_codes", "channel_bits", "class_lookup"]

CHANNEL_SETS: dict[str, str] = {
    "deny": "DENY",
    "reject": "REJECT",
    "accuse": "ACCUSE",
    "criticize": "CRITICIZE",
    "threaten": "THREATEN",
    "force_posture": "FORCE_POSTURE",
    "reduce_relations": "REDUCE_RELATIONS",
    "coerce": "COERCE",
    "assault": "ASSAULT",
    "fight": "FIGHT",
    "mass_violence": "MASS_VIOLENCE",
    "sign_agreement": "SIGN_AGREEMENT",
    "mil_cooperation": "MIL_COOPERATION",
}
"""Code-set channels and the name of their CAMEO code set in :mod:`tension.taxonomy`."""
_QUAD_BITS = {"verbal_conflict": 3, "material_conflict": 4}
CHANNELS: tuple[str, ...] = tuple(CHANNEL_SETS) + tuple(_QUAD_BITS)
"""Mask channels (code sets and quad classes) that :class:`tension.dyads.DyadArrays` exposes."""
BIT: dict[str, int] = {name: 1 << i for i, name in enumerate(CHANNELS)}
"""Mask bit of each channel."""

Channel = str | tuple[str, ...]
"""A channel name, or a tuple of code-set channels (events in any of them)."""


def _universe() -> list[str]:
    """Every numeric CAMEO-shaped code (2-4 digits, roots 01-20) plus the taxonomy's own codes."""
    codes = [f"{r:02d}" for r in range(1, 21)]
    codes += [f"{r:02d}{d}" for r in range(1, 21) for d in range(10)]
    codes += [f"{r:02d}{d}{e}" for r in range(1, 21) for d in range(10) for e in range(10)]
    codes += [str(c) for c in taxonomy.cameo_table()["code"]]
    return sorted(set(codes))


def channel_codes() -> dict[str, frozenset[str]]:
    """CAMEO codes of each code-set channel (its :data:`CHANNEL_SETS` set in ``tension.taxonomy``)."""
    return {channel: frozenset(str(c) for c in getattr(taxonomy, name)) for channel, name in CHANNEL_SETS.items()}


def channel_bits(channel: Channel) -> int:
    """Mask bits of a code-set channel or tuple of them (0 for other channels)."""
    names = channel if isinstance(channel, tuple) else (channel,)
    bits = 0
    for name in names:
        if name not in BIT:
            if isinstance(channel, tuple):
                raise KeyError(f"Unknown channel {name!r} in {channel!r}; tuples combine code-set channels: {CHANNELS}")
            return 0
        bits |= BIT[name]
    return bits


def _quad_bits(quad: int) -> int:
    return (BIT["verbal_conflict"] if quad == 3 else 0) | (BIT["material_conflict"] if quad == 4 else 0)


@functools.lru_cache(maxsize=1)
def class_lookup() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(cameo_code, family, quad_class) -> small class id, with each class's family index and mask.

    Grouping events on one small integer instead of the code, family and quad strings keeps
    the DuckDB ``GROUP BY`` close to a bare one. Class 0 is "unknown" (a code outside the
    universe: family ``other``, no code-set bits); such events still count in every volume.
    """
    masks: dict[str, int] = {}
    for channel, members in channel_codes().items():
        for code in members:
            masks[code] = masks.get(code, 0) | BIT[channel]
    classes: dict[tuple[int, int], int] = {(FAMILIES.index("other"), 0): 0}
    codes, fams, quads, ids = [], [], [], []
    for code in _universe():
        base = masks.get(code, 0)
        for fi, fam in enumerate(FAMILIES):
            for quad in (1, 2, 3, 4):
                cls = classes.setdefault((fi, base | _quad_bits(quad)), len(classes))
                codes.append(code)
                fams.append(fam)
                quads.append(quad)
                ids.append(cls)
    table = pd.DataFrame(
        {
            "cameo_code": np.array(codes, dtype=object),
            "family": np.array(fams, dtype=object),
            "quad_class": np.array(quads, dtype=np.int8),
            "cls": np.array(ids, dtype=np.int32),
        }
    )
    fam_of = np.zeros(len(classes), dtype=np.int8)
    mask_of = np.zeros(len(classes), dtype=np.int64)
    for (fi, m), cls in classes.items():
        fam_of[cls], mask_of[cls] = fi, m
    return table, fam_of, mask_of
