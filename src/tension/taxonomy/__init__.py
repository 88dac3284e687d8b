"""CAMEO event codes, their weights and classes, the PLOVER mapping and the mission's families.

The table ``cameo.tsv`` beside this module is tension's own, built by
``tools/build_taxonomy.py`` from public reference files (GDELT and ICEWS CAMEO lists,
CAMEO->PLOVER 2021). One row per CAMEO code (2-digit root, 3-digit base, 4-digit leaf):
``code, level, root_code, name, icews_name, goldstein, goldstein_gdelt, quad_class, family,
plover_type``.

Choices
-------
Goldstein
    ICEWS weights (they match the ICEWS ``Intensity`` column in real data). GDELT differs
    on four codes, kept in ``goldstein_gdelt``: 016 (GDELT -2.0, ICEWS -5.0), 022 (3.2 vs
    3.4), 164 (-7.0 vs -6.5), 165 (-6.5 vs -7.0).
Quad class
    GDELT convention: roots 01-05 -> 1 verbal cooperation, 06-09 -> 2 material
    cooperation, 10-14 -> 3 verbal conflict, 15-20 -> 4 material conflict.
Codes
    Strings with leading zeros ("010" is *Make statement*; 10 is the DEMAND root). See
    :func:`normalize_codes` for the repair rule applied to codes that lost their zeros.

Families
--------
Every code belongs to exactly one family; the first matching rule below wins.

``incident`` (material hostility)
    exhibit force posture 15x (:data:`FORCE_POSTURE`), coerce 17x (:data:`COERCE`),
    assault 18x (:data:`ASSAULT`), fight 19x (:data:`FIGHT`), unconventional mass
    violence 20x (:data:`MASS_VIOLENCE`).
``alliance_move`` (a change of alignment)
    sign formal agreement 057 (:data:`SIGN_AGREEMENT`), cooperate militarily 062
    (:data:`MIL_COOPERATION`), provide military aid 072 (:data:`MIL_AID`), and reduce
    relations 16x (:data:`REDUCE_RELATIONS`): break diplomatic relations 161, cut aid
    162x, sanctions 163, halt negotiations 164 and mediation 165, expel or withdraw 166x
    (:data:`EXPEL`). Bloc rule (needs the actors, so it is applied by
    ``tension.actors.apply_bloc_rule``): an event whose other side is an alliance or bloc
    organisation (EU, NATO, CSTO, EAEU, CIS, GCC, SCO, ...) and whose code is in
    :data:`BLOC_MOVE_CODES` (intent to cooperate 030-032, diplomatic cooperation 050,
    material cooperation 06x, reject cooperation 120/121x, plus the codes above) counts as
    an alliance move: joining, suspending or leaving a bloc is coded that way by CAMEO.
``denial`` (verbal hostility)
    deny responsibility 016 (:data:`DENY`), disapprove/criticize/accuse 11x
    (:data:`ACCUSE`), reject 12x (:data:`REJECT`), threaten 13x (:data:`THREATEN`).
``cooperation``
    every other code of roots 03-08 (intent to cooperate, consult, diplomatic and
    material cooperation, aid, yield).
``other``
    the rest: public statements 01 (except 016), appeals 02, investigate 09, demand 10,
    protest 14.

Examples
--------
>>> import pandas as pd
>>> normalize_codes(pd.Series(["010", 10, "211", "13y", 1823.0])).tolist()
['010', '10', '0211', nan, '1823']
>>> family_of("0874"), family_of("163"), family_of("016")
('cooperation', 'alliance_move', 'denial')
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ..schema import FAMILIES

__all__ = [
    "cameo_table",
    "plover_table",
    "lookup_codes",
    "normalize_codes",
    "codes_for_event_names",
    "cameo_for_plover",
    "plover_for_cameo",
    "family_of",
    "family_rule",
    "quad_for_root",
    "FAMILY_CODES",
    "MATERIAL_CONFLICT_ROOTS",
    "DENY",
    "ACCUSE",
    "CRITICIZE",
    "ACCUSATIONS",
    "REJECT",
    "THREATEN",
    "FORCE_POSTURE",
    "REDUCE_RELATIONS",
    "BREAK_RELATIONS",
    "SANCTIONS",
    "HALT_NEGOTIATIONS",
    "EXPEL",
    "COERCE",
    "ASSAULT",
    "FIGHT",
    "MASS_VIOLENCE",
    "SIGN_AGREEMENT",
    "MIL_COOPERATION",
    "MIL_AID",
    "BLOC_MOVE_CODES",
]

# --- the code universe -------------------------------------------------------------------


@lru_cache(maxsize=1)
def cameo_table() -> pd.DataFrame:
    """Every CAMEO code (2, 3 and 4 digits), one row each, from the packaged ``cameo.tsv``.

    Columns: code, level, root_code, name, icews_name, goldstein, goldstein_gdelt,
    quad_class, family, plover_type (empty strings read as NA). Cached: do not mutate.
    """
    with resources.files(__package__).joinpath("cameo.tsv").open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False, na_values=[""])
    table["level"] = table["level"].astype("int8")
    table["quad_class"] = table["quad_class"].astype("int8")
    table["goldstein"] = table["goldstein"].astype("float32")
    table["goldstein_gdelt"] = table["goldstein_gdelt"].astype("float32")
    return table


@lru_cache(maxsize=1)
def plover_table() -> pd.DataFrame:
    """PLOVER type (and mode) -> representative CAMEO code, from the packaged ``plover.tsv``.

    Rows with an empty ``mode`` give the type-level code: the x0 code of the type's first
    CAMEO root (AGREE 030, CONSULT 040, SUPPORT 050, CONCEDE 080, COOPERATE 060, AID 070,
    RETREAT 084, REQUEST 100, ACCUSE 110, REJECT 120, THREATEN 130, PROTEST 140,
    SANCTION 160, MOBILIZE 150, COERCE 170, ASSAULT 180).
    """
    with resources.files(__package__).joinpath("plover.tsv").open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False)
    table["quad_class"] = table["quad_class"].astype("int8")
    return table


def _codes_from_prefix(*prefixes: str) -> frozenset[str]:
    """All CAMEO codes of the packaged table that start with any prefix (exact 2-digit roots included)."""
    return frozenset(_all_codes_tuple_from(prefixes))


def _all_codes_tuple_from(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in _KNOWN_CODES if any(c.startswith(p) for p in prefixes))


def _known_codes() -> tuple[str, ...]:
    path = resources.files(__package__).joinpath("cameo.tsv")
    if not path.is_file():  # only while tools/build_taxonomy.py bootstraps the table
        return ()
    with path.open("r", encoding="utf-8") as fh:
        next(fh)
        return tuple(line.split("\t", 1)[0] for line in fh if line.strip())


_KNOWN_CODES: tuple[str, ...] = _known_codes()
_KNOWN_SET: frozenset[str] = frozenset(_KNOWN_CODES)

# --- named code sets (frozensets of codes, every level) ----------------------------------

DENY: frozenset[str] = frozenset({"016"})
"""Deny responsibility (root 01, but hostile: the target is the accuser)."""
ACCUSE: frozenset[str] = _codes_from_prefix("11")
"""Disapprove, criticize or denounce, accuse (1121-1125), rally opposition, complain, sue, find guilty."""
CRITICIZE: frozenset[str] = frozenset({"111"})
"""Criticize or denounce (part of :data:`ACCUSE`)."""
ACCUSATIONS: frozenset[str] = _codes_from_prefix("112")
"""Accuse, of crime, human rights abuses, aggression, war crimes, espionage (112, 1121-1125; part of :data:`ACCUSE`)."""
REJECT: frozenset[str] = _codes_from_prefix("12")
"""Reject cooperation, aid, reform, meetings, mediation, settlements; refuse to yield; defy; veto."""
THREATEN: frozenset[str] = _codes_from_prefix("13")
"""Threats, including military force (138x) and ultimatums (139)."""
FORCE_POSTURE: frozenset[str] = _codes_from_prefix("15")
"""Exhibit force posture: demonstrate power, raise alert, mobilize police or armed forces."""
REDUCE_RELATIONS: frozenset[str] = _codes_from_prefix("16")
"""Reduce relations: break diplomatic relations, cut aid, sanctions, halt talks, expel or withdraw."""
BREAK_RELATIONS: frozenset[str] = frozenset({"161"})
"""Reduce or break diplomatic relations."""
SANCTIONS: frozenset[str] = frozenset({"163"})
"""Impose embargo, boycott or sanctions."""
HALT_NEGOTIATIONS: frozenset[str] = frozenset({"164", "165"})
"""Halt negotiations (164) or mediation (165)."""
EXPEL: frozenset[str] = _codes_from_prefix("166")
"""Expel or withdraw peacekeepers, inspectors, observers, aid agencies (166, 1661-1663)."""
COERCE: frozenset[str] = _codes_from_prefix("17")
"""Coerce: seize property, administrative sanctions, arrest, deport, violent repression."""
ASSAULT: frozenset[str] = _codes_from_prefix("18")
"""Unconventional violence: abduction, physical assault, bombings, assassination."""
FIGHT: frozenset[str] = _codes_from_prefix("19")
"""Conventional military force, blockade, occupation, small arms, artillery, air strikes, ceasefire violations."""
MASS_VIOLENCE: frozenset[str] = _codes_from_prefix("20")
"""Unconventional mass violence: mass expulsion or killing, ethnic cleansing, WMD."""
SIGN_AGREEMENT: frozenset[str] = frozenset({"057"})
"""Sign formal agreement."""
MIL_COOPERATION: frozenset[str] = frozenset({"062"})
"""Cooperate militarily."""
MIL_AID: frozenset[str] = frozenset({"072"})
"""Provide military aid."""
MATERIAL_CONFLICT_ROOTS: frozenset[str] = frozenset(f"{r:02d}" for r in range(15, 21))
"""Roots 15-20 (quad class 4)."""

# Family rules by root prefix, so that they hold without the table (the build script uses them).
_INCIDENT_ROOTS = frozenset({"15", "17", "18", "19", "20"})
_ALLIANCE_CODES = frozenset({"057", "062", "072"})
_ALLIANCE_ROOTS = frozenset({"16"})
_DENIAL_CODES = frozenset({"016"})
_DENIAL_ROOTS = frozenset({"11", "12", "13"})
_COOPERATION_ROOTS = frozenset({"03", "04", "05", "06", "07", "08"})
_ALLIANCE = SIGN_AGREEMENT | MIL_COOPERATION | MIL_AID | REDUCE_RELATIONS

BLOC_MOVE_CODES: frozenset[str] = (
    frozenset({"030", "031", "0311", "0312", "0313", "0314", "032", "050", "120", "121", "1211", "1212", "1213"})
    | _codes_from_prefix("06")
    | _ALLIANCE
)
"""Codes that count as an alliance move when the other side is an alliance or bloc organisation."""


def family_rule(code: str) -> str:
    """The family of one valid CAMEO code by the documented rules (no table lookup)."""
    root = code[:2]
    if root in _INCIDENT_ROOTS:
        return "incident"
    if code in _ALLIANCE_CODES or root in _ALLIANCE_ROOTS:
        return "alliance_move"
    if code in _DENIAL_CODES or root in _DENIAL_ROOTS:
        return "denial"
    if root in _COOPERATION_ROOTS:
        return "cooperation"
    return "other"


FAMILY_CODES: dict[str, frozenset[str]] = {
    family: frozenset(c for c in _KNOWN_CODES if family_rule(c) == family) for family in FAMILIES
}
"""Family name -> every CAMEO code (all levels) in it; the families partition the codes."""


def family_of(code: str) -> str:
    """Family of one CAMEO code (normalised first); raises ``KeyError`` for unknown codes."""
    norm = _normalize_one(code, 2)
    if norm is None:
        raise KeyError(f"Unknown CAMEO code {code!r}.")
    return family_rule(norm)


def quad_for_root(root: str) -> int:
    """GDELT QuadClass of a 2-digit root: 01-05 -> 1, 06-09 -> 2, 10-14 -> 3, 15-20 -> 4."""
    r = int(root)
    if not 1 <= r <= 20:
        raise ValueError(f"CAMEO root must be 01..20, got {root!r}")
    return 1 if r <= 5 else 2 if r <= 9 else 3 if r <= 14 else 4


# --- normalisation -----------------------------------------------------------------------

_FLOAT_TAIL = re.compile(r"\.0+$")


def _normalize_one(value: object, min_digits: int) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = _FLOAT_TAIL.sub("", str(value).strip())
    if not text.isdigit() or not 1 <= len(text) <= 4 or not text.isascii():
        return None
    if len(text) >= min_digits and text in _KNOWN_SET:
        return text
    for width in range(max(len(text) + 1, min_digits), 5):
        padded = text.zfill(width)
        if padded in _KNOWN_SET:
            return padded
    return None


def _as_series(values: object) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(values)


def _map_unique(values: pd.Series, func) -> pd.Series:
    """Apply ``func`` to each distinct value once, then broadcast (inputs can be millions of rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [None], dtype=object)
    out = pd.Series(mapped[codes], index=values.index, dtype=object)  # -1 -> the trailing None
    return out.astype("str").where(out.notna(), pd.NA) if len(out) else out.astype("str")


