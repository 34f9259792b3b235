"""JupyterHub for a class on one machine: the smars-sim course for every learner.

Run it as root from the hub's venv (see docs/jupyterhub.md)::

    jupyterhub -f docs/jupyterhub_config.py

Learners are separate system users, as The Littlest JupyterHub does it: the hub
runs as root, and on a learner's first login it creates the system user
``smars-<name>`` (``useradd``), with a home of mode 0700 holding the learner's own
copy of the course; the learner's server then runs as that user. The hub's state
folder (database, cookie secret) is root's, mode 0700, and the hub's environment
(passwords, tokens) is root's, so no learner can read either.

Everything is set by environment variables, so the same file serves a classroom
and the load test (tests/load/hub_load.py):

SMARS_HUB_PASSWORD        the class password, shared by the learners (required,
                          at least 8 characters)
SMARS_HUB_ADMIN_PASSWORD  the instructor's own password (at least 32 characters, not
                          the class password); without it nobody can log in as admin
SMARS_HUB_ADMIN           the instructor's user name (default: instructor); this
                          name never logs in with the class password
SMARS_HUB_STATE           folder for the hub's database and cookie secret, made root's
                          with mode 0700 (default: ./hub-state)
SMARS_HUB_HOMES           folder that holds the learners' homes (default: /home);
                          never inside SMARS_HUB_STATE
SMARS_HUB_IP              address the hub listens on (default 127.0.0.1). Any other
                          address needs SMARS_HUB_SSL_CERT and SMARS_HUB_SSL_KEY:
                          a class password never crosses a LAN in clear
SMARS_HUB_SSL_CERT, SMARS_HUB_SSL_KEY  TLS certificate and key (PEM files)
SMARS_HUB_PORT            public port (default 8000)
SMARS_HUB_API_PORT, SMARS_HUB_PROXY_API_PORT  the hub's and the proxy's own ports,
                          on 127.0.0.1 (default 8081 and 8001)
SMARS_HUB_COURSE          the course folder copied into each new learner's home
                          (default: course/ next to this file's folder)
SMARS_HUB_CHP             path to configurable-http-proxy (default: found on PATH)
SMARS_HUB_BOARD_DIR       folder of the class board's database, made 0700 and the
                          board service user's (default: SMARS_HUB_STATE + "-board")
SMARS_HUB_BOARD_PORT      the class board service's port on 127.0.0.1 (default 8082)
SMARS_HUB_SERVICE_TOKEN   if set, a "load-test" service with this token may manage
                          users, servers and tokens (the load test uses it)

A bad or missing setting stops the hub with one line naming it.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid

c = get_config()  # type: ignore[name-defined]  # noqa: F821 (provided by JupyterHub)


def refuse(message: str) -> None:
    """Stop the hub with one line (no traceback)."""
    raise SystemExit(f"jupyterhub_config.py: {message}")


here = Path(__file__).resolve().parent
bin_dir = Path(sys.executable).parent  # the hub's venv: jupyterhub-singleuser lives here too
course = Path(os.environ.get("SMARS_HUB_COURSE", here.parent / "course")).resolve()

if os.geteuid() != 0:
    refuse(
        "run the hub as root: it creates one system user per learner and starts "
        "each learner's server as that user"
    )

# ----------------------------------------------------------------- state
state = Path(os.environ.get("SMARS_HUB_STATE", "hub-state")).resolve()
state.mkdir(mode=0o700, parents=True, exist_ok=True)
os.chown(state, 0, 0)
os.chmod(state, 0o700)  # the cookie secret and the database: root's alone
homes = Path(os.environ.get("SMARS_HUB_HOMES", "/home")).resolve()
if homes == state or state in homes.parents:
    refuse(f"SMARS_HUB_HOMES ({homes}) must not be inside SMARS_HUB_STATE ({state})")
homes.mkdir(mode=0o755, parents=True, exist_ok=True)
if homes.stat().st_mode & 0o022:
    refuse(f"SMARS_HUB_HOMES ({homes}) is writable by others than its owner")

c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server

# --------------------------------------------------------------- network
ip = os.environ.get("SMARS_HUB_IP", "127.0.0.1")
try:
    loopback = ipaddress.ip_address(ip).is_loopback
except ValueError:
    refuse(f"SMARS_HUB_IP={ip!r} is not an IP address")
ssl_cert = os.environ.get("SMARS_HUB_SSL_CERT", "")
ssl_key = os.environ.get("SMARS_HUB_SSL_KEY", "")
if bool(ssl_cert) != bool(ssl_key):
    refuse("set both SMARS_HUB_SSL_CERT and SMARS_HUB_SSL_KEY, or neither")
if not loopback and not ssl_cert:
    refuse(
        f"SMARS_HUB_IP={ip} without TLS would send the class password in clear: "
        "set SMARS_HUB_SSL_CERT and SMARS_HUB_SSL_KEY (docs/jupyterhub.md, 'TLS on a LAN')"
    )
for name, path in (("SMARS_HUB_SSL_CERT", ssl_cert), ("SMARS_HUB_SSL_KEY", ssl_key)):
    if path and not Path(path).is_file():
        refuse(f"{name}={path}: no such file")
if ssl_cert:
    c.JupyterHub.ssl_cert = ssl_cert
    c.JupyterHub.ssl_key = ssl_key
try:
    c.JupyterHub.port = int(os.environ.get("SMARS_HUB_PORT", "8000"))
    c.JupyterHub.hub_port = int(os.environ.get("SMARS_HUB_API_PORT", "8081"))
    proxy_api_port = int(os.environ.get("SMARS_HUB_PROXY_API_PORT", "8001"))
except ValueError as exc:
    refuse(f"a port is not a number: {exc}")
c.JupyterHub.ip = ip
c.JupyterHub.hub_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [os.environ.get("SMARS_HUB_CHP", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.should_start = True

# ---------------------------------------------------------- who gets in
# JupyterHub's SharedPasswordAuthenticator: learners log in with the class password
# under a name of their choice; the admin names log in only with the admin password,
# never with the class password.
password = os.environ.get("SMARS_HUB_PASSWORD", "")
admin_password = os.environ.get("SMARS_HUB_ADMIN_PASSWORD", "")
admin = os.environ.get("SMARS_HUB_ADMIN", "instructor")
if not password:
    refuse("set SMARS_HUB_PASSWORD: the shared class password")
if len(password) < 8:
    refuse("SMARS_HUB_PASSWORD must be at least 8 characters")
if admin_password and len(admin_password) < 32:
    refuse("SMARS_HUB_ADMIN_PASSWORD must be at least 32 characters (e.g. openssl rand -hex 16)")
if admin_password and admin_password == password:
    refuse("SMARS_HUB_ADMIN_PASSWORD must differ from the class password")
#: Hub user names: lower case, and short enough for "smars-" + name to be a system user.
USERNAME_PATTERN = r"^[a-z][a-z0-9_-]{0,25}$"
if not re.fullmatch(USERNAME_PATTERN, admin):
    refuse(f"SMARS_HUB_ADMIN={admin!r}: use a-z, 0-9, '-' or '_', at most 26 characters")
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = password
c.SharedPasswordAuthenticator.admin_password = admin_password or None
c.Authenticator.admin_users = {admin}  # reserved even without an admin password
c.Authenticator.allow_all = True  # any name, with the class password
c.Authenticator.username_pattern = USERNAME_PATTERN

# ------------------------------------------------------ learners' servers
#: Prefix of the learners' system users: learner "ana" runs as system user "smars-ana".
SYSTEM_PREFIX = "smars-"


def system_user(hub_name: str) -> pwd.struct_passwd:
    """The learner's system user, created (with the course in its home) if new."""
    sysname = SYSTEM_PREFIX + hub_name
    try:
        entry = pwd.getpwnam(sysname)
    except KeyError:
        return _new_system_user(hub_name, sysname)
    if os.lstat(entry.pw_dir).st_uid != entry.pw_uid:  # never start in someone else's home
        raise RuntimeError(f"{entry.pw_dir} is not {sysname}'s")
    return entry


