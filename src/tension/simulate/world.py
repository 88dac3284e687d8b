"""The :class:`World` and :func:`simulate`, which runs the generative story step by step."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError, problem
from .dynamics import (OUTAGE_FACTOR, conflict_rates, draw_episodes, draw_outages, latent_tension,
                       precursor_rates)
from .events import assemble, draw_events, scatter, truth_frame
from .geography import make_geography
from .vocabulary import PRECURSOR_KINDS

MAX_COUNTRIES = 26 * 26
"""Codes run ``XAA`` .. ``XZZ``."""
_BACKGROUND_PER_DYAD_WEEK = 1.6  # mean background events per directed dyad-week (before texture)


@dataclass(frozen=True)
class World:
    """A simulated world: events plus everything needed to judge forecasts on it.

    Attributes
    ----------
    events : DataFrame
        Canonical events (``tension.schema``), ``dataset == "synthetic"``, duplicates included.
    truth : DataFrame
        One row per escalation episode: ``dyad`` (undirected, ``XAA|XAB``), ``start`` and ``end``
        (inclusive dates), ``episode``, ``initiator``, ``intensity``, ``lead_weeks`` (0 = no warning).
    countries : DataFrame
        ``code``, ``name``, ``region``, ``bloc`` (empty when unaligned).
    relations : DataFrame
        One row per active undirected pair: ``dyad``, ``a``, ``b``, ``relation``
        (ally / rival / neutral), ``weight`` (relative event volume).
    outages : DataFrame
        ``week`` (Monday) of every source-outage week.
    params : dict
        The arguments the world was made with.
    """

    events: pd.DataFrame
    truth: pd.DataFrame
    countries: pd.DataFrame
    relations: pd.DataFrame
    outages: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def blocs(self) -> dict[str, tuple[str, ...]]:
        """Bloc name -> member codes (for ``build_panel(..., blocs=world.blocs)``)."""
        c = self.countries[self.countries["bloc"] != ""]
        return {str(b): tuple(g["code"]) for b, g in c.groupby("bloc", sort=True)}

    @property
    def regions(self) -> dict[str, tuple[str, ...]]:
        """Region name -> member codes (for ``build_panel(..., regions=world.regions)``)."""
        return {str(r): tuple(g["code"]) for r, g in self.countries.groupby("region", sort=True)}

    @property
    def weeks(self) -> pd.DatetimeIndex:
        """Mondays of every simulated week."""
        return pd.date_range(self.params["start"], periods=self.params["n_weeks"], freq="7D")


def simulate(
    seed: int = 0,
    countries: int = 30,
    years: float = 6,
    control: bool = False,
    start: str = "2019-01-07",
    events: int | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> World:
    """Generate a synthetic world with known escalation episodes.

    Parameters
    ----------
    seed : int
        Seed of every random stream; the same arguments give the same world.
    countries : int
        Number of fictional countries (2 .. 676).
    years : float
        Length of the simulation in years (weeks = round(52.18 * years)).
    control : bool
        Null world: the same background and the same count of every code, but conflict,
        precursor and alliance events on uniformly drawn dyads and weeks (see the module text).
    start : str
        First day; moved back to the Monday of its ISO week.
    events : int, optional
        Approximate number of events to generate (scales the background volume); default
        about 1.6 background events per active directed dyad and week.
    on_progress : callable, optional
        Called with a short description after each generation step.

    Returns
    -------
    World

    Examples
    --------
    >>> w = simulate(seed=3, countries=6, years=1)
    >>> bool(w.events["source_country"].str.startswith("X").all())
    True
    """
    _check_args(seed, countries, years, events)
    first = _first_monday(start)
    n_weeks = max(1, int(round(52.18 * years)))
    note = on_progress or (lambda _msg: None)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]  # first 7 as before
    rng_world, rng_latent, rng_episode, rng_background, rng_precursor, rng_conflict, rng_texture, rng_control = streams

    geo = make_geography(rng_world, countries)
    note("countries and relations")
    tension = latent_tension(rng_latent, geo["pair_level"], n_weeks)
    episodes = draw_episodes(rng_episode, tension, geo["pair_rel"], n_weeks)
    note("latent tension and episodes")

    texture, global_factor, outage_weeks = _texture(rng_texture, len(geo["src"]), n_weeks, years)
    background_scale = _background_scale(events, texture.shape, global_factor)
    parts = _draw_parts((rng_background, rng_precursor, rng_conflict), geo, tension, episodes, texture, background_scale, note)
    del texture
    if control:  # the null world: every non-background event moves to a uniform dyad and week
        week_p = np.ones(n_weeks)
        week_p[outage_weeks] = OUTAGE_FACTOR
        parts[1:] = [scatter(rng_control, part, len(geo["src"]), week_p / week_p.sum()) for part in parts[1:]]
    note("material conflict" + (" (control: conflict and precursors on uniform dyads and weeks)" if control else ""))

    events_df = assemble(geo, *_event_rows(parts), first, seed, control, _world_tag(countries, years, events))
    note("assembled events")
    outages = pd.DataFrame({"week": first + pd.to_timedelta(np.asarray(outage_weeks, dtype=np.int64) * 7, unit="D")})
    params = {
        "seed": int(seed),
        "countries": int(countries),
        "years": float(years),
        "control": bool(control),
        "start": first.date().isoformat(),
        "n_weeks": int(n_weeks),
        "events": None if events is None else int(events),
    }
    return World(events_df, truth_frame(geo, episodes, first), geo["countries"], geo["relations"], outages, params)


def _first_monday(start: str) -> pd.Timestamp:
    """The Monday of the ISO week of ``start``."""
    try:
        first = pd.Timestamp(start).normalize()
    except (ValueError, TypeError):
        raise UsageError(problem("The simulation start is not a date.", "YYYY-MM-DD", start)) from None
    return first - pd.Timedelta(days=first.weekday())


def _texture(rng: np.random.Generator, D: int, T: int, years: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seasonality, source outages and news attention: the factor on every rate, per dyad-week.

    Returns the texture (dyads x weeks), the global factor per week and the outage weeks.
    """
    season = 1.0 + 0.12 * np.sin(2 * np.pi * np.arange(T) / 52.18 + rng.uniform(0, 2 * np.pi))
    season *= rng.lognormal(0.0, 0.08, size=T)
    outage_weeks = draw_outages(rng, T, years)
    global_factor = season.copy()
    global_factor[outage_weeks] *= OUTAGE_FACTOR
    attention = rng.gamma(3.0, 1.0 / 3.0, size=(D, T)).astype(np.float32)
    return attention * global_factor[None, :].astype(np.float32), global_factor, outage_weeks


