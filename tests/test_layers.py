"""Imports point down the flow only (ViEWS-style import-layer test)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "tension"

# Lower index = further up the flow. A module may import only modules at its own level or above.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "schema", "config", "_io", "periods"),
    ("taxonomy",),
    ("actors",),
    ("coder",),
    ("store",),
    ("ingest",),
    ("simulate",),
    ("dyads",),
    ("features",),
    ("panel",),
    ("targets",),
    ("models",),
    ("backtest",),
    ("fetch",),
    ("tracking",),
    ("scoring",),
    ("ledger",),
    ("reports",),
    ("engines",),
    ("doctor",),
    ("jobs",),
    ("training",),
    ("cli",),
]
WIDE = {"cli", "jobs", "tracking", "doctor"}
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}


def _top(module_path: Path) -> str:
    rel = module_path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imported_stages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _top(path)
    depth_pkg = len(path.relative_to(PKG).parts) - 1  # 0 for top-level modules
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("tension."):
                found.add(node.module.split(".")[1])
            elif node.level > 0:
                up = node.level - 1 - depth_pkg
                if up < 0:  # relative import inside the module's own subpackage
                    continue
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tension."):
                    found.add(alias.name.split(".")[1])
    found.discard(own)
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if _top(p) not in ("__init__",))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_imports_point_down_the_flow(path: Path) -> None:
    own = _top(path)
    if own in WIDE or own not in LEVEL:
        assert own in LEVEL or own in WIDE, f"{own} is not placed in LAYERS; add it to tests/test_layers.py"
        return
    upward = {m for m in _imported_stages(path) if m in LEVEL and LEVEL[m] > LEVEL[own]}
    assert not upward, f"{path.relative_to(PKG)} imports {sorted(upward)}, which come later in the flow"


def test_only_tracking_imports_mlflow() -> None:
    offenders = []
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "mlflow" or n.startswith("mlflow.") for n in names):
                offenders.append(str(path.relative_to(PKG)))
    assert set(offenders) <= {"tracking.py"}, f"mlflow imported outside tracking.py: {sorted(set(offenders))}"
