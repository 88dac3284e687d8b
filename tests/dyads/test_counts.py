"""tension.dyads.counts: the DuckDB aggregation into long count rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features.panel_tables import MONDAY0, hand_events

from tension.dyads import aggregate, country_context, event_counts
from tension.errors import UsageError


def test_event_counts_keep_every_event_for_coverage() -> None:
    ev = hand_events()
    counts = event_counts(ev, "W")
    assert counts["n"].sum() == len(ev)
    assert set(counts.columns) == {"s", "t", "p", "family", "mask", "n", "g", "h"}
    assert "@CSTO" in set(counts["t"])
    ctx = country_context(counts, "W")
    assert ctx.events_global.sum() == len(ev) and ctx.n_periods == 10
    assert ctx.periods[0] == np.datetime64(MONDAY0)


def test_events_without_canonical_columns_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="lacks canonical columns.*conform"):
        aggregate(pd.DataFrame({"date": ["2024-01-01"], "source_country": ["ARM"]}))
