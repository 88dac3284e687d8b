"""What produced a result: the code (git commit, package versions) and the event data (store location and digest)."""
from __future__ import annotations

import subprocess
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def git_commit(path: str | Path | None = None) -> str:
    """The git commit of the code (the package's checkout), or ``"unknown"``."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        res = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else "unknown"



def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or ``None``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def pip_requirements() -> list[str]:
    """Explicit requirements for the pyfunc (automatic inference costs seconds)."""
    names = ["tension", "mlflow", "scikit-learn", "pandas", "numpy", "scipy", "cloudpickle", "statsmodels", "pyarrow"]
    return [f"{n}=={v}" for n in names if (v := package_version(n))]


def code_version() -> str:
    """The code that produced a result: package version and git commit (part of every rerun key)."""
    return f"{package_version('tension') or 'unknown'}+{git_commit()}"


def store_info(store: Any) -> tuple[str | None, str | None]:
    """(location, manifest digest) of a Store, a path, or None."""
    if store is None:
        return None, None
    if isinstance(store, (str, Path)):
        location, digest = str(store), None
        try:
            from ..store import Store

            digest = Store(str(store)).digest
        except Exception:  # noqa: BLE001 - a missing/empty store just has no digest
            digest = None
        return location, digest
    location = getattr(store, "location", None) or getattr(store, "root", None) or getattr(store, "path", None)
    digest = getattr(store, "digest", None)
    if digest is None and isinstance(getattr(store, "manifest", None), Mapping):
        digest = store.manifest.get("digest")
    return (str(location) if location is not None else None), (str(digest) if digest else None)
