"""tension.dyads.buckets: dyad-hash buckets."""
from __future__ import annotations

import pytest

from tension.dyads import bucket_of


def test_bucket_is_the_same_for_both_directions() -> None:
    assert bucket_of("ARM", "AZE", 16) == bucket_of("AZE", "ARM", 16)
    assert {bucket_of(a, b, 8) for a, b in [("ARM", "AZE"), ("RUS", "UKR"), ("IND", "PAK"), ("ISR", "LBN")]} <= set(range(8))


def test_one_parser_reads_monitored_dyads_for_buckets_and_panels() -> None:
    from tension.dyads import monitored_bucket, monitored_pairs, parse_dyad
    from tension.errors import UsageError

    assert parse_dyad(" arm|aze ") == ("ARM", "AZE", "|")
    assert monitored_pairs(["AZE|ARM"], "undirected") == [("ARM", "AZE")]
    assert monitored_pairs(["AZE|ARM"], "directed") == [("ARM", "AZE"), ("AZE", "ARM")]
    assert monitored_pairs(["RUS>GEO"], "directed") == [("RUS", "GEO")]
    assert monitored_bucket("aze>arm", 7) == bucket_of("ARM", "AZE", 7)
    for bad in ("ARMAZE", "ARM|ARM", "ARM|", "A|B|C"):
        with pytest.raises(UsageError, match="monitored dyad"):
            parse_dyad(bad)
        assert monitored_bucket(bad, 7) == 0  # the build reports it
