"""Actor resolution: free-text actor names and country codes -> ISO alpha-3 country or organisation.

Countries are ISO 3166-1 alpha-3 (``ARM``); Kosovo is ``XKX``; synthetic countries use
the ISO user-assigned range ``XAA``..``XZZ`` (accepted when the input already is such a
code, never invented from a name). Organisations keep short codes of their own (``EU``,
``NATO``, ``CSTO``) and are never countries. Anything not matched is NA: callers count
and list it; nothing is guessed.

How a name resolves (first rule that matches wins; matching ignores case, accents,
underscores, hyphens, repeated blanks and a leading "the"):

1. organisation names, codes and aliases (``data/actors_orgs.tsv``): "NATO",
   "UN Security Council", "European Commission" -> org;
2. country names: pycountry names, official and common names, ICEWS full names
   ("Russian Federation", "Occupied Palestinian Territory"; ``data/actors_codes.tsv``)
   and curated aliases, capitals, metonyms and demonyms (``data/actors_aliases.tsv``:
   "Moscow", "the Kremlin", "White House", "Azerbaijani", "Armenians");
3. parties and armed groups that belong to one country (``data/actors_parties.tsv``);
4. people in office (``data/actors_leaders.tsv``: heads of state and government, foreign
   ministers, other ministers, governors and party leaders, heads of international
   organisations, each with their terms; titles such as "Gen" or "Sheikh" are ignored):
   when a date is given, a person resolves only on days inside one of their terms;
   without dates, to their single country (or organisation);
5. ICEWS "Sector (Country)" names: "Government (Armenia)", "Party Member (Kuomintang)",
   "Children (Palestinian Territory, Occupied)": the part in brackets is resolved by
   rules 1-3;
6. phrases "<demonym> <office words>" ("Russian Foreign Ministry") and "<office words> of
   <country>" ("Government of Armenia"); an ACLED year range is dropped first ("Military
   Forces of Russia (2000-)");
7. codes: an upper-case ISO alpha-3 code or a user-assigned ``X..`` code.

Examples
--------
>>> import pandas as pd
>>> resolve_actors(pd.Series(["Government (Armenia)", "the Kremlin", "NATO", "Xyz"])).values.tolist()
[['ARM', nan], ['RUS', nan], [nan, 'NATO'], [nan, nan]]
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
import pycountry

from .errors import UsageError, problem
from .taxonomy import BLOC_MOVE_CODES

__all__ = [
    "Organisation",
    "Membership",
    "ORGANISATIONS",
    "BLOC_KINDS",
    "org_members",
    "is_bloc",
    "apply_bloc_rule",
    "resolve_actors",
    "resolve_country_codes",
    "is_country_code",
    "leaders_table",
    "unresolved_counts",
    "SCHEMES",
    "name_key",
    "known_names",
    "OFFICE_WORDS",
]

SCHEMES: tuple[str, ...] = ("iso3", "cameo", "iso_numeric", "fips", "name")
BLOC_KINDS: frozenset[str] = frozenset({"alliance", "bloc"})
"""Organisation kinds whose join/leave/cooperate events are alliance moves (see ``apply_bloc_rule``)."""

_USER_ASSIGNED = re.compile(r"^X[A-Z]{2}$")
_TITLES = re.compile(
    r"^(?:(?:gen|general|lt gen|maj gen|brig gen|col|adm|admiral|dr|prof|president|prime minister|minister|"
    r"foreign minister|sheikh|shaikh|sheikha|tan sri|datuk seri|datuk|dato|datin|king|queen|prince|princess|"
    r"emir|sultan|ayatollah|grand ayatollah|mr|mrs|ms|sir|dame|lord|lady|chief|alhaji|senator|sen|rep|"
    r"gov|governor|mayor|ambassador|h ?e|his excellency|her excellency)\.?\s+)+"
)
_YEAR_GROUP = re.compile(r"\(\s*\d{4}\s*-\s*(?:\d{4})?\s*\)")
_CODE3 = re.compile(r"^[A-Z]{3}$")


# --- tables ------------------------------------------------------------------------------


def _read_table(name: str) -> pd.DataFrame:
    with resources.files("tension").joinpath("data", name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False, quoting=3)


@dataclass(frozen=True)
class Membership:
    """One country's membership of an organisation; ``start``/``end`` are ISO dates or ''."""

    country: str
    start: str = ""
    end: str = ""

    def active(self, day: pd.Timestamp) -> bool:
        """True when ``day`` falls inside the membership (open ends are unbounded)."""
        return (not self.start or day >= pd.Timestamp(self.start)) and (not self.end or day <= pd.Timestamp(self.end))


