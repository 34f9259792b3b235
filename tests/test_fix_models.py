"""The widget-free models of course part 2's panels (smars_sim.ui.fix_models).

Each model is driven here as a cell would drive it, without ipywidgets or altair:
one test imports and uses them all with both made unimportable.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smars_sim import FLAG, Scenario
from smars_sim.core.clock import parse_time
from smars_sim.fixes import flag_registry as flags
from smars_sim.fixes import verified_deploy as deploy
from smars_sim.ui import fix_models as fm
from smars_sim.ui import kill_models as km

ROOT = Path(__file__).resolve().parent.parent
SMALL = Scenario.small()
BAD = "a bad release (made up): the flag reaches Power Peg"


def test_flag_console_model_refuses_the_old_key_and_keeps_the_message():
    model = fm.FlagConsoleModel()
    assert [r["key"] for r in model.rows()] == [FLAG]
    assert model.create(FLAG) is False
    assert not model.ok and model.last.startswith("REFUSED") and "tombstoned" in model.last
    assert model.create(flags.RLP_FLAG) and model.last == f"OK: create {flags.RLP_FLAG!r}"
    assert model.turn_on(flags.RLP_FLAG)
    assert model.evaluate(flags.RLP_FLAG)["value"] is True
    for key in ("a.b.c", "d.e.f", "g.h.i", flags.RLP_FLAG):
        model.evaluate(key)
    # the latest four, each once: re-evaluating a key moves it to the end
    assert model.evaluated == ["a.b.c", "d.e.f", "g.h.i", flags.RLP_FLAG]
    assert [r["key"] for r in model.evaluations()] == model.evaluated
    assert model.retire(flags.RLP_FLAG)
    model.reset()
    assert model.ok and model.evaluated == [] and [r["key"] for r in model.rows()] == [FLAG]


def test_deploy_lab_model_cases():
    model = fm.DeployLabModel(SMALL)
    assert model.missed == [3] and model.replayable()
    assert "rollout FAILED" in model.describe()
    assert model.result() is not None and "Replay with verified-deploy" in model.outcome_text()
    model.set(missed=[3, 1, 3])
    assert model.missed == [1, 3]
    model.set(missed=[], unreachable=2)
    assert not model.replayable() and model.result() is None
    assert "no hash report" in model.describe()
    model.set(unreachable=0, release=BAD)
    assert "canary analysis FAIL" in model.outcome_text()


def test_kill_drill_model_press_once():
    model = km.KillDrillModel(SMALL.with_(rollback_at=None, stop_all_at=None))
    assert model.killed_at() is None and "not pressed" in model.status_text()
    model.advance(1)
    model.kill()
    model.kill()  # a second press changes nothing
    assert model.killed_at() == parse_time("09:31")
    assert len(model.log_lines()) == 1 and "kill switch engaged" in model.describe()
    assert "stopped every server at 09:31:00" in model.takeaway()
    assert all(not s.running for s in model.sim.fleet.servers)
    model.reset()
    assert model.killed_at() is None and model.takeaway() == "Up to 09:30."


def test_kill_lab_model_settings():
    model = km.KillLabModel(SMALL)
    assert model.limits() is None and model.automated() is None
    assert "all off" in model.describe() and model.control_rows() == []
    model.set(reconcile=True, delay=2)
    assert model.delay == 2 and model.limits() is not None
    assert model.control_rows()[0]["control"] == "risk gate: kill switch engaged: reconciliation"
    assert list(model.points()["what"])[-1] == "your automated limits"
    model.set()
    assert model.delay == 10 and model.reconcile is False
    with pytest.raises(ValueError, match="unknown control"):
        model.set(speed=3)


def test_canary_judge_model_config():
    model = fm.CanaryJudgeModel(SMALL)
    assert model.candidate == fm.CanaryJudgeModel.DEFAULT_CANDIDATE
    names = [m.name for m in deploy.METRICS]
    model.set(candidate="the RLP release", critical=False, **{names[1]: 9999.0})
    specs = model.metrics()
    assert [s.name for s in specs] == names
    assert specs[0].critical is False and specs[1].allowed_increase == 9999.0
    assert specs[2].allowed_increase == deploy.METRICS[2].allowed_increase
    assert model.analysis().verdict in fm.VERDICT_ACTIONS
    assert len(model.rows()) == len(names) and "verdict" in model.describe()
    model.set()  # back to the judge's defaults, the candidate kept
    assert model.candidate == "the RLP release"
    assert model.critical is deploy.METRICS[0].critical
    with pytest.raises(ValueError, match="unknown metric"):
        model.set(no_such_metric=1.0)


def test_models_need_no_widgets_or_altair():
    code = (
        "import sys\n"
        "for name in ('altair', 'ipywidgets'):\n"
        "    sys.modules[name] = None  # any import of them raises ImportError\n"
        "from smars_sim import Scenario\n"
        "from smars_sim.ui import fix_models as fm, kill_models as km\n"
        "s = Scenario.small()\n"
        "assert fm.FlagConsoleModel().create('powerpeg') is False\n"
        "assert fm.DeployLabModel(s).check().status == 'failed'\n"
        "drill = km.KillDrillModel(s)\n"
        "drill.advance(1)\n"
        "drill.kill()\n"
        "assert drill.killed_at() is not None\n"
        "assert km.KillLabModel(s).limits() is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
