"""JupyterHub load test: N learners log in, start servers, replay and run a notebook at once.

Run it with ``tests/load/run.sh``, which makes the test's own venv (one per clone)
and runs this file with it::

    bash tests/load/run.sh --learners 10 --json out.json

What it does, on 127.0.0.1 only:

1. Starts JupyterHub, as root, with the class recipe ``docs/jupyterhub_config.py``
   (shared class password + a separate admin password, one system user per learner
   created on first login, configurable-http-proxy from npm) on free loopback ports,
   over TLS with a self-signed certificate as on a LAN, its state in a temporary
   folder, the learners' homes in another.
2. Checks the admin credential: the admin name with the class password is refused,
   with the admin password it gets in (and is admin).
3. For each learner, all at the same time: logs in through the login form, starts
   their server through the hub API (the hub creates system user ``smars-<name>``),
   opens a kernel through the proxy, runs the default replay
   (``Scenario.aug1_2012(scale=0.01)``) and then every code cell of one course
   notebook, in that kernel.
4. Then, in each learner's kernel (so as that learner's system user), tries to read
   the next learner's home, the hub's cookie secret, database and TLS key, and the
   environment of the hub, the proxy and the next learner's server, and records
   what each attempt raised; and checks that no secret is in the learner's own
   environment.
5. Samples memory all along (PSS from /proc, per learner: their server and kernels),
   and reports: time to first replay and to first chart per learner (from the
   login), memory per learner, and the total.
6. Stops everything and deletes the system users it made: every request has a
   timeout, the whole run a deadline (``--deadline``, default 480 s), after which it
   stops the hub and exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "docs" / "jupyterhub_config.py"
CHP = REPO / "tests" / "load" / "node_modules" / ".bin" / "configurable-http-proxy"
#: The instructor's name (SMARS_HUB_ADMIN): it has a password of its own.
ADMIN = "instructor"
#: The hub's self-signed certificate, trusted by this driver's websockets (requests
#: trusts it through REQUESTS_CA_BUNDLE); set in main().
CA_CERT: dict[str, str] = {}
REPLAY = """\
import time as _t
_t0 = _t.perf_counter()
from smars_sim import Scenario, replay
_r = replay(Scenario.aug1_2012(scale=0.01))
_s = _r.summary
print("REPLAY", _s.execution_digest, _s.loss_usd, round(_t.perf_counter() - _t0, 3))
"""


#: The class board (issue 17): a check as a learner runs it, with a wrong answer; the
#: checker prints its result and posts names and pass/fail to the board service.
BOARD_CHECK = """\
from smars_sim.exercises import check
def find_rogue(executions):
    return None
check("q1")
"""
#: The board service's system user and database (docs/jupyterhub_config.py).
BOARD_USER = "smarsboard"


#: Characters of the hub's log kept in the results when anything failed.
HUB_LOG_TAIL = 20_000
#: The config's prefix for learners' system users (docs/jupyterhub_config.py).
SYSTEM_PREFIX = "smars-"
#: Run in a learner's kernel: try each read in ``TARGETS`` as that learner and report
#: what it raised, with who the kernel runs as and who owns the learner's files.
PROBE = """\
import json as _j, os as _o, pwd as _p, stat as _s
def _try(path, kind):
    try:
        if kind == "list":
            _o.listdir(path)
        else:
            with open(path, "rb") as _f:
                _f.read(1)
        return "read"
    except PermissionError:
        return "PermissionError"
    except OSError as _e:
        return f"{type(_e).__name__}: {_e}"
_home = _o.path.expanduser("~")
_owners = set()
for _root, _dirs, _files in _o.walk(_o.path.join(_home, "course")):
    for _n in [_root, *(_o.path.join(_root, _x) for _x in _dirs + _files)]:
        _owners.add(_o.lstat(_n).st_uid)