@dataclass(frozen=True)
class Organisation:
    """An international organisation (never a country).

    ``members`` are the current members (memberships without an end date);
    ``memberships`` is the full dated history since 2005 where it is known.
    ``kind``: alliance, bloc, regional, universal, forum, court or ngo.
    """

    code: str
    name: str
    members: tuple[str, ...]
    kind: str = "regional"
    aliases: tuple[str, ...] = ()
    memberships: tuple[Membership, ...] = ()


def _parse_members(text: str, expand: dict[str, tuple[Membership, ...]]) -> tuple[Membership, ...]:
    out: list[Membership] = []
    for token in filter(None, (t.strip() for t in text.split(";"))):
        if token.startswith("@"):
            out.extend(expand[token[1:]])
            continue
        country, _, span = token.partition("@")
        start, _, end = span.partition("..")
        out.append(Membership(country, start, end))
    return tuple(out)


def _load_organisations() -> dict[str, Organisation]:
    table = _read_table("actors_orgs.tsv")
    orgs: dict[str, Organisation] = {}
    histories: dict[str, tuple[Membership, ...]] = {}
    for row in table.itertuples(index=False):
        history = _parse_members(row.members, histories)
        histories[row.code] = history
        orgs[row.code] = Organisation(
            code=row.code,
            name=row.name,
            members=tuple(m.country for m in history if not m.end),
            kind=row.kind,
            aliases=tuple(a.strip() for a in row.aliases.split(";") if a.strip()),
            memberships=history,
        )
    return orgs


ORGANISATIONS: dict[str, Organisation] = _load_organisations()
"""Organisation code -> :class:`Organisation` (EU, NATO, CSTO, UN, AU, ASEAN, OSCE, CIS, EAEU, GCC, SCO, ...)."""


def org_members(code: str, date: object = None) -> tuple[str, ...]:
    """Member countries of an organisation, on ``date`` when given (else the current members).

    >>> "ARM" in org_members("CSTO"), "GBR" in org_members("EU"), "GBR" in org_members("EU", "2015-06-01")
    (True, False, True)
    """
    org = ORGANISATIONS.get(str(code).upper())
    if org is None:
        raise UsageError(problem(f"Unknown organisation {code!r}.", "one of " + ", ".join(sorted(ORGANISATIONS)),
                                 code, "Use an organisation code from tension.actors.ORGANISATIONS."))
    if date is None:
        return org.members
    day = pd.Timestamp(date)
    return tuple(dict.fromkeys(m.country for m in org.memberships if m.active(day)))


def is_bloc(orgs: pd.Series) -> pd.Series:
    """True where the organisation code is an alliance or bloc (kind in :data:`BLOC_KINDS`)."""
    blocs = {code for code, org in ORGANISATIONS.items() if org.kind in BLOC_KINDS}
    return orgs.isin(blocs).fillna(False).astype(bool)


def apply_bloc_rule(codes: pd.Series, families: pd.Series, source_org: pd.Series, target_org: pd.Series) -> pd.Series:
    """Families with the bloc rule applied: a bloc-move code with an alliance or bloc on one side -> alliance_move.

    Joining, suspending or leaving a bloc has no CAMEO code of its own; it is coded as
    intent to cooperate, cooperation, rejection or reduced relations towards the bloc.
    So an event whose code is in ``taxonomy.BLOC_MOVE_CODES`` and whose source or
    target organisation is an alliance or bloc (NATO, CSTO, EU, EAEU, CIS, GCC, SCO,
    ASEAN, BRICS, ECOWAS, MERCOSUR, OPEC) becomes ``alliance_move``. Incidents stay
    incidents. Inputs are aligned Series; the result is a new Series.
    """
    bloc = is_bloc(source_org) | is_bloc(target_org)
    move = codes.isin(BLOC_MOVE_CODES).fillna(False).astype(bool) & bloc & (families != "incident")
    out = families.copy()
    out[move.to_numpy()] = "alliance_move"
    return out


# --- name keys ---------------------------------------------------------------------------

