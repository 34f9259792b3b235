"""Real-browser tests: JupyterLab and Voilà on loopback, driven by Playwright in Debian's Chromium.

What the fixtures do:

* ``lab``: JupyterLab on a free 127.0.0.1 port with a random token, its root a
  temporary copy of ``course/`` (so Lab never autosaves the real notebooks), and
  its settings, workspaces and runtime files in that temporary folder. Before
  each test every session and kernel is deleted, so a page never reconnects to
  an earlier test's kernel.
* ``voila_console``: Voilà serving ``course/console.ipynb`` the way ``make
  console`` does (idle culling on), on a free loopback port with a token.
* ``page``: a fresh Chromium page. Chromium is ``/usr/bin/chromium`` (never
  ``playwright install``), started with the flags that keep it off the network.
  Every request that leaves 127.0.0.1 is blocked and recorded: the tests assert
  there were none, which is what "works offline, needs no CDN" means here.
  After the test a screenshot goes to ``test-artifacts/``.

No browser: in CI (``CI`` set) the tests fail; elsewhere they skip, and the run
prints one line saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from browser_helpers import COURSE, REPO, PageLog, Server

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("SMARS_CHROMIUM", "/usr/bin/chromium")
# The flags that stop Chromium's own calls home (this machine has no network).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
]
BIN = Path(sys.executable).parent
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # Render every cell (Lab 4 skips off-screen cells by default): the tests read all prompts.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def _missing_browser() -> str | None:
    if not Path(CHROMIUM).is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


MISSING = _missing_browser()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            if item.get_closest_marker("screenshots") is None:
                item.add_marker(pytest.mark.browser)
            if MISSING and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {MISSING}"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MISSING and not os.environ.get("CI"):
        terminalreporter.write_line(
            f"browser tests skipped: {MISSING}; in CI (CI set) this fails instead"
        )


@pytest.fixture(scope="session", autouse=True)
def _browser_required() -> None:
    if MISSING:
        pytest.fail(f"browser tests need Chromium in CI: {MISSING}")


# --------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(server: Server, probe: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited ({server.proc.returncode}):\n{server.log_tail()}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(server.url(probe), timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout} s:\n{server.log_tail()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _start(
    cmd: list[str], root: Path, log_name: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Path]:
    log = root.parent / log_name
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stopped with its kernels
        )
    return proc, log


def _server_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def server_tmp() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="smars-browser-"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(server_tmp: Path) -> Iterator[Server]:
    root = server_tmp / "lab-root"
    shutil.copytree(COURSE, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = server_tmp / "lab-app-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES))
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        str(BIN / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.app_settings_dir={settings}",
        "--LabApp.news_url=",
        "--ServerApp.open_browser=False",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc, log = _start(cmd, root, "lab.log", _server_env(server_tmp))
    server = Server(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        _wait_ready(server, "/api/status")
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def clean_lab(lab: Server) -> Server:
    """The Lab server with no session or kernel left from an earlier test."""
    for session in lab.api("GET", "/api/sessions"):
        with contextlib.suppress(urllib.error.HTTPError):
            lab.api("DELETE", f"/api/sessions/{session['id']}")
    for kernel in lab.api("GET", "/api/kernels"):
        with contextlib.suppress(urllib.error.HTTPError):
            lab.api("DELETE", f"/api/kernels/{kernel['id']}")
    return lab


def _start_voila(tmp: Path, cull_idle_s: int, cull_interval_s: int) -> Server:
    root = Path(tempfile.mkdtemp(prefix="voila-root-", dir=tmp))
    shutil.copy(COURSE / "console.ipynb", root / "console.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        str(BIN / "voila"),
        "console.ipynb",
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        f"--Voila.token={token}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_s}",
        f"--MappingKernelManager.cull_interval={cull_interval_s}",
        "--template=smars-offline",
    ]
    env = _server_env(tmp)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(REPO / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")) if p
    )
    proc, log = _start(cmd, root, f"voila-{port}.log", env)
    server = Server(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        # A static file: probing "/" would start a kernel.
        _wait_ready(server, "/voila/static/voila.js")
    except Exception:
        _stop(proc)
        raise
    return server


@pytest.fixture(scope="session")
def voila_console(server_tmp: Path) -> Iterator[Server]:
    """Voilà on the console with the culling options of `make console` (600 s / 60 s)."""
    server = _start_voila(server_tmp, 600, 60)
    try:
        yield server
    finally:
        _stop(server.proc)


@pytest.fixture
def voila_console_fast_cull(server_tmp: Path) -> Iterator[Server]:
    """The same, culling idle kernels after 4 s (checked every 2 s)."""
    server = _start_voila(server_tmp, 4, 2)
    try:
        yield server
    finally:
        _stop(server.proc)


# --------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return urlparse(url).scheme in ("data", "blob", "about") or host in ("127.0.0.1", "localhost")


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    log = PageLog()

    def guard(route: Any) -> None:
        url = route.request.url
        if _local(url):
            route.continue_()
        else:
            log.offsite.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.on(
        "console",
        lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    pg.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    pg.smars_log = log
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    with contextlib.suppress(Exception):
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
