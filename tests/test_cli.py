"""The ``smars-sim`` command line: the summary, the parquet output, and bad input.

Bad input exits with code 2 and exactly one line on stderr that names the value and
what is allowed, never a traceback; the Python API raises ValueError saying the same.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from smars_sim import Scenario, Simulation
from smars_sim.analysis import tables
from smars_sim.cli import main

SUMMARY_KEYS = {
    "scenario",
    "seed",
    "scale",
    "fixes",
    "servers",
    "stale_servers",
    "parent_orders",
    "child_orders",
    "executions",
    "symbols_traded",
    "shares_traded",
    "long_usd",
    "long_symbols",
    "short_usd",
    "short_symbols",
    "loss_usd",
    "start",
    "stop",
    "duration_minutes",
    "bnet_emails",
    "execution_digest",
}
TABLES = ["parent_orders", "child_orders", "executions", "positions", "pnl", "alerts", "actions"]


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["replay", "--scenario", "small", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _api_error(scenario_name: str = "small", **changes) -> str:
    """The message the Python API gives for the same input."""
    with pytest.raises(ValueError) as err:
        Simulation(Scenario.named(scenario_name, **changes))
    return str(err.value)


# ------------------------------------------------------------------------ bad input
# (CLI arguments, the same input through the API, a fragment both messages contain)
BAD_INPUT = [
    (["--seed", "abc"], {"seed": "abc"}, "'abc' is not an integer; use a whole number"),
    (["--seed", "1.5"], {"seed": 1.5}, "is not an integer; use a whole number"),
    (["--scale", "0"], {"scale": 0.0}, "scale 0.0 is outside (0, 1]; allowed: 0 < scale <= 1"),
    (["--scale", "-1"], {"scale": -1.0}, "scale -1.0 is outside (0, 1]; allowed: 0 < scale <= 1"),
    (["--scale", "1.5"], {"scale": 1.5}, "scale 1.5 is outside (0, 1]; allowed: 0 < scale <= 1"),
    (["--scale", "nan"], {"scale": math.nan}, "scale nan is outside (0, 1]; allowed: 0 < scale"),
    (["--servers", "0"], {"servers": 0}, "servers 0 is not allowed; use a whole number >= 1"),
    (["--stale-server", "4"], {"stale_servers": (4,)}, "stale server 4 is out of range; allowed"),
    (["--stale-server", "0"], {"stale_servers": (0,)}, "stale server 0 is out of range; allowed"),
    (["--halt-at", "25:00"], {"halt_at": "25:00"}, "'25:00' is not a clock time; hours 0-23"),
    (["--halt-at", "9h30"], {"halt_at": "9h30"}, "'9h30' is not a clock time; expected HH:MM"),
    (
        ["--halt-at", "08:00"],
        {"halt_at": "08:00"},
        "halt-at 08:00:00 is outside the simulated day; allowed: 08:59:00 to 16:00:00",
    ),
    (
        ["--halt-at", "16:01"],
        {"halt_at": "16:01"},
        "halt-at 16:01:00 is outside the simulated day; allowed: 08:59:00 to 16:00:00",
    ),
    (
        ["--rollback-at", "08:30"],
        {"rollback_at": "08:30"},
        "rollback-at 08:30:00 is outside the simulated day; allowed: 08:59:00 to 16:00:00",
    ),
    (["--fix", "no-such-fix"], {"fixes": ("no-such-fix",)}, "unknown fix 'no-such-fix'; avail"),
]


@pytest.mark.parametrize(("args", "changes", "fragment"), BAD_INPUT, ids=lambda x: str(x))
def test_bad_input_exits_2_with_one_line(capsys, args, changes, fragment):
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("smars-sim: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in err
    api = _api_error(**changes)
    assert fragment in api
    # Where the CLI passes the value through unchanged, the message is the API's, word
    # for word (time options keep their "--" and parse errors name the option).
    cli_message = lines[0].removeprefix("smars-sim: error: ")
    assert cli_message in (api, f"--{api}") or cli_message.startswith("argument --seed: ")


def test_unknown_scenario(capsys):
    code = main(["replay", "--scenario", "aug2"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [
        "smars-sim: error: unknown scenario 'aug2'; available: aug1-2012, small"
    ]
    with pytest.raises(ValueError) as api:
        Scenario.named("aug2")
    assert err.strip() == f"smars-sim: error: {api.value}"


@pytest.mark.parametrize(
    "argv",
    [[], ["replay", "--bogus"], ["replay", "--scale"], ["replay", "--servers", "two"]],
    ids=["no-command", "unknown-option", "missing-value", "servers-not-int"],
)
def test_usage_errors_are_one_line(capsys, argv):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("smars-sim: error: ")


@pytest.mark.parametrize(
    "args",
    [["--seed", "abc"], ["--halt-at", "25:00"], ["--out", "/etc/passwd/x"]],
    ids=["seed", "halt-at", "out"],
)
def test_bad_input_in_a_real_process(args):
    proc = subprocess.run(
        [sys.executable, "-m", "smars_sim.cli", "replay", "--scenario", "small", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert repr(args[1]) in proc.stderr


# ------------------------------------------------------------------------ --out
def test_out_that_is_a_file(capsys, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    code, out, err = _run(capsys, "--out", str(target))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"smars-sim: error: --out {str(target)!r} is a file; give a directory that can be written"
    ]
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("make", ["under-a-file", "proc"])
def test_out_that_cannot_be_written(capsys, tmp_path, make):
    if make == "under-a-file":
        (tmp_path / "file").write_text("")
        target = str(tmp_path / "file" / "out")
    else:
        # Even root cannot create files in /proc: an unwritable directory for any user.
        assert os.path.isdir("/proc")
        target = "/proc/smars-sim-out"
    code, out, err = _run(capsys, "--out", target)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"smars-sim: error: --out {target!r} cannot be written; give a directory you can write to"
    ]
    assert not os.path.exists(target)


def test_out_writes_every_table_as_parquet(capsys, tmp_path, small):
    out_dir = tmp_path / "nested" / "out"
    code, out, err = _run(capsys, "--out", str(out_dir), "--json")
    assert code == 0, err
    assert json.loads(out)["execution_digest"] == small.summary.execution_digest
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [f"{t}.parquet" for t in TABLES] + ["manifest.json"]
    )
    for name in TABLES:
        frame = pd.read_parquet(out_dir / f"{name}.parquet")
        expected = getattr(tables, name)(small)
        assert len(frame) == len(expected), name
        assert list(frame.columns) == list(expected.columns), name
    executions = pd.read_parquet(out_dir / "executions.parquet")
    assert executions["qty"].sum() == small.summary.shares_traded


def test_out_with_a_directory_in_the_way_leaves_nothing_half_written(capsys, tmp_path):
    out_dir = tmp_path / "out"
    (out_dir / "executions.parquet").mkdir(parents=True)
    code, out, err = _run(capsys, "--out", str(out_dir))
    assert code == 2 and out == "", err
    assert len(err.splitlines()) == 1 and "executions.parquet" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["executions.parquet"]
    assert (out_dir / "executions.parquet").is_dir()


# ------------------------------------------------------------------------ output
def test_json_prints_exactly_one_object(capsys, small):
    code, out, err = _run(capsys, "--json")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1
    data = json.loads(out)
    assert isinstance(data, dict)
    assert set(data) >= SUMMARY_KEYS
    assert data == json.loads(json.dumps(small.summary.as_dict()))  # the same replay as the API's
    assert (data["scenario"], data["seed"], data["scale"]) == ("small", 1, 1.0)


def test_options_reach_the_scenario(capsys):
    code, out, err = _run(
        capsys, "--json", "--seed", "5", "--servers", "2", "--no-rollback", "--halt-at", "09:33"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["seed"] == 5 and data["servers"] == 2
    assert data["stale_servers"] == [2]  # fewer servers: the technician misses the last one
    assert data["stop"] is not None and data["stop"] <= "09:33:00.000"
    code, out, err = _run(capsys, "--json", "--servers", "4")
    assert code == 0, err
    assert json.loads(out)["stale_servers"] == [3]  # more servers: the stale one stays


def test_stale_servers_are_repeatable(capsys):
    code, out, err = _run(capsys, "--json", "--stale-server", "1", "--stale-server", "2")
    assert code == 0, err
    assert json.loads(out)["stale_servers"] == [1, 2]


def test_without_json_prints_a_readable_table(capsys, small):
    code, out, err = _run(capsys)
    assert code == 0, err
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    lines = out.strip().splitlines()
    labels = [line.split("  ")[0] for line in lines]
    for label in ("scenario", "servers", "child orders", "executions", "realised loss"):
        assert label in labels
    assert "execution digest" in labels
    row = {line.split("  ")[0]: line for line in lines}
    assert small.summary.execution_digest[:16] in row["execution digest"]
    assert f"{small.summary.executions:,}" in row["executions"]
    width = len(lines[0]) - len(lines[0].lstrip())
    assert width == 0


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "smars-sim"
    assert script.exists()
    proc = subprocess.run(
        [str(script), "replay", "--scenario", "small", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) >= SUMMARY_KEYS


# ------------------------------------------------------------------------ issue 16
# Each reproduction of the issue's "CLI holes": one line, exit 2 (or a quiet exit for a
# closed pipe), never a traceback, and never a replay that cannot finish.
ISSUE_16_BAD = [
    (["--scale", "1e-9"], "scale 1e-09 is too coarse; allowed: 0 < scale <= 1 with scale >= 0.001"),
    (["--scale", "5e-324"], "scale 5e-324 is too coarse"),
    (["--scale", "1e400"], "scale inf is outside (0, 1]"),
    (["--servers", "1000000"], "servers 1000000 is too many; allowed: 1 to 64"),
    (["--servers", "65"], "servers 65 is too many"),
    (["--out", ""], "--out '' is empty; give a directory name"),
    (["--no-rollback", "--rollback-at", "09:40"], "not allowed with argument --no-rollback"),
    (["--stale-server", "3", "--stale-server", "3"], "--stale-server 3 given twice"),
]


@pytest.mark.parametrize(("args", "fragment"), ISSUE_16_BAD, ids=lambda x: str(x))
def test_issue_16_cli_holes_are_one_line(capsys, args, fragment):
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smars-sim: error: "), err
    assert fragment in lines[0]


def _cli(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = str(root)
    return subprocess.run(
        [sys.executable, "-m", "smars_sim.cli", "replay", "--scenario", "small", *args],
        env=full_env,
        timeout=120,
        check=False,
        **kwargs,
    )


def test_a_closed_pipe_exits_quietly():
    """``smars-sim replay | head`` with a reader that has gone: no BrokenPipeError."""
    read, write = os.pipe()
    os.close(read)  # the reader has gone before anything is written
    try:
        proc = _cli(stdout=write, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write)
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 1  # the Python docs' recipe: quiet, and not a success


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [[], ["--json"]], ids=["table", "json"])
def test_a_full_stdout_is_one_line(args):
    with open("/dev/full", "w") as full:
        proc = _cli(*args, stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "smars-sim: error: cannot write the output: No space left on device"
    ]


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_an_ascii_terminal_gets_readable_output(encoding):
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    proc = _cli(env=env, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode("ascii")  # every byte is ASCII
    assert "execution digest" in text and "..." in text
    assert proc.stderr == b""


def test_servers_at_the_maximum_still_replay(capsys):
    code, out, err = _run(capsys, "--servers", "64", "--json")
    assert code == 0, err
    assert json.loads(out)["servers"] == 64
