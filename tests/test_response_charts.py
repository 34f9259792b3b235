"""The charts of the morning and of the response (smars_sim.viz.day_charts, response_charts).

Each chart validates as Vega-Lite, uses the theme's time axis and title helper, and
says its takeaway in the subtitle.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from smars_sim import Scenario
from smars_sim.analysis.runs import run
from smars_sim.analysis.series import live_loss_data, live_order_rate_data
from smars_sim.core.clock import OPEN_NS, parse_time
from smars_sim.ui.gameday_model import GameDayModel
from smars_sim.viz import day_charts as D
from smars_sim.viz import response_charts as R

TIME_AXIS = "Time (ET, 1 Aug 2012)"


@pytest.fixture(scope="module")
def small():
    return run(Scenario.small())


def _spec(chart) -> str:
    return json.dumps(chart.to_dict())


def test_loss_and_alerts_counts_the_emails_and_names_the_loss(small):
    spec = _spec(D.loss_and_alerts(small))
    assert TIME_AXIS in spec and "What warned Knight" in spec
    before = sum(1 for e in small.emails if e[0] < OPEN_NS)
    assert f"{before} e-mails before the open" in spec


def test_rollback_and_responder_charts(small):
    assert "after the rollback" in _spec(R.rollback_chart(small))
    spec = _spec(R.responder_chart(small, parse_time("10:00")))
    assert "Up to 10:00:00." in spec and "Loss locked in" in spec


def test_deploy_outcomes_and_plan_comparison():
    runs = pd.DataFrame(
        {"fleet": ["missed: 8", "missed: none"], "loss_usd_m": [400.0, 0.1], "bnet_emails": [97, 0]}
    )
    spec = _spec(R.deploy_outcomes(runs, takeaway="Worst so far: missed: 8, $400.0M."))
    assert "Loss by deploy outcome (replay)" in spec and "Worst so far" in spec
    plans = pd.DataFrame(
        {
            "plan": ["a", "b"],
            "kind": ["preset", "yours"],
            "loss_usd_m": [1.0, 2.0],
            "loss": ["$1.0M", "$2.0M"],
            "minutes_to_stop": [1.0, 2.0],
        }
    )
    assert "From $1.0M (a) to $2.0M (b)." in _spec(R.plan_comparison(plans))


def test_game_dashboard_uses_the_theme_axis():
    model = GameDayModel(Scenario.small(rollback_at=None, stop_all_at=None))
    model.advance(2)
    chart = R.game_dashboard(
        live_loss_data(model.pnl_history()),
        live_order_rate_data(model.sim),
        clock=model.clock,
        loss_now_usd=-model.closeout_pnl_usd(),
    )
    spec = _spec(chart)
    assert spec.count(TIME_AXIS) == 2
    assert f"{model.clock}:" in spec and "if stopped now." in spec
