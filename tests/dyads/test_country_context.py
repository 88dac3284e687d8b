"""tension.dyads.context: the country-level pass."""
from __future__ import annotations

import pytest
from features.panel_tables import hand_events

from tension.dyads import aggregate
from tension.errors import UsageError


def test_no_events_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="No events"):
        aggregate(hand_events(), start="2030-01-01")
