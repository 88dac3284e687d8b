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

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import UsageError, problem
from .schema import EVENT_SCHEMA, events_from_arrow

__all__ = ["World", "simulate", "write_world", "world_paths", "CSV_COLUMNS", "MAX_COUNTRIES"]

MAX_COUNTRIES = 26 * 26
"""Codes run ``XAA`` .. ``XZZ``."""

CSV_COLUMNS: tuple[str, ...] = (
    "event_id",
    "date",
    "source_actor",
    "source_country",
    "target_actor",
    "target_country",
    "cameo_code",
    "source_ref",
    "text",
    "dataset",
)
"""Columns of the generic CSV written by :func:`write_world` (canonical names)."""

# --- the event vocabulary ---------------------------------------------------------------
# kind -> ((code, relative weight within the kind, verb used in the one-line text), ...)
_VOCAB: dict[str, tuple[tuple[str, float, str], ...]] = {
    "background": (
        ("010", 8.0, "makes a statement about"),
        ("012", 1.0, "voices concern about"),
        ("013", 1.0, "speaks optimistically about"),
        ("020", 1.5, "appeals to"),
        ("030", 1.0, "pledges cooperation with"),
        ("036", 1.0, "offers talks to"),
        ("040", 4.0, "consults"),
        ("042", 1.5, "visits"),
        ("043", 1.5, "hosts"),
        ("046", 1.5, "negotiates with"),
        ("050", 1.0, "cooperates diplomatically with"),
        ("051", 1.0, "praises"),
        ("061", 1.0, "cooperates economically with"),
        ("071", 0.4, "provides economic aid to"),
        ("100", 0.6, "makes demands of"),
        ("110", 0.6, "disapproves of"),
        ("114", 0.4, "complains officially to"),
    ),
    "deny": (("016", 1.0, "denies responsibility towards"),),
    "reject": (
        ("120", 2.0, "rejects"),
        ("121", 1.0, "rejects cooperation with"),
        ("124", 1.0, "refuses to yield to"),
        ("125", 1.0, "rejects talks with"),
        ("127", 1.0, "rejects the plan of"),
        ("128", 0.5, "defies"),
    ),
    "accuse": (
        ("111", 3.0, "criticises"),
        ("112", 3.0, "accuses"),
        ("1123", 1.0, "accuses of aggression"),
        ("1125", 0.5, "accuses of espionage"),
    ),
    "threaten": (
        ("130", 2.0, "threatens"),
        ("138", 1.0, "threatens force against"),
        ("139", 0.3, "gives an ultimatum to"),
    ),
    "incident": (
        ("150", 2.0, "shows force towards"),
        ("152", 1.0, "raises its military alert against"),
        ("154", 0.7, "mobilises troops against"),
        ("170", 1.0, "coerces"),
        ("171", 0.7, "seizes property of"),
        ("172", 1.0, "sanctions officials of"),
        ("173", 1.0, "detains nationals of"),
        ("174", 0.5, "deports nationals of"),
    ),
    "rival_move": (
        ("160", 1.0, "reduces relations with"),
        ("161", 0.7, "downgrades diplomatic ties with"),
        ("163", 0.8, "imposes sanctions on"),
        ("166", 0.8, "expels or withdraws from"),
    ),
    "ally_move": (
        ("057", 1.0, "signs an agreement with"),
        ("062", 1.0, "deepens military cooperation with"),
    ),
    "conflict": (
        ("180", 0.6, "uses unconventional violence against"),
        ("181", 0.3, "abducts nationals of"),
        ("182", 0.6, "assaults"),
        ("183", 0.5, "bombs"),
        ("190", 2.0, "uses conventional force against"),
        ("191", 0.3, "blockades"),
        ("192", 0.3, "occupies territory of"),
        ("193", 2.0, "fights small-arms battles with"),
        ("194", 1.5, "shells"),
        ("195", 0.8, "carries out air strikes on"),
        ("196", 1.0, "violates the ceasefire with"),
        ("200", 0.1, "uses massive violence against"),
    ),
}
_PRECURSOR_KINDS: tuple[str, ...] = ("deny", "reject", "accuse", "threaten", "incident", "rival_move")
_RAMP_SHARE = {"deny": 0.12, "reject": 0.14, "accuse": 0.26, "threaten": 0.14, "incident": 0.22, "rival_move": 0.12}
_EPISODE_SHARE = {"deny": 0.06, "reject": 0.08, "accuse": 0.20, "threaten": 0.10, "incident": 0.40, "rival_move": 0.06}