print("PROBE " + _j.dumps({
    "uid": _o.getuid(),
    "user": _p.getpwuid(_o.getuid()).pw_name,
    "home": _home,
    "home_mode": oct(_s.S_IMODE(_o.stat(_home).st_mode)),
    "home_owner": _o.stat(_home).st_uid,
    "course_owners": sorted(_owners),
    "attempts": {_k: _try(*_v) for _k, _v in TARGETS.items()},
    "environ": dict(_o.environ),
}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ memory
def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _user_of(pid: int) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"JUPYTERHUB_USER="):
            return item.split(b"=", 1)[1].decode()
    return None


@dataclass
class MemorySampler:
    """Samples the PSS of the hub's process tree, per learner, every ``interval`` s."""

    hub_pid: int
    interval: float = 0.5
    peak_total_kb: int = 0
    peak_hub_kb: int = 0
    peak_user_kb: dict[str, int] = field(default_factory=dict)
    peak_user_rss_kb: dict[str, int] = field(default_factory=dict)
    #: Each learner by name, to know where they are when sampled.
    learners: dict[str, Learner] = field(default_factory=dict)
    #: A learner's peak while replaying or running the notebook's cells: "through the
    #: notebook", before the class board's check (which forks a child of the kernel).
    peak_user_notebook_kb: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        per_user: dict[str, int] = {}
        per_user_rss: dict[str, int] = {}
        hub = 0
        for pid in _descendants(self.hub_pid):
            pss = _pss_kb(pid)
            user = _user_of(pid)
            if user:
                per_user[user] = per_user.get(user, 0) + pss
                per_user_rss[user] = per_user_rss.get(user, 0) + _rss_kb(pid)
            else:
                hub += pss  # the hub and the proxy
        total = hub + sum(per_user.values())
        self.peak_total_kb = max(self.peak_total_kb, total)
        self.peak_hub_kb = max(self.peak_hub_kb, hub)
        for user, kb in per_user.items():
            self.peak_user_kb[user] = max(self.peak_user_kb.get(user, 0), kb)
            learner = self.learners.get(user)
            if learner is not None and learner.stage.startswith(("replaying", "running cell")):
                self.peak_user_notebook_kb[user] = max(self.peak_user_notebook_kb.get(user, 0), kb)
            self.peak_user_rss_kb[user] = max(
                self.peak_user_rss_kb.get(user, 0), per_user_rss[user]
            )
        self.samples += 1

    def run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


# ------------------------------------------------------------------ learners
@dataclass
class Learner:
    name: str
    ok: bool = False
    error: str = ""
    #: Where this learner is (printed as it changes, and on the deadline).
    stage: str = "not started"
    login_s: float = 0.0
    server_ready_s: float = 0.0
    first_replay_s: float = 0.0  # from the start of the login to the replay's output
    first_chart_s: float = 0.0  # from the start of the login to the first chart's data
    replay_kernel_s: float = 0.0  # the replay alone, measured in the kernel
    notebook_done_s: float = 0.0
    notebook_cells: int = 0
    digest: str = ""
    loss_usd: float = 0.0
    system_user: str = ""
    uid: int = -1  # the kernel's, reported by the kernel
    server_uid: int = -1  # the single-user server process's, from /proc
    server_allow_root: bool = False  # "--allow-root" on the server's command line
    home_mode: str = ""
    course_owned: bool = False  # every file of the learner's course copy is theirs
    #: What each read of someone else's file raised, run as this learner.
    attempts: dict[str, str] = field(default_factory=dict)
    #: Names of the hub's secrets found in this learner's environment (none expected).
    secrets_in_env: list[str] = field(default_factory=list)
    #: The first line the learner's check printed, and whether it said "not recorded".
    board_check: str = ""
    board_not_recorded: bool = False


_T0 = time.monotonic()


def progress(learner: Learner | None, stage: str) -> None:
    """Note a step on stderr with the time since the start: a stuck run shows where."""
    if learner is not None:
        learner.stage = stage
    who = f"{learner.name}: " if learner is not None else ""
    print(f"[{time.monotonic() - _T0:6.1f} s] {who}{stage}", file=sys.stderr, flush=True)


def try_login(base: str, name: str, password: str) -> int:
    """Log in through the hub's login form; return the HTTP status (302 when let in)."""
    with requests.Session() as s:
        r = s.get(f"{base}/hub/login", timeout=30)
        r.raise_for_status()
        xsrf = s.cookies.get("_xsrf", "")
        r = s.post(
            f"{base}/hub/login",
            data={"username": name, "password": password, "_xsrf": xsrf},
            allow_redirects=False,
            timeout=180,
        )
        if r.status_code == 302 and "jupyterhub-session-id" in s.cookies:
            return 302
        return r.status_code if r.status_code != 302 else 0


def login(base: str, name: str, password: str) -> None:
    """Log in through the hub's login form (the class password)."""
    status = try_login(base, name, password)
    if status != 302:
        raise RuntimeError(f"login failed for {name}: HTTP {status}")


class Hub:
    def __init__(self, base: str, service_token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"token {service_token}"}

    def api(self, method: str, path: str, **kw: Any) -> Any:
        r = requests.request(
            method, f"{self.base}/hub/api{path}", headers=self.headers, timeout=180, **kw
        )
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def start_server(self, name: str, timeout: float) -> None:
        self.api("POST", f"/users/{name}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            user = self.api("GET", f"/users/{name}")
            server = (user.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            if not server and not user.get("pending"):
                # The hub gave up on the spawn: say so now rather than at the deadline.
                raise RuntimeError(f"{name}'s server failed to start (see the hub's log)")
            time.sleep(0.5)
        raise TimeoutError(f"{name}'s server not ready after {timeout} s")

    def user_token(self, name: str) -> str:
        return str(self.api("POST", f"/users/{name}/tokens", json={"note": "load test"})["token"])


async def run_code(ws: Any, code: str, timeout: float, seen: dict[str, float] | None = None) -> str:
    """Execute ``code`` over a kernel websocket; return its stdout; raise on an error.

    ``seen["chart"]`` is set to the monotonic time of the first message of this cell
    that carries a Vega-Lite chart (a display, or a chart widget's state).
    """
    msg_id = uuid.uuid4().hex
    await ws.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "load",
                    "session": uuid.uuid4().hex,
                    "msg_type": "execute_request",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    out: list[str] = []
    # The reply (shell) can overtake the last output (iopub): wait for both the reply
    # and the kernel's "idle", which follows the cell's last output.
    replied = idle = False
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("a cell ran too long")
        raw = await asyncio.wait_for(ws.read_message(), left)
        if raw is None:
            raise RuntimeError(
                f"kernel websocket closed (code {ws.close_code}, reason {ws.close_reason!r})"
            )
        if isinstance(raw, bytes):
            continue
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if seen is not None and "chart" not in seen and "vega-lite" in raw:
            seen["chart"] = time.monotonic()
        kind = msg["header"]["msg_type"]
        if kind == "stream":
            out.append(msg["content"]["text"])
        elif kind == "error":
            raise RuntimeError(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        elif kind == "execute_reply" and msg["channel"] == "shell":
            if msg["content"]["status"] != "ok":
                raise RuntimeError(f"cell failed: {msg['content'].get('evalue')}")
            replied = True
        elif kind == "status" and msg["content"].get("execution_state") == "idle":
            idle = True  # all of the cell's output has been sent (iopub)
        if replied and idle:
            return "".join(out)


def notebook_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            if source.strip():
                cells.append(source)
    return cells


async def learner_session(
    hub: Hub,
    base: str,
    learner: Learner,
    password: str,
    notebook: str,
    cells: list[str],
    timeout: float,
    kernels: dict[str, tuple[str, str]],
) -> None:
    """One learner's morning; ``kernels[name]`` keeps (kernel id, token) for the probe."""
    t0 = time.monotonic()
    name = learner.name
    try:
        progress(learner, "logging in")
        await asyncio.to_thread(login, base, name, password)
        progress(learner, "starting the server")
        learner.login_s = time.monotonic() - t0
        # A server not up in 3 minutes is stuck, not slow (they take 10-40 s here): say
        # so while the run still has time to report, instead of at its deadline.
        await asyncio.to_thread(hub.start_server, name, min(timeout, 180.0))
        learner.server_ready_s = time.monotonic() - t0
        progress(learner, "starting a kernel")
        token = await asyncio.to_thread(hub.user_token, name)
        headers = {"Authorization": f"token {token}"}

        def new_kernel() -> str:
            r = requests.post(
                f"{base}/user/{name}/api/kernels", headers=headers, json={}, timeout=180
            )
            r.raise_for_status()
            return str(r.json()["id"])

        kernel = await asyncio.to_thread(new_kernel)
        kernels[name] = (kernel, token)
        ws_url = base.replace("https://", "wss://") + f"/user/{name}/api/kernels/{kernel}/channels"
        # Generous: ten kernels starting at once on two cores can take minutes to answer;
        # the run's overall deadline still bounds everything.
        request = HTTPRequest(
            ws_url,
            headers=headers,
            connect_timeout=180,
            request_timeout=180,
            ca_certs=CA_CERT.get("path"),
        )
        progress(learner, "connecting to the kernel")
        ws = await websocket_connect(request)
        try:
            progress(learner, "replaying")
            out = await run_code(ws, REPLAY, timeout)
            learner.first_replay_s = time.monotonic() - t0
            line = next(x for x in out.splitlines() if x.startswith("REPLAY "))
            _, digest, loss, kernel_s = line.split()
            learner.digest, learner.loss_usd, learner.replay_kernel_s = (
                digest,
                float(loss),
                float(kernel_s),
            )
            # The notebook runs from the learner's copy of the course, as Lab would.
            await run_code(ws, "import os; os.chdir(os.path.expanduser('~/course'))", timeout)
            seen: dict[str, float] = {}
            for source in cells:
                progress(learner, f"running cell {learner.notebook_cells + 1} of {len(cells)}")
                await run_code(ws, source, timeout, seen)
                learner.notebook_cells += 1
            learner.notebook_done_s = time.monotonic() - t0
            # A check, as the learner runs it: it posts to the class board service.
            progress(learner, "running a check (class board)")
            out = await run_code(ws, BOARD_CHECK, timeout)
            learner.board_check = (out.strip().splitlines() or [""])[0][:100]
            learner.board_not_recorded = "not recorded" in out
            if "chart" in seen:
                learner.first_chart_s = seen["chart"] - t0
        finally:
            ws.close()
        learner.ok = True
        progress(learner, "done")
    except Exception as exc:  # reported per learner; the run goes on
        learner.error = f"{type(exc).__name__}: {exc}"
        progress(learner, f"failed while {learner.stage}: {learner.error}")


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _environ(pid: int) -> dict[str, str]:
    try:
        items = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return {}
    out = {}
    for item in items:
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


def server_pid(hub_pid: int, name: str) -> int:
    """The pid of ``name``'s single-user server (0 if none is running)."""
    for pid in _descendants(hub_pid):
        if _user_of(pid) == name and "jupyterhub-singleuser" in _cmdline(pid):
            return pid
    return 0


def proxy_pid(hub_pid: int) -> int:
    for pid in _descendants(hub_pid):
        if "configurable-http-proxy" in _cmdline(pid):
            return pid
    return 0


async def probe(
    base: str,
    learner: Learner,
    kernel: str,
    token: str,
    targets: dict[str, list[str]],
    hub_secrets: dict[str, str],
    timeout: float,
) -> None:
    """Run :data:`PROBE` in the learner's kernel, as the learner's system user."""
    headers = {"Authorization": f"token {token}"}
    ws_url = (
        base.replace("https://", "wss://") + f"/user/{learner.name}/api/kernels/{kernel}/channels"
    )
    request = HTTPRequest(
        ws_url,
        headers=headers,
        connect_timeout=60,
        request_timeout=60,
        ca_certs=CA_CERT.get("path"),
    )
    ws = await websocket_connect(request)
    try:
        code = f"import json\nTARGETS = json.loads({json.dumps(targets)!r})\n{PROBE}"
        out = await run_code(ws, code, timeout)
    finally:
        ws.close()
    found = json.loads(next(x for x in out.splitlines() if x.startswith("PROBE "))[6:])
    learner.system_user = found["user"]
    learner.uid = found["uid"]
    learner.home_mode = found["home_mode"]
    learner.course_owned = found["course_owners"] == [found["uid"]] == [found["home_owner"]]
    learner.attempts = found["attempts"]
    environ = json.dumps(found["environ"])
    learner.secrets_in_env = sorted(k for k, v in hub_secrets.items() if v and v in environ)


def remove_system_users(names: list[str]) -> list[str]:
    """End the processes of, and delete, the learners' system users; return those deleted."""
    import pwd

    removed = []
    for name in names:
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        for pid_dir in Path("/proc").iterdir():
            if pid_dir.name.isdigit():
                with contextlib.suppress(OSError):
                    if pid_dir.stat().st_uid == uid:
                        os.kill(int(pid_dir.name), signal.SIGKILL)
        done = subprocess.run(["userdel", name], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            removed.append(name)
        else:
            print(f"userdel {name}: {done.stderr.strip()}", file=sys.stderr)
    return removed


def class_board(
    hub: Hub, base: str, board_dir: Path, learners: list[Learner], tokens: dict[str, str]
) -> dict[str, Any]:
    """What the class board shows after the learners' checks (issue 17).

    As root (the instructor on the hub's machine), ``smars-sim class-board --json`` on
    the service's database; as the admin, ``board.json`` through the proxy with an
    admin token; as a learner, the same URL (refused); and the database's owner and mode.
    """
    import pwd

    db = board_dir / "class.db"
    out: dict[str, Any] = {}
    cli = subprocess.run(
        [sys.executable, "-m", "smars_sim.cli", "class-board", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out["cli_exit"] = cli.returncode
    rows = json.loads(cli.stdout) if cli.returncode == 0 else []
    out["cli_error"] = cli.stderr.strip()[-500:]
    out["rows"] = rows
    out["learners_on_board"] = sorted({r["learner"] for r in rows})
    with contextlib.suppress(OSError, KeyError):
        st = db.stat()
        out["db_owner"] = pwd.getpwuid(st.st_uid).pw_name
        out["db_mode"] = oct(st.st_mode & 0o777)
        out["dir_mode"] = oct(board_dir.stat().st_mode & 0o777)
    url = f"{base}/services/class-board/board.json"
    try:
        token = hub.api(
            "POST",
            f"/users/{ADMIN}/tokens",
            json={"note": "class board", "scopes": [f"read:users:name!user={ADMIN}"]},
        )["token"]
        r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=60)
        out["admin_status"] = r.status_code
        if r.ok:
            out["admin_learners"] = sorted({row["learner"] for row in r.json()["rows"]})
    except Exception as exc:
        out["admin_status"] = f"{type(exc).__name__}: {exc}"[:300]
    statuses = set()
    for lr in learners[:3]:
        if lr.name in tokens:
            r = requests.get(url, headers={"Authorization": f"token {tokens[lr.name]}"}, timeout=60)
            statuses.add(r.status_code)
    out["learner_statuses"] = sorted(statuses)
    out["anonymous_status"] = requests.get(url, timeout=60).status_code
    return out


def wait_http(url: str, deadline: float, proc: subprocess.Popen[bytes]) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyterhub exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not up in time")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, default=10)
    ap.add_argument("--notebook", default="", help="course notebook to run (default: first found)")
    ap.add_argument("--deadline", type=float, default=480, help="seconds for the whole run")
    ap.add_argument("--json", default="", help="write the figures here")
    ap.add_argument("--keep-state", action="store_true")
    args = ap.parse_args()
    if args.learners > 60:
        ap.error("at most 60 learners (the config's active_server_limit)")
    start = time.monotonic()
    deadline = start + args.deadline

    notebook = args.notebook
    if not notebook:
        for candidate in ("02", "03", "01", "00", "05"):
            found = sorted((REPO / "course").glob(f"{candidate}_*.ipynb"))
            if found:
                notebook = str(found[0].relative_to(REPO))
                break
        else:
            notebook = "course/console.ipynb"
    cells = notebook_cells(REPO / notebook)
    if os.geteuid() != 0:
        print(
            "the load test runs the class recipe, which needs root: the hub creates one "
            "system user per learner",
            file=sys.stderr,
        )
        return 2

    state = Path(tempfile.mkdtemp(prefix="smars-hubstate-"))  # 0700, root's
    board_dir = Path(f"{state}-board")  # the class board's database (the config makes it)
    import pwd

    try:
        pwd.getpwnam(BOARD_USER)
        board_user_existed = True
    except KeyError:
        board_user_existed = False
    homes = Path(tempfile.mkdtemp(prefix="smars-hubhomes-"))
    homes.chmod(0o755)  # the learners' homes in it are 0700 each
    # TLS as on a LAN (docs/jupyterhub.md, "TLS on a LAN"): a self-signed certificate
    # for the hub's address, which the clients (here, this driver) trust.
    cert, key = state / "hub-cert.pem", state / "hub-key.pem"
    try:
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-days", "1"),
                *("-nodes", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=smars-hub"),
                *("-addext", "subjectAltName=IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"openssl could not make the hub's certificate: {exc}", file=sys.stderr)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(homes, ignore_errors=True)
        return 2
    key.chmod(0o600)
    password = secrets.token_hex(8)
    admin_password = secrets.token_hex(16)  # 32 characters, as the config asks
    service_token = secrets.token_hex(24)
    # Names unique to this run, so a leftover system user of an earlier run never
    # stands in for a new one; every one is deleted at the end.
    run_id = secrets.token_hex(2)
    learners = [Learner(f"lt{run_id}-{i:02d}") for i in range(1, args.learners + 1)]
    system_users = [SYSTEM_PREFIX + lr.name for lr in learners]
    port = free_port()
    env = dict(os.environ)
    env.update(
        SMARS_HUB_STATE=str(state),
        SMARS_HUB_PORT=str(port),
        SMARS_HUB_API_PORT=str(free_port()),
        SMARS_HUB_PROXY_API_PORT=str(free_port()),
        SMARS_HUB_HOMES=str(homes),
        SMARS_HUB_SSL_CERT=str(cert),
        SMARS_HUB_SSL_KEY=str(key),
        SMARS_HUB_PASSWORD=password,
        SMARS_HUB_ADMIN_PASSWORD=admin_password,
        SMARS_HUB_ADMIN=ADMIN,
        SMARS_HUB_SERVICE_TOKEN=service_token,
        SMARS_HUB_BOARD_DIR=str(board_dir),
        SMARS_HUB_BOARD_PORT=str(free_port()),
        SMARS_HUB_CHP=str(CHP if CHP.exists() else shutil.which("configurable-http-proxy") or CHP),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    log_path = state / "jupyterhub.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(CONFIG)],
            cwd=state,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    # The watchdog and the main thread must not clean up at once (two userdel runs
    # fight over /etc/passwd's lock): whoever takes this first does it.
    cleanup = threading.Lock()

    def on_deadline() -> None:
        if not cleanup.acquire(blocking=False):
            return  # the main thread is already cleaning up, and will finish
        print(f"deadline of {args.deadline} s reached: stopping", file=sys.stderr, flush=True)
        for lr in learners:
            print(f"  {lr.name}: {lr.stage}  {lr.error}", file=sys.stderr, flush=True)
        with contextlib.suppress(OSError):
            tail = log_path.read_text(errors="replace")[-4000:]
            print("end of the hub's log:\n" + tail, file=sys.stderr, flush=True)
        stop_hub()
        remove_system_users(system_users)
        shutil.rmtree(homes, ignore_errors=True)
        shutil.rmtree(board_dir, ignore_errors=True)
        os._exit(3)

    def stop_hub() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        # Learners' servers are in their own sessions: end any the hub left behind.
        for pid_dir in Path("/proc").iterdir():
            if pid_dir.name.isdigit():
                try:
                    env_bytes = (pid_dir / "environ").read_bytes()
                except OSError:
                    continue
                if f"SMARS_HUB_STATE={state}".encode() in env_bytes.split(b"\0"):
                    with contextlib.suppress(OSError):
                        os.kill(int(pid_dir.name), signal.SIGKILL)

    watchdog = threading.Timer(args.deadline, on_deadline)
    watchdog.daemon = True
    watchdog.start()
    base = f"https://127.0.0.1:{port}"
    os.environ["REQUESTS_CA_BUNDLE"] = CA_CERT["path"] = str(cert)
    sampler = MemorySampler(proc.pid, learners={lr.name: lr for lr in learners})
    result: dict[str, Any] = {}
    try:
        wait_http(f"{base}/hub/login", deadline, proc)  # through the proxy
        hub_up_s = time.monotonic() - start
        # The public port speaks TLS only: a plain-HTTP request gets no page.
        try:
            plain = requests.get(f"http://127.0.0.1:{port}/hub/login", timeout=10).status_code
        except requests.RequestException:
            plain = 0
        plain_http_refused = plain == 0 or plain >= 400
        sampler.sample()
        idle_hub_kb = sampler.peak_total_kb
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        hub = Hub(base, service_token)
        # The admin credential is not the class password (HTTP status of each login;
        # 302 is "let in").
        admin_logins = {
            "admin_with_class_password": try_login(base, ADMIN, password),
            "admin_capitalised_with_class_password": try_login(base, ADMIN.capitalize(), password),
            "admin_with_admin_password": try_login(base, ADMIN, admin_password),
        }
        admin_is_admin = bool(hub.api("GET", f"/users/{ADMIN}").get("admin"))
        per_learner_timeout = max(30.0, deadline - time.monotonic() - 20)
        t_all = time.monotonic()
        kernels: dict[str, tuple[str, str]] = {}

        async def everyone() -> None:
            await asyncio.gather(
                *(
                    learner_session(
                        hub, base, lr, password, notebook, cells, per_learner_timeout, kernels
                    )
                    for lr in learners
                )
            )

        asyncio.run(everyone())
        wall_s = time.monotonic() - t_all
        sampler.sample()
        sampler.stop()
        thread.join(timeout=5)

        # Each learner, as their own system user, tries to read the next learner's
        # home and the hub's secrets. Every target is checked to exist (as root) first,
        # so a PermissionError means "there, and refused".
        cookie_secret = state / "jupyterhub_cookie_secret"
        proxy = proxy_pid(proc.pid)
        hub_secrets = {
            "class password": password,
            "admin password": admin_password,
            "service token": service_token,
            "cookie secret": cookie_secret.read_text().strip() if cookie_secret.exists() else "",
            "proxy auth token": _environ(proxy).get("CONFIGPROXY_AUTH_TOKEN", ""),
            "TLS key": key.read_text().strip(),
        }
        missing_targets: list[str] = []

        async def probe_one(i: int, lr: Learner) -> None:
            other = learners[(i + 1) % len(learners)]
            other_home = homes / (SYSTEM_PREFIX + other.name)
            targets = {
                "other_home_list": [str(other_home), "list"],
                "other_home_notebook": [
                    str(other_home / "course" / Path(notebook).name),
                    "open",
                ],
                "cookie_secret": [str(cookie_secret), "open"],
                "hub_database": [str(state / "jupyterhub.sqlite"), "open"],
                "tls_key": [str(key), "open"],
                "hub_environ": [f"/proc/{proc.pid}/environ", "open"],
                "proxy_environ": [f"/proc/{proxy}/environ", "open"],
                "other_server_environ": [
                    f"/proc/{server_pid(proc.pid, other.name)}/environ",
                    "open",
                ],
            }
            spid = server_pid(proc.pid, lr.name)
            with contextlib.suppress(OSError):
                lr.server_uid = Path(f"/proc/{spid}").stat().st_uid if spid else -1
            lr.server_allow_root = "--allow-root" in _cmdline(spid)
            missing_targets.extend(
                f"{lr.name}: {k} {v[0]}" for k, v in targets.items() if not Path(v[0]).exists()
            )
            try:
                progress(lr, "probing what this learner can read")
                await probe(base, lr, *kernels[lr.name], targets, hub_secrets, 120)
                progress(lr, "probed")
            except Exception as exc:
                lr.ok = False
                lr.error = f"probe: {type(exc).__name__}: {exc}"
                progress(lr, f"probe failed: {lr.error}")

        async def probes() -> None:
            # All at once, as the learners worked: one slow kernel must not make the
            # others wait out their time limits in turn.
            await asyncio.gather(
                *(probe_one(i, lr) for i, lr in enumerate(learners) if lr.name in kernels)
            )

        asyncio.run(probes())
        board = class_board(hub, base, board_dir, learners, {k: v[1] for k, v in kernels.items()})

        ok = [lr for lr in learners if lr.ok]
        firsts = [lr.first_replay_s for lr in ok]
        charts = [lr.first_chart_s for lr in ok if lr.first_chart_s]
        names = {lr.name for lr in learners}
        per_user_mb = [kb / 1024 for u, kb in sampler.peak_user_kb.items() if u in names]
        notebook_mb = [kb / 1024 for kb in sampler.peak_user_notebook_kb.values()]
        others_mb = {
            u: round(kb / 1024) for u, kb in sampler.peak_user_kb.items() if u not in names
        }
        result = {
            "learners": args.learners,
            "succeeded": len(ok),
            "notebook": notebook,
            "notebook_cells": len(cells),
            "cpus": os.cpu_count(),
            "hub_start_s": round(hub_up_s, 1),
            "wall_s": round(wall_s, 1),
            "first_replay_s": {
                "min": round(min(firsts), 1) if firsts else None,
                "median": round(statistics.median(firsts), 1) if firsts else None,
                "max": round(max(firsts), 1) if firsts else None,
            },
            "replay_in_kernel_s_median": round(
                statistics.median(lr.replay_kernel_s for lr in ok), 2
            )
            if ok
            else None,
            "memory_per_learner_mb_pss": {
                "min": round(min(per_user_mb)) if per_user_mb else None,
                "median": round(statistics.median(per_user_mb)) if per_user_mb else None,
                "max": round(max(per_user_mb)) if per_user_mb else None,
            },
            "memory_per_learner_through_notebook_mb_pss": {
                "min": round(min(notebook_mb)) if notebook_mb else None,
                "median": round(statistics.median(notebook_mb)) if notebook_mb else None,
                "max": round(max(notebook_mb)) if notebook_mb else None,
            },
            "memory_other_hub_users_mb_pss": others_mb,
            "memory_per_learner_mb_rss_median": round(
                statistics.median(
                    kb / 1024 for u, kb in sampler.peak_user_rss_kb.items() if u in names
                )
            )
            if sampler.peak_user_rss_kb
            else None,
            "memory_hub_and_proxy_mb_pss": round(sampler.peak_hub_kb / 1024),
            "memory_idle_hub_mb_pss": round(idle_hub_kb / 1024),
            "memory_total_peak_mb_pss": round(sampler.peak_total_kb / 1024),
            "memory_samples": sampler.samples,
            "first_chart_s": {
                "min": round(min(charts), 1) if charts else None,
                "median": round(statistics.median(charts), 1) if charts else None,
                "max": round(max(charts), 1) if charts else None,
            },
            "digests": sorted({lr.digest for lr in ok}),
            "plain_http_refused": plain_http_refused,
            "admin_logins": admin_logins,
            "admin_is_admin": admin_is_admin,
            "system_users": sorted({lr.system_user for lr in learners if lr.system_user}),
            "uids": sorted({lr.uid for lr in learners if lr.uid >= 0}),
            "probe_targets_missing": missing_targets,
            "home_modes": sorted({lr.home_mode for lr in learners if lr.home_mode}),
            "per_learner": [asdict(lr) for lr in learners],
            "class_board": board,
        }
        if len(ok) < len(learners):
            # The hub's log also holds the learners' servers' output (kernel restarts,
            # dropped connections): keep its end, or the evidence goes with the state.
            result["hub_log_tail"] = log_path.read_text(errors="replace")[-HUB_LOG_TAIL:]
    except Exception as exc:
        result = {
            "error": f"{type(exc).__name__}: {exc}",
            "hub_log_tail": log_path.read_text(errors="replace")[-HUB_LOG_TAIL:],
        }
    finally:
        if not cleanup.acquire(blocking=False):
            time.sleep(3600)  # the watchdog is cleaning up and ends the process
        sampler.stop()
        stop_hub()
        result["system_users_removed"] = len(remove_system_users(system_users))
        watchdog.cancel()
        shutil.rmtree(homes, ignore_errors=True)
        if not args.keep_state:
            shutil.rmtree(state, ignore_errors=True)
            shutil.rmtree(board_dir, ignore_errors=True)
        if not board_user_existed:  # the config made the board's system user for this run
            result["board_user_removed"] = remove_system_users([BOARD_USER]) == [BOARD_USER]
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    summary = {k: v for k, v in result.items() if k not in ("per_learner", "hub_log_tail")}
    if "hub_log_tail" in result:
        print("end of the hub's log:\n" + result["hub_log_tail"][-4000:], file=sys.stderr)
    print(json.dumps(summary, indent=2))
    return 0 if result.get("succeeded") == args.learners else 1


if __name__ == "__main__":
    sys.exit(main())
