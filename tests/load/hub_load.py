"""JupyterHub load test: N learners log in, start servers, replay and run a notebook at once.

Run it with ``tests/load/run.sh``, which makes the test's own venv (one per clone)
and runs this file with it::

    bash tests/load/run.sh --learners 10 --json out.json

What it does, on 127.0.0.1 only:

1. Starts JupyterHub with ``docs/jupyterhub_config.py`` (dummy authenticator, simple
   local-process spawner, configurable-http-proxy from npm) on free loopback ports,
   its state in a temporary folder.
2. For each learner, all at the same time: logs in through the login form, starts
   their server through the hub API, opens a kernel through the proxy, runs the
   default replay (``Scenario.aug1_2012(scale=0.01)``) and then every code cell of
   one course notebook, in that kernel.
3. Samples memory all along (PSS from /proc, per learner: their server and kernels),
   and reports: time to first replay per learner (from the login), memory per
   learner, and the total.
4. Stops everything: every request has a timeout, the whole run a deadline
   (``--deadline``, default 480 s), after which it stops the hub and exits non-zero.
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
REPLAY = """\
import time as _t
_t0 = _t.perf_counter()
from smars_sim import Scenario, replay
_r = replay(Scenario.aug1_2012(scale=0.01))
_s = _r.summary
print("REPLAY", _s.execution_digest, _s.loss_usd, round(_t.perf_counter() - _t0, 3))
"""


#: Characters of the hub's log kept in the results when anything failed.
HUB_LOG_TAIL = 20_000


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
    login_s: float = 0.0
    server_ready_s: float = 0.0
    first_replay_s: float = 0.0  # from the start of the login to the replay's output
    replay_kernel_s: float = 0.0  # the replay alone, measured in the kernel
    notebook_done_s: float = 0.0
    notebook_cells: int = 0
    digest: str = ""
    loss_usd: float = 0.0


def login(base: str, name: str, password: str) -> None:
    """Log in through the hub's login form (the dummy authenticator)."""
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
        if r.status_code != 302 or "jupyterhub-session-id" not in s.cookies:
            raise RuntimeError(f"login failed for {name}: HTTP {r.status_code}")


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
            time.sleep(0.5)
        raise TimeoutError(f"{name}'s server not ready after {timeout} s")

    def user_token(self, name: str) -> str:
        return str(self.api("POST", f"/users/{name}/tokens", json={"note": "load test"})["token"])


async def run_code(ws: Any, code: str, timeout: float) -> str:
    """Execute ``code`` over a kernel websocket; return its stdout; raise on an error."""
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
        kind = msg["header"]["msg_type"]
        if kind == "stream":
            out.append(msg["content"]["text"])
        elif kind == "error":
            raise RuntimeError(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        elif kind == "execute_reply" and msg["channel"] == "shell":
            if msg["content"]["status"] != "ok":
                raise RuntimeError(f"cell failed: {msg['content'].get('evalue')}")
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
) -> None:
    t0 = time.monotonic()
    name = learner.name
    try:
        await asyncio.to_thread(login, base, name, password)
        learner.login_s = time.monotonic() - t0
        await asyncio.to_thread(hub.start_server, name, timeout)
        learner.server_ready_s = time.monotonic() - t0
        token = await asyncio.to_thread(hub.user_token, name)
        headers = {"Authorization": f"token {token}"}

        def new_kernel() -> str:
            r = requests.post(
                f"{base}/user/{name}/api/kernels", headers=headers, json={}, timeout=180
            )
            r.raise_for_status()
            return str(r.json()["id"])

        kernel = await asyncio.to_thread(new_kernel)
        ws_url = base.replace("http://", "ws://") + f"/user/{name}/api/kernels/{kernel}/channels"
        # Generous: ten kernels starting at once on two cores can take minutes to answer;
        # the run's overall deadline still bounds everything.
        request = HTTPRequest(ws_url, headers=headers, connect_timeout=180, request_timeout=180)
        ws = await websocket_connect(request)
        try:
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
            for source in cells:
                await run_code(ws, source, timeout)
                learner.notebook_cells += 1
            learner.notebook_done_s = time.monotonic() - t0
        finally:
            ws.close()
        learner.ok = True
    except Exception as exc:  # reported per learner; the run goes on
        learner.error = f"{type(exc).__name__}: {exc}"


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

    state = Path(tempfile.mkdtemp(prefix="smars-hubstate-"))
    password = secrets.token_hex(8)
    service_token = secrets.token_hex(24)
    port = free_port()
    env = dict(os.environ)
    env.update(
        SMARS_HUB_STATE=str(state),
        SMARS_HUB_PORT=str(port),
        SMARS_HUB_API_PORT=str(free_port()),
        SMARS_HUB_PROXY_API_PORT=str(free_port()),
        SMARS_HUB_PASSWORD=password,
        SMARS_HUB_SERVICE_TOKEN=service_token,
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

    def on_deadline() -> None:
        print(f"deadline of {args.deadline} s reached: stopping", file=sys.stderr, flush=True)
        stop_hub()
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
    base = f"http://127.0.0.1:{port}"
    learners = [Learner(f"learner{i:02d}") for i in range(1, args.learners + 1)]
    sampler = MemorySampler(proc.pid)
    result: dict[str, Any] = {}
    try:
        wait_http(f"{base}/hub/login", deadline, proc)  # through the proxy
        hub_up_s = time.monotonic() - start
        sampler.sample()
        idle_hub_kb = sampler.peak_total_kb
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        hub = Hub(base, service_token)
        per_learner_timeout = max(30.0, deadline - time.monotonic() - 20)
        t_all = time.monotonic()

        async def everyone() -> None:
            await asyncio.gather(
                *(
                    learner_session(hub, base, lr, password, notebook, cells, per_learner_timeout)
                    for lr in learners
                )
            )

        asyncio.run(everyone())
        wall_s = time.monotonic() - t_all
        sampler.sample()
        sampler.stop()
        thread.join(timeout=5)

        ok = [lr for lr in learners if lr.ok]
        firsts = [lr.first_replay_s for lr in ok]
        per_user_mb = [kb / 1024 for kb in sampler.peak_user_kb.values()]
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
            "memory_per_learner_mb_rss_median": round(
                statistics.median(kb / 1024 for kb in sampler.peak_user_rss_kb.values())
            )
            if sampler.peak_user_rss_kb
            else None,
            "memory_hub_and_proxy_mb_pss": round(sampler.peak_hub_kb / 1024),
            "memory_idle_hub_mb_pss": round(idle_hub_kb / 1024),
            "memory_total_peak_mb_pss": round(sampler.peak_total_kb / 1024),
            "memory_samples": sampler.samples,
            "digests": sorted({lr.digest for lr in ok}),
            "per_learner": [asdict(lr) for lr in learners],
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
        sampler.stop()
        stop_hub()
        watchdog.cancel()
        if not args.keep_state:
            shutil.rmtree(state, ignore_errors=True)
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