_CODES: tuple[str, ...] = tuple(c for kind in _VOCAB.values() for c, _, _ in kind)
_VERBS: tuple[str, ...] = tuple(v for kind in _VOCAB.values() for _, _, v in kind)

# --- world-shape constants (documented defaults, tuned so the demo world is learnable) ---
_DOW_P = np.array([0.17, 0.17, 0.17, 0.17, 0.16, 0.09, 0.07])  # Monday .. Sunday
_BACKGROUND_PER_DYAD_WEEK = 1.6  # mean background events per directed dyad-week (before texture)
_PRECURSOR_BASE = 0.05  # background precursor-type events per unit dyad weight and week
_TENSION_GAIN = 0.7  # precursor background multiplier exp(gain * tension)
_REL_LEVEL = {"ally": -0.5, "neutral": 0.0, "rival": 1.0}
_HAZARD = {"ally": 0.0, "neutral": 0.0002, "rival": 0.0045}  # weekly episode hazard at tension 0
_HAZARD_GAIN = 1.6
_NOISE_CONFLICT = 0.00015  # material-conflict events per dyad-week outside episodes
_SURPRISE_SHARE = 0.12  # episodes without any precursor ramp
_DUPLICATE_SHARE = 0.004
_OUTAGE_FACTOR = 0.03

_SYLLABLES = (
    "ka", "lo", "vi", "ra", "mon", "tes", "dor", "an", "bel", "cyr", "el", "fa", "gon", "hal", "is",
    "jor", "kel", "lun", "mar", "nor", "os", "pra", "quin", "ros", "sal", "tor", "ul", "var", "wen",
    "yst", "zan", "bre", "cal", "dra", "esk", "fel", "gra", "hest", "ir", "lis",
)
_REGION_WORDS = (
    "Amber Coast", "Northern Marches", "Sapphire Basin", "High Steppe", "Iron Gulf", "Cedar Isles",
    "Salt Plateau", "Western Reach", "Red Delta", "Frost Rim", "Jade Valleys", "Southern Shelf",
    "Copper Hills", "Lantern Straits", "Ash Highlands", "Silver Lakes", "Dune Belt", "Eastern Fjords",
    "Moss Lowlands", "Storm Cape", "Obsidian Range", "Golden Plains", "Mist Archipelago", "Thorn Pass",
    "Pearl Lagoon", "Granite Shield",
)
_BLOC_WORDS = ("Aurora Pact", "Meridian League", "Basalt Accord", "Tidewater Union", "Zenith Compact",
               "Harbor Alliance", "Quartz Covenant", "Orchid Entente")


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


