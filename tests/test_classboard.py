"""The class board (issue 17): recording each check, the board's text and JSON, privacy.

* 20 processes writing at once lose no row, and number their attempts without a gap.
* A missing, locked or unwritable database (or an unreachable service) leaves the
  check's printed output as it is without a database, plus one quiet line; never raises.
* No answer text is stored: a learner answer that raises with a marker puts the
  marker in the printed hint, and nowhere in the database's files.
* ``smars-sim class-board --db PATH [--json]`` for a small class; a bad --db exits 2.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smars_sim.analysis import classboard as cb
from smars_sim.cli import main
from smars_sim.exercises import check

REPO = Path(__file__).resolve().parents[1]
MARKER = "ZEBRA-SECRET-4242"
#: A q1 answer that raises: its hint quotes the exception's text and the cell's line.
ANSWER = f"def find_rogue(executions):\n    raise ValueError('{MARKER}')\n"


@pytest.fixture(autouse=True)
def _no_class_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (cb.ENV_DB, cb.ENV_URL, cb.ENV_OPTOUT, "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no opt-out file of the real user


def _env() -> dict:
    env: dict = {}
    exec(compile(ANSWER, "<your cell>", "exec"), env)  # a learner's cell
    return env


def _checked(capsys: pytest.CaptureFixture[str]) -> str:
    check("q1", _env())
    return capsys.readouterr().out


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT learner, exercise, check_name, passed, attempt FROM checks ORDER BY id"
        ).fetchall()


# ------------------------------------------------------------------ recording
def test_a_check_records_one_row_per_check_with_attempt_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "class.db"
    monkeypatch.setenv(cb.ENV_DB, str(db))
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    first = _checked(capsys)
    second = _checked(capsys)
    assert first == second and first.startswith("❌ q1")
    rows = _rows(db)
    n = len(rows) // 2
    assert n >= 3 and len(rows) == 2 * n
    assert {r[:2] for r in rows} == {("ana", "q1")}
    assert [r[4] for r in rows] == [1] * n + [2] * n
    assert not any(r[3] for r in rows)  # a raising answer passes nothing
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_learner_is_the_login_name_outside_a_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cb.getpass, "getuser", lambda: "bob")
    assert cb.learner_name() == "bob"
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    assert cb.learner_name() == "ana"


def test_no_answer_text_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "class.db"
    monkeypatch.setenv(cb.ENV_DB, str(db))
    out = _checked(capsys)
    assert MARKER in out  # the hint quotes the answer: the learner sees it ...
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("class.db*"))
    assert len(_rows(db)) > 0
    assert MARKER.encode() not in stored  # ... the board never does
    assert b"raise ValueError" not in stored and b"find_rogue raised" not in stored
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert MARKER not in dump and "ValueError" not in dump


def test_twenty_concurrent_writers_lose_no_row(tmp_path: Path) -> None:
    db = tmp_path / "class.db"
    writers, runs, checks = 20, 5, 4
    code = (
        "from smars_sim.analysis.classboard import record_checks_quietly as record\n"
        f"for _ in range({runs}):\n"
        f"    line = record('q2', [(f'check {{i}}', i % 2 == 0) for i in range({checks})])\n"
        "    if line: print(line)\n"
    )
    procs = []
    for i in range(writers):
        # Half the writers are the same learner: their attempt numbers must not collide.
        name = "same" if i % 2 else f"w{i:02d}"
        env = {"SMARS_CLASS_DB": str(db), "JUPYTERHUB_USER": name, "PATH": "/usr/bin:/bin"}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all(out == "" for out, _ in outs), outs  # no writer gave up
    rows = _rows(db)
    assert len(rows) == writers * runs * checks
    same = sorted({r[4] for r in rows if r[0] == "same"})
    assert same == list(range(1, writers // 2 * runs + 1))  # no gap, no duplicate
    for i in range(0, writers, 2):
        mine = [r for r in rows if r[0] == f"w{i:02d}"]
        assert sorted({r[4] for r in mine}) == list(range(1, runs + 1))
        assert len(mine) == runs * checks


def _not_a_db(tmp_path: Path) -> Path:
    bad = tmp_path / "notes.txt"
    bad.write_text("these are not the droids " * 200)
    return bad


@pytest.mark.parametrize(
    "where",
    ["missing folder", "a folder, not a file", "not a database", "read-only file system"],
)
def test_an_unusable_database_leaves_the_check_output_unchanged(
    where: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    without = _checked(capsys)
    path = {
        "missing folder": lambda: tmp_path / "no" / "such" / "class.db",
        "a folder, not a file": lambda: tmp_path,
        "not a database": lambda: _not_a_db(tmp_path),
        "read-only file system": lambda: Path("/proc/version"),  # unwritable, even for root
    }[where]()
    monkeypatch.setenv(cb.ENV_DB, str(path))
    started = time.monotonic()
    with_bad_db = _checked(capsys)
    assert time.monotonic() - started < 30
    assert with_bad_db.startswith(without)
    extra = with_bad_db[len(without) :]
    assert extra.count("\n") == 1 and extra.startswith("   (class board: this check was not")
    assert extra.rstrip().endswith("your result above stands.)")


def test_a_locked_database_costs_a_bounded_wait_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    without = _checked(capsys)
    db = tmp_path / "class.db"
    holder = cb.connect(db)
    holder.execute("BEGIN EXCLUSIVE")  # another writer that never lets go
    monkeypatch.setenv(cb.ENV_DB, str(db))
    try:
        started = time.monotonic()
        out = _checked(capsys)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert out.startswith(without) and out[len(without) :].count("\n") == 1
    assert "not recorded" in out[len(without) :]
    assert waited < cb.RECORD_DEADLINE_S + 5


def test_an_unreachable_service_leaves_the_output_unchanged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    without = _checked(capsys)
    monkeypatch.setenv(cb.ENV_URL, "http://127.0.0.1:9/services/class-board/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "x")
    out = _checked(capsys)
    assert out.startswith(without)
    assert out[len(without) :].count("\n") == 1 and "cannot be reached" in out[len(without) :]


@pytest.mark.parametrize("how", ["env", "file"])
def test_opting_out_records_nothing_and_says_nothing(
    how: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    without = _checked(capsys)
    db = tmp_path / "class.db"
    monkeypatch.setenv(cb.ENV_DB, str(db))
    if how == "env":
        monkeypatch.setenv(cb.ENV_OPTOUT, "1")
    else:
        optout = Path(cb.OPTOUT_FILE).expanduser()
        optout.parent.mkdir(parents=True)
        optout.touch()
    assert _checked(capsys) == without
    assert not db.exists()


def test_a_game_day_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "class.db"
    monkeypatch.setenv(cb.ENV_DB, str(db))
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")

    class Score:  # the shape of smars_sim.ui.gameday.Score
        loss_usd, minutes_to_stop, actions, first_action_min = 1.2e8, 7.5, 3, 2.0

    assert cb.record_game(Score()) is None
    assert cb.record_game({"loss_usd": 4e8, "minutes_to_stop": 30.0, "actions": 0}) is None
    conn = cb.connect(db, create=False)
    games = cb.game_rows(conn)
    assert [(g["learner"], g["loss_usd"], g["minutes_to_stop"]) for g in games] == [
        ("ana", 4e8, 30.0)
    ]  # the latest game per learner
    assert "not recorded" in (cb.record_game({"loss_usd": "a lot"}) or "")


# ---------------------------------------------------------------------- board
def small_class(db: Path) -> None:
    """Three learners: ana done with q1 on her 2nd try, bob stuck on q1, cy started q2."""
    conn = cb.connect(db)
    q1 = ["finds the server", "finds the start", "finds the symbols", "a normal day"]
    runs = [
        ("ana", "q1", [True, True, False, True], "2026-12-05T09:40:00Z"),
        ("ana", "q1", [True, True, True, True], "2026-12-05T09:44:00Z"),
        ("bob", "q1", [False, False, False, True], "2026-12-05T09:41:00Z"),
        ("bob", "q1", [True, False, False, True], "2026-12-05T09:43:00Z"),
        ("bob", "q1", [True, False, False, True], "2026-12-05T09:45:00Z"),
        ("cy", "q2", [True, False, True], "2026-12-05T09:46:00Z"),
    ]
    for learner, ex, passed, at in runs:
        names = q1 if ex == "q1" else ["fires on the runaway", "quiet on a normal day", "in time"]
        cb.insert_checks(conn, learner, ex, list(zip(names, passed, strict=True)), at=at)
    conn.close()


EXPECTED = [
    {
        "learner": "ana",
        "exercise": "q1",
        "passed": 4,
        "total": 4,
        "attempts": 2,
        "last": "2026-12-05T09:44:00Z",
    },
    {
        "learner": "bob",
        "exercise": "q1",
        "passed": 2,
        "total": 4,
        "attempts": 3,
        "last": "2026-12-05T09:45:00Z",
    },
    {
        "learner": "cy",
        "exercise": "q2",
        "passed": 2,
        "total": 3,
        "attempts": 1,
        "last": "2026-12-05T09:46:00Z",
    },
]


def test_the_board_as_json_for_a_small_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "class.db"
    small_class(db)
    assert main(["class-board", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED


def test_the_board_as_text_for_a_small_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "class.db"
    small_class(db)
    assert main(["class-board", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "learner",
        "exercise",
        "passed",
        "attempts",
        "last",
        "activity",
        "(UTC)",
    ]
    assert lines[1].split() == ["ana", "q1", "4/4", "✓", "2", "2026-12-05", "09:44:00"]
    assert lines[2].split() == ["bob", "q1", "2/4", "3", "2026-12-05", "09:45:00"]
    assert lines[3].split() == ["cy", "q2", "2/3", "1", "2026-12-05", "09:46:00"]
    assert lines[4] == "3 learner(s); 1 of 3 exercise(s) started are done."


@pytest.mark.parametrize("what", ["missing", "not a database", "a folder", "empty"])
def test_a_bad_db_exits_2_in_one_line(
    what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = {
        "missing": tmp_path / "nope.db",
        "not a database": _not_a_db(tmp_path),
        "a folder": tmp_path,
        "empty": tmp_path / "empty.db",
    }[what]
    if what == "empty":
        sqlite3.connect(path).execute("CREATE TABLE other (x)").connection.close()
    assert main(["class-board", "--db", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("smars-sim: error: --db")
    assert "Traceback" not in err
    assert not (tmp_path / "nope.db").exists()  # reading never creates a database


def test_who_looks_stuck_and_which_check_trips_most(tmp_path: Path) -> None:
    db = tmp_path / "class.db"
    small_class(db)
    conn = cb.connect(db, create=False)
    now = datetime(2026, 12, 5, 9, 50, tzinfo=UTC)
    stuck = cb.stuck_learners(conn, failed_attempts=3, idle_minutes=30, now=now)
    assert [(s["learner"], s["exercise"], s["failed_in_a_row"]) for s in stuck] == [
        ("bob", "q1", 3)
    ]
    # cy has been quiet for 4 minutes since a failed attempt: stuck with a 3-minute threshold.
    quiet = cb.stuck_learners(conn, failed_attempts=5, idle_minutes=3, now=now)
    assert [s["learner"] for s in quiet] == ["bob", "cy"]
    assert "no check for" in quiet[1]["why"]
    hardest = cb.hardest_checks(conn)
    assert (hardest[0]["exercise"], hardest[0]["check"]) == ("q1", "finds the symbols")
    assert hardest[0]["tripped"] == 2 and hardest[0]["still_failing"] == 1


def test_recording_is_bounded_when_the_writer_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cb, "RECORD_DEADLINE_S", 0.5)
    monkeypatch.setenv(cb.ENV_DB, "/unused")
    release = threading.Event()
    monkeypatch.setattr(cb, "connect", lambda *_a, **_k: release.wait(10))
    started = time.monotonic()
    line = cb.record_checks_quietly("q1", [("a", True)])
    release.set()
    assert time.monotonic() - started < 2
    assert line is not None and "took too long" in line


def test_a_finished_game_days_score_is_what_record_game_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A game day records itself when it finishes: ``record_game(model.score())``, once."""
    from smars_sim.ui.gameday import GameDayModel

    db = tmp_path / "class.db"
    monkeypatch.setenv(cb.ENV_DB, str(db))
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    model = GameDayModel()
    model.advance(3)
    model.kill_switch()
    model.finish()
    model.finish()  # finishing again records nothing more
    assert model.board_note is None
    score = model.score()
    conn = cb.connect(db, create=False)
    assert conn.execute("SELECT COUNT(*) FROM games").fetchone()[0] == 1
    (game,) = cb.game_rows(conn)
    assert game["learner"] == "ana" and game["actions"] == 1
    assert game["loss_usd"] == score.loss_usd and game["minutes_to_stop"] == score.minutes_to_stop
