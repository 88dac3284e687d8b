"""Evidence: the dyad's recent events behind its score."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scoring_world import DYADS, FEATURES, REGIONS, fitted, make_events, make_panel, target_of
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tension.errors import UsageError
from tension.scoring import (
    SCORE_COLUMNS,
    attribute,
    beta_band,
    coverage_flags,
    describe_driver,
    grouped_shapley,
    score,
)


def test_evidence_lists_recent_dyad_events_without_future_ones(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,), events=make_events(panel))
    ev = json.loads(s.loc[s["dyad"] == "ARM>AZE", "evidence"].iloc[0])
    ids = [e["event_id"] for e in ev]
    assert "e4" not in ids and "e3" not in ids  # future event; other direction of a directed dyad
    assert set(ids) <= {"e1", "e2"} and ids
    assert {"event_id", "date", "text", "source_ref"} <= set(ev[0])
    assert json.loads(s.loc[s["dyad"] == "RUS>GEO", "evidence"].iloc[0]) == []
