"""Fixtures of the scoring tests."""
from __future__ import annotations

import pandas as pd
import pytest
from scoring_world import fitted, make_panel
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return make_panel()


@pytest.fixture(scope="module")
def logit_model(panel):
    return fitted(panel, make_pipeline(StandardScaler(), LogisticRegression()))
