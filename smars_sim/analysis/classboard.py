"""The class board's records: who ran which check, when, and whether it passed.

Standard library only (``sqlite3``, ``urllib``), so the command line, the checker,
the game day and the hub service (:mod:`.classboard_service`) all share it.

Where a record goes, in order:

* ``SMARS_CLASS_OPTOUT=1``, or the file ``~/.smars-sim/class-optout``: nowhere.
* ``SMARS_CLASS_URL`` set (on a class hub): a POST to the class board service,
  authenticated with the learner's ``JUPYTERHUB_API_TOKEN``. The service asks the
  hub whose token it is and records that name; the client never sends a name.
* ``SMARS_CLASS_DB`` set: a row in that SQLite file (WAL mode, a busy timeout of
  :data:`BUSY_TIMEOUT_S`); the learner is ``JUPYTERHUB_USER``, else the login name.
* neither: nowhere.

What is recorded, per check: the learner, the exercise, the check's name (as the
checker names it, e.g. "flags the stale server"), passed or not, the attempt number
and the time (UTC). Per game day: the loss, the minutes to stop, the number of
actions and the minutes to the first action. Never the learner's answer, code or
the checker's hint (which can quote the learner's values).

Recording never raises and is bounded in time (:data:`RECORD_DEADLINE_S`): it runs
in a daemon thread the caller waits for at most that long. A failure gives one
quiet line (:func:`record_checks_quietly` returns it) and changes nothing else.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "BUSY_TIMEOUT_S",
    "ENV_DB",
    "ENV_OPTOUT",
    "ENV_URL",
    "OPTOUT_FILE",
    "RECORD_DEADLINE_S",
    "BoardError",
    "board_json",
    "board_rows",
    "board_text",
    "connect",
    "game_rows",
    "hardest_checks",
    "insert_checks",
    "insert_game",
    "learner_name",
    "load_rows",
    "opted_out",
    "record_checks_quietly",
    "record_game",
    "stuck_learners",
]

ENV_DB = "SMARS_CLASS_DB"
ENV_URL = "SMARS_CLASS_URL"
ENV_OPTOUT = "SMARS_CLASS_OPTOUT"
#: Its presence opts the learner out, like ``SMARS_CLASS_OPTOUT=1``.
OPTOUT_FILE = "~/.smars-sim/class-optout"
#: How long a writer waits for another writer's lock (SQLite's busy timeout).
BUSY_TIMEOUT_S = 2.0
#: The most a check or a game waits for its record, whatever happens (then it goes on).
RECORD_DEADLINE_S = 3.0
#: Longest exercise or check name kept (longer ones are cut).
MAX_NAME = 200

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    learner TEXT NOT NULL,
    exercise TEXT NOT NULL,
    check_name TEXT NOT NULL,
    passed INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_by_learner ON checks (learner, exercise, attempt);
CREATE TABLE IF NOT EXISTS games (
    id INTEGER PRIMARY KEY,
    learner TEXT NOT NULL,
    loss_usd REAL NOT NULL,
    minutes_to_stop REAL NOT NULL,
    actions INTEGER,
    first_action_min REAL,
    at TEXT NOT NULL
);
"""


class BoardError(Exception):
    """The board cannot be read (no such file, not a board database)."""