_BLANKS = re.compile(r"[\s_\-\u2010-\u2015]+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})


def _key(text: object) -> str:
    """Matching key: accents, case, underscores, hyphens, blank runs and a leading 'the ' removed."""
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return ""
    plain = str(text)
    if not plain.isascii():
        decomposed = unicodedata.normalize("NFKD", plain.translate(_QUOTES))
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    key = _BLANKS.sub(" ", plain).strip().casefold()
    if key.startswith("the "):
        key = key[4:]
    return key.strip(" .,;:")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Key -> alpha-3 for country names only (pycountry, ICEWS names, curated names)."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names.setdefault(_key(value), country.alpha_3)
    codes = _read_table("actors_codes.tsv")
    for name, iso3 in zip(codes.loc[codes["scheme"] == "icews", "code"], codes.loc[codes["scheme"] == "icews", "country"], strict=True):
        names.setdefault(_key(name), iso3)
    aliases = _read_table("actors_aliases.tsv")
    for alias, iso3 in zip(aliases.loc[aliases["kind"] == "name", "alias"], aliases.loc[aliases["kind"] == "name", "country"], strict=True):
        names[_key(alias)] = iso3
    return names


def _plural(key: str) -> str | None:
    if len(key) <= 3 or key.endswith(("ese", "ish", "ch", "ss", "s", "x", "z")):
        return None
    return key + "s"


@lru_cache(maxsize=1)
def _country_aliases() -> dict[str, str]:
    """Key -> alpha-3 for names plus capitals, metonyms and demonyms (and demonym plurals)."""
    table = dict(_country_names())
    aliases = _read_table("actors_aliases.tsv")
    for alias, iso3, kind in aliases.itertuples(index=False):
        key = _key(alias)
        table.setdefault(key, iso3)
        if kind == "demonym" and (plural := _plural(key)):
            table.setdefault(plural, iso3)
    return table


@lru_cache(maxsize=1)
def _demonyms() -> dict[str, str]:
    aliases = _read_table("actors_aliases.tsv")
    out: dict[str, str] = {}
    for alias, iso3, kind in aliases.itertuples(index=False):
        if kind == "demonym":
            out[_key(alias)] = iso3
    return out


@lru_cache(maxsize=1)
def _org_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, org in ORGANISATIONS.items():
        for alias in (code, org.name, *org.aliases):
            index.setdefault(_key(alias), code)
    return index


@lru_cache(maxsize=1)
def _party_index() -> dict[str, str]:
    table = _read_table("actors_parties.tsv")
    return {_key(name): iso3 for name, iso3 in zip(table["name"], table["country"], strict=True)}


@lru_cache(maxsize=1)
def leaders_table() -> pd.DataFrame:
    """People in office with their terms: name, aliases, country (ISO alpha-3 or org code), role, start, end.

    ``start``/``end`` are datetime64 (``end`` NaT while in office). One row per term.
    """
    table = _read_table("actors_leaders.tsv")
    table["start"] = pd.to_datetime(table["start"])
    table["end"] = pd.to_datetime(table["end"].replace("", None))
    return table


@lru_cache(maxsize=1)
def _person_index() -> tuple[dict[str, int], pd.DataFrame]:
    """Key -> person id, and the terms frame (person, country, start, end) for interval checks."""
    table = leaders_table()
    ids: dict[str, int] = {}
    person_of_row: list[int] = []
    for name, aliases in zip(table["name"], table["aliases"], strict=True):
        pid = ids.setdefault(_key(name), len(set(ids.values())))
        for alias in filter(None, (a.strip() for a in aliases.split(";"))):
            ids.setdefault(_key(alias), pid)
        person_of_row.append(pid)
    terms = pd.DataFrame({
        "person": np.asarray(person_of_row, dtype=np.int64),
        "country": table["country"].to_numpy(),
        "start": table["start"].to_numpy(),
        "end": table["end"].fillna(pd.Timestamp.max.normalize()).to_numpy(),
    })
    return ids, terms


_OFFICE_WORDS = frozenset(
    """government govt ministry minister ministers foreign affairs defense defence interior prime president
    presidential military army navy naval air force forces troops soldiers police officials official
    authorities authority embassy ambassador diplomat diplomats diplomacy parliament parliamentary lawmakers
    legislature security border guards guard intelligence leader leaders leadership cabinet state media
    people citizens civilians opposition court courts judiciary special services coast national delegation
    envoy spokesman spokeswoman spokesperson office regime administration junta navy marines militants
    rebels insurgents protesters protestors demonstrators students workers businessmen business prosecutors
    prosecutor judges judge warplanes jets aircraft fighter fighters drones gunmen commandos the of and
    top senior high ranking armed public general staff chief commander commanders officers officer
    counterpart counterparts head heads republic federal central bank economy finance trade health energy
    justice education nuclear negotiators negotiator team peacekeepers peacekeeping bar association embassy
    consulate coast agency ministry's navy's airline airlines airways television radio news
    press newspaper spokesperson officials' customs immigration police's""".split()
)


def _inner(text: str) -> tuple[str | None, str | None]:
    """Resolve the bracketed part of a "Sector (X)" name: country, organisation, party or a nested sector."""
    key = _key(text)
    if key in _country_aliases():
        return _country_aliases()[key], None
    if key in _org_index():
        return None, _org_index()[key]
    if key in _party_index():
        return _party_index()[key], None
    nested = _trailing_group(text)
    return _inner(nested) if nested else (None, None)


def _trailing_group(text: str) -> str | None:
    """The text inside the last balanced bracket group that ends the string, e.g. "A (B (C))" -> "B (C)"."""
    text = text.rstrip()
    if not text.endswith(")"):
        return None
    depth = 0
    for pos in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[pos], 0)
        if depth == 0:
            inner = text[pos + 1 : -1].strip()
            return inner or None
    return None


