"""tension.dyads.buckets: dyad-hash buckets."""
from __future__ import annotations

from tension.dyads import bucket_of


def test_bucket_is_the_same_for_both_directions() -> None:
    assert bucket_of("ARM", "AZE", 16) == bucket_of("AZE", "ARM", 16)
    assert {bucket_of(a, b, 8) for a, b in [("ARM", "AZE"), ("RUS", "UKR"), ("IND", "PAK"), ("ISR", "LBN")]} <= set(range(8))
