"""Notebooks 01-03 execute (04 runs on the demo output in test_demo.py) top to bottom with the current code (nbclient, a real kernel)."""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("0[123]_*.ipynb")))
def test_notebook_executes(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name}: outputs must be stripped in git"
    client = NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    print(f"{name}: executed in {seconds:.1f} s")


def test_notebooks_use_only_the_public_api() -> None:
    import re

    import tension

    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert not re.search(r"from tension\.|import tension\.", source), f"{path.name} imports a private module"
        used = set(re.findall(r"tension\.(\w+)", source))
        assert used <= set(tension.__all__), f"{path.name} uses {sorted(used - set(tension.__all__))} outside tension.__all__"


def test_the_package_docstring_example_runs() -> None:
    import doctest

    import tension

    result = doctest.testmod(tension)
    assert result.attempted >= 1 and result.failed == 0
