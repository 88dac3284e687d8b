"""The registry is explicit and complete; every builder follows the naming and doc rules."""
from __future__ import annotations

import inspect
import re

import pytest

import tension.features as features_pkg
from tension.features import FAMILY_MODULES, FEATURES, describe_features, feature_columns

FAMILY_PREFIX = {
    "incidents": "incidents_",
    "denials": "denials_",
    "alliances": "alliances_",
    "dynamics": "dynamics_",
    "relationship": "relationship_",
    "context": "context_",
    "history": "history_",
    "geography": "geography_",
}


def _public_builders(module) -> list:
    return [
        obj
        for name, obj in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and obj.__module__ == module.__name__
    ]


def test_every_public_builder_is_registered() -> None:
    public = {f for m in FAMILY_MODULES for f in _public_builders(m)}
    missing = sorted(f.__name__ for f in public - set(FEATURES))
    assert not missing, f"public builders missing from FEATURES: {missing}"
    assert len(FEATURES) == len(set(FEATURES))


def test_every_family_module_is_listed() -> None:
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(features_pkg.__path__) if not m.name.startswith("_")}
    assert modules == {m.__name__.rsplit(".", 1)[1] for m in FAMILY_MODULES}


@pytest.mark.parametrize("builder", FEATURES, ids=lambda f: f.__name__)
def test_builder_is_named_for_its_family_and_documented(builder) -> None:
    family = builder.__module__.rsplit(".", 1)[1]
    assert builder.__name__.startswith(FAMILY_PREFIX[family])
    assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", builder.__name__)
    doc = (builder.__doc__ or "").strip()
    assert doc and "\n" not in doc, "one-line docstring"
    assert "period" in doc, "the docstring states the window in periods"
    assert list(inspect.signature(builder).parameters) == ["a"]


def test_describe_and_feature_columns() -> None:
    table = describe_features()
    assert list(table["name"]) == [f.__name__ for f in FEATURES]
    assert set(table["family"]) == set(FAMILY_PREFIX)
    import pandas as pd

    panel = pd.DataFrame(columns=["dyad", "period", "dynamics_hostile_ewma_4p", "incidents_material_conflict_4p"])
    assert feature_columns(panel) == ["incidents_material_conflict_4p", "dynamics_hostile_ewma_4p"]


def test_panel_doc_lists_every_feature_with_its_docstring() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "panel.md").read_text(encoding="utf-8")
    for row in describe_features().itertuples():
        assert f"| `{row.name}` | {row.doc} |" in doc, f"docs/panel.md is out of date for {row.name}"
