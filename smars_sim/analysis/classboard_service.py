"""The class board as a JupyterHub service: learners' checks post here; only admins read.

Started by the hub as a managed service (``docs/jupyterhub_config.py``), as its own
system user, with the class database in a folder only that user can enter::

    python -m smars_sim.analysis.classboard_service

It serves, under ``JUPYTERHUB_SERVICE_PREFIX`` (``/services/class-board/``), on the
address of ``JUPYTERHUB_SERVICE_URL`` (loopback):

* ``POST checks``: ``{"exercise": "q1", "checks": [["check name", true], ...]}``;
  answers ``{"attempt": n}``.
* ``POST games``: ``{"loss_usd": ..., "minutes_to_stop": ..., "actions": ...,
  "first_action_min": ...}``.
* ``GET board.json``: for the admins only (``SMARS_CLASS_ADMINS``, comma-separated
  hub names): ``{"rows": [...], "checks": [...], "games": [...]}``.

Every request carries ``Authorization: token <JUPYTERHUB_API_TOKEN>`` (the learner's
own, which their kernel has). The service asks the hub whose token it is
(``GET $JUPYTERHUB_API_URL/user``, which every token may call for itself) and
records *that* name: a name the client sends is ignored. A request without a valid
user token gets 401 or 403 and records nothing. The database (``SMARS_CLASS_DB``)
is made with mode 0600, its folder should be 0700 and the service user's.

Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from . import classboard

__all__ = ["BoardService", "main", "make_server"]

#: Largest request body accepted.
MAX_BODY = 64 * 1024
#: Most checks in one record.
MAX_CHECKS = 200
#: How long a token's owner is remembered (s); a revoked token works at most this long.
TOKEN_CACHE_S = 60.0


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BoardService:
    """The service's state: where the database is, how to ask the hub, who is admin."""

    def __init__(self, db: Path, api_url: str, admins: set[str], prefix: str) -> None:
        self.db = db
        self.api_url = api_url.rstrip("/")
        self.admins = admins
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        self._owners: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        old = os.umask(0o077)  # the database and its -wal/-shm files: 0600
        try:
            conn = classboard.connect(db)
            conn.close()
        finally:
            os.umask(old)
        for path in db.parent.glob(db.name + "*"):
            path.chmod(0o600)

    # -------------------------------------------------------------- who
    def owner(self, header: str) -> str:
        """The hub user name of the request's token, asked of the hub.

        Raises:
            _Refused: No token (401), or the hub does not know it as a user's (403).
        """
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("token", "bearer") or not token:
            raise _Refused(401, "an Authorization: token header is required")
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._owners.get(key)
        if cached and cached[1] > now:
            return cached[0]
        req = urllib.request.Request(
            f"{self.api_url}/user", headers={"Authorization": f"token {token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                model = json.loads(resp.read(1 << 20))
        except urllib.error.HTTPError as exc:
            raise _Refused(403, f"the hub refused the token (HTTP {exc.code})") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise _Refused(503, f"the hub cannot be asked ({exc})") from None
        name = model.get("name") if isinstance(model, dict) else None
        if model.get("kind", "user") != "user" or not isinstance(name, str) or not name:
            raise _Refused(403, "not a user's token")
        with self._lock:
            self._owners[key] = (name, now + TOKEN_CACHE_S)
        return name

    # ---------------------------------------------------------- actions
    def _conn(self) -> sqlite3.Connection:
        return classboard.connect(self.db)

    def record_checks(self, learner: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Refused(400, "the body must be a JSON object")
        exercise, checks = body.get("exercise"), body.get("checks")
        if not isinstance(exercise, str) or not exercise.strip():
            raise _Refused(400, "exercise must be a non-empty string")
        if not isinstance(checks, list) or not 0 < len(checks) <= MAX_CHECKS:
            raise _Refused(400, f"checks must be a list of 1 to {MAX_CHECKS} [name, passed]")
        rows = []
        for item in checks:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not isinstance(item[0], str)
                or not isinstance(item[1], bool)
            ):
                raise _Refused(400, "each check must be [name (string), passed (true/false)]")
            rows.append((item[0], item[1]))
        conn = self._conn()
        try:
            attempt = classboard.insert_checks(conn, learner, exercise, rows)
        finally:
            conn.close()
        return {"attempt": attempt}

    def record_game(self, learner: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Refused(400, "the body must be a JSON object")
        try:
            fields = classboard.game_fields(body)
        except ValueError as exc:
            raise _Refused(400, str(exc)) from None
        conn = self._conn()
        try:
            classboard.insert_game(conn, learner, fields)
        finally:
            conn.close()
        return {"recorded": True}

    def board(self, learner: str) -> dict[str, Any]:
        if learner not in self.admins:
            raise _Refused(403, "only the instructor reads the class board")
        conn = self._conn()
        try:
            raw = classboard.raw_rows(conn)
            return {"rows": classboard.board_rows(conn), **raw}
        finally:
            conn.close()


def _handler(service: BoardService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "smars-class-board"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"class-board: {self.address_string()} {format % args}\n")

        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _route(self) -> str | None:
            path = urlparse(self.path).path
            if not path.startswith(service.prefix):
                return None
            return path[len(service.prefix) :]

        def do_GET(self) -> None:
            route = self._route()
            try:
                if route == "":
                    self._send(200, {"service": "smars class board"})
                elif route == "board.json":
                    learner = service.owner(self.headers.get("Authorization", ""))
                    self._send(200, service.board(learner))
                else:
                    self._send(404, {"error": "not found"})
            except _Refused as exc:
                self._send(exc.status, {"error": str(exc)})
            except Exception as exc:
                self._send(500, {"error": type(exc).__name__})

        def do_POST(self) -> None:
            route = self._route()
            try:
                if route not in ("checks", "games"):
                    raise _Refused(404, "not found")
                learner = service.owner(self.headers.get("Authorization", ""))
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                except ValueError:
                    raise _Refused(400, "bad Content-Length") from None
                if not 0 < length <= MAX_BODY:
                    raise _Refused(413 if length > MAX_BODY else 400, "body missing or too big")
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    raise _Refused(400, "the body is not JSON") from None
                if route == "checks":
                    self._send(200, service.record_checks(learner, body))
                else:
                    self._send(200, service.record_game(learner, body))
            except _Refused as exc:
                self._send(exc.status, {"error": str(exc)})
            except sqlite3.Error as exc:
                self._send(503, {"error": f"the class database is unavailable ({exc})"})
            except Exception as exc:
                self._send(500, {"error": type(exc).__name__})

    return Handler


def make_server(service: BoardService, host: str, port: int) -> ThreadingHTTPServer:
    """The HTTP server (not started: call ``serve_forever``)."""
    server = ThreadingHTTPServer((host, port), _handler(service))
    server.daemon_threads = True
    return server


def main() -> int:
    """Run the service from the environment the hub gives a managed service."""
    db = os.environ.get(classboard.ENV_DB, "")
    api_url = os.environ.get("JUPYTERHUB_API_URL", "")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8082"))
    if not db or not api_url:
        print("class-board: SMARS_CLASS_DB and JUPYTERHUB_API_URL must be set", file=sys.stderr)
        return 2
    os.umask(0o077)  # everything the service writes is its user's alone
    admins = {a.strip() for a in os.environ.get("SMARS_CLASS_ADMINS", "").split(",") if a.strip()}
    service = BoardService(
        Path(db), api_url, admins, os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    )
    server = make_server(service, url.hostname or "127.0.0.1", url.port or 8082)
    print(f"class-board: serving {db} on {url.geturl()} for admins {sorted(admins)}")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
