"""Country codes in one scheme (ISO alpha-3, CAMEO, ISO numeric, FIPS, names) -> ISO alpha-3."""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import pycountry

from ..errors import UsageError, problem
from .names import country_names, name_key
from .tables import factorize, per_row, read_table

SCHEMES: tuple[str, ...] = ("iso3", "cameo", "iso_numeric", "fips", "name")


_USER_ASSIGNED = re.compile(r"^X[A-Z]{2}$")


@lru_cache(maxsize=1)
def _iso3() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.countries) | {"XKX"}


def is_country_code(code: str) -> bool:
    """True for an ISO 3166-1 alpha-3 code, Kosovo ``XKX`` or a user-assigned ``XAA``..``XZZ`` code."""
    return code in _iso3() or bool(_USER_ASSIGNED.match(code))


@lru_cache(maxsize=1)
def _scheme_tables() -> dict[str, dict[str, str]]:
    codes = read_table("actors_codes.tsv")
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
    names = country_names()
    return lambda v: names.get(name_key(v)) if text(v) else None


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
    fcodes, uniques = factorize(codes)
    return per_row([resolver(u) for u in uniques], fcodes, codes.index).astype("str")
