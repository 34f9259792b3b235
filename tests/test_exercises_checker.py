"""A checker that always returns (issue 16): learner code cannot defeat the time limit.

Each reproduction here failed before the checks ran in a child process killed at the
deadline (``smars_sim.exercises.core``), and passes now:

* a loop with a bare ``except:`` around ``time.sleep`` swallowed the timeout: the check
  never returned;
* an answer that ignores SIGALRM ran on past its limit;
* one ``print`` inside an answer went whole into the notebook (350 MB);
* an answer calling ``os._exit`` ended the kernel.

The hangs are reproduced in a fresh interpreter (the main thread, as in a kernel), so
that a checker that does hang fails the test at a bound instead of hanging pytest.
Bounds are generous: a limit of 2 s must answer within 20 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from smars_sim.exercises import check, evaluate
from smars_sim.exercises.core import (
    MESSAGE_CAP_CHARS,
    OUTPUT_CAP_BYTES,
    OUTPUT_SHOWN_LINES,
    isolated,
)

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the checks run in a forked child on Linux"
)

#: q3's checks have a 20 s limit; SMARS_CHECK_TIMEOUT_SCALE=0.1 makes it 2 s.
LIMIT_S = 2.0
#: A check stopped at LIMIT_S must answer within this (a crowded CI machine included).
BOUND_S = 20.0

SOLUTION = """
def verify_fleet(manifest, reports):
    problems = []
    for server in manifest["servers"]:
        reported = reports.get(server)
        if reported is None:
            problems.append(f"server {server} sent no hash report")
        elif reported != manifest["sha256"]:
            problems.append(f"server {server} runs another build")
    if problems:
        raise DeployRefused("refused: " + "; ".join(problems))
"""

BARE_EXCEPT = """
import time

def verify_fleet(manifest, reports):
    while True:
        try:
            time.sleep(0.05)
        except:
            pass
"""

IGNORES_SIGALRM = """
import signal, time

def verify_fleet(manifest, reports):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        time.sleep(0.05)
"""

EXITS = """
import os

def verify_fleet(manifest, reports):
    os._exit(3)
"""

#: A fresh interpreter standing in for a kernel: the learner's cell, then check("q3")
#: (timed), then the solution and check("q3") again, then what is left of the process.
KERNEL = """
import contextlib, io, json, os, signal, sys, tempfile, time
os.environ["SMARS_CHECK_TIMEOUT_SCALE"] = "0.1"
from smars_sim.exercises import DeployRefused, check
handler = signal.getsignal(signal.SIGALRM)

def children():
    found = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            found += f.read().split()
    return found

def cell(code):  # a cell's code, from a file as in a kernel (so hints can quote its lines)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    exec(compile(code, f.name, "exec"), globals())

cell(LEARNER)
shown = io.StringIO()
start = time.monotonic()
with contextlib.redirect_stdout(shown):
    check("q3")
elapsed = time.monotonic() - start
cell(SOLUTION)
again = io.StringIO()
with contextlib.redirect_stdout(again):
    check("q3")
