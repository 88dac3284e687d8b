"""Free-text actor names -> a country or an organisation, by the rules listed in :mod:`tension.actors`."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from ..errors import UsageError, problem
from .codes import is_country_code
from .names import OFFICE_WORDS, country_aliases, country_names, demonyms, name_key, org_index, party_index, person_index
from .organisations import ORGANISATIONS
from .tables import factorize, per_row

_TITLES = re.compile(
    r"^(?:(?:gen|general|lt gen|maj gen|brig gen|col|adm|admiral|dr|prof|president|prime minister|minister|"
    r"foreign minister|sheikh|shaikh|sheikha|tan sri|datuk seri|datuk|dato|datin|king|queen|prince|princess|"
    r"emir|sultan|ayatollah|grand ayatollah|mr|mrs|ms|sir|dame|lord|lady|chief|alhaji|senator|sen|rep|"
    r"gov|governor|mayor|ambassador|h ?e|his excellency|her excellency)\.?\s+)+"
)


_YEAR_GROUP = re.compile(r"\(\s*\d{4}\s*-\s*(?:\d{4})?\s*\)")


_CODE3 = re.compile(r"^[A-Z]{3}$")


def _inner(text: str) -> tuple[str | None, str | None]:
    """Resolve the bracketed part of a "Sector (X)" name: country, organisation, party or a nested sector."""
    key = name_key(text)
    if key in country_aliases():
        return country_aliases()[key], None
    if key in org_index():
        return None, org_index()[key]
    if key in party_index():
        return party_index()[key], None
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
            iso3 = demonyms().get(head) or country_names().get(head)
            if rest and iso3 and all(w in OFFICE_WORDS for w in rest):
                return iso3
        for n in (1, 2, 3):
            head, rest = " ".join(words[:n]), words[n:]
            if head.endswith("'s"):
                iso3 = country_names().get(head[:-2])
                if iso3 and rest and all(w in OFFICE_WORDS for w in rest):
                    return iso3
    left, sep, right = key.partition(" of ")
    if sep and left and all(w in OFFICE_WORDS for w in left.split()):
        tail = right.split()
        for n in range(len(tail), 0, -1):  # longest country name first: "south sudan" before "sudan"
            if iso3 := country_names().get(" ".join(tail[:n])):
                return iso3 if all(w in OFFICE_WORDS for w in tail[n:]) else None
        return _phrase(right) if " of " in right else None
    return None


def _resolve_static(name: object) -> tuple[str | None, str | None, int]:
    """(country, org, person id or -1) for one name, ignoring dates."""
    if name is None or name is pd.NA or (isinstance(name, float) and np.isnan(name)):
        return None, None, -1
    raw = str(name).strip()
    key = name_key(raw)
    if not key:
        return None, None, -1
    if key in org_index():
        return None, org_index()[key], -1
    if key in country_aliases():
        return country_aliases()[key], None, -1
    if key in party_index():
        return party_index()[key], None, -1
    ids, _ = person_index()
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
    codes, uniques = factorize(names)
    static = [_resolve_static(u) for u in uniques]
    country = per_row([s[0] for s in static], codes, names.index)
    org = per_row([s[1] for s in static], codes, names.index)
    person = np.array([s[2] for s in static] + [-1], dtype=np.int64)[codes]
    if (person >= 0).any():
        person_country = _resolve_people(person, dates, names.index)
        is_org = person_country.isin(ORGANISATIONS.keys())
        has_person = person >= 0
        country = country.where(~has_person, person_country.where(~is_org))
        org = org.where(~has_person, person_country.where(is_org))
    out = pd.DataFrame({"country": country.astype("str"), "org": org.astype("str")}, index=names.index)
    if detail:
        out["how"] = per_row([_how(u, s) for u, s in zip(uniques, static, strict=True)], codes, names.index)
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
    key = name_key(name)
    if key in org_index():
        return "org"
    if key in country_aliases():
        return "country"
    if key in party_index():
        return "party"
    if _trailing_group(str(name).replace("_", " ")):
        return "sector"
    return "phrase" if _phrase(key) else "code"


def _resolve_people(person: np.ndarray, dates: pd.Series | None, index: pd.Index) -> pd.Series:
    """Country (or org code) of each row's person: inside a term on that date, or the single one undated."""
    _, terms = person_index()
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
