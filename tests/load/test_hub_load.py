"""10 learners on one JupyterHub at once (tests/load/hub_load.py), as a pytest test.

It makes its own venv (jupyterhub + the course, about 80 s the first time) and
runs 10 learners' servers on 2 cores, so it runs only in CI (``CI`` set) or when
``SMARS_LOAD_TEST=1``; elsewhere it skips. Loopback only, bounded by a deadline.
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

REPO = Path(__file__).resolve().parents[2]
LEARNERS = 10


@pytest.mark.slow
def test_ten_learners_replay_and_run_a_notebook_at_once(tmp_path: Path) -> None:
    if not (os.environ.get("CI") or os.environ.get("SMARS_LOAD_TEST")):
        pytest.skip("JupyterHub load test: runs in CI or with SMARS_LOAD_TEST=1")
    if shutil.which("npm") is None:
        pytest.fail("the JupyterHub load test needs npm (configurable-http-proxy)")
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [
            "bash",
            str(REPO / "tests" / "load" / "run.sh"),
            "--learners",
            str(LEARNERS),
            "--deadline",
            "480",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHON": sys.executable},
    )
    print(proc.stdout[-4000:])
    assert out.exists(), proc.stderr[-4000:]
    figures = json.loads(out.read_text())
    failed = [(lr["name"], lr["error"]) for lr in figures.get("per_learner", []) if not lr["ok"]]
    # On a failure, the end of the hub's log (the learners' servers log there too) is
    # printed with the failed learners, so CI keeps the evidence.
    evidence = figures.get("hub_log_tail", "")[-6000:]
    assert proc.returncode == 0 and figures["succeeded"] == LEARNERS, (
        f"{failed or figures.get('error')}\n--- end of the hub's log ---\n{evidence}"
    )
    expected = replay(Scenario.aug1_2012(scale=0.01)).summary.execution_digest
    assert figures["digests"] == [expected]  # every learner's replay is the same replay
    assert all(lr["notebook_cells"] == figures["notebook_cells"] for lr in figures["per_learner"])