def _phrase(key: str) -> str | None:
    """'<demonym or country> <office words>' ("Russian Foreign Ministry", "UAE Armed Forces") or
    '<office words> of <country>' ("Government of Armenia") -> country."""
    words = key.split()
    if len(words) >= 2:
        for n in (2, 1):
            head, rest = " ".join(words[:n]), words[n:]
            iso3 = _demonyms().get(head) or _country_names().get(head)
            if rest and iso3 and all(w in _OFFICE_WORDS for w in rest):
                return iso3
        for n in (1, 2, 3):
            head, rest = " ".join(words[:n]), words[n:]
            if head.endswith("'s"):
                iso3 = _country_names().get(head[:-2])
                if iso3 and rest and all(w in _OFFICE_WORDS for w in rest):
                    return iso3
    left, sep, right = key.partition(" of ")
    if sep and left and all(w in _OFFICE_WORDS for w in left.split()):
        tail = right.split()
        for n in range(len(tail), 0, -1):  # longest country name first: "south sudan" before "sudan"
            if iso3 := _country_names().get(" ".join(tail[:n])):
                return iso3 if all(w in _OFFICE_WORDS for w in tail[n:]) else None
        return _phrase(right) if " of " in right else None
    return None


OFFICE_WORDS: frozenset[str] = _OFFICE_WORDS
"""Words that may follow a country name in an actor phrase ("Armenian Foreign Ministry")."""


def name_key(text: object) -> str:
    """The matching key the resolver uses (case, accents, hyphens, blank runs and a leading "the" ignored)."""
    return _key(text)


@lru_cache(maxsize=1)
def known_names() -> dict[str, tuple[str, str]]:
    """Every name the resolver knows, as ``name_key -> (kind, code)``, for finding actors in free text.

    ``kind`` is ``org`` (code: organisation), ``country`` (names, capitals, metonyms,
    demonyms and their plurals; code: ISO alpha-3), ``party`` (code: its country) or
    ``person`` (code: '' -- people resolve through :func:`resolve_actors` with a date).
    """
    out: dict[str, tuple[str, str]] = {}
    ids, _ = _person_index()
    for key in ids:
        out[key] = ("person", "")
    for key, iso3 in _party_index().items():
        out[key] = ("party", iso3)
    for key, iso3 in _country_aliases().items():
        out[key] = ("country", iso3)
    for key, code in _org_index().items():
        out[key] = ("org", code)
    out.pop("", None)
    return out