print(json.dumps({
    "elapsed": elapsed,
    "text": shown.getvalue(),
    "again": again.getvalue(),
    "children": children(),
    "sigalrm_unchanged": signal.getsignal(signal.SIGALRM) == handler,
}))
"""


def _kernel(learner: str) -> dict:
    """Run ``KERNEL`` with ``learner`` as the answer; fail (not hang) past a bound."""
    script = f"LEARNER = {learner!r}\nSOLUTION = {SOLUTION!r}\n" + KERNEL
    env = {k: v for k, v in os.environ.items() if k != "SMARS_CHECK_ISOLATION"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("check('q3') did not return within 120 s: the learner's code defeated it")
    assert done.returncode == 0, f"the kernel died (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_stopped_and_usable(found: dict, line: str) -> None:
    assert found["elapsed"] < BOUND_S, found
    text = found["text"]
    assert text.startswith("❌ q3 · Verify the fleet: 0 of 9 checks passed."), text
    assert f"stopped after {LIMIT_S:.3g} s: your code did not return (it was at line " in text
    assert f"of your cell: `{line}`). Look for an endless loop" in text
    assert "endless loop" in text
    assert "not run: an earlier check ran out of time" in text
    assert "Traceback" not in text
    # The kernel is still usable: the same process checks a correct answer...
    assert found["again"].startswith("✅ q3 · Verify the fleet: all 9 checks passed"), found
    # ... with no child process left over (not even a zombie), and its own SIGALRM handler.
    assert found["children"] == [], found
    assert found["sigalrm_unchanged"]


def test_a_bare_except_around_sleep_cannot_keep_the_check_running():
    _assert_stopped_and_usable(_kernel(BARE_EXCEPT), "time.sleep(0.05)")


def test_an_ignored_sigalrm_cannot_keep_the_check_running():
    _assert_stopped_and_usable(_kernel(IGNORES_SIGALRM), "time.sleep(0.05)")


def test_an_answer_that_ends_its_process_does_not_end_the_kernel():
    found = _kernel(EXITS)
    text = found["text"]
    assert "the process running the check ended (exit status 3" in text, text
    assert "not run: an earlier check stopped the checker" in text
    assert found["again"].startswith("✅ q3"), found
    assert found["children"] == []


# --------------------------------------------------------------------------
# In this process: output, copies of nothing, no children left
# --------------------------------------------------------------------------
def _children() -> set[str]:
    found: set[str] = set()
    for task in os.listdir("/proc/self/task"):
        try:
            found |= set(Path(f"/proc/self/task/{task}/children").read_text().split())
        except OSError:  # a thread that ended meanwhile
            continue
    return found


def _answer(code: str) -> dict:
    """A learner's cell, run from a file (as in a kernel, so hints can quote its lines)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    env: dict = {}
    exec(compile(code, f.name, "exec"), env)
    return env


#: What check() may print for q3 (9 checks) at most: a head line, one line per check
#: (each hint at most MESSAGE_CAP_CHARS), and the excerpt of what the learner printed.
Q3_PRINT_CAP = 600 + 9 * (MESSAGE_CAP_CHARS + 200) + (OUTPUT_SHOWN_LINES + 2) * 200

PRINTS_50_MB = """
def verify_fleet(manifest, reports):
    print("x" * 50_000_000)
    print("the manifest was", manifest["version"])
    raise ValueError("not finished")
"""


@pytest.mark.parametrize("isolation", ["fork", "none"])
def test_a_print_of_50_mb_in_an_answer_is_cut(isolation, monkeypatch, capsys):
    monkeypatch.setenv("SMARS_CHECK_ISOLATION", isolation)
    assert isolated() == (isolation == "fork")
    before = _children()
    check("q3", _answer(PRINTS_50_MB))
    out, err = capsys.readouterr()
    assert len(out) + len(err) < Q3_PRINT_CAP, (len(out), len(err))
    assert out.startswith("❌ q3 · Verify the fleet: 0 of 9 checks passed.")
    assert "verify_fleet raised ValueError: not finished (line 5 of your cell" in out
    assert "your code printed 450,000," in out  # 9 checks printed 50 MB each
    assert "… (output cut: 4" in out and "bytes more)" in out
    excerpt = [line for line in out.splitlines() if line.startswith("   │ ")]
    assert 0 < len(excerpt) <= OUTPUT_SHOWN_LINES
    assert _children() <= before


def test_what_is_kept_of_the_output_is_capped():
    report = evaluate("q3", _answer(PRINTS_50_MB))
    assert len(report.printed.encode()) <= OUTPUT_CAP_BYTES
    assert report.printed.startswith("x" * 100)
    assert report.printed_cut > 9 * 50_000_000 - OUTPUT_CAP_BYTES


