"""Denials and accusations, in each direction.

``by_source``: acts of the dyad's source against its target (A -> B for ``A>B``, and for
an undirected ``A|B`` the alphabetically first country); ``by_target``: the reverse.
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays


def denials_deny_by_source_4p(a: DyadArrays) -> np.ndarray:
    """Denials (CAMEO deny set, e.g. 016 deny responsibility) by source toward target; count; last 4 periods."""
    return a.window_sum("fwd", "deny", 4)


def denials_deny_by_target_4p(a: DyadArrays) -> np.ndarray:
    """Denials by target toward source; count; last 4 periods."""
    return a.window_sum("rev", "deny", 4)


def denials_reject_by_source_4p(a: DyadArrays) -> np.ndarray:
    """Rejections (CAMEO 12x) by source toward target; count; last 4 periods."""
    return a.window_sum("fwd", "reject", 4)


def denials_reject_by_target_4p(a: DyadArrays) -> np.ndarray:
    """Rejections (CAMEO 12x) by target toward source; count; last 4 periods."""
    return a.window_sum("rev", "reject", 4)


def denials_accuse_by_source_4p(a: DyadArrays) -> np.ndarray:
    """Accusations (disapproval, taxonomy ACCUSE set, CAMEO 11x) by source toward target; count; last 4 periods."""
    return a.window_sum("fwd", "accuse", 4)


def denials_accuse_by_target_4p(a: DyadArrays) -> np.ndarray:
    """Accusations by target toward source; count; last 4 periods."""
    return a.window_sum("rev", "accuse", 4)


def denials_criticize_by_source_4p(a: DyadArrays) -> np.ndarray:
    """Criticism or denunciation (CAMEO 111, also inside ACCUSE) by source toward target; count; last 4 periods."""
    return a.window_sum("fwd", "criticize", 4)


def denials_criticize_by_target_4p(a: DyadArrays) -> np.ndarray:
    """Criticism or denunciation (CAMEO 111) by target toward source; count; last 4 periods."""
    return a.window_sum("rev", "criticize", 4)


def denials_threaten_by_source_4p(a: DyadArrays) -> np.ndarray:
    """Threats (CAMEO 13x) by source toward target; count; last 4 periods."""
    return a.window_sum("fwd", "threaten", 4)


def denials_threaten_by_target_4p(a: DyadArrays) -> np.ndarray:
    """Threats (CAMEO 13x) by target toward source; count; last 4 periods."""
    return a.window_sum("rev", "threaten", 4)


def denials_verbal_conflict_12p(a: DyadArrays) -> np.ndarray:
    """All verbal-conflict events (quad class 3, roots 10-14) in either direction; count; last 12 periods."""
    return a.window_sum("both", "verbal_conflict", 12)
