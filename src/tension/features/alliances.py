"""Alliance moves: agreements signed or broken, military cooperation, bloc moves.

"Allies" of a country are the other members of the blocs it belongs to
(``PanelConfig.ally_blocs``, default NATO, CSTO, EU; membership from
``tension.actors.ORGANISATIONS``, today's lists, not dated). Bloc moves are events
between a country and an organisation: joins = alliance moves with Goldstein >= 0
(sign, cooperate, express intent to join), exits = reductions of relations or negative
alliance moves (suspend, leave, expel).
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays
from ._ops import rolling_sum


def alliances_agreements_12p(a: DyadArrays) -> np.ndarray:
    """Formal agreements signed between the two sides (CAMEO sign-agreement set), either direction; count; last 12 periods."""
    return rolling_sum(a.both("sign_agreement"), 12)


def alliances_mil_cooperation_12p(a: DyadArrays) -> np.ndarray:
    """Military cooperation between the two sides (taxonomy MIL_COOPERATION set), either direction; count; last 12 periods."""
    return rolling_sum(a.both("mil_cooperation"), 12)


def alliances_relations_reduced_12p(a: DyadArrays) -> np.ndarray:
    """Relations reduced or broken (CAMEO 16x: sanctions, expulsions, breaking agreements), either direction; count; last 12 periods."""
    return rolling_sum(a.both("reduce_relations"), 12)


def alliances_moves_12p(a: DyadArrays) -> np.ndarray:
    """All alliance-move events between the two sides, either direction; count; last 12 periods."""
    return rolling_sum(a.both("alliance_move"), 12)


def alliances_bloc_joins_12p(a: DyadArrays) -> np.ndarray:
    """Moves toward a bloc (joining, cooperating with EU/NATO/CSTO ...) by either side; count; last 12 periods."""
    return rolling_sum(a.ctx("bloc_joins", "source") + a.ctx("bloc_joins", "target"), 12)


def alliances_bloc_exits_12p(a: DyadArrays) -> np.ndarray:
    """Moves away from a bloc (suspending, leaving, reducing relations with an organisation) by either side; count; last 12 periods."""
    return rolling_sum(a.ctx("bloc_exits", "source") + a.ctx("bloc_exits", "target"), 12)


def alliances_ally_moves_12p(a: DyadArrays) -> np.ndarray:
    """Alliance moves with anyone by either side's allies (fellow bloc members); count; last 12 periods."""
    return rolling_sum(a.ctx("ally_alliance_moves", "source") + a.ctx("ally_alliance_moves", "target"), 12)
