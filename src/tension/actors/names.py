"""Name keys and the indexes of every name the resolver knows: countries, organisations, parties, people."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd
import pycountry

from .organisations import ORGANISATIONS
from .tables import read_table

_BLANKS = re.compile(r"[\s_\-\u2010-\u2015]+")


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})


def name_key(text: object) -> str:
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
def country_names() -> dict[str, str]:
    """Key -> alpha-3 for country names only (pycountry, ICEWS names, curated names)."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names.setdefault(name_key(value), country.alpha_3)
    codes = read_table("actors_codes.tsv")
    for name, iso3 in zip(codes.loc[codes["scheme"] == "icews", "code"], codes.loc[codes["scheme"] == "icews", "country"], strict=True):
        names.setdefault(name_key(name), iso3)
    aliases = read_table("actors_aliases.tsv")
    for alias, iso3 in zip(aliases.loc[aliases["kind"] == "name", "alias"], aliases.loc[aliases["kind"] == "name", "country"], strict=True):
        names[name_key(alias)] = iso3
    return names


def _plural(key: str) -> str | None:
    if len(key) <= 3 or key.endswith(("ese", "ish", "ch", "ss", "s", "x", "z")):
        return None
    return key + "s"


@lru_cache(maxsize=1)
def country_aliases() -> dict[str, str]:
    """Key -> alpha-3 for names plus capitals, metonyms and demonyms (and demonym plurals)."""
    table = dict(country_names())
    aliases = read_table("actors_aliases.tsv")
    for alias, iso3, kind in aliases.itertuples(index=False):
        key = name_key(alias)
        table.setdefault(key, iso3)
        if kind == "demonym" and (plural := _plural(key)):
            table.setdefault(plural, iso3)
    return table


@lru_cache(maxsize=1)
def demonyms() -> dict[str, str]:
    """Key -> alpha-3 for demonyms only ("armenian", "azerbaijani")."""
    aliases = read_table("actors_aliases.tsv")
    out: dict[str, str] = {}
    for alias, iso3, kind in aliases.itertuples(index=False):
        if kind == "demonym":
            out[name_key(alias)] = iso3
    return out


@lru_cache(maxsize=1)
def org_index() -> dict[str, str]:
    """Key -> organisation code for every code, name and alias."""
    index: dict[str, str] = {}
    for code, org in ORGANISATIONS.items():
        for alias in (code, org.name, *org.aliases):
            index.setdefault(name_key(alias), code)
    return index


@lru_cache(maxsize=1)
def party_index() -> dict[str, str]:
    """Key -> alpha-3 for parties and armed groups that belong to one country."""
    table = read_table("actors_parties.tsv")
    return {name_key(name): iso3 for name, iso3 in zip(table["name"], table["country"], strict=True)}


@lru_cache(maxsize=1)
def leaders_table() -> pd.DataFrame:
    """People in office with their terms: name, aliases, country (ISO alpha-3 or org code), role, start, end.

    ``start``/``end`` are datetime64 (``end`` NaT while in office). One row per term.
    """
    table = read_table("actors_leaders.tsv")
    table["start"] = pd.to_datetime(table["start"])
    table["end"] = pd.to_datetime(table["end"].replace("", None))
    return table


@lru_cache(maxsize=1)
def person_index() -> tuple[dict[str, int], pd.DataFrame]:
    """Key -> person id, and the terms frame (person, country, start, end) for interval checks."""
    table = leaders_table()
    ids: dict[str, int] = {}
    person_of_row: list[int] = []
    for name, aliases in zip(table["name"], table["aliases"], strict=True):
        pid = ids.setdefault(name_key(name), len(set(ids.values())))
        for alias in filter(None, (a.strip() for a in aliases.split(";"))):
            ids.setdefault(name_key(alias), pid)
        person_of_row.append(pid)
    terms = pd.DataFrame({
        "person": np.asarray(person_of_row, dtype=np.int64),
        "country": table["country"].to_numpy(),
        "start": table["start"].to_numpy(),
        "end": table["end"].fillna(pd.Timestamp.max.normalize()).to_numpy(),
    })
    return ids, terms


OFFICE_WORDS: frozenset[str] = frozenset(
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
"""Words that may follow a country name in an actor phrase ("Armenian Foreign Ministry")."""


@lru_cache(maxsize=1)
def known_names() -> dict[str, tuple[str, str]]:
    """Every name the resolver knows, as ``name_key -> (kind, code)``, for finding actors in free text.

    ``kind`` is ``org`` (code: organisation), ``country`` (names, capitals, metonyms,
    demonyms and their plurals; code: ISO alpha-3), ``party`` (code: its country) or
    ``person`` (code: '' -- people resolve through :func:`resolve_actors` with a date).
    """
    out: dict[str, tuple[str, str]] = {}
    ids, _ = person_index()
    for key in ids:
        out[key] = ("person", "")
    for key, iso3 in party_index().items():
        out[key] = ("party", iso3)
    for key, iso3 in country_aliases().items():
        out[key] = ("country", iso3)
    for key, code in org_index().items():
        out[key] = ("org", code)
    out.pop("", None)
    return out
