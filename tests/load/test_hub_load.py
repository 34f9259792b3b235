"""10 learners on one JupyterHub at once (tests/load/hub_load.py), as a pytest test.

It runs the class recipe (docs/jupyterhub_config.py) as it is: the hub runs as root
and each learner is a separate system user, so the test needs root. It makes its own
venv (jupyterhub + the course, about 80 s the first time) and runs 10 learners'
servers on 2 cores, so it runs only in CI (``CI`` set) or when
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
#: What each learner tries to read, as their own system user (tests/load/hub_load.py).
PROBED = {
    "other_home_list",
    "other_home_notebook",
    "cookie_secret",
    "hub_database",
    "tls_key",
    "hub_environ",
    "proxy_environ",
    "other_server_environ",
}


@pytest.mark.slow
def test_ten_learners_replay_and_run_a_notebook_at_once(tmp_path: Path) -> None:
    if not (os.environ.get("CI") or os.environ.get("SMARS_LOAD_TEST")):
        pytest.skip("JupyterHub load test: runs in CI or with SMARS_LOAD_TEST=1")
    if os.geteuid() != 0:
        pytest.fail("the JupyterHub load test needs root: the hub makes a system user per learner")
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
    assert out.exists(), proc.stderr[-8000:]
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

    # A chart's data reached every learner (the "time to first chart" is measured).
    assert all(lr["first_chart_s"] > 0 for lr in figures["per_learner"])
    # The hub is reached over TLS (a self-signed certificate, as docs/jupyterhub.md
    # sets it up for a LAN); its public port gives no page over plain HTTP.
    assert figures["plain_http_refused"]
    # The admin credential is not the class password: the admin's name with the class
    # password is refused (in any case), with the admin password it gets in as admin.
    logins = figures["admin_logins"]
    assert logins["admin_with_class_password"] == 403, logins
    assert logins["admin_capitalised_with_class_password"] == 403, logins
    assert logins["admin_with_admin_password"] == 302 and figures["admin_is_admin"], logins
    # Ten learners, ten system users (none root), each home 0700, each course copy theirs.
    assert len(figures["system_users"]) == LEARNERS
    assert all(u.startswith("smars-") for u in figures["system_users"])
    assert len(figures["uids"]) == LEARNERS and 0 not in figures["uids"]
    assert figures["home_modes"] == ["0o700"]
    assert all(lr["course_owned"] for lr in figures["per_learner"])
    # Each learner's server runs as the learner (the kernel's user), without --allow-root.
    for lr in figures["per_learner"]:
        assert lr["server_uid"] == lr["uid"] > 0 and not lr["server_allow_root"], lr["name"]
    # Each learner, in their own kernel, tried to read the next learner's home, the
    # cookie secret, the hub's database and the environments of the hub, the proxy
    # and the next learner's server: every one of them exists and every read raised
    # PermissionError. No secret of the hub is in a learner's environment.
    assert figures["probe_targets_missing"] == []
    for lr in figures["per_learner"]:
        assert set(lr["attempts"]) == PROBED, (lr["name"], lr["attempts"])
        assert set(lr["attempts"].values()) == {"PermissionError"}, (lr["name"], lr["attempts"])
        assert lr["secrets_in_env"] == [], (lr["name"], lr["secrets_in_env"])
    assert figures["system_users_removed"] == LEARNERS  # the test leaves no accounts behind

    # The class board (issue 17): each learner ran a check, which posted to the board
    # service under the learner's own hub token; the board shows the ten of them.
    names = sorted(lr["name"] for lr in figures["per_learner"])
    for lr in figures["per_learner"]:
        assert lr["board_check"].startswith("❌ q1"), (lr["name"], lr["board_check"])
        assert not lr["board_not_recorded"], lr["name"]
    board = figures["class_board"]
    assert board["cli_exit"] == 0, board["cli_error"]
    assert board["learners_on_board"] == names, board
    assert all(r["exercise"] == "q1" and r["attempts"] == 1 for r in board["rows"])
    # Only the instructor reads it: the admin's token gets it, a learner's is refused.
    assert board["admin_status"] == 200 and board["admin_learners"] == names, board
    assert board["learner_statuses"] == [403] and board["anonymous_status"] == 401, board
    # The database is the board service's user's alone.
    assert board["db_owner"] == "smarsboard" and board["db_mode"] == "0o600", board
    assert board["dir_mode"] == "0o700", board