def normalize_codes(codes: object, min_digits: int = 2) -> pd.Series:
    """Repair CAMEO codes to their canonical strings with leading zeros; garbage -> NA.

    Rule, per value: strip blanks and a float tail (``"43.0"``); anything that is not 1-4
    ASCII digits is NA (``"13y"``, ``"--"``, ``""``). A value that is already a known code
    (and has at least ``min_digits`` digits) is kept as given. Otherwise it is left-padded
    with zeros to the shortest width that gives a known code (``"43"`` -> ``"043"``,
    ``211`` -> ``"0211"``, ``1`` -> ``"01"``), else NA.

    The one real ambiguity is 10-20: an integer-read ``"010"``..``"020"`` looks exactly
    like the roots 10-20. Columns that hold only 3- or 4-digit event codes (ICEWS
    ``CAMEO Code``, GDELT ``EventCode``/``EventBaseCode``) should pass ``min_digits=3``,
    which reads ``10`` as ``"010"``; root columns keep the default 2.

    Parameters
    ----------
    codes : Series or array-like
        Codes as strings or numbers.
    min_digits : int
        Shortest code length accepted as given (2 or 3).

    Returns
    -------
    Series of str aligned to the input, NA where the code is unknown.
    """
    series = _as_series(codes)
    return _map_unique(series, lambda v: _normalize_one(v, min_digits))


