"""Incidents: counts and intensity of material conflict, force posture and coercion.

All series are the dyad's own events (directed: source -> target; undirected: both ways).
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays

VIOLENCE = ("assault", "fight", "mass_violence")


def incidents_material_conflict_4p(a: DyadArrays) -> np.ndarray:
    """Material-conflict events (CAMEO roots 15-20) of the dyad; count; last 4 periods."""
    return a.window_sum("own", "material_conflict", 4)


def incidents_material_conflict_12p(a: DyadArrays) -> np.ndarray:
    """Material-conflict events (CAMEO roots 15-20) of the dyad; count; last 12 periods."""
    return a.window_sum("own", "material_conflict", 12)


def incidents_hostile_intensity_4p(a: DyadArrays) -> np.ndarray:
    """Hostile intensity of the dyad (sum of -Goldstein over negative events); Goldstein points; last 4 periods."""
    return a.window_sum("own", "hostile", 4)


def incidents_force_posture_4p(a: DyadArrays) -> np.ndarray:
    """Force-posture events (CAMEO 15x: mobilise, exercise, blockade); count; last 4 periods."""
    return a.window_sum("own", "force_posture", 4)


def incidents_coercion_4p(a: DyadArrays) -> np.ndarray:
    """Coercion events (CAMEO 17x: seize, arrest, restrict); count; last 4 periods."""
    return a.window_sum("own", "coerce", 4)


def incidents_violence_4p(a: DyadArrays) -> np.ndarray:
    """Violent incidents (assaults, fighting) of the dyad (CAMEO 18x assault, 19x fight, 20x mass violence); count; last 4 periods."""
    return a.window_sum("own", VIOLENCE, 4)


def incidents_violence_12p(a: DyadArrays) -> np.ndarray:
    """Violent incidents (assaults, fighting) of the dyad (CAMEO 18x, 19x, 20x); count; last 12 periods."""
    return a.window_sum("own", VIOLENCE, 12)
