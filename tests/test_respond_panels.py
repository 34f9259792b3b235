"""Notebook 05's panels (smars_sim.ui.respond_panels), headless: the console, the plans."""

from __future__ import annotations

import pytest

from smars_sim import Scenario, replay
from smars_sim.analysis import tables
from smars_sim.analysis.plans import preset_plans
from smars_sim.analysis.runs import run
from smars_sim.core.clock import SECOND_NS, format_time, parse_time
from smars_sim.ui.detect_panels import server_share_view
from smars_sim.ui.panel import show
from smars_sim.ui.respond_panels import PlanComparison, Responder, rollback_view
from smars_sim.viz.day_charts import loss_and_alerts

SMALL = Scenario.small()


@pytest.fixture(scope="module")
def small():
    return run(SMALL)


pytestmark = pytest.mark.usefixtures("offline_renderer")


def test_responder_stops_servers_and_rolls_back():
    console = Responder(SMALL)
    assert format_time(console.sim.now) == "09:30:00"
    console.advance_buttons[0].click()
    assert format_time(console.sim.now) == "09:31:00"
    console.stop_buttons[2].click()  # server 3, the missed one
    step = int(console.step_s * SECOND_NS)
    assert console.sim.now == parse_time("09:31") + step
    assert not console.sim.fleet.server(3).running
    assert console.stop_buttons[2].disabled
    assert "server 3 stopped" in console.log.value
    console.rollback_button.click()
    assert console.rollback_button.disabled
    console.advance(5)
    builds = {s.build.version for s in console.sim.fleet.servers}
    assert builds == {"2011.12-pre-rlp"}
    for k in (1, 2):
        console.stop(k)
    assert "All stopped" in console.status_text()
    console.reset_button.click()
    assert format_time(console.sim.now) == "09:30:00" and not console.actions
    assert all(s.running for s in console.sim.fleet.servers)


def test_responder_never_runs_past_the_end():
    console = Responder(SMALL)
    for _ in range(10):
        console.advance(5)
    assert console.sim.now == console.sim.end
    console.stop(1)
    assert console.sim.now == console.sim.end
    assert "window is over" in console.status_text() or "All stopped" in console.status_text()


def test_plan_comparison_adds_and_clears_plans():
    plans = PlanComparison(SMALL)
    presets = len(plans.rows())
    assert presets == len(preset_plans(SMALL))
    plans.action.value = "halt"
    plans.at.value = "09:33"
    plans.add_button.click()
    rows = plans.rows()
    assert len(rows) == presets + 1 and rows[-1]["kind"] == "yours"
    halted = replay(SMALL.with_(rollback_at=None, stop_all_at=None, halt_at="09:33"))
    assert rows[-1]["loss_usd_m"] == pytest.approx(halted.summary.loss_usd / 1e6, abs=1e-3)
    assert len(plans.view.data) == presets + 1
    plans.add()  # the same plan again replaces it
    assert len(plans.rows()) == presets + 1
    plans.clear_button.click()
    assert len(plans.rows()) == presets


def test_views_for_static_charts(small):
    rollback = rollback_view(small)
    assert "after the rollback" in rollback.describe()
    loss = show(loss_and_alerts(small))
    assert "The loss locked in reaches" in loss.describe()
    share = server_share_view(tables.executions(small), n_servers=3)
    assert "Server 3 busy from" in share.describe()
