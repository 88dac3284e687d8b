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
    ("verification", "leakage"),
    ("backtest",),
    ("fetch",),
    ("tracking",),
    ("scoring",),
    ("ledger",),
    ("reports",),
    ("engines",),
    ("alerts", "gates"),
    ("usecases",),
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
    outside = sorted({o for o in offenders if _top(PKG / o) != "tracking"})
    assert not outside, f"mlflow imported outside tracking/: {outside}"


# No module imports another module's private name (private modules such as `_io` or `features._ops` are fine).
PRIVATE_CHECKED = tuple(LEVEL)
"""Every stage: none imports another module's ``_private`` name."""


def _private_imports(path: Path) -> list[str]:
    """``module.name`` of every ``_private`` name ``path`` imports from another tension module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PKG)
    package = list(rel.parts[:-1])  # the module's own package, relative to tension
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            if not (node.module or "").startswith("tension."):
                continue
            target = node.module.split(".")[1:]
        else:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = base + (node.module.split(".") if node.module else [])
        for alias in node.names:
            if alias.name.startswith("_") and alias.name != "__version__":
                found.append(".".join(target + [alias.name]))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_private_name_of_a_checked_stage_is_imported_elsewhere(path: Path) -> None:
    own = ".".join(path.relative_to(PKG).with_suffix("").parts)
    bad = [name for name in _private_imports(path)
           if name.split(".")[0] in PRIVATE_CHECKED and name.rsplit(".", 1)[0] != own]
    assert not bad, f"{path.relative_to(PKG)} imports private names {bad}; give them a public name in their module"


# ----------------------------------------------------------------------------- one calendar

FREQ_LETTERS = {"D", "W", "M"}

# Calendars that other branches of issue #17 are replacing with tension.periods this round. The lead
# deletes each entry after merging its branch; the stale-entry test below says when.
SECOND_CALENDAR_ALLOWED: dict[str, str] = {
}


def _freqish(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return "freq" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "freq" in node.attr.lower() or _freqish(node.value)
    if isinstance(node, ast.Call):
        return _freqish(node.func) or any(_freqish(a) for a in node.args)
    if isinstance(node, ast.Subscript):
        return _freqish(node.value)
    return False


def _letters(node: ast.AST | None) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & FREQ_LETTERS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(set(), *(_letters(e) for e in node.elts))
    if isinstance(node, ast.IfExp):
        return _letters(node.body) | _letters(node.orelse)
    return set()


def _called(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def calendar_code(tree: ast.AST) -> list[tuple[int, str]]:
    """Lines that shift by periods or parse, tabulate or infer a frequency: the work of ``tension.periods``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name, kws = _called(node.func), {k.arg for k in node.keywords}
            if name in ("DateOffset", "relativedelta") and kws & {"months", "weeks"}:
                found.append((node.lineno, f"{name}({'/'.join(sorted(kws & {'months', 'weeks'}))}=...) shifts by periods"))
            if name == "Timedelta" and "weeks" in kws:
                found.append((node.lineno, "Timedelta(weeks=...) shifts by weeks"))
            if name in ("MonthBegin", "MonthEnd", "Week"):
                found.append((node.lineno, f"the pandas offset {name} shifts by periods"))
            if name in ("date_range", "period_range", "to_period", "asfreq", "resample", "Period"):
                values = [a for a in node.args if isinstance(a, ast.Constant)]
                values += [k.value for k in node.keywords if k.arg == "freq" and isinstance(k.value, ast.Constant)]
                found += [(node.lineno, f"{name}({v.value!r}) labels weeks or months") for v in values
                          if isinstance(v.value, str) and v.value.split("-")[0] in {"W", "M", "MS"}]
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            letters = set().union(*(_letters(s) for s in sides))
            if len(letters) >= 2 or (letters and any(_freqish(s) for s in sides)):
                found.append((node.lineno, "compares a frequency with 'D'/'W'/'M' (parses a frequency)"))
        elif isinstance(node, ast.Dict):
            if len({k.value for k in node.keys if isinstance(k, ast.Constant)} & FREQ_LETTERS) >= 2:
                found.append((node.lineno, "a table keyed by 'D'/'W'/'M' (parses a frequency)"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [ast.Return(node.body)]
            returned = set().union(set(), *(_letters(sub.value) for stmt in body for sub in ast.walk(stmt)
                                            if isinstance(sub, ast.Return)))
            if len(returned) >= 2:
                found.append((node.lineno, "returns 'D'/'W'/'M' (infers a frequency)"))
    return sorted(set(found))


def _allowed(rel: str) -> str | None:
    return next((k for k in SECOND_CALENDAR_ALLOWED if rel == k or rel == f"{k}.py" or rel.startswith(f"{k}/")), None)


def _calendars() -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if rel != "periods.py":
            hits = calendar_code(ast.parse(path.read_text(encoding="utf-8")))
            if hits:
                out[rel] = hits
    return out


def test_only_periods_is_a_calendar() -> None:
    offenders = {rel: hits for rel, hits in _calendars().items() if _allowed(rel) is None}
    assert not offenders, "A second calendar: use tension.periods (check, label, shift, offset, infer, grid ...) instead.\n" + "\n".join(
        f"  {rel}:{line}: {what}" for rel, hits in offenders.items() for line, what in hits)


def test_the_calendar_allowlist_holds_no_finished_entries() -> None:
    found = {_allowed(rel) for rel in _calendars()}
    stale = [f"{k} ({who})" for k, who in SECOND_CALENDAR_ALLOWED.items() if k not in found]
    assert not stale, f"These modules no longer hold a calendar; delete them from SECOND_CALENDAR_ALLOWED: {stale}"


# Each of the calendars tension had before periods.py (one line or function of each), and code that is no calendar.
_SECOND_CALENDARS = [
    'def shift_period(ts, n, freq):\n    if freq == "M":\n        return ts + pd.DateOffset(months=n)\n    return ts + pd.Timedelta(weeks=n)',
    'FREQ_ALIASES = {"D": "D", "W": "W-MON", "M": "MS"}',
    'def _offset(freq, n=1):\n    return {"D": pd.DateOffset(days=n), "W": pd.DateOffset(weeks=n), "M": pd.DateOffset(months=n)}[freq.upper()]',
    'def _offset(freq):\n    f = (freq or "W").upper()[0]\n    if f == "M":\n        return pd.DateOffset(months=1)',
    'def _freq(panel):\n    f = str(panel.attrs.get("freq") or "").upper()[:1]\n    if f in ("D", "W", "M"):\n        return f',
    'def _freq_of(days):\n    return "D" if days <= 1 else "W" if days <= 7 else "M"',
    'def _infer_freq(periods):\n    if (periods.day == 1).all():\n        return "M"\n    return "W"',
    'def period_start(d, freq):\n    if freq.upper() == "W":\n        return d - pd.to_timedelta(d.dt.day_of_week, unit="D")',
    'def months(d):\n    return d.dt.to_period("M").dt.to_timestamp()',
    'grid = pd.date_range(first, last, freq="W-MON")',
    'def _shift_index(index, n, freq):\n    return index + pd.offsets.MonthBegin(n)',
]
_NOT_CALENDARS = [
    'end = as_of + pd.DateOffset(days=40)',
    'day_end = latest - pd.Timedelta(days=1)',
    'x = periods.shift(ts, 1, freq)\nif periods.check(freq) != spec.freq:\n    pass',
    'label = "W" if weekly else "week"',
    'if mode in ("directed", "undirected"):\n    pass',
]


@pytest.mark.parametrize("code", _SECOND_CALENDARS)
def test_the_calendar_check_catches_a_second_calendar(code: str) -> None:
    assert calendar_code(ast.parse(code)), code


@pytest.mark.parametrize("code", _NOT_CALENDARS)
def test_the_calendar_check_leaves_other_code_alone(code: str) -> None:
    assert not calendar_code(ast.parse(code)), code


# ----------------------------------------------------------------------------- module size

MAX_MODULE_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these by concern (at most {MAX_MODULE_LINES} lines each): {long}"
