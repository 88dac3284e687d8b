"""A synthetic world with known escalation episodes, for demos, tests and benchmarks.

The world is fictional: countries carry ISO 3166 user-assigned codes (``XAA``,
``XAB``, ...) and invented names, in invented regions, with blocs (alliances)
and rivalries. Generation works on a dense directed-dyad x week grid and is
vectorised with numpy (one seeded :class:`numpy.random.Generator` per
component), so tens of millions of events take seconds.

Generative story, per undirected pair of countries:

1. A latent tension state drifts (AR(1)) and jumps (crises); rivals sit higher.
2. Escalation episodes start with a hazard that rises with the latent state;
   each episode has a start week, an end week, an intensity and a lead time.
   These episodes are the ground truth (``World.truth``).
3. In the ``lead`` weeks before an episode, with noise (random lead, random
   intensity, some episodes come without warning), the mission's precursors
   ramp up on both directed dyads: incidents (force posture 15x, coercion 17x),
   denials, rejections, accusations and threats (016, 12x, 111/112, 13x), and
   alliance moves: reducing relations or expelling (16x) towards the other side,
   signing agreements and military cooperation (057, 062) with their allies.
   Outside episodes these events occur at a low background rate that grows
   with the latent tension (false alarms exist).
4. During an episode both sides report material conflict (roots 18, 19, 20);
   outside episodes material conflict is rare noise.
5. Background cooperation and statements, heavy-tailed dyad volumes, weekly
   seasonality (fewer events at weekends), news-attention noise per
   dyad-week, a small share of duplicated rows (same ``event_id``) and a few
   source outages (weeks with almost no events, globally).

``control=True`` makes a null world for the same seed: the background
(cooperation and statements, heavy-tailed by dyad) is the normal world's, and
every other event (material conflict, precursors, alliance moves) keeps its
code, weekday and duplicate flag, hence the same count per code, but gets a new
directed dyad drawn uniformly over the world's active dyads (whatever their
volume, relation or latent tension) and a new week drawn uniformly over the
weeks (outage weeks keep their low rate). Conflict is then independent of
everything observable before it (its own history, precursors, dyad volume,
rivalry), so no forecast can beat the base rate beyond noise there. Keeping the
episodes and only scrambling precursors was tried first: episodes persist for
weeks and recur on rival pairs, so conflict history alone still beat the base
rate (Brier skill about 0.15). ``World.truth`` of the control world holds the
normal world's episodes, as what would have happened; the control events do
not show them.

Example
-------
>>> world = simulate(seed=1, countries=8, years=1)
>>> sorted(world.events["dataset"].unique())
['synthetic']
>>> world.truth.columns.tolist()[:3]
['dyad', 'start', 'end']
"""
from __future__ import annotations

from .files import CSV_COLUMNS, world_paths, write_world
from .world import MAX_COUNTRIES, World, simulate

__all__ = ["World", "simulate", "write_world", "world_paths", "CSV_COLUMNS", "MAX_COUNTRIES"]