def lookup_codes(codes: object, min_digits: int = 2) -> pd.DataFrame:
    """Normalise codes and attach their root, quad class, Goldstein weight and family.

    Returns a frame aligned to the input index with columns ``cameo_code`` (NA when the
    code is unknown), ``root_code``, ``quad_class`` (Int8), ``goldstein`` (float32) and
    ``family``. See :func:`normalize_codes` for ``min_digits``.
    """
    series = _as_series(codes)
    norm = normalize_codes(series, min_digits=min_digits)
    table = cameo_table().set_index("code")
    pos = table.index.get_indexer(norm.fillna("~"))
    valid = pos >= 0
    take = np.where(valid, pos, 0)

    def col(name: str, dtype: str) -> pd.Series:
        values = table[name].to_numpy()[take]
        return pd.Series(values, index=series.index).where(valid).astype(dtype)

    return pd.DataFrame({
        "cameo_code": norm,
        "root_code": col("root_code", "str"),
        "quad_class": col("quad_class", "Int8"),
        "goldstein": col("goldstein", "float32"),
        "family": col("family", "str"),
    }, index=series.index)


# --- event names -------------------------------------------------------------------------

_SPACES = re.compile(r"[\s_]+")


def _name_key(name: object) -> str | None:
    if name is None or name is pd.NA or (isinstance(name, float) and np.isnan(name)):
        return None
    key = _SPACES.sub(" ", str(name)).strip().lower()
    return key or None


