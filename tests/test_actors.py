"""Actor names and country codes -> ISO alpha-3 country or organisation; nothing guessed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tension import actors
from tension.actors import ORGANISATIONS, apply_bloc_rule, org_members, resolve_actors, resolve_country_codes
from tension.actors.tables import read_table
from tension.errors import UsageError

ISO3 = {c.alpha_3 for c in pycountry.countries} | {"XKX"}


def one(name: str, date: str | None = None) -> tuple[str | None, str | None]:
    dates = None if date is None else pd.Series([date])
    row = resolve_actors(pd.Series([name]), dates).iloc[0]
    return (None if pd.isna(row["country"]) else row["country"], None if pd.isna(row["org"]) else row["org"])


@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("Government (Armenia)", "ARM"),
        ("Citizen_(Azerbaijan)", "AZE"),
        ("Foreign Affairs (Bangladesh)", "BGD"),
        ("Children (Palestinian Territory, Occupied)", "PSE"),
        ("Cabinet / Council of Ministers / Advisors (United States)", "USA"),
        ("Police (Macedonia)", "MKD"),
        ("Party Member (Kuomintang)", "TWN"),
        ("Combatant (Taliban)", "AFG"),
    ],
)
def test_icews_sector_pattern(name, country):
    assert one(name) == (country, None)


@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("Moscow", "RUS"), ("the Kremlin", "RUS"), ("Kremlin", "RUS"), ("Yerevan", "ARM"), ("Baku", "AZE"),
        ("Kyiv", "UKR"), ("Kiev", "UKR"), ("Washington", "USA"), ("White House", "USA"), ("Beijing", "CHN"),
        ("Downing Street", "GBR"), ("Tbilisi", "GEO"), ("Pristina", "XKX"),
    ],
)
def test_capitals_and_metonyms(name, country):
    assert one(name) == (country, None)


@pytest.mark.parametrize(
    ("name", "country"),
    [("Armenian", "ARM"), ("Azerbaijani", "AZE"), ("Azeri", "AZE"), ("Russian", "RUS"), ("Armenians", "ARM"),
     ("Georgians", "GEO"), ("Chinese", "CHN"), ("Russian Foreign Ministry", "RUS"), ("Armenian military", "ARM"),
     ("Government of Azerbaijan", "AZE"), ("UAE Armed Forces", "ARE")],
)
def test_demonyms_and_phrases(name, country):
    assert one(name) == (country, None)


@pytest.mark.parametrize(
    ("name", "country"),
    [("Russian Federation", "RUS"), ("Occupied Palestinian Territory", "PSE"), ("Moldova, Republic of", "MDA"),
     ("Iran", "IRN"), ("South Korea", "KOR"), ("North Korea", "PRK"), ("Macedonia", "MKD"), ("Kosovo", "XKX"),
     ("Democratic Republic of Congo", "COD"), ("Swaziland", "SWZ"), ("Cote d'Ivoire", "CIV"), ("Burma", "MMR"),
     ("ARMENIA", "ARM"), ("  armenia ", "ARM")],
)
def test_country_names_and_icews_variants(name, country):
    assert one(name) == (country, None)


@pytest.mark.parametrize(("name", "country"), [("Hezbollah", "LBN"), ("Likud", "ISR"), ("Kuomintang", "TWN"),
                                                ("Republican Party of Armenia", "ARM"), ("Civil Contract", "ARM")])
def test_parties_belong_to_one_country(name, country):
    assert one(name) == (country, None)


def test_leader_resolves_only_inside_a_term():
    names = pd.Series(["Donald Tusk"] * 4 + ["Vladimir Putin", "Barack Obama", "Barack Obama", "Nikol Pashinyan",
                                               "Nikol Pashinyan", "Serzh Sargsyan"])
    dates = pd.Series(["2010-05-01", "2016-05-01", "2022-05-01", "2024-05-01", "2009-06-01", "2004-06-01",
                       "2012-06-01", "2015-06-01", "2019-06-01", "2009-01-01"])
    out = resolve_actors(names, dates)
    assert out["country"].tolist()[:2] == ["POL", None] or pd.isna(out["country"].iloc[1])
    assert out.loc[0, "country"] == "POL" and pd.isna(out.loc[0, "org"])
    assert pd.isna(out.loc[1, "country"]) and out.loc[1, "org"] == "EU"  # President of the European Council
    assert out.loc[2, ["country", "org"]].isna().all()  # between offices: unresolved
    assert out.loc[3, "country"] == "POL"
    assert out.loc[4, "country"] == "RUS"  # prime minister 2008-2012
    assert pd.isna(out.loc[5, "country"])  # before the Senate
    assert out.loc[6, "country"] == "USA"
    assert pd.isna(out.loc[7, "country"]) and out.loc[8, "country"] == "ARM"
    assert out.loc[9, "country"] == "ARM"


def test_leader_spellings_and_accents():
    assert one("Dmitry Anatolyevich Medvedev", "2010-01-01") == ("RUS", None)
    assert one("Oluṣẹgun Ọbasanjọ", "2006-01-01") == ("NGA", None)
    assert one("Abdullah Gul", "2010-01-01") == ("TUR", None)
    assert one("Vladimir_Putin", "2020-01-01") == ("RUS", None)


def test_leader_without_date_uses_single_country_and_missing_date_stays_unresolved():
    undated = resolve_actors(pd.Series(["Ilham Aliyev", "Donald Tusk"]))
    assert undated.loc[0, "country"] == "AZE"
    assert undated.loc[1, ["country", "org"]].isna().all()  # Poland and the EU: ambiguous without a date
    dated = resolve_actors(pd.Series(["Ilham Aliyev", "Ilham Aliyev"]), pd.Series(["2015-01-01", None]))
    assert dated.loc[0, "country"] == "AZE" and pd.isna(dated.loc[1, "country"])


@pytest.mark.parametrize("name", ["NATO", "European Union", "EU", "CSTO", "UN Security Council", "African Union",
                                  "Association of Southeast Asian Nations", "OSCE", "Commonwealth of Independent States",
                                  "Eurasian Economic Union", "Gulf Cooperation Council", "Arab League", "OAS", "SCO"])
def test_organisations_are_never_countries(name):
    country, org = one(name)
    assert country is None and org in ORGANISATIONS


def test_no_organisation_code_or_alias_resolves_to_a_country():
    names = [alias for org in ORGANISATIONS.values() for alias in (org.code, org.name, *org.aliases)]
    out = resolve_actors(pd.Series(names))
    assert out["country"].isna().all()
    assert out["org"].notna().all()
    assert not set(ORGANISATIONS) & ISO3


def test_unresolved_names_are_na_and_countable():
    names = pd.Series(["Xyzzy Plugh", "", None, "Middle East", "Media (Africa)", "Government (Armenia)", "Xanadu",
                       "Democratic Party", np.nan])
    out = resolve_actors(names)
    unresolved = out["country"].isna() & out["org"].isna()
    assert int(unresolved.sum()) == 8
    assert names[unresolved].value_counts().to_dict()["Xyzzy Plugh"] == 1


def test_codes_as_input_including_user_assigned_range():
    assert one("XAA") == ("XAA", None)
    assert one("XKX") == ("XKX", None)
    assert one("ARM") == ("ARM", None)
    assert one("Xaa") == (None, None)  # never invented from a name
    assert one("QQQ") == (None, None)


def test_result_is_aligned_to_the_input_index_and_vectorised():
    rng = np.random.default_rng(0)
    pool = np.array(["Government (Armenia)", "Moscow", "NATO", "unknown", "Nikol Pashinyan"])
    names = pd.Series(pool[rng.integers(0, len(pool), 50_000)], index=np.arange(50_000) * 3)
    dates = pd.Series(np.where(rng.random(50_000) < 0.5, "2015-01-01", "2020-01-01"), index=names.index)
    out = resolve_actors(names, dates)
    assert out.index.equals(names.index)
    expect = {"Government (Armenia)": "ARM", "Moscow": "RUS"}
    for name, country in expect.items():
        assert (out.loc[names == name, "country"] == country).all()
    pashinyan = names == "Nikol Pashinyan"
    assert (out.loc[pashinyan & (dates == "2020-01-01"), "country"] == "ARM").all()
    assert out.loc[pashinyan & (dates == "2015-01-01"), "country"].isna().all()


@given(st.lists(st.one_of(st.text(max_size=30), st.none()), max_size=40))
@settings(max_examples=60, deadline=None)
def test_any_text_gives_valid_codes_or_na(values):
    out = resolve_actors(pd.Series(values, dtype=object))
    assert len(out) == len(values)
    assert out["country"].dropna().map(actors.is_country_code).all()
    assert out["org"].dropna().isin(list(ORGANISATIONS)).all()
    assert not (out["country"].notna() & out["org"].notna()).any()


@pytest.mark.parametrize(
    ("scheme", "codes", "expected"),
    [
        ("cameo", ["ROM", "TMP", "MTN", "IMY", "KSV", "WSB", "EUR", "WST", "USA", "ANT", None],
         ["ROU", "TLS", "MNE", "IMN", "XKX", "PSE", None, None, "USA", None, None]),
        ("fips", ["RS", "RI", "UP", "GM", "CH", "IS", "KV", "OD", "am", "ZZ"],
         ["RUS", "SRB", "UKR", "DEU", "CHN", "ISR", "XKX", "SSD", "ARM", None]),
        ("iso_numeric", ["4", 51, "031", "643.0", "999", "x"], ["AFG", "ARM", "AZE", "RUS", None, None]),
        ("iso3", ["arm", "XKX", "XZZ", "ROM", "EU"], ["ARM", "XKX", "XZZ", None, None]),
        ("name", ["Moldova, Republic of", "Russian Federation", "Moscow", "Armenian", "NATO"],
         ["MDA", "RUS", None, None, None]),
    ],
)
def test_resolve_country_codes_per_scheme(scheme, codes, expected):
    out = resolve_country_codes(pd.Series(codes, dtype=object), scheme)
    assert [None if pd.isna(v) else v for v in out] == expected


def test_unknown_scheme_is_a_usage_error():
    with pytest.raises(UsageError, match="Unknown country-code scheme 'gdelt'"):
        resolve_country_codes(pd.Series(["ARM"]), "gdelt")


def test_org_members_current_and_on_a_date():
    assert set(org_members("CSTO")) == {"ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK"}
    assert "UZB" in org_members("CSTO", "2010-01-01")
    assert "GBR" in org_members("EU", "2019-12-31") and "GBR" not in org_members("EU", "2020-02-01")
    assert "FIN" not in org_members("NATO", "2022-01-01") and "FIN" in org_members("NATO")
    assert len(org_members("UN")) == 193
    with pytest.raises(UsageError, match="Unknown organisation 'WARSAW'"):
        org_members("WARSAW")


def test_bloc_rule_turns_bloc_moves_into_alliance_moves():
    codes = pd.Series(["1212", "1212", "190", "036", "057"])
    families = pd.Series(["denial", "denial", "incident", "cooperation", "alliance_move"])
    source_org = pd.Series([None, None, None, None, None], dtype=object)
    target_org = pd.Series(["CSTO", "UN", "NATO", "EU", None], dtype=object)
    out = apply_bloc_rule(codes, families, source_org, target_org)
    assert out.tolist() == ["alliance_move", "denial", "incident", "cooperation", "alliance_move"]
    assert families.tolist()[0] == "denial"  # input untouched


def test_curated_tables_are_consistent():
    leaders = actors.leaders_table()
    assert leaders["country"].isin(ISO3 | set(ORGANISATIONS)).all()
    ended = leaders["end"].notna()
    assert (leaders.loc[ended, "end"] >= leaders.loc[ended, "start"]).all()
    core = leaders[leaders["role"].isin(["hos", "hog", "fm"]) & leaders["country"].isin(ISO3)]
    assert core["country"].nunique() >= 60
    for table in ("actors_aliases.tsv", "actors_parties.tsv"):
        assert read_table(table)["country"].isin(ISO3).all(), table
    for org in ORGANISATIONS.values():
        assert set(m.country for m in org.memberships) <= ISO3, org.code


def test_real_icews_sample_resolution_share(shared_data):
    events = pd.read_csv(shared_data / "icews" / "icews05-15_sample_a.tsv", sep="\t", header=None, dtype=str,
                         quoting=3, keep_default_na=False, names=["source", "event", "target", "date"])
    source = resolve_actors(events["source"], events["date"])
    target = resolve_actors(events["target"], events["date"])
    both = (source["country"].notna() & target["country"].notna()).mean()
    two_countries = (source["country"].notna() & target["country"].notna()
                     & (source["country"] != target["country"])).mean()
    print(f"ICEWS05-15 sample: both sides a country {both:.2%}, two different countries {two_countries:.2%}")
    assert both >= 0.65


@pytest.mark.parametrize(
    ("name", "country"),
    [("Military Forces of Russia (2000-)", "RUS"), ("Police Forces of Ukraine (2019-)", "UKR"),
     ("Military Forces of Russia (2000-) Air Force", "RUS"), ("Government of South Sudan", "SSD"),
     ("Ministry of Foreign Affairs of Armenia", "ARM"),
     ("Civilians (Ukraine)", "UKR"), ("Cabinet / Council of Ministers / Advisors (Holy See (Vatican City State))", "VAT")],
)
def test_acled_year_ranges_and_nested_brackets(name, country):
    assert one(name) == (country, None)


def test_timezone_aware_dates_are_accepted():
    dates = pd.Series(pd.to_datetime(["2019-06-01", "2015-06-01"])).dt.tz_localize("UTC")
    out = resolve_actors(pd.Series(["Nikol Pashinyan", "Nikol Pashinyan"]), dates)
    assert out.loc[0, "country"] == "ARM" and pd.isna(out.loc[1, "country"])


def test_unresolved_counts_lists_names_for_the_report():
    names = pd.Series(["Armenia", "Xyzzy", "Xyzzy", "", None, "Media (Africa)"])
    counts = actors.unresolved_counts(names, resolve_actors(names))
    assert counts == {"Xyzzy": 2, "Media (Africa)": 1}


def test_titles_before_a_person_are_ignored():
    assert one("Gen Prayut Chan-o-cha", "2014-06-01") == ("THA", None)
    assert one("Tan Sri Muhyiddin Yassin", "2012-01-01") == ("MYS", None)
    assert one("Dr. Nobody Known", "2012-01-01") == (None, None)