# --------------------------------------------------------------------- who
def learner_name() -> str:
    """``JUPYTERHUB_USER``, else the login name (``getpass.getuser()``), else ``"unknown"``."""
    name = os.environ.get("JUPYTERHUB_USER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (a bare container)
        return "unknown"


def opted_out() -> bool:
    """Whether the learner asked not to be recorded."""
    if os.environ.get(ENV_OPTOUT, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    try:
        return Path(OPTOUT_FILE).expanduser().exists()
    except (OSError, RuntimeError):  # no home
        return False


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clip(text: object) -> str:
    return " ".join(str(text).split())[:MAX_NAME]


# ----------------------------------------------------------------- storage
def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """Open the board's database (WAL mode, bounded busy timeout), making its tables.

    Raises:
        BoardError: ``create`` is false and there is no such file, or it is not a
            board database.
        sqlite3.Error, OSError: It cannot be opened or written.
    """
    target = Path(path)
    if not create and not target.is_file():
        raise BoardError(f"{path}: no such board database")
    if create and not target.parent.is_dir():
        raise FileNotFoundError(f"{target.parent} does not exist")
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if create:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
        else:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "checks" not in names:
                raise BoardError(f"{path}: not a class board database (no 'checks' table)")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if create:
            raise
        raise BoardError(f"{path}: not a class board database ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _retrying(func: Any, deadline_s: float = BUSY_TIMEOUT_S) -> Any:
    """Run ``func`` again while SQLite says busy or locked, for at most ``deadline_s``."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            return func()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > end:
                raise
            time.sleep(0.02)


def insert_checks(
    conn: sqlite3.Connection,
    learner: str,
    exercise: str,
    results: Sequence[tuple[str, bool]],
    at: str | None = None,
) -> int:
    """Record one run of an exercise's checks; return its attempt number (1, 2, ...)."""
    learner, exercise = _clip(learner), _clip(exercise)
    stamp = at or _now()

    def write() -> int:
        conn.execute("BEGIN IMMEDIATE")  # the attempt number and the rows, together
        try:
            (last,) = conn.execute(
                "SELECT COALESCE(MAX(attempt), 0) FROM checks WHERE learner = ? AND exercise = ?",
                (learner, exercise),
            ).fetchone()
            attempt = int(last) + 1
            conn.executemany(
                "INSERT INTO checks (learner, exercise, check_name, passed, attempt, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(learner, exercise, _clip(n), int(bool(p)), attempt, stamp) for n, p in results],
            )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return attempt

    return int(_retrying(write))


def insert_game(
    conn: sqlite3.Connection, learner: str, game: Mapping[str, Any], at: str | None = None
) -> None:
    """Record one finished game day (see :func:`game_fields`)."""
    fields = game_fields(game)

    def write() -> None:
        conn.execute(
            "INSERT INTO games (learner, loss_usd, minutes_to_stop, actions, first_action_min, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                _clip(learner),
                fields["loss_usd"],
                fields["minutes_to_stop"],
                fields["actions"],
                fields["first_action_min"],
                at or _now(),
            ),
        )

    _retrying(write)


def game_fields(game: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The recorded figures of a game day: from a mapping or a ``Score``-like object.

    Raises:
        ValueError: A figure is missing or not a number.
    """

    def get(name: str) -> Any:
        return game.get(name) if isinstance(game, Mapping) else getattr(game, name, None)

    def number(name: str, optional: bool = False) -> float | None:
        value = get(name)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number, not {value!r}")
        return float(value)

    actions = get("actions")
    return {
        "loss_usd": number("loss_usd"),
        "minutes_to_stop": number("minutes_to_stop"),
        "actions": int(actions)
        if isinstance(actions, int) and not isinstance(actions, bool)
        else None,
        "first_action_min": number("first_action_min", optional=True),
    }


# ------------------------------------------------------------- recording
def _post(url: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not token:
        raise RuntimeError("no JUPYTERHUB_API_TOKEN to sign in to the class board with")
    req = urllib.request.Request(
        url.rstrip("/") + "/" + path,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=BUSY_TIMEOUT_S) as resp:
        body = resp.read(65536)
    answer = json.loads(body or b"{}")
    return answer if isinstance(answer, dict) else {}


def _in_time(work: Any) -> str | None:
    """Run ``work`` in a daemon thread for at most :data:`RECORD_DEADLINE_S`.

    Returns ``None`` when it finished, else why not (a few words).
    """
    outcome: dict[str, str | None] = {"why": "it took too long"}

    def run() -> None:
        try:
            work()
            outcome["why"] = None
        except urllib.error.HTTPError as exc:
            outcome["why"] = f"the class board answered HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            outcome["why"] = f"the class board cannot be reached ({reason})"
        except sqlite3.OperationalError as exc:
            outcome["why"] = f"the class database is unavailable ({exc})"
        except Exception as exc:
            outcome["why"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=run, name="smars-class-board", daemon=True)
    thread.start()
    thread.join(RECORD_DEADLINE_S)
    return outcome["why"]


def _destination() -> tuple[str, str] | None:
    if opted_out():
        return None
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return ("url", url)
    db = os.environ.get(ENV_DB, "").strip()
    if db:
        return ("db", db)
    return None


def _quiet(what: str, why: str) -> str:
    return f"   (class board: {what} not recorded, {why}; your result above stands.)"


def record_checks_quietly(exercise: str, results: Iterable[tuple[str, bool]]) -> str | None:
    """Record a run of an exercise's checks; never raises.

    Args:
        exercise: E.g. ``"q1"``.
        results: ``(check name, passed)`` per check. Nothing else is sent or stored.

    Returns:
        ``None`` when recorded (or recording is off), else one quiet line to print.
    """
    try:
        where = _destination()
        if where is None:
            return None
        rows = [(_clip(name), bool(passed)) for name, passed in results]
        kind, target = where
        if kind == "url":
            payload = {"exercise": _clip(exercise), "checks": [[n, p] for n, p in rows]}
            why = _in_time(lambda: _post(target, "checks", payload))
        else:
            learner = learner_name()

            def write() -> None:
                conn = connect(target)
                try:
                    insert_checks(conn, learner, exercise, rows)
                finally:
                    conn.close()

            why = _in_time(write)
        return None if why is None else _quiet("this check was", why)
    except Exception as exc:  # never let the board break a learner's check
        return _quiet("this check was", f"{type(exc).__name__}: {exc}")


def record_game(score: Mapping[str, Any] | Any) -> str | None:
    """Record a finished game day for the class board; never raises.

    Args:
        score: The game's ``Score`` (``smars_sim.ui.gameday.Score``: ``loss_usd``,
            ``minutes_to_stop``, ``actions``, ``first_action_min``), or a mapping
            with those keys.

    Returns:
        ``None`` when recorded (or recording is off), else one quiet line.
    """
    try:
        where = _destination()
        if where is None:
            return None
        fields = game_fields(score)
        kind, target = where
        if kind == "url":
            why = _in_time(lambda: _post(target, "games", fields))
        else:
            learner = learner_name()

            def write() -> None:
                conn = connect(target)
                try:
                    insert_game(conn, learner, fields)
                finally:
                    conn.close()

            why = _in_time(write)
        return None if why is None else _quiet("the game day was", why)
    except Exception as exc:
        return _quiet("the game day was", f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------- reading
def load_rows(raw: Mapping[str, Any]) -> sqlite3.Connection:
    """An in-memory board from the service's ``board.json`` (``checks`` and ``games`` rows)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO checks (learner, exercise, check_name, passed, attempt, at)"
        " VALUES (:learner, :exercise, :check_name, :passed, :attempt, :at)",
        list(raw.get("checks", [])),
    )
    conn.executemany(
        "INSERT INTO games (learner, loss_usd, minutes_to_stop, actions, first_action_min, at)"
        " VALUES (:learner, :loss_usd, :minutes_to_stop, :actions, :first_action_min, :at)",
        list(raw.get("games", [])),
    )
    return conn


def raw_rows(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of the board (what the service's ``board.json`` serves to the instructor)."""
    conn.row_factory = sqlite3.Row
    try:
        checks = [
            dict(r)
            for r in conn.execute(
                "SELECT learner, exercise, check_name, passed, attempt, at FROM checks ORDER BY id"
            )
        ]
        games = [
            dict(r)
            for r in conn.execute(
                "SELECT learner, loss_usd, minutes_to_stop, actions, first_action_min, at"
                " FROM games ORDER BY id"
            )
        ]
    finally:
        conn.row_factory = None
    return {"checks": checks, "games": games}


BOARD_SQL = """
WITH latest AS (
    SELECT learner, exercise, MAX(attempt) AS attempts, MAX(at) AS last
    FROM checks GROUP BY learner, exercise
)
SELECT c.learner, c.exercise, SUM(c.passed), COUNT(*), l.attempts, l.last
FROM checks AS c
JOIN latest AS l
  ON c.learner = l.learner AND c.exercise = l.exercise AND c.attempt = l.attempts
GROUP BY c.learner, c.exercise
ORDER BY c.learner, c.exercise
"""


def board_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per learner and exercise: checks passed and total (latest attempt), attempts, last time.

    Each row has the fields ``learner``, ``exercise``, ``passed``, ``total``,
    ``attempts`` and ``last`` (UTC, ``YYYY-MM-DDTHH:MM:SSZ``).
    """
    return [
        {
            "learner": learner,
            "exercise": exercise,
            "passed": int(passed),
            "total": int(total),
            "attempts": int(attempts),
            "last": last,
        }
        for learner, exercise, passed, total, attempts, last in conn.execute(BOARD_SQL)
    ]


def board_json(rows: list[dict[str, Any]]) -> str:
    """The rows as a JSON list (one object per learner and exercise)."""
    return json.dumps(rows, indent=1)


def board_text(rows: list[dict[str, Any]]) -> str:
    """The rows as a table for a terminal."""
    if not rows:
        return "no checks recorded yet"
    head = ("learner", "exercise", "passed", "attempts", "last activity (UTC)")
    body = [
        (
            r["learner"],
            r["exercise"],
            f"{r['passed']}/{r['total']}" + (" ✓" if r["passed"] == r["total"] else ""),
            str(r["attempts"]),
            str(r["last"]).replace("T", " ").rstrip("Z"),
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (head, *body)
    ]
    learners = len({r["learner"] for r in rows})
    done = sum(1 for r in rows if r["passed"] == r["total"])
    lines.append(f"{learners} learner(s); {done} of {len(rows)} exercise(s) started are done.")
    return "\n".join(lines)


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def stuck_learners(
    conn: sqlite3.Connection,
    *,
    failed_attempts: int = 3,
    idle_minutes: float = 10.0,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Who looks stuck: on an exercise not yet passed, either ``failed_attempts`` failed
    attempts in a row (since the last one that passed, if any), or no check at all for
    ``idle_minutes`` since their last failed one.

    Returns rows ``learner``, ``exercise``, ``failed_in_a_row``, ``idle_min`` and
    ``why``, most failed attempts first.
    """
    now = now or datetime.now(UTC)
    attempts = conn.execute(
        "SELECT learner, exercise, attempt, MIN(passed), MAX(at) FROM checks"
        " GROUP BY learner, exercise, attempt ORDER BY learner, exercise, attempt"
    ).fetchall()
    streak: dict[tuple[str, str], tuple[int, str]] = {}
    for learner, exercise, _attempt, all_passed, at in attempts:
        count, _ = streak.get((learner, exercise), (0, at))
        streak[(learner, exercise)] = (0 if all_passed else count + 1, at)
    last_seen: dict[str, str] = {}
    for learner, _e, _a, _p, at in attempts:
        last_seen[learner] = max(at, last_seen.get(learner, at))
    out: list[dict[str, Any]] = []
    for (learner, exercise), (failed, _at) in streak.items():
        if failed == 0:
            continue
        idle = (now - _parse(last_seen[learner])).total_seconds() / 60
        why = []
        if failed >= failed_attempts:
            why.append(f"{failed} failed attempts in a row")
        if idle >= idle_minutes:
            why.append(f"no check for {idle:.0f} min")
        if why:
            out.append(
                {
                    "learner": learner,
                    "exercise": exercise,
                    "failed_in_a_row": failed,
                    "idle_min": round(idle, 1),
                    "why": "; ".join(why),
                }
            )
    out.sort(key=lambda r: (-r["failed_in_a_row"], -r["idle_min"], r["learner"]))
    return out


def hardest_checks(conn: sqlite3.Connection, limit: int = 5) -> list[dict[str, Any]]:
    """The checks that trip most people: per check, how many learners failed it at least once
    and how many of those have not passed it since."""
    rows = conn.execute(
        """
        WITH per AS (
            SELECT exercise, check_name, learner,
                   MAX(passed = 0) AS ever_failed,
                   (SELECT c2.passed FROM checks c2
                     WHERE c2.learner = c.learner AND c2.exercise = c.exercise
                       AND c2.check_name = c.check_name
                     ORDER BY c2.attempt DESC LIMIT 1) AS passing_now
            FROM checks c GROUP BY exercise, check_name, learner
        )
        SELECT exercise, check_name, SUM(ever_failed), SUM(ever_failed AND NOT passing_now),
               COUNT(*)
        FROM per GROUP BY exercise, check_name
        HAVING SUM(ever_failed) > 0
        ORDER BY SUM(ever_failed) DESC, SUM(ever_failed AND NOT passing_now) DESC, exercise
        LIMIT ?
        """,
        (limit,),
    ).fetchall()
    return [
        {
            "exercise": e,
            "check": name,
            "tripped": int(tripped),
            "still_failing": int(still),
            "ran": int(ran),
        }
        for e, name, tripped, still, ran in rows
    ]


def game_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Each learner's latest game day: ``learner``, ``loss_usd``, ``minutes_to_stop``,
    ``actions``, ``first_action_min``, ``at``."""
    rows = conn.execute(
        """
        SELECT learner, loss_usd, minutes_to_stop, actions, first_action_min, at FROM games g
        WHERE id = (SELECT MAX(id) FROM games g2 WHERE g2.learner = g.learner)
        ORDER BY minutes_to_stop, learner
        """
    ).fetchall()
    keys = ("learner", "loss_usd", "minutes_to_stop", "actions", "first_action_min", "at")
    return [dict(zip(keys, r, strict=True)) for r in rows]