# --- public entry points -------------------------------------------------------------------


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
    try:
        first = pd.Timestamp(start).normalize()
    except (ValueError, TypeError):
        raise UsageError(problem("The simulation start is not a date.", "YYYY-MM-DD", start)) from None
    first = first - pd.Timedelta(days=first.weekday())
    n_weeks = max(1, int(round(52.18 * years)))
    note = on_progress or (lambda _msg: None)

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]  # first 7 as before
    rng_world, rng_latent, rng_episode, rng_background, rng_precursor, rng_conflict, rng_texture, rng_control = streams

    geo = _make_geography(rng_world, countries)
    note("countries and relations")
    tension = _latent_tension(rng_latent, geo["pair_level"], n_weeks)
    episodes = _episodes(rng_episode, tension, geo["pair_rel"], n_weeks)
    note("latent tension and episodes")

    D, T = len(geo["src"]), n_weeks
    w = geo["weight"]
    season = 1.0 + 0.12 * np.sin(2 * np.pi * np.arange(T) / 52.18 + rng_texture.uniform(0, 2 * np.pi))
    season *= rng_texture.lognormal(0.0, 0.08, size=T)
    outage_weeks = _outages(rng_texture, T, years)
    global_factor = season.copy()
    global_factor[outage_weeks] *= _OUTAGE_FACTOR
    attention = rng_texture.gamma(3.0, 1.0 / 3.0, size=(D, T)).astype(np.float32)
    texture = attention * global_factor[None, :].astype(np.float32)

    background_scale = _BACKGROUND_PER_DYAD_WEEK
    if events is not None:
        background_scale = max(events, 1) / (D * T * float(global_factor.mean()))
        background_scale /= 1.06  # precursors and conflict add about 6 % on top of the background
    volume_scale = background_scale / _BACKGROUND_PER_DYAD_WEEK

    parts: list[tuple[np.ndarray, ...]] = []  # (dyad, week, code index, weekday, duplicate)
    bg_rate = (background_scale * w)[:, None] * texture
    parts.append(_draw(rng_background, bg_rate, "background"))
    del bg_rate
    note("background events")

    prec_rates = _precursor_rates(geo, tension, episodes, T, volume_scale)
    for kind in (*_PRECURSOR_KINDS, "ally_move"):
        parts.append(_draw(rng_precursor, prec_rates.pop(kind) * texture, kind))
    note("precursor events")

    conflict_rate = _conflict_rates(geo, episodes, T, volume_scale)
    conflict_rate *= texture
    parts.append(_draw(rng_conflict, conflict_rate, "conflict"))
    del conflict_rate, texture, attention
    if control:  # the null world: every non-background event moves to a uniform dyad and week
        week_p = np.ones(T)
        week_p[outage_weeks] = _OUTAGE_FACTOR
        parts[1:] = [_scatter(rng_control, part, D, week_p / week_p.sum()) for part in parts[1:]]
    note("material conflict" + (" (control: conflict and precursors on uniform dyads and weeks)" if control else ""))

    dyad, week, code, dow, dup = (np.concatenate([p[i] for p in parts]) for i in range(5))
    del parts
    # events stay inside their week (conflict inside its episode); weekdays carry the seasonality
    day = week.astype(np.int64) * 7 + dow
    order = np.lexsort((code, dyad, day))
    dyad, day, code, dup = dyad[order], day[order], code[order], dup[order]
    number = np.arange(len(dyad), dtype=np.int64)
    take = np.repeat(np.arange(len(dyad)), 1 + dup.astype(np.int64))
    dyad, day, code, number = dyad[take], day[take], code[take], number[take]

    events_df = _assemble(geo, dyad, day, code, number, first, seed, control, _world_tag(countries, years, events))
    note("assembled events")

    truth = _truth_frame(geo, episodes, first)
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
    return World(events_df, truth, geo["countries"], geo["relations"], outages, params)


def world_paths(out: str | Path) -> dict[str, Path]:
    """Where :func:`write_world` puts each table: events at ``out``, the rest beside it."""
    out = Path(out)
    stem = out.name[: -len(".csv")] if out.name.endswith(".csv") else out.name
    return {
        "events": out,
        "truth": out.with_name(f"{stem}.truth.csv"),
        "countries": out.with_name(f"{stem}.countries.csv"),
        "relations": out.with_name(f"{stem}.relations.csv"),
    }


