"""The simulation core runs under Pyodide (WebAssembly CPython) and replays identically.

``tests/pyodide/run_replay.mjs`` loads Pyodide from the npm ``pyodide`` package
(interpreter and standard library, no network), copies the ``smars_sim`` .py
files into Pyodide's virtual file system, runs ``replay(Scenario.small())`` and
prints its summary as JSON. This test compares that with CPython's replay.

Needs Node.js and ``npm ci`` in ``tests/pyodide`` (``.ci/run`` does both). In CI
(``CI`` set) their absence fails the run; elsewhere the test skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smars_sim import Scenario, replay

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "tests" / "pyodide"


def _need(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why} (required in CI)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def pyodide_run() -> dict[str, object]:
    node = shutil.which("node")
    _need(node is not None, "Pyodide test: node not found (apt-get install nodejs npm)")
    _need(
        (HERE / "node_modules" / "pyodide" / "pyodide.mjs").is_file(),
        "Pyodide test: run `npm ci` in tests/pyodide first",
    )
    assert node is not None
    proc = subprocess.run(
        [node, str(HERE / "run_replay.mjs"), str(REPO)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = proc.stdout.strip().splitlines()[-1]
    data: dict[str, object] = json.loads(line)
    print("pyodide:", line, file=sys.stderr)
    return data


def test_small_replay_digest_matches_cpython(pyodide_run: dict[str, object]) -> None:
    assert pyodide_run["platform"] == "emscripten"  # it really ran in WebAssembly
    cpython = replay(Scenario.small()).summary
    assert pyodide_run["child_orders"] == cpython.child_orders
    assert pyodide_run["executions"] == cpython.executions
    assert pyodide_run["loss_usd"] == cpython.loss_usd
    assert pyodide_run["digest"] == cpython.execution_digest


def test_core_import_pulls_no_pandas_numpy_or_pyarrow(pyodide_run: dict[str, object]) -> None:
    assert pyodide_run["heavy_modules_on_import"] == []
    assert pyodide_run["pandas_loaded"] is False
