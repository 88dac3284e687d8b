"""Alliance moves: agreements signed or broken, military cooperation, bloc moves.

"Allies" of a country are the other members of the blocs it belongs to
(``PanelConfig.ally_blocs``, default NATO, CSTO, EU; membership from
``tension.actors.ORGANISATIONS``, dated: membership in each period, so no ally before it joined).
Bloc moves are events
between a country and an organisation: joins = alliance moves with Goldstein >= 0
(sign, cooperate, express intent to join), exits = reductions of relations or negative
alliance moves (suspend, leave, expel).
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays


def alliances_agreements_12p(a: DyadArrays) -> np.ndarray:
    """Formal agreements signed between the two sides (CAMEO sign-agreement set), either direction; count; last 12 periods."""
    return a.window_sum("both", "sign_agreement", 12)


def alliances_mil_cooperation_12p(a: DyadArrays) -> np.ndarray:
    """Military cooperation between the two sides (taxonomy MIL_COOPERATION set), either direction; count; last 12 periods."""
    return a.window_sum("both", "mil_cooperation", 12)


def alliances_relations_reduced_12p(a: DyadArrays) -> np.ndarray:
    """Relations reduced or broken (CAMEO 16x: sanctions, expulsions, breaking agreements), either direction; count; last 12 periods."""
    return a.window_sum("both", "reduce_relations", 12)


def alliances_moves_12p(a: DyadArrays) -> np.ndarray:
    """All alliance-move events between the two sides, either direction; count; last 12 periods."""
    return a.window_sum("both", "alliance_move", 12)


def alliances_bloc_joins_12p(a: DyadArrays) -> np.ndarray:
    """Moves toward a bloc (joining, cooperating with EU/NATO/CSTO ...) by either side; count; last 12 periods."""
    return a.ctx_window_sum("bloc_joins", 12)


def alliances_bloc_exits_12p(a: DyadArrays) -> np.ndarray:
    """Moves away from a bloc (suspending, leaving, reducing relations with an organisation) by either side; count; last 12 periods."""
    return a.ctx_window_sum("bloc_exits", 12)


def alliances_ally_moves_12p(a: DyadArrays) -> np.ndarray:
    """Alliance moves with anyone by either side's allies (fellow bloc members); count; last 12 periods."""
    return a.ctx_window_sum("ally_alliance_moves", 12)
