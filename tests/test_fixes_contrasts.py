"""The course's contrasts (smars_sim.fixes.contrasts) and the dead-code clean-up steps.

Mechanisms only: which servers an exchange's or an in-binary kill stops, what the
automated deploy reports per case. Both modules are standard library, core and fixes:
one test imports them with pandas, numpy, altair and ipywidgets made unimportable.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smars_sim import Scenario, Simulation
from smars_sim.core.pnl import minutes_to_stop
from smars_sim.fixes import contrasts, dead_code_steps

ROOT = Path(__file__).resolve().parent.parent
SMALL = Scenario.small()
BAD = "a bad release (made up): the flag reaches Power Peg"


def test_check_deploy_catches_each_case():
    day = contrasts.check_deploy(SMALL, missed=[3])
    rows = {r["server"]: r for r in day.fleet_rows()}
    assert day.status == "failed" and day.flag_gate
    assert rows[3]["match"] == "NO" and rows[1]["match"] == "yes"
    assert all(r["build after the rollout"] == "2011.12-pre-rlp" for r in rows.values())
    canary = contrasts.check_deploy(SMALL, missed=[1])
    assert [r["match"] for r in canary.fleet_rows()] == ["NO", "-", "-"]
    silent = contrasts.check_deploy(SMALL, unreachable=[2])
    assert {r["server"]: r["reported"] for r in silent.fleet_rows()}[2] == "(no report)"
    assert silent.status == "failed"
    fine = contrasts.check_deploy(SMALL)
    assert fine.status == "succeeded" and fine.flag_gate is None
    assert "allowed" in fine.summary()
    bad = contrasts.check_deploy(SMALL, release=BAD)
    assert bad.status == "failed" and bad.rollout.analysis.verdict == "FAIL"
    assert any(line.startswith("PAGE") for line in bad.log())
    assert contrasts.check_deploy(SMALL, missed=[3]) is day  # cached


def test_bad_release_is_flagged_as_made_up():
    build = contrasts.bad_release()
    assert build.contains("power_peg") and "made-up" in build.notes


def test_exchange_kill_switch_blocks_every_server_once_tripped():
    sim = Simulation(SMALL)
    gate = contrasts.ExchangeKillSwitch(sim, 50_000.0, measure="gross")
    assert sim.fleet.gate is gate
    result = sim.run()
    assert gate.tripped_at is not None and gate.refused > 0
    warnings = [d for _, c, d in result.pages if c == gate.ACTOR and d.startswith("warning")]
    assert len(warnings) == len(gate.WARN_AT)
    assert any(e.actor == gate.ACTOR for e in result.timeline)
    last_child = max(p.last_child or 0 for p in result.parents)
    assert last_child <= gate.tripped_at
    with pytest.raises(ValueError, match="measure"):
        contrasts.ExchangeKillSwitch(Simulation(SMALL), 1.0, measure="median")
    with pytest.raises(ValueError, match="positive"):
        contrasts.ExchangeKillSwitch(Simulation(SMALL), 0.0)


def test_in_binary_kill_leaves_the_stale_server_running():
    sim = Simulation(SMALL.with_(rollback_at=None, stop_all_at=None))
    contrasts.press_in_binary_kill(sim, "09:31")
    result = sim.run()
    running = {s.id for s in sim.fleet.servers if s.running}
    assert running == {3}
    note = next(e for e in result.timeline if e.actor == "in-binary kill")
    assert "servers 1, 2 obeyed" in note.detail and "server 3 runs" in note.detail
    assert minutes_to_stop(result) > 1


def test_deletion_steps_end_with_a_clean_vulture_run():
    steps = dead_code_steps.deletion_steps()
    assert [s.name for s in steps] == [
        "as is",
        "flag read pinned",
        "branch deleted",
        "function deleted",
    ]
    assert [s.exit_code for s in steps] == [0, 3, 3, 0]
    assert "unsatisfiable 'if'" in steps[1].findings[0]
    assert "unused function 'power_peg'" in steps[2].findings[0]
    assert "def power_peg" not in steps[3].source and "def standard" in steps[3].source
    compile(steps[3].source, "router.py", "exec")  # still valid Python


def test_delete_function_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="no top-level function"):
        dead_code_steps.delete_function("x = 1\n", "power_peg")


def test_contrasts_record_control_events():
    sim = Simulation(SMALL)
    gate = contrasts.ExchangeKillSwitch(sim, 50_000.0, measure="gross")
    sim.run()
    assert [e.action for e in gate.events] == ["warn"] * len(gate.WARN_AT) + ["kill"]
    assert {e.control for e in gate.events} == {gate.ACTOR}
    assert gate.events[-1].time == gate.tripped_at
    sim = Simulation(SMALL.with_(rollback_at=None, stop_all_at=None))
    kill = contrasts.press_in_binary_kill(sim, "09:31")
    assert kill.events == []  # nothing until the replay reaches 09:31
    sim.run()
    assert (kill.obeyed, kill.ignored) == ([1, 2], [3])
    assert [(e.control, e.action) for e in kill.events] == [(contrasts.IN_BINARY_ACTOR, "kill")]


def test_servers_named_lists_every_server():
    assert contrasts.servers_named([]) == "no server"
    assert contrasts.servers_named([8]) == "server 8"
    assert contrasts.servers_named([3, 1, 2]) == "servers 1, 2, 3"


def test_contrasts_need_no_pandas_altair_or_widgets():
    """The CLI, whatif and the browser edition can use the contrasts on a base install."""
    code = (
        "import sys\n"
        "for name in ('pandas', 'numpy', 'pyarrow', 'altair', 'ipywidgets', 'IPython'):\n"
        "    sys.modules[name] = None  # any import of them raises ImportError\n"
        "from smars_sim import Scenario, Simulation\n"
        "from smars_sim.fixes import contrasts, dead_code_steps\n"
        "s = Scenario.small()\n"
        "sim = Simulation(s)\n"
        "gate = contrasts.ExchangeKillSwitch(sim, 50_000.0, measure='gross')\n"
        "sim.run()\n"
        "assert gate.tripped_at is not None\n"
        "inside = contrasts.contrast_replay(s, 'in-binary', at='09:31')\n"
        "firm = contrasts.contrast_replay(s, 'firm', at='09:31')\n"
        "assert firm.summary.loss_usd < inside.summary.loss_usd\n"
        "assert contrasts.check_deploy(s, missed=[3]).status == 'failed'\n"
        "assert [x.exit_code for x in dead_code_steps.deletion_steps()] == [0, 3, 3, 0]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