def _resolve_static(name: object) -> tuple[str | None, str | None, int]:
    """(country, org, person id or -1) for one name, ignoring dates."""
    if name is None or name is pd.NA or (isinstance(name, float) and np.isnan(name)):
        return None, None, -1
    raw = str(name).strip()
    key = _key(raw)
    if not key:
        return None, None, -1
    if key in _org_index():
        return None, _org_index()[key], -1
    if key in _country_aliases():
        return _country_aliases()[key], None, -1
    if key in _party_index():
        return _party_index()[key], None, -1
    ids, _ = _person_index()
    if key in ids:
        return None, None, ids[key]
    untitled = _TITLES.sub("", key)
    if untitled != key and untitled in ids:  # "Gen Prayut Chan-o-cha", "Tan Sri Muhyiddin Yassin"
        return None, None, ids[untitled]
    if _YEAR_GROUP.search(raw):  # ACLED: "Military Forces of Russia (2000-) Air Force"
        return _resolve_static(" ".join(_YEAR_GROUP.sub(" ", raw).split()))
    inner = _trailing_group(raw.replace("_", " "))
    if inner:
        country, org = _inner(inner)
        if country or org:
            return country, org, -1
    if (country := _phrase(key)) is not None:
        return country, None, -1
    if _CODE3.match(raw) and is_country_code(raw):
        return raw, None, -1
    return None, None, -1


