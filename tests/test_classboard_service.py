"""The class board service (issue 17), against a fake hub API.

The fake hub answers ``GET /hub/api/user`` as JupyterHub does: the model of the
token's owner, 403 for an unknown token. The service must record the token's
owner (never a name the client sends), refuse a request without a valid user
token, keep its database 0600, and show the board only to the admins.
"""

from __future__ import annotations

import json
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smars_sim.analysis import classboard as cb
from smars_sim.analysis.classboard_service import BoardService, make_server
from smars_sim.exercises import check

TOKENS = {
    "tok-ana": {"kind": "user", "name": "ana"},
    "tok-bob": {"kind": "user", "name": "bob"},
    "tok-teacher": {"kind": "user", "name": "instructor", "admin": True},
    "tok-service": {"kind": "service", "name": "load-test"},
}
PREFIX = "/services/class-board/"


class FakeHub(BaseHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        token = self.headers.get("Authorization", "").partition(" ")[2]
        model = TOKENS.get(token) if self.path == "/hub/api/user" else None
        body = json.dumps(model or {"status": 403, "message": "Forbidden"}).encode()
        self.send_response(200 if model else 403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(server: ThreadingHTTPServer) -> str:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    hub = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    hub_url = _serve(hub)
    folder = tmp_path / "board"
    folder.mkdir(mode=0o700)
    db = folder / "class.db"
    service = BoardService(db, f"{hub_url}/hub/api", {"instructor"}, PREFIX)
    server = make_server(service, "127.0.0.1", 0)
    url = _serve(server) + PREFIX
    yield url, db
    server.shutdown()
    hub.shutdown()


def _call(url: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"token {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _learners(db: Path) -> list[str]:
    conn = cb.connect(db, create=False)
    try:
        return [r[0] for r in conn.execute("SELECT learner FROM checks ORDER BY id")]
    finally:
        conn.close()


CHECKS = {"exercise": "q1", "checks": [["finds the server", True], ["a normal day", False]]}


@pytest.mark.parametrize("token", [None, "", "tok-nobody", "tok-service"])
def test_a_request_without_a_valid_user_token_is_refused(
    board: tuple[str, Path], token: str | None
) -> None:
    url, db = board
    status, answer = _call(url + "checks", token, CHECKS)
    assert status in (401, 403), answer
    assert _learners(db) == []


def test_the_tokens_owner_is_recorded_not_a_claimed_name(board: tuple[str, Path]) -> None:
    url, db = board
    claim = {**CHECKS, "learner": "bob", "user": "bob", "name": "bob"}
    assert _call(url + "checks", "tok-ana", claim) == (200, {"attempt": 1})
    assert _call(url + "checks", "tok-ana", claim) == (200, {"attempt": 2})
    assert _call(url + "checks", "tok-bob", CHECKS) == (200, {"attempt": 1})
    assert _learners(db) == ["ana", "ana", "ana", "ana", "bob", "bob"]
    status, _ = _call(url + "games", "tok-ana", {"loss_usd": 1e8, "minutes_to_stop": 5.0})
    assert status == 200


def test_only_the_instructor_reads_the_board(board: tuple[str, Path]) -> None:
    url, _ = board
    _call(url + "checks", "tok-ana", CHECKS)
    assert _call(url + "board.json", "tok-ana")[0] == 403
    assert _call(url + "board.json", None)[0] == 401
    status, answer = _call(url + "board.json", "tok-teacher")
    assert status == 200
    assert answer["rows"] == [
        {
            "learner": "ana",
            "exercise": "q1",
            "passed": 1,
            "total": 2,
            "attempts": 1,
            "last": answer["rows"][0]["last"],
        }
    ]
    assert len(answer["checks"]) == 2 and answer["games"] == []
    # The dashboard rebuilds the same board from board.json.
    assert cb.board_rows(cb.load_rows(answer)) == answer["rows"]


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"exercise": "", "checks": [["a", True]]},
        {"exercise": "q1", "checks": []},
        {"exercise": "q1", "checks": [["a", "yes"]]},
        {"exercise": "q1", "checks": [["a", True, "my answer"]]},
    ],
)
def test_malformed_records_are_refused(board: tuple[str, Path], body: Any) -> None:
    url, db = board
    assert _call(url + "checks", "tok-ana", body)[0] == 400
    assert _learners(db) == []


def test_the_database_is_0600(board: tuple[str, Path]) -> None:
    url, db = board
    _call(url + "checks", "tok-ana", CHECKS)
    for path in db.parent.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_learners_check_posts_to_the_service(
    board: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, db = board
    monkeypatch.delenv(cb.ENV_DB, raising=False)
    monkeypatch.delenv(cb.ENV_OPTOUT, raising=False)
    monkeypatch.setenv(cb.ENV_URL, url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-bob")
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")  # a lie: the service asks the hub
    monkeypatch.setenv("HOME", str(db.parent.parent))
    env: dict = {}
    exec("def find_rogue(executions):\n    return None\n", env)
    check("q1", env)
    out = capsys.readouterr().out
    assert out.startswith("❌ q1") and "class board" not in out
    assert set(_learners(db)) == {"bob"}
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-forged")
    check("q1", env)
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("   (class board: this check was not recorded")
    assert "HTTP 403" in out


def test_the_service_runs_as_the_hub_starts_it(tmp_path: Path) -> None:
    """``python -m smars_sim.analysis.classboard_service`` with a managed service's env."""
    import os
    import socket
    import subprocess
    import sys
    import time

    hub = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    hub_url = _serve(hub)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path / "board"
    folder.mkdir(mode=0o700)
    env = {
        **os.environ,
        "JUPYTERHUB_API_URL": f"{hub_url}/hub/api",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "SMARS_CLASS_DB": str(folder / "class.db"),
        "SMARS_CLASS_ADMINS": "instructor",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "smars_sim.analysis.classboard_service"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}{PREFIX}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        assert _call(url + "checks", "tok-ana", CHECKS) == (200, {"attempt": 1})
        assert _call(url + "checks", None, CHECKS)[0] == 401
        assert _learners(folder / "class.db") == ["ana", "ana"]
        for path in folder.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        hub.shutdown()