def write_world(world: World, out: str | Path) -> dict[str, Path]:
    """Write the world as CSV files; the same world always gives the same bytes.

    ``out`` receives the events in the generic CSV format (columns :data:`CSV_COLUMNS`,
    canonical names, readable by ``tension ingest --format csv``); ``<stem>.truth.csv``,
    ``<stem>.countries.csv`` and ``<stem>.relations.csv`` are written beside it.
    Nothing time-dependent is written, and floats have a fixed format.

    Returns
    -------
    dict
        Table name -> path written.
    """
    paths = world_paths(out)
    paths["events"].parent.mkdir(parents=True, exist_ok=True)
    ev = world.events
    table = pa.table(
        {
            "event_id": pa.array(ev["event_id"].to_numpy(dtype=object), pa.string()),
            "date": pa.array(ev["date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object), pa.string()),
            "source_actor": pa.array(ev["source_actor"].to_numpy(dtype=object), pa.string()),
            "source_country": pa.array(ev["source_country"].to_numpy(dtype=object), pa.string()),
            "target_actor": pa.array(ev["target_actor"].to_numpy(dtype=object), pa.string()),
            "target_country": pa.array(ev["target_country"].to_numpy(dtype=object), pa.string()),
            "cameo_code": pa.array(ev["cameo_code"].to_numpy(dtype=object), pa.string()),
            "source_ref": pa.array(ev["source_ref"].to_numpy(dtype=object), pa.string()),
            "text": pa.array(ev["text"].to_numpy(dtype=object), pa.string()),
            "dataset": pa.array(ev["dataset"].to_numpy(dtype=object), pa.string()),
        }
    )
    _write_csv_table(table, paths["events"])
    truth = world.truth.copy()
    for col in ("start", "end"):
        truth[col] = truth[col].dt.strftime("%Y-%m-%d")
    truth.to_csv(paths["truth"], index=False, lineterminator="\n", float_format="%.3f")
    world.countries.to_csv(paths["countries"], index=False, lineterminator="\n")
    world.relations.to_csv(paths["relations"], index=False, lineterminator="\n", float_format="%.4f")
    return paths


# --- helpers -------------------------------------------------------------------------------


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


def _country_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    suffixes = ("ia", "ar", "stan", "land", "ora", "ea", "is", "onia")
    while len(names) < n:
        k = int(rng.integers(2, 4))
        stem = "".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), size=k))
        name = (stem + suffixes[int(rng.integers(0, len(suffixes)))]).capitalize()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _make_geography(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Countries, regions, blocs, rivalries and the active directed dyads with their weights."""
    codes = np.array([f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n)])
    names = np.array(_country_names(rng, n))
    n_regions = max(2, int(round(n / 8)))
    region_names = [
        _REGION_WORDS[i % len(_REGION_WORDS)] + ("" if i < len(_REGION_WORDS) else f" {i // len(_REGION_WORDS) + 1}")
        for i in range(n_regions)
    ]
    region = rng.permutation(np.arange(n) % n_regions)
    n_blocs = min(len(_BLOC_WORDS), 2 + n // 60)
    in_bloc = rng.random(n) < 0.6
    # blocs lean regional: a country joins the bloc of its region's "home" bloc two times in three
    home = rng.integers(0, n_blocs, size=n_regions)
    bloc = np.where(rng.random(n) < 2 / 3, home[region], rng.integers(0, n_blocs, size=n))
    bloc = np.where(in_bloc, bloc, -1)
    size = rng.lognormal(0.0, 0.6, size=n)

    pi, pj = np.triu_indices(n, k=1)
    same_region = region[pi] == region[pj]
    ally = (bloc[pi] >= 0) & (bloc[pi] == bloc[pj])
    rival_p = np.where(same_region, 0.35, 0.012)
    rival = ~ally & (rng.random(len(pi)) < rival_p)
    cross_p = min(1.0, 6.0 / n)
    active = ally | rival | np.where(same_region, rng.random(len(pi)) < 0.7, rng.random(len(pi)) < cross_p)
    pi, pj, ally, rival = pi[active], pj[active], ally[active], rival[active]
    rel = np.where(ally, "ally", np.where(rival, "rival", "neutral"))
    pair_w = size[pi] * size[pj] * rng.lognormal(0.0, 1.1, size=len(pi))
    pair_w /= pair_w.mean()
    # rivalry (hence episodes) is independent of event volume: rival pairs get weights at evenly
    # spread quantiles of all pair weights, so that volume alone predicts nothing even by chance
    riv = np.flatnonzero(rival)
    if len(riv):
        spread = np.quantile(pair_w, (np.arange(len(riv)) + 0.5) / len(riv))
        pair_w[riv] = rng.permutation(spread)
    P = len(pi)
    # directed dyads: 2p = i -> j, 2p + 1 = j -> i
    src = np.empty(2 * P, dtype=np.int32)
    tgt = np.empty(2 * P, dtype=np.int32)
    src[0::2], src[1::2] = pi, pj
    tgt[0::2], tgt[1::2] = pj, pi
    weight = np.repeat(pair_w, 2) * rng.lognormal(0.0, 0.3, size=2 * P)
    weight /= weight.mean()
    dyad_of = np.full((n, n), -1, dtype=np.int64)
    dyad_of[src, tgt] = np.arange(2 * P)

    countries = pd.DataFrame(
        {
            "code": codes,
            "name": names,
            "region": np.array(region_names)[region],
            "bloc": np.where(bloc >= 0, np.array(_BLOC_WORDS)[np.maximum(bloc, 0)], ""),
        }
    )
    relations = pd.DataFrame(
        {
            "dyad": np.char.add(np.char.add(codes[pi], "|"), codes[pj]),
            "a": codes[pi],
            "b": codes[pj],
            "relation": rel,
            "weight": np.round(pair_w, 4),
        }
    )
    return {
        "codes": codes,
        "names": names,
        "bloc": bloc,
        "pi": pi,
        "pj": pj,
        "pair_rel": rel,
        "pair_level": np.vectorize(_REL_LEVEL.get)(rel).astype(float) if P else np.zeros(0),
        "src": src,
        "tgt": tgt,
        "weight": weight,
        "dyad_of": dyad_of,
        "countries": countries,
        "relations": relations,
    }


def _latent_tension(rng: np.random.Generator, level: np.ndarray, T: int) -> np.ndarray:
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


def _episodes(rng: np.random.Generator, tension: np.ndarray, rel: np.ndarray, T: int) -> pd.DataFrame:
    """Escalation episodes per pair: start/end week, intensity, lead, initiator side."""
    P = tension.shape[0]
    base = np.vectorize(_HAZARD.get)(rel).astype(float) if P else np.zeros(0)
    level = np.vectorize(_REL_LEVEL.get)(rel).astype(float) if P else np.zeros(0)
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


def _precursor_rates(geo: dict[str, Any], tension: np.ndarray, ep: pd.DataFrame, T: int, scale: float) -> dict[str, np.ndarray]:
    """Expected precursor-type events per directed dyad-week, by kind (before texture)."""
    w = geo["weight"]
    D = len(w)
    pair = np.arange(D) // 2
    base = (scale * _PRECURSOR_BASE * w)[:, None] * np.exp(_TENSION_GAIN * tension[pair])
    per_kind = {k: (base * (_RAMP_SHARE[k])).astype(np.float32) for k in _PRECURSOR_KINDS}
    ally = np.zeros((D, T), dtype=np.float32)

    ramp_d, ramp_t, ramp_v = [], [], []
    in_d, in_t, in_v = [], [], []
    ally_d, ally_t, ally_v = [], [], []
    bloc, dyad_of, pi, pj = geo["bloc"], geo["dyad_of"], geo["pi"], geo["pj"]
    members = {b: np.flatnonzero(bloc == b) for b in np.unique(bloc) if b >= 0}
    vol = np.sqrt(scale)
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
            # alliance moves: each side turns to up to two of its allies
            pick = np.random.default_rng(row.ally_pick)
            for me in (a, b):
                if bloc[me] < 0:
                    continue
                friends = members[int(bloc[me])]
                friends = friends[(friends != a) & (friends != b)]
                for c in pick.permutation(friends)[:2]:
                    for d in (dyad_of[me, c], dyad_of[c, me]):
                        if d >= 0:
                            ally_d.append(np.full(keep.sum(), d))
                            ally_t.append(weeks[keep])
                            ally_v.append(ramp[keep] * 0.25)
        weeks = np.arange(row.start, row.end + 1)
        for d, s in strength.items():
            in_d.append(np.full(len(weeks), d))
            in_t.append(weeks)
            in_v.append(np.full(len(weeks), row.intensity * vol * s))
    if ramp_d:
        d, t, v = np.concatenate(ramp_d), np.concatenate(ramp_t), np.concatenate(ramp_v)
        for k in _PRECURSOR_KINDS:
            np.add.at(per_kind[k], (d, t), (v * _RAMP_SHARE[k]).astype(np.float32))
    if in_d:
        d, t, v = np.concatenate(in_d), np.concatenate(in_t), np.concatenate(in_v)
        for k in _PRECURSOR_KINDS:
            np.add.at(per_kind[k], (d, t), (v * _EPISODE_SHARE[k]).astype(np.float32))
    if ally_d:
        np.add.at(ally, (np.concatenate(ally_d), np.concatenate(ally_t)), np.concatenate(ally_v).astype(np.float32))
    # allies also sign agreements and cooperate militarily in ordinary times
    ally_pairs = np.flatnonzero(geo["pair_rel"] == "ally")
    ally_dyads = np.concatenate([2 * ally_pairs, 2 * ally_pairs + 1])
    ally[ally_dyads] += (scale * 0.02 * w[ally_dyads])[:, None].astype(np.float32)
    per_kind["ally_move"] = ally
    return per_kind


def _scatter(rng: np.random.Generator, part: tuple[np.ndarray, ...], D: int, week_p: np.ndarray) -> tuple[np.ndarray, ...]:
    """Control world: the same events (code, weekday, duplicate flag) on uniform random dyads and weeks.

    Dyads are uniform over all ``D`` active directed dyads (not by volume, relation or tension);
    weeks are drawn from ``week_p`` (uniform, outage weeks down-weighted like every other event).
    """
    _, _, code, dow, dup = part
    n = len(code)
    dyad = rng.integers(0, D, size=n).astype(np.int32)
    week = rng.choice(len(week_p), size=n, p=week_p).astype(np.int32)
    return dyad, week, code, dow, dup


def _conflict_rates(geo: dict[str, Any], ep: pd.DataFrame, T: int, scale: float) -> np.ndarray:
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


def _draw(rng: np.random.Generator, rate: np.ndarray, kind: str) -> tuple[np.ndarray, ...]:
    """Poisson counts per dyad-week -> one entry per event: dyad, week, code index, weekday, duplicate flag."""
    counts = rng.poisson(rate)
    T = rate.shape[1]
    cells = np.flatnonzero(counts)
    cell = np.repeat(cells, counts.ravel()[cells])
    offset = sum(len(v) for k, v in _VOCAB.items() if list(_VOCAB).index(k) < list(_VOCAB).index(kind))
    weights = np.array([wt for _, wt, _ in _VOCAB[kind]])
    pick = np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(len(cell)), side="right")
    pick = np.minimum(pick, len(weights) - 1)
    # day of week (weekly seasonality) and duplicate flags come from the same stream, so a part
    # keeps its codes, weekdays and duplicates when the control world moves it to other dyad-weeks
    dow = np.searchsorted(np.cumsum(_DOW_P), rng.random(len(cell)), side="right").clip(0, 6)
    dup = rng.random(len(cell)) < _DUPLICATE_SHARE
    return (cell // T).astype(np.int32), (cell % T).astype(np.int32), (offset + pick).astype(np.int16), dow, dup


def _outages(rng: np.random.Generator, T: int, years: float) -> np.ndarray:
    """Weeks of global source outage: about one outage a year, each one or two weeks long."""
    if T < 20:
        return np.zeros(0, dtype=np.int64)
    n = max(1, int(round(years * 0.8)))
    starts = rng.choice(np.arange(8, T - 2), size=min(n, T - 10), replace=False)
    weeks = np.unique(np.concatenate([np.arange(s, s + int(rng.integers(1, 3))) for s in starts]))
    return weeks[weeks < T]


def _code_table() -> pd.DataFrame:
    """root_code, quad_class, goldstein and family of the simulator's codes (from tension.taxonomy)."""
    codes = pd.Series(_CODES, dtype="str")
    try:
        from .taxonomy import lookup_codes  # the owner of codes, goldstein and families
    except ImportError:  # pragma: no cover - only until tension.taxonomy exists
        return _fallback_code_table(codes)
    found = lookup_codes(codes)
    if found["cameo_code"].isna().any():  # pragma: no cover - guards the vocabulary
        missing = codes[found["cameo_code"].isna()].tolist()
        raise RuntimeError(f"Simulator codes unknown to tension.taxonomy: {missing}")
    return pd.DataFrame(
        {
            "cameo_code": codes,
            "root_code": found["root_code"].astype(str).to_numpy(),
            "quad_class": found["quad_class"].astype("int8").to_numpy(),
            "goldstein": found["goldstein"].astype("float32").to_numpy(),
            "family": found["family"].astype(str).to_numpy(),
        }
    )


_ROOT_GOLDSTEIN = {  # CAMEO root-level Goldstein scores; used only until tension.taxonomy exists
    "01": 0.0, "02": 3.0, "03": 4.0, "04": 1.0, "05": 3.5, "06": 6.0, "07": 7.0, "08": 5.0, "09": -2.0,
    "10": -5.0, "11": -2.0, "12": -4.0, "13": -6.0, "14": -6.5, "15": -7.2, "16": -4.0, "17": -7.0,
    "18": -9.0, "19": -10.0, "20": -10.0,
}


def _fallback_code_table(codes: pd.Series) -> pd.DataFrame:  # pragma: no cover - temporary
    root = codes.str[:2]
    r = root.astype(int)
    quad = np.select([r <= 5, r <= 9, r <= 14], [1, 2, 3], 4).astype("int8")
    fam = np.select(
        [
            codes.isin(["057", "062"]) | (root == "16"),
            root.isin(["15", "17", "18", "19", "20"]),
            (codes == "016") | root.isin(["11", "12", "13"]),
            r.between(3, 8),
        ],
        ["alliance_move", "incident", "denial", "cooperation"],
        "other",
    )
    return pd.DataFrame(
        {
            "cameo_code": codes,
            "root_code": root,
            "quad_class": quad,
            "goldstein": root.map(_ROOT_GOLDSTEIN).astype("float32").to_numpy(),
            "family": fam,
        }
    )


def _assemble(
    geo: dict[str, Any],
    dyad: np.ndarray,
    day: np.ndarray,
    code: np.ndarray,
    number: np.ndarray,
    first: pd.Timestamp,
    seed: int,
    control: bool,
    tag: str,
) -> pd.DataFrame:
    """Arrays -> canonical events frame (built as Arrow for speed, then canonical dtypes)."""
    n = len(dyad)
    table = _code_table()
    codes_arr = pa.array(table["cameo_code"].tolist(), pa.string())
    src_code = pa.array(geo["codes"].tolist(), pa.string())
    src_name = pa.array(geo["names"].tolist(), pa.string())
    s_idx = pa.array(geo["src"][dyad])
    t_idx = pa.array(geo["tgt"][dyad])
    c_idx = pa.array(code.astype(np.int32))
    src_c, tgt_c = pc.take(src_code, s_idx), pc.take(src_code, t_idx)
    kind = "synthetic-control" if control else "synthetic"
    num = pc.cast(pa.array(number), pa.string())
    ref = pc.binary_join_element_wise(f"{kind}:{seed}", num, ":")
    eid = pc.binary_join_element_wise(f"{kind}:{seed}:{tag}", num, ":")  # prefixed: ingest keeps it as is
    text = pc.binary_join_element_wise(src_c, pc.take(pa.array(list(_VERBS), pa.string()), c_idx), tgt_c, "(synthetic)", " ")
    epoch = np.datetime64(first.date(), "D")
    dates = pa.array((epoch + day.astype("timedelta64[D]")).astype("datetime64[D]"), pa.date32())
    null_s = pa.nulls(n, pa.string())
    arrays = {
        "event_id": eid,
        "date": dates,
        "source_actor": pc.take(src_name, s_idx),
        "source_country": src_c,
        "source_org": null_s,
        "target_actor": pc.take(src_name, t_idx),
        "target_country": tgt_c,
        "target_org": null_s,
        "cameo_code": pc.take(codes_arr, c_idx),
        "root_code": pc.take(pa.array(table["root_code"].tolist(), pa.string()), c_idx),
        "quad_class": pc.take(pa.array(table["quad_class"].to_numpy(), pa.int8()), c_idx),
        "goldstein": pc.take(pa.array(table["goldstein"].to_numpy(), pa.float32()), c_idx),
        "family": pc.take(pa.array(table["family"].tolist(), pa.string()), c_idx),
        "weight": pa.array(np.ones(n, dtype=np.float32)),
        "dataset": pa.array(np.full(n, "synthetic", dtype=object), pa.string()) if n else null_s,
        "source_ref": ref,
        "text": text,
        "batch_id": null_s,
        "ingested_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "source_file": null_s,
        "source_line": pa.nulls(n, pa.int64()),
    }
    return events_from_arrow(pa.table(arrays, schema=EVENT_SCHEMA))


def _truth_frame(geo: dict[str, Any], ep: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    codes, pi, pj = geo["codes"], geo["pi"], geo["pj"]
    a, b = codes[pi[ep["pair"].to_numpy()]], codes[pj[ep["pair"].to_numpy()]]
    init = ep["initiator"].to_numpy()
    truth = pd.DataFrame(
        {
            "dyad": pd.array(np.char.add(np.char.add(a, "|"), b) if len(ep) else [], dtype="str"),
            "start": first + pd.to_timedelta(ep["start"].to_numpy() * 7, unit="D"),
            "end": first + pd.to_timedelta(ep["end"].to_numpy() * 7 + 6, unit="D"),
            "initiator": pd.array(np.where(init == 0, a, b) if len(ep) else [], dtype="str"),
            "intensity": ep["intensity"].round(3).to_numpy(),
            "lead_weeks": ep["lead"].to_numpy(),
        }
    )
    truth = truth.sort_values(["start", "dyad"], kind="stable").reset_index(drop=True)
    truth.insert(3, "episode", np.arange(len(truth)))
    return truth


def _write_csv_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` as UTF-8 CSV with quoting only where needed (pyarrow, fast and stable)."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    pacsv.write_csv(table, str(path), options)
