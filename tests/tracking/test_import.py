"""Importing tension.tracking runs nothing; the first tracking call makes MLflow's process settings before mlflow loads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tension.tracking.setup import MLFLOW_ENV


def _run(code: str, cwd: Path, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter with a bare environment (no MLflow settings, no CI markers); its JSON."""
    bare = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(cwd)), **env}
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=bare, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_tension_tracking_leaves_os_environ_unchanged_and_mlflow_unloaded(tmp_path: Path) -> None:
    code = ("import json, os, sys; before = dict(os.environ); import tension.tracking; "
            "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)); "
            "print(json.dumps({'changed': changed, 'mlflow': 'mlflow' in sys.modules}))")
    assert _run(code, tmp_path) == {"changed": [], "mlflow": False}


def test_first_use_sets_mlflow_settings_before_mlflow_loads_and_the_users_own_win(tmp_path: Path) -> None:
    code = ("import json, os, sys; from tension import tracking; tracking.TensionModel; "
            "from mlflow.telemetry import get_telemetry_client; "
            "print(json.dumps({'env': {k: os.environ.get(k) for k, _ in tracking.setup.MLFLOW_ENV}, "
            "'telemetry_client': get_telemetry_client() is not None}))")
    got = _run(code, tmp_path, MLFLOW_HTTP_REQUEST_TIMEOUT="99")
    assert got["env"] == {**dict(MLFLOW_ENV), "MLFLOW_HTTP_REQUEST_TIMEOUT": "99"}
    assert got["telemetry_client"] is False