def _background_scale(events: int | None, shape: tuple[int, int], global_factor: np.ndarray) -> float:
    """Background events per unit dyad weight and week: the default, or what reaches ``events`` in total."""
    if events is None:
        return _BACKGROUND_PER_DYAD_WEEK
    D, T = shape
    scale = max(events, 1) / (D * T * float(global_factor.mean()))
    return scale / 1.06  # precursors and conflict add about 6 % on top of the background


def _draw_parts(
    rngs: tuple[np.random.Generator, ...],
    geo: dict[str, Any],
    tension: np.ndarray,
    episodes: pd.DataFrame,
    texture: np.ndarray,
    background_scale: float,
    note: Callable[[str], None],
) -> list[tuple[np.ndarray, ...]]:
    """Events of every kind, one part per kind: (dyad, week, code index, weekday, duplicate)."""
    rng_background, rng_precursor, rng_conflict = rngs
    T = texture.shape[1]
    volume_scale = background_scale / _BACKGROUND_PER_DYAD_WEEK
    parts = [draw_events(rng_background, (background_scale * geo["weight"])[:, None] * texture, "background")]
    note("background events")
    prec_rates = precursor_rates(geo, tension, episodes, T, volume_scale)
    for kind in (*PRECURSOR_KINDS, "ally_move"):
        parts.append(draw_events(rng_precursor, prec_rates.pop(kind) * texture, kind))
    note("precursor events")
    conflict_rate = conflict_rates(geo, episodes, T, volume_scale)
    conflict_rate *= texture
    parts.append(draw_events(rng_conflict, conflict_rate, "conflict"))
    return parts


def _event_rows(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """One row per event, in (day, dyad, code) order, duplicates repeated: dyad, day, code, number."""
    dyad, week, code, dow, dup = (np.concatenate([p[i] for p in parts]) for i in range(5))
    parts.clear()
    # events stay inside their week (conflict inside its episode); weekdays carry the seasonality
    day = week.astype(np.int64) * 7 + dow
    order = np.lexsort((code, dyad, day))
    dyad, day, code, dup = dyad[order], day[order], code[order], dup[order]
    number = np.arange(len(dyad), dtype=np.int64)
    take = np.repeat(np.arange(len(dyad)), 1 + dup.astype(np.int64))
    return dyad[take], day[take], code[take], number[take]


def _check_args(seed: Any, countries: Any, years: Any, events: Any) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise UsageError(problem("The simulation seed is invalid.", "a non-negative integer", seed, "Use --seed 0 or more."))
    if not isinstance(countries, (int, np.integer)) or not 2 <= countries <= MAX_COUNTRIES:
        raise UsageError(
            problem("The number of countries is out of range.", f"an integer from 2 to {MAX_COUNTRIES}", countries,
                    "Use --countries 30 for the demo world.")
        )
    if not isinstance(years, (int, float, np.number)) or not 0 < float(years) <= 100:
        raise UsageError(problem("The number of years is out of range.", "a number above 0 and at most 100", years,
                                 "Use --years 6 for the demo world."))
    if events is not None and (not isinstance(events, (int, np.integer)) or events < 1):
        raise UsageError(problem("The events target is invalid.", "a positive integer", events, "Omit it for the default volume."))


def _world_tag(countries: int, years: float, events: int | None) -> str:
    """Short tag in event ids so worlds with different shapes never share ids in one store."""
    key = f"{countries}|{float(years)!r}|{events}"
    return hashlib.blake2b(key.encode(), digest_size=3).hexdigest()
