"""The verb-phrase table: every entry is a real CAMEO code with a source, and the patterns compile."""
from __future__ import annotations

from tension.coder.verbs import find_verbs, lexicon_table, verb_forms, verb_table
from tension.taxonomy import cameo_table


def test_every_entry_has_a_known_code_or_is_a_report_verb_and_a_source():
    codes = set(cameo_table()["code"])
    for e in verb_table():
        assert e.source.strip(), e.pattern
        assert e.frame in ("", "say", "allege", "deny", "noun"), e.pattern
        assert e.code in codes or (e.frame == "say" and e.code == ""), (e.pattern, e.code)


def test_verb_forms_cover_regular_and_irregular_verbs():
    assert {"accuse", "accuses", "accused", "accusing"} <= set(verb_forms("accuse"))
    assert {"deny", "denies", "denied", "denying"} <= set(verb_forms("deny"))
    assert {"ban", "banned", "banning"} <= set(verb_forms("ban"))
    assert "withdrew" in verb_forms("withdraw")


def test_longer_phrase_wins_over_its_parts():
    found = find_verbs("the ministry threatened to impose sanctions on the company")
    assert [v.code for v in found][:1] == ["1312"]


def test_every_lexicon_entry_has_a_known_code_and_a_source_and_is_a_fallback():
    codes = set(cameo_table()["code"])
    entries = lexicon_table()
    assert len(entries) > 100
    for e in entries:
        assert e.source.strip() and e.code in codes and e.frame == "weak", e.pattern


def test_a_phrase_of_the_table_wins_over_a_lexicon_verb_of_the_same_span():
    found = find_verbs("police arrested two journalists")
    assert [(v.code, v.frame) for v in found] == [("173", "")]
