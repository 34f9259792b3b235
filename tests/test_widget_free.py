"""The panels' models and the analysis layer run with ipywidgets and altair unimportable.

Each test runs a fresh interpreter in which a ``sys.meta_path`` blocker refuses
``ipywidgets``, ``altair`` (and ``anywidget``, ``IPython``), imports a model module and
drives it: what a view does with buttons, a script or a test does with the model alone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = """
import sys

BLOCKED = ("ipywidgets", "altair", "anywidget", "IPython")


class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
        return None


sys.meta_path.insert(0, _Blocker())
"""


def _run_blocked(body: str) -> str:
    code = (
        BLOCKER
        + textwrap.dedent(body)
        + (
            "\nleaked = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)"
            "\nassert not leaked, leaked\n"
        )
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_blocker_blocks():
    with pytest.raises(AssertionError, match="blocked in this test"):
        _run_blocked("import ipywidgets\n")


def test_deploy_day_model_without_widgets():
    out = _run_blocked(
        """
        from smars_sim import Scenario
        from smars_sim.ui.deploy_model import DeployDayModel

        model = DeployDayModel(Scenario.small())
        assert model.missed() == [1, 2, 3]
        model.technician()
        assert model.missed() == [3]
        reveals = {r["check"]: r["reveals"] for r in model.check_rows()}
        assert reveals["Compare every server's build hash with the release"] == "YES"
        assert reveals["Ask the technician"] == "no"
        result = model.run_morning()
        assert result.scenario.stale_servers == (3,)
        assert model.runs[-1]["fleet"] == "missed: 3"
        assert model.runs_takeaway().startswith("Worst so far: missed: 3")
        model.copy(3)
        assert model.missed() == []
        assert {r["reveals"] for r in model.check_rows()} == {"no"}
        model.copy(1, copied=False)
        assert model.missed() == [1]
        print(model.describe().splitlines()[0])
        """
    )
    assert out.strip() == "missed: 1"


def test_responder_and_plan_models_without_widgets():
    out = _run_blocked(
        """
        from smars_sim import Scenario
        from smars_sim.core.clock import format_time
        from smars_sim.analysis.plans import Plan, minutes_to_stop, preset_plans
        from smars_sim.ui.respond_model import PlanComparisonModel, ResponderModel

        desk = ResponderModel(Scenario.small())
        assert format_time(desk.sim.now) == "09:30:00"
        desk.advance(1)
        desk.stop(3)
        assert not desk.sim.fleet.server(3).running
        assert desk.actions and "server 3 stopped" in desk.actions[-1]
        desk.rollback()
        desk.rollback()  # only once
        assert sum("rollback" in a for a in desk.actions) == 1
        for k in (1, 2):
            desk.stop(k)
        assert "All stopped" in desk.status_text()
        assert [r["server"] for r in desk.server_rows()] == [1, 2, 3]
        desk.reset()
        assert not desk.actions and all(s.running for s in desk.sim.fleet.servers)

        plans = PlanComparisonModel(Scenario.small())
        n = len(preset_plans(plans.base))
        assert len(plans.rows()) == n
        mine = plans.plan("halt", "09:33", rollback_first=True)
        assert mine.label.startswith("Yours: kill switch") and mine.rollback_at
        plans.add(mine)
        plans.add(mine)  # the same plan replaces itself
        rows = plans.rows()
        assert len(rows) == n + 1 and rows[-1]["kind"] == "yours"
        plans.clear()
        assert len(plans.rows()) == n
        assert minutes_to_stop(Plan("x", "stop_stale", "09:32").run(plans.base)) <= 2.0
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_console_and_game_day_models_without_widgets():
    out = _run_blocked(
        """
        from smars_sim import Scenario
        from smars_sim.ui.console_model import ConsoleModel
        from smars_sim.ui.gameday_model import GameDayModel

        console = ConsoleModel(Scenario.small(rollback_at=None, stop_all_at=None))
        for _ in range(10):
            console.tick(0.5)
        assert len(console.fleet_rows()) == 3
        console.kill_switch()
        assert console.kill_switch_used

        game = GameDayModel(Scenario.small(rollback_at=None, stop_all_at=None))
        game.advance(2)
        game.stop_server(3)
        score = game.score()
        assert game.over and score.actions == 1
        assert game.debrief().startswith("BLAMELESS DEBRIEF")
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_analysis_series_without_altair():
    out = _run_blocked(
        """
        from smars_sim import Scenario
        from smars_sim.analysis import inbox, order_book, series, trace
        from smars_sim.analysis.runs import run

        r = run(Scenario.small())
        assert set(series.pnl_data(r)["series"]) == {series.LOCKED_IN, series.LAST_TRADE}
        assert len(series.order_rate_data(r)) > 0
        assert len(inbox.emails_per_minute(r)) > 0
        assert len(trace.pick_examples(r)) == 4
        book = order_book.BookRecord(Scenario.small(), ["AAA"])
        assert "empty before the open" in book.summary("AAA", book.times[0])
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_detect_models_without_widgets():
    out = _run_blocked(
        """
        from smars_sim import Scenario
        from smars_sim.analysis.runs import normal_morning, run
        from smars_sim.core.clock import OPEN_NS, parse_time
        from smars_sim.ui.detect_model import AlertRuleModel, InboxModel, PlaybackModel

        small = run(Scenario.small())
        mail = InboxModel(small)
        mail.time = mail.nearest("09:30")
        assert mail.time == OPEN_NS
        mail.query = "power peg"
        bnet = sum(1 for e in small.emails if e[0] < OPEN_NS)
        assert len(mail.visible()) == bnet
        assert f"{bnet} match 'power peg'" in mail.counts_text()

        playback = PlaybackModel(small)
        assert playback.seconds_at("09:31:07") == 60
        assert playback.clamp(10_000) == playback.max_s
        assert playback.status_text(60).startswith("09:31:00:")
        assert playback.visible("pnl", 300)["s"].max() <= 300

        rule = AlertRuleModel(small, run(normal_morning(small.scenario)))
        rule.metric, rule.threshold = "shares_out_per_in", 2.0
        fired = rule.fired("incident")
        assert fired is not None and fired >= OPEN_NS
        assert rule.fired("normal") is None
        rule.hold_s = 60
        assert rule.fired("incident") >= fired
        assert set(rule.chart_data()["day"]) == {"1 Aug 2012 replay", "normal morning"}
        rule.metric, rule.threshold = "bnet_emails_10min", 1.0
        assert rule.fired("incident") < parse_time("09:30")
        print(rule.verdict_text().split(".")[0])
        """
    )
    assert out.strip().startswith("Rule: alert when it is at least 1")