def _new_system_user(hub_name: str, sysname: str) -> pwd.struct_passwd:
    home = homes / sysname
    done = subprocess.run(
        [
            "useradd",
            "--create-home",
            "--home-dir",
            str(home),
            "--shell",
            "/bin/bash",  # for Lab's terminal; the account has no password to log in with
            "--user-group",
            "--comment",
            f"smars hub learner {hub_name}",
            sysname,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"useradd {sysname} failed: {done.stderr.strip()}")
    entry = pwd.getpwnam(sysname)
    if os.lstat(entry.pw_dir).st_uid != entry.pw_uid:  # a folder left by someone else
        raise RuntimeError(f"{entry.pw_dir} already existed and is not {sysname}'s")
    os.chmod(entry.pw_dir, 0o700)  # nobody else reads a learner's home
    # The course copy, made before any of the learner's code has run in this new
    # home, so nothing in it is theirs to redirect yet; then handed to the learner.
    target = Path(entry.pw_dir) / "course"
    if course.is_dir() and not os.path.lexists(target):
        shutil.copytree(
            course, target, symlinks=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
        for root, dirs, files in os.walk(target):
            for item in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(item, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    return entry


class LearnerSpawner(LocalProcessSpawner):  # type: ignore[misc]
    """LocalProcessSpawner with learner ``name`` running as system user ``smars-name``.

    The system user is created on the first start (see :func:`system_user`).
    """

    def make_preexec_fn(self, name: str) -> Any:
        return set_user_setuid(SYSTEM_PREFIX + name)

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        entry = pwd.getpwnam(SYSTEM_PREFIX + self.user.name)
        env["USER"] = entry.pw_name
        env["HOME"] = entry.pw_dir
        env["SHELL"] = entry.pw_shell
        return env

    async def move_certs(self, paths: dict[str, str]) -> dict[str, str]:
        raise NotImplementedError("internal_ssl is not used by this recipe")

    async def start(self) -> Any:
        # Synchronous on purpose: the hub's event loop runs one useradd at a time.
        system_user(self.user.name)
        return await super().start()


c.JupyterHub.spawner_class = LearnerSpawner
c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/course"
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 120  # 40 servers starting on 2 cores queue up
c.Spawner.http_timeout = 120
# No news pop-up, no update check; idle kernels shut down after 20 minutes.
# No --allow-root: a learner's server runs as the learner, never as root.
c.Spawner.args = [
    "--LabApp.news_url=",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--MappingKernelManager.cull_idle_timeout=1200",
    "--MappingKernelManager.cull_interval=120",
    "--ServerApp.shutdown_no_activity_timeout=3600",  # a server with nothing open for 1 h stops
    # Server extensions the course never uses (the language server, the classic
    # notebook's shim): each learner's server then holds about 10 MB less.
    "--ServerApp.jpserver_extensions={'jupyter_lsp': False, 'notebook_shim': False}",
    # Kernels talk TCP on 127.0.0.1 ports that each learner's server picks alone. With
    # the default port cache a kernel keeps its first ports through every restart: if
    # another learner's kernel took one in the meantime, all five restarts fail on the
    # same port and the kernel dies ("Address already in use"; seen in the load test).
    # Uncached, each restart picks new ports and the kernel comes up.
    "--KernelManager.cache_ports=False",
]
# Lets the load test find strays; the path alone opens nothing (the folder is 0700 root).
c.Spawner.environment = {
    "SMARS_HUB_STATE": str(state),
    # glibc's malloc: every block over 128 kB is its own mapping, returned to the
    # system when freed. By default glibc raises that threshold after the first large
    # free, and a kernel that once held a big table keeps its memory: notebook 04's
    # kernel then rests at about 365 MB instead of 280 MB (docs/jupyterhub.md, "Memory").
    "MALLOC_MMAP_THRESHOLD_": "131072",
}

# --------------------------------------------------- the class's shared cache
# Notebook 04 reads the full-size execution log. Built for each learner it costs
# that learner a full-size replay (in a child of their kernel); built once here,
# before anyone logs in,
# every learner reads the same verified read-only file (smars_sim.analysis.forensics,
# SMARS_SHARED_CACHE). Root owns it; learners may read it and nothing else.
# SMARS_HUB_SHARED_CACHE=off builds nothing (each learner then builds their own).
shared_cache = os.environ.get("SMARS_HUB_SHARED_CACHE", "/var/cache/smars-sim")
if shared_cache != "off":
    cache_path = Path(shared_cache).resolve()
    if cache_path.is_relative_to(state) or cache_path.is_relative_to(homes):
        refuse(f"SMARS_HUB_SHARED_CACHE {shared_cache!r} is inside the hub state or the homes")
    cache_path.mkdir(parents=True, exist_ok=True)
    os.chmod(cache_path, 0o755)
    # Two things every learner would otherwise make in their own kernel: the full-day
    # log, and the chart widget's offline JavaScript bundle (smars_sim.viz.offline:
    # made in a kernel, it keeps about 95 MB of that kernel's memory).
    failed = []
    for builder in (
        ["smars_sim.analysis.execution_log", "build-cache"],  # a full-size replay: ~10 s
        ["smars_sim.viz.offline", "build"],
    ):
        built = subprocess.run(
            [sys.executable, "-m", *builder, str(cache_path)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if built.returncode != 0:
            failed.append(f"{builder[0]}: {built.stderr.strip()[-200:]}")
    if failed:  # the class still works: each learner builds their own
        print(f"jupyterhub_config.py: shared cache not built ({'; '.join(failed)})")
    else:
        for item in cache_path.iterdir():
            os.chmod(item, 0o644)
        c.Spawner.environment["SMARS_SHARED_CACHE"] = str(cache_path)

# Start at most this many servers at once; the rest wait (and retry) instead of
# overloading the machine when the whole class presses "Start" together.
c.JupyterHub.concurrent_spawn_limit = 20
c.JupyterHub.active_server_limit = 60

# ------------------------------------------------------------ the class board
# A managed service (smars_sim/analysis/classboard_service.py) that learners' checks
# post to with their own hub token; it asks the hub whose token it is and records
# that name. It runs as its own system user (BOARD_USER: no "smars-" prefix, so no
# learner name can become it), its database in a folder only that user can enter
# (0700, the database 0600). Only the admin reads the board (board.json), or root
# on this machine: smars-sim class-board --db <SMARS_HUB_BOARD_DIR>/class.db
BOARD_USER = "smarsboard"
board_dir = Path(os.environ.get("SMARS_HUB_BOARD_DIR", f"{state}-board")).resolve()
if board_dir == state or state in board_dir.parents or homes in (board_dir, *board_dir.parents):
    refuse(f"SMARS_HUB_BOARD_DIR ({board_dir}) must be outside SMARS_HUB_STATE and the homes")
try:
    board_port = int(os.environ.get("SMARS_HUB_BOARD_PORT", "8082"))
except ValueError:
    refuse("SMARS_HUB_BOARD_PORT is not a number")
try:
    board_entry = pwd.getpwnam(BOARD_USER)
except KeyError:
    made = subprocess.run(
        [
            *("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"),
            *("--shell", "/usr/sbin/nologin", "--user-group", BOARD_USER),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        refuse(f"useradd {BOARD_USER} failed: {made.stderr.strip()}")
    board_entry = pwd.getpwnam(BOARD_USER)
board_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
os.chown(board_dir, board_entry.pw_uid, board_entry.pw_gid)
os.chmod(board_dir, 0o700)
board_url = f"http://127.0.0.1:{board_port}"
services: list[dict[str, Any]] = [
    {
        "name": "class-board",
        "url": board_url,
        "command": [sys.executable, "-m", "smars_sim.analysis.classboard_service"],
        "user": BOARD_USER,
        "cwd": str(board_dir),
        "environment": {
            "SMARS_CLASS_DB": str(board_dir / "class.db"),
            "SMARS_CLASS_ADMINS": admin,
        },
    }
]
# Each learner's kernel posts its checks there, straight over loopback.
c.Spawner.environment["SMARS_CLASS_URL"] = f"{board_url}/services/class-board/"

# ------------------------------------------ the load test's service token
service_token = os.environ.get("SMARS_HUB_SERVICE_TOKEN")
c.JupyterHub.services = services
if service_token:
    services.append({"name": "load-test", "api_token": service_token})
    c.JupyterHub.load_roles = [
        {
            "name": "load-test",
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users"],
            "services": ["load-test"],
        }
    ]
