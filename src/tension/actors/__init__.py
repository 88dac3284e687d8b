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

from .codes import SCHEMES, is_country_code, resolve_country_codes
from .names import OFFICE_WORDS, known_names, leaders_table, name_key
from .organisations import BLOC_KINDS, ORGANISATIONS, Membership, Organisation, apply_bloc_rule, is_bloc, org_members
from .resolve import resolve_actors, unresolved_counts

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