@lru_cache(maxsize=1)
def _event_name_index() -> dict[str, str]:
    """Lower-cased ICEWS event name -> code; a name shared by a root and its x0 code -> the x0 code."""
    table = cameo_table()
    index: dict[str, str] = {}
    for column in ("name", "icews_name"):
        for code, name in zip(table["code"], table[column], strict=True):
            key = _name_key(name)
            if key is None:
                continue
            current = index.get(key)
            if current is None or (len(current) == 2 and len(code) == 3 and code.startswith(current)):
                index[key] = code
    return index


def codes_for_event_names(names: object) -> pd.Series:
    """ICEWS event names -> CAMEO codes; case-insensitive, spaces or underscores; unknown -> NA.

    Root names that ICEWS also uses for the x0 code ("Consult", "Demand", "Coerce")
    map to the 3-digit code (040, 100, 170).

    >>> codes_for_event_names(pd.Series(["Make_statement", "consult", "nonsense"])).tolist()
    ['010', '040', nan]
    """
    index = _event_name_index()
    return _map_unique(_as_series(names), lambda v: index.get(_name_key(v) or ""))


# --- PLOVER ------------------------------------------------------------------------------


def plover_for_cameo(codes: object) -> pd.Series:
    """CAMEO codes -> PLOVER event type (2021 conversion); roots 01/02 and unknown codes -> NA."""
    table = cameo_table().set_index("code")["plover_type"]
    lookup = {code: (None if pd.isna(t) else t) for code, t in table.items()}
    norm = normalize_codes(codes)
    return _map_unique(norm, lambda v: lookup.get(v) if isinstance(v, str) else None)