def test_output_is_not_shown_under_a_passing_report(capsys):
    code = SOLUTION.replace("problems = []", "problems = []\n    print('checking', manifest)")
    check("q3", _answer("from smars_sim.exercises import DeployRefused\n" + code))
    out = capsys.readouterr().out
    assert out.startswith("✅ q3 · Verify the fleet: all 9 checks passed"), out
    assert "checking" not in out


def test_a_huge_hint_is_cut():
    code = "def verify_fleet(manifest, reports):\n    raise ValueError('y' * 1_000_000)\n"
    report = evaluate("q3", _answer(code))
    assert all(len(o.message) <= MESSAGE_CAP_CHARS for o in report.outcomes)


def test_learner_side_effects_stay_in_the_child():
    code = (
        "import os, signal\n"
        "def verify_fleet(manifest, reports):\n"
        "    os.chdir('/')\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "    os.environ['SMARS_LEARNER_WAS_HERE'] = '1'\n"
    )
    cwd, term = os.getcwd(), signal.getsignal(signal.SIGTERM)
    evaluate("q3", _answer(code))
    assert os.getcwd() == cwd
    assert signal.getsignal(signal.SIGTERM) == term
    assert "SMARS_LEARNER_WAS_HERE" not in os.environ


def test_a_timeout_leaves_no_child_and_answers_within_the_bound(monkeypatch):
    monkeypatch.setenv("SMARS_CHECK_TIMEOUT_SCALE", "0.1")  # 20 s -> 2 s
    before = _children()
    start = time.monotonic()
    endless = "def verify_fleet(manifest, reports):\n    while True:\n        pass\n"
    report = evaluate("q3", _answer(endless))
    assert time.monotonic() - start < BOUND_S
    assert [o.status for o in report.outcomes][:2] == ["timeout", "skipped"]
    assert "(it was at line 2 of your cell: `while True:`)" in report.outcomes[0].message
    assert _children() <= before  # reaped: not even a zombie left


def test_the_checker_module_says_what_happens_without_fork():
    from smars_sim.exercises import core

    doc = textwrap.dedent(core.isolated.__doc__ or "")
    assert "Pyodide" in doc and "Windows" in doc and "no limit at all" in doc


ORPHAN = """
import json, os, threading, time
from smars_sim.exercises import check

def verify_fleet(manifest, reports):
    while True:
        pass

def tell():
    time.sleep(1.5)  # the check's child is running by now
    found = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            found += f.read().split()
    print(json.dumps(found), flush=True)

threading.Thread(target=tell, daemon=True).start()
check("q3")
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie (not reaped by PID 1) runs nothing


def test_a_kernel_killed_mid_check_leaves_no_child_running():
    kernel = subprocess.Popen(
        [sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        line = kernel.stdout.readline() if kernel.stdout else ""
    finally:
        kernel.send_signal(signal.SIGKILL)  # a kernel restart
        kernel.wait(timeout=30)
    children = [int(pid) for pid in json.loads(line)]
    assert len(children) == 1, line
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "the check's child outlived its kernel"


def test_without_fork_the_checks_run_here_and_still_answer(monkeypatch):
    """Windows and Pyodide have no os.fork: SIGALRM (or a watchdog thread) as before."""
    monkeypatch.delattr(os, "fork")
    monkeypatch.setenv("SMARS_CHECK_TIMEOUT_SCALE", "0.1")  # 20 s -> 2 s
    assert not isolated()
    endless = "def verify_fleet(manifest, reports):\n    while True:\n        pass\n"
    report = evaluate("q3", _answer(endless))
    assert report.outcomes[0].status == "timeout"
    assert "(it was at line 2 of your cell: `while True:`)" in report.outcomes[0].message
    solved = evaluate("q3", _answer("from smars_sim.exercises import DeployRefused\n" + SOLUTION))
    assert solved.passed, solved.text()
