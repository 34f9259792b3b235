"""JupyterHub for a class on one machine: the smars-sim course for every learner.

Run it from the hub's venv (see docs/jupyterhub.md)::

    jupyterhub -f docs/jupyterhub_config.py

Everything is set by environment variables, so the same file serves a classroom
and the load test (tests/load/hub_load.py):

SMARS_HUB_STATE     folder for the hub's database, cookie secret and learners' homes
                    (default: ./hub-state)
SMARS_HUB_IP        address the hub listens on (default 127.0.0.1; a classroom puts
                    a TLS proxy in front, or sets its LAN address and ssl_cert/ssl_key)
SMARS_HUB_PORT      public port (default 8000)
SMARS_HUB_PASSWORD  the shared password of the dummy authenticator (required)
SMARS_HUB_COURSE    the course folder copied into each new learner's home
                    (default: course/ next to this file's folder)
SMARS_HUB_CHP       path to configurable-http-proxy (default: found on PATH)
SMARS_HUB_SERVICE_TOKEN  if set, a "load-test" service with this token may manage
                    users, servers and tokens (the load test uses it)

The authenticator is the dummy one: anyone who knows the shared password gets
an account named as they typed. That is fine on a closed classroom network for a
day; for anything longer, use a real authenticator (e.g. GitHub or your
university's OAuth) — only ``authenticator_class`` changes.

The spawner is the simple local-process spawner: every learner's server runs as
the hub's own system user, in its own home folder under SMARS_HUB_STATE. It
isolates nothing (a learner can read another's files); with real accounts use
``LocalProcessSpawner`` (one system user per learner) or, beyond one machine,
Zero to JupyterHub on Kubernetes.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821 (provided by JupyterHub)

here = Path(__file__).resolve().parent
state = Path(os.environ.get("SMARS_HUB_STATE", "hub-state")).resolve()
state.mkdir(parents=True, exist_ok=True)
course = Path(os.environ.get("SMARS_HUB_COURSE", here.parent / "course")).resolve()
bin_dir = Path(sys.executable).parent  # the hub's venv: jupyterhub-singleuser lives here too

# --------------------------------------------------------------- network
c.JupyterHub.ip = os.environ.get("SMARS_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("SMARS_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("SMARS_HUB_API_PORT", "8081"))
proxy_api_port = os.environ.get("SMARS_HUB_PROXY_API_PORT", "8001")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [os.environ.get("SMARS_HUB_CHP", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.should_start = True

# ----------------------------------------------------------------- state
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server

# ---------------------------------------------------------- who gets in
c.JupyterHub.authenticator_class = "dummy"
password = os.environ.get("SMARS_HUB_PASSWORD")
if not password:
    raise SystemExit("set SMARS_HUB_PASSWORD: the shared class password")
c.DummyAuthenticator.password = password
c.Authenticator.allow_all = True  # anyone with the password (JupyterHub 5+ asks explicitly)
c.Authenticator.admin_users = {"instructor"}

# ------------------------------------------------------ learners' servers
c.JupyterHub.spawner_class = "simple"  # SimpleLocalProcessSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "homes" / "{username}")
c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/course"
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 120  # 40 servers starting on 2 cores queue up
c.Spawner.http_timeout = 120
# No news pop-up, no update check; idle kernels shut down after 20 minutes.
c.Spawner.args = [
    "--LabApp.news_url=",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--MappingKernelManager.cull_idle_timeout=1200",
    "--MappingKernelManager.cull_interval=120",
    "--ServerApp.shutdown_no_activity_timeout=3600",  # a server with nothing open for 1 h stops
]
if os.geteuid() == 0:  # a test container; never run a real class as root
    c.Spawner.args.append("--allow-root")
c.Spawner.environment = {"SMARS_HUB_STATE": str(state)}  # lets the load test find strays
# Start at most this many servers at once; the rest wait (and retry) instead of
# overloading the machine when the whole class presses "Start" together.
c.JupyterHub.concurrent_spawn_limit = 20
c.JupyterHub.active_server_limit = 60


def copy_course(spawner: object) -> None:
    """Give a new learner their own copy of the course (kept on later logins)."""
    home = Path(spawner.home_dir_template.format(username=spawner.user.name))  # type: ignore[attr-defined]
    home.mkdir(parents=True, exist_ok=True)
    target = home / "course"
    if not target.exists() and course.is_dir():
        shutil.copytree(course, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))


c.Spawner.pre_spawn_hook = copy_course

# ------------------------------------------ the load test's service token
service_token = os.environ.get("SMARS_HUB_SERVICE_TOKEN")
if service_token:
    c.JupyterHub.services = [{"name": "load-test", "api_token": service_token}]
    c.JupyterHub.load_roles = [
        {
            "name": "load-test",
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users"],
            "services": ["load-test"],
        }
    ]