def cameo_for_plover(types: object, modes: object = None) -> pd.Series:
    """PLOVER event types (and optionally modes) -> a representative CAMEO code; unknown -> NA.

    The type alone gives the x0 code of its first CAMEO root (see :func:`plover_table`);
    a known (type, mode) pair gives a closer code (ASSAULT/aerial -> 195,
    COERCE/arrest -> 173). Case-insensitive. Round trip: ``plover_for_cameo`` of the
    result is the input type for every PLOVER type.
    """
    table = plover_table()
    by_type = {t: c for t, m, c in zip(table["plover_type"], table["mode"], table["cameo_code"], strict=True) if not m}
    by_mode = {(t, m.lower()): c for t, m, c in zip(table["plover_type"], table["mode"], table["cameo_code"], strict=True) if m}
    tseries = _as_series(types)
    if modes is None:
        return _map_unique(tseries, lambda v: by_type.get(str(v).strip().upper()) if _name_key(v) else None)
    mseries = _as_series(modes)
    mseries.index = tseries.index
    key = tseries.astype("str").str.strip().str.upper() + "\t" + mseries.astype("str").str.strip().str.lower()

    def one(k: str) -> str | None:
        ptype, _, mode = k.partition("\t")
        return by_mode.get((ptype, mode)) or by_type.get(ptype)

    out = _map_unique(key.where(tseries.notna()), lambda k: one(k) if isinstance(k, str) else None)
    return out
