"""The what-if engine: 16 combinations of the fixes, the kill-time sweep, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise

import pandas as pd
import pytest

from smars_sim import Scenario
from smars_sim.analysis.whatif import fix_combinations, kill_time_sweep, what_if
from smars_sim.cli import main
from smars_sim.fixes import AVAILABLE

#: What each fix alone must achieve, as a share of the unfixed replay's loss.
BOUND = {"dead-code": 0.01, "flag-registry": 0.01, "verified-deploy": 0.01, "kill-switch": 0.10}
#: The mechanism each fix alone is expected to show as the first to act.
FIRST = {
    "dead-code": "dead-code: Power Peg deleted",
    "flag-registry": "flag-registry: retired key read",
    "verified-deploy": "verified-deploy: rollout aborted",
    "kill-switch": "kill-switch: kill switch engaged: reconciliation",
}


_MEASURE = """
import json, sys, time
from smars_sim.analysis.whatif import what_if
started = time.process_time()  # CPU time: other jobs on the machine do not count
table = what_if()
cpu = time.process_time() - started
json.dump({"cpu": cpu, "rows": json.loads(table.to_json(orient="records"))}, sys.stdout)
"""


@pytest.fixture(scope="module")
def table_and_cpu() -> tuple[pd.DataFrame, float]:
    # A fresh process, as in a notebook: the test session's own heap would slow the
    # garbage collector down and measure the suite rather than the engine.
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE], check=True, capture_output=True, text=True
    ).stdout
    data = json.loads(out)
    return pd.DataFrame(data["rows"]), data["cpu"]


@pytest.fixture(scope="module")
def table(table_and_cpu) -> pd.DataFrame:
    return table_and_cpu[0]


def test_sixteen_tidy_rows(table):
    assert len(table) == 16 == len(fix_combinations())
    assert table["fixes"].is_unique
    for column in (
        "fixes",
        *AVAILABLE,
        "loss_usd",
        "loss_pct_of_unfixed",
        "executions",
        "power_peg_minutes",
        "stopped_at",
        "stopped_by",
        "controls",
    ):
        assert column in table.columns
    assert table[list(AVAILABLE)].sum(axis=1).tolist() == [
        len(c) for c in fix_combinations()
    ]  # one boolean column per fix, consistent with the label
    none = table.set_index("fixes").loc["none"]
    assert none["loss_pct_of_unfixed"] == 100 and none["stopped_by"] == "none"
    assert none["power_peg_minutes"] > 0


@pytest.mark.parametrize("fix", AVAILABLE)
def test_each_fix_alone_meets_its_bound_and_says_how(table, fix):
    row = table.set_index("fixes").loc[fix]
    assert row["loss_pct_of_unfixed"] <= 100 * BOUND[fix]
    assert row["stopped_by"] == FIRST[fix]
    assert row["power_peg_minutes"] < 1


def test_every_combination_with_a_fix_is_at_least_as_good_as_the_kill_switch_bound(table):
    fixed = table[table["fixes"] != "none"]
    assert (fixed["loss_pct_of_unfixed"] <= 10).all()
    assert (fixed["stopped_by"] != "none").all()


@pytest.mark.parametrize(
    "kw",
    [
        {"stale_servers": (2, 7)},
        {"stale_servers": (1,), "flag": "rlp_or_peg", "seed": 7},
    ],
    ids=["stale-2-and-7", "stale-1-other-flag-seed-7"],
)
def test_each_fix_holds_over_variants(kw):
    scenario = Scenario.aug1_2012(scale=0.01, **kw)
    singles = [(), *((fix,) for fix in AVAILABLE)]
    rows = what_if(scenario, combos=singles).set_index("fixes")
    assert rows.loc["none", "power_peg_minutes"] > 0
    for fix in AVAILABLE:
        assert rows.loc[fix, "loss_pct_of_unfixed"] <= 100 * BOUND[fix], fix


def test_a_later_manual_kill_costs_more():
    times = ("09:31", "09:40", "09:55", "10:10")
    sweep = kill_time_sweep(times)
    assert sweep["kill_at"].tolist() == [f"{t}:00" for t in times]
    losses = sweep["loss_usd"].tolist()
    assert all(a < b for a, b in pairwise(losses))  # strictly monotonic
    assert (sweep["loss_pct_of_unfixed"] < 100).all()
    minutes = sweep["power_peg_minutes"].tolist()
    assert all(a < b for a, b in pairwise(minutes))


def test_the_core_never_imports_pandas_or_the_fix_dependencies():
    code = (
        "import sys\n"
        "from smars_sim import Scenario, replay\n"
        "replay(Scenario.small())\n"
        "assert 'pandas' not in sys.modules, 'pandas'\n"
        "assert 'openfeature' not in sys.modules, 'openfeature'\n"
        "assert 'vulture' not in sys.modules, 'vulture'\n"
        "replay(Scenario.small(fixes=('dead-code', 'verified-deploy', 'kill-switch')))\n"
        "assert 'pandas' not in sys.modules and 'openfeature' not in sys.modules\n"
        "replay(Scenario.small(fixes=('flag-registry',)))\n"
        "assert 'openfeature' in sys.modules and 'pandas' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------- CLI
@pytest.mark.parametrize(
    "fixes",
    [(fix,) for fix in AVAILABLE] + [("dead-code", "kill-switch"), AVAILABLE],
    ids=lambda f: "+".join(f),
)
def test_cli_replay_with_any_fixes(capsys, fixes):
    argv = ["replay", "--scenario", "small", "--json"]
    for fix in fixes:
        argv += ["--fix", fix]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fixes"] == list(fixes)
    if fixes != ("kill-switch",):  # the kill switch stops Power Peg; the others prevent it
        assert summary["parent_orders"] == 0


def test_cli_whatif_prints_sixteen_rows(capsys, monkeypatch, table):
    monkeypatch.setattr("smars_sim.analysis.whatif.what_if", lambda scenario: table)
    assert main(["whatif"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 17 and "stopped_by" in lines[0]
    assert main(["whatif", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list) and len(rows) == 16
    assert {r["fixes"] for r in rows} == set(table["fixes"])


def test_cli_whatif_sweep(capsys, monkeypatch):
    frame = pd.DataFrame([{"kill_at": "09:31:00", "loss_usd": 1.0}])
    monkeypatch.setattr("smars_sim.analysis.whatif.kill_time_sweep", lambda scenario: frame)
    assert main(["whatif", "--sweep", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"kill_at": "09:31:00", "loss_usd": 1.0}]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["whatif", "--scale", "2"], "scale 2.0 is outside (0, 1]"),
        (["whatif", "--seed", "x"], "not an integer"),
        (["whatif", "--bogus"], "unrecognized arguments"),
    ],
)
def test_cli_whatif_bad_input(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err