def _factorize(values: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Codes into the distinct values (-1 for missing) and the distinct values as a plain list."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(np.asarray(uniques, dtype=object))


def _take(mapped: list[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Broadcast one result per distinct value back to the rows (code -1 -> the trailing NA)."""
    arr = np.array(mapped + [None], dtype=object)
    return pd.Series(arr[codes], index=index, dtype="str")


def resolve_actors(names: pd.Series, dates: pd.Series | None = None, detail: bool = False) -> pd.DataFrame:
    """Resolve free-text actor names to a country (ISO alpha-3) or an organisation code.

    Parameters
    ----------
    names : Series of str
        Actor names as the source writes them (ICEWS "Government (Armenia)", bare
        countries, "Vladimir Putin", "the Kremlin", "Azerbaijani", "NATO"; spaces or
        underscores).
    dates : Series, optional
        Event dates aligned to ``names``. People resolve only inside their terms; a
        person on a row with a missing date stays unresolved. Without ``dates`` a person
        resolves to their single country (or organisation).
    detail : bool
        Add a ``how`` column (org, country, party, person, sector, phrase, code or NA).

    Returns
    -------
    DataFrame aligned to ``names`` with ``country`` and ``org`` (NA where unresolved;
    at most one of the two is set per row).
    """
    if not isinstance(names, pd.Series):
        names = pd.Series(names)
    codes, uniques = _factorize(names)
    static = [_resolve_static(u) for u in uniques]
    country = _take([s[0] for s in static], codes, names.index)
    org = _take([s[1] for s in static], codes, names.index)
    person = np.array([s[2] for s in static] + [-1], dtype=np.int64)[codes]
    if (person >= 0).any():
        person_country = _resolve_people(person, dates, names.index)
        is_org = person_country.isin(ORGANISATIONS.keys())
        has_person = person >= 0
        country = country.where(~has_person, person_country.where(~is_org))
        org = org.where(~has_person, person_country.where(is_org))
    out = pd.DataFrame({"country": country.astype("str"), "org": org.astype("str")}, index=names.index)
    if detail:
        out["how"] = _take([_how(u, s) for u, s in zip(uniques, static, strict=True)], codes, names.index)
    return out


def unresolved_counts(names: pd.Series, resolved: pd.DataFrame) -> Counter[str]:
    """Counter of the non-empty actor names that resolved to neither a country nor an organisation.

    ``resolved`` is the output of :func:`resolve_actors` for ``names`` (same length, by position).

    >>> names = pd.Series(["Armenia", "Xyz", "Xyz", ""])
    >>> unresolved_counts(names, resolve_actors(names))
    Counter({'Xyz': 2})
    """
    missing = resolved["country"].isna().to_numpy() & resolved["org"].isna().to_numpy()
    texts = pd.Series(names.to_numpy()[missing], dtype="str").str.strip()
    counts = texts[texts.notna() & (texts != "")].value_counts()
    return Counter(dict(zip(counts.index, counts.to_numpy().tolist(), strict=True)))


def _how(name: object, static: tuple[str | None, str | None, int]) -> str | None:
    if static[2] >= 0:
        return "person"
    if static[0] is None and static[1] is None:
        return None
    key = _key(name)
    if key in _org_index():
        return "org"
    if key in _country_aliases():
        return "country"
    if key in _party_index():
        return "party"
    if _trailing_group(str(name).replace("_", " ")):
        return "sector"
    return "phrase" if _phrase(key) else "code"


def _resolve_people(person: np.ndarray, dates: pd.Series | None, index: pd.Index) -> pd.Series:
    """Country (or org code) of each row's person: inside a term on that date, or the single one undated."""
    _, terms = _person_index()
    result = np.full(len(person), None, dtype=object)
    rows = np.flatnonzero(person >= 0)
    if dates is None:
        single = terms.groupby("person")["country"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else None)
        result[rows] = single.reindex(person[rows]).to_numpy()
        return pd.Series(result, index=index, dtype=object)
    if len(dates) != len(person):
        raise UsageError(problem("Actor names and dates differ in length.", f"{len(person)} dates", len(dates),
                                 "Pass dates aligned to the names."))
    day = pd.to_datetime(pd.Series(pd.Series(dates).to_numpy()[rows]), errors="coerce")
    if getattr(day.dt, "tz", None) is not None:
        day = day.dt.tz_convert("UTC").dt.tz_localize(None)
    day = day.to_numpy()
    frame = pd.DataFrame({"row": rows, "person": person[rows], "day": day})
    merged = frame.merge(terms, on="person", how="inner")
    inside = merged[(merged["day"] >= merged["start"]) & (merged["day"] <= merged["end"])]
    first = inside.drop_duplicates("row")
    result[first["row"].to_numpy()] = first["country"].to_numpy()
    return pd.Series(result, index=index, dtype=object)


# --- codes -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _iso3() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.countries) | {"XKX"}


def is_country_code(code: str) -> bool:
    """True for an ISO 3166-1 alpha-3 code, Kosovo ``XKX`` or a user-assigned ``XAA``..``XZZ`` code."""
    return code in _iso3() or bool(_USER_ASSIGNED.match(code))


@lru_cache(maxsize=1)
def _scheme_tables() -> dict[str, dict[str, str]]:
    codes = _read_table("actors_codes.tsv")
    tables = {scheme: dict(zip(group["code"], group["country"], strict=True)) for scheme, group in codes.groupby("scheme")}
    tables["iso_numeric"] = {c.numeric: c.alpha_3 for c in pycountry.countries}
    return tables


def _code_resolver(scheme: str) -> Callable[[object], str | None]:
    tables = _scheme_tables()

    def text(value: object) -> str | None:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        return str(value).strip() or None

    if scheme == "iso3":
        return lambda v: (t if (t := (text(v) or "").upper()) and is_country_code(t) else None)
    if scheme == "cameo":
        cameo = tables["cameo"]

        def one(v: object) -> str | None:
            t = (text(v) or "").upper()
            return cameo.get(t) or (t if t and is_country_code(t) else None)
        return one
    if scheme == "fips":
        fips = tables["fips"]
        return lambda v: fips.get((text(v) or "").upper())
    if scheme == "iso_numeric":
        numeric = tables["iso_numeric"]

        def num(v: object) -> str | None:
            t = re.sub(r"\.0+$", "", text(v) or "")
            return numeric.get(t.zfill(3)) if t.isdigit() else None
        return num
    names = _country_names()
    return lambda v: names.get(_key(v)) if text(v) else None


def resolve_country_codes(codes: pd.Series, scheme: str) -> pd.Series:
    """Country codes or names in one scheme -> ISO alpha-3; unknown -> NA.

    Schemes: ``iso3`` (alpha-3, ``XKX``, user-assigned ``X..``), ``cameo`` (CAMEO/GDELT
    actor country codes: ROM -> ROU, TMP -> TLS, MTN -> MNE, IMY -> IMN, KSV -> XKX, the
    sub-state WSB/GZS -> PSE and BAG -> IRQ; region codes such as EUR or WST -> NA),
    ``iso_numeric`` (ACLED ``iso``; "4" or "004"), ``fips`` (FIPS 10-4, GDELT geo
    columns: RS -> RUS, UP -> UKR) and ``name`` (country names only: ISO, ICEWS full
    names such as "Moldova, Republic of", common short names).

    >>> resolve_country_codes(pd.Series(["ROM", "EUR", "ARM"]), "cameo").tolist()
    ['ROU', nan, 'ARM']
    """
    if scheme not in SCHEMES:
        raise UsageError(problem(f"Unknown country-code scheme {scheme!r}.", ", ".join(SCHEMES), scheme,
                                 "Pick one of the listed schemes."))
    if not isinstance(codes, pd.Series):
        codes = pd.Series(codes)
    resolver = _code_resolver(scheme)
    fcodes, uniques = _factorize(codes)
    return _take([resolver(u) for u in uniques], fcodes, codes.index).astype("str")
