"""Every panel action of notebooks 03-05 answers within a second at the notebooks' scale."""

from __future__ import annotations

import time

import pytest

from smars_sim.analysis.plans import Plan
from smars_sim.analysis.runs import day, normal_morning, run
from smars_sim.ui.deploy_day import DeployDay
from smars_sim.ui.detect_panels import AlertDesigner, Playback
from smars_sim.ui.respond_panels import PlanComparison, Responder

pytestmark = pytest.mark.usefixtures("offline_renderer")


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def test_every_action_answers_within_a_second_at_notebook_scale():
    """Each widget action, at the default scale, with its replay already cached."""
    result = day()
    run(normal_morning(result.scenario))
    playback = Playback(result)
    designer = AlertDesigner(result)
    deploy = DeployDay()
    console = Responder()
    plans = PlanComparison()
    deploy.technician()
    run(deploy.scenario_for_fleet())
    Plan("x", "halt", "09:40").run(plans.base)
    actions = {
        "playback slider": lambda: setattr(playback.slider, "value", 900),
        "alert metric": lambda: setattr(designer.metric, "value", "gross_position_usd"),
        "alert threshold": lambda: setattr(designer.threshold, "value", 1e7),
        "deploy checkbox": lambda: setattr(deploy.boxes[2], "value", False),
        "deploy technician": deploy.technician_button.click,
        "deploy run": deploy.run_button.click,
        "console advance": console.advance_buttons[1].click,
        "console stop": console.stop_buttons[7].click,
        "plan add": lambda: plans.add(Plan("x", "halt", "09:40")),
    }
    slow = {name: t for name, t in ((n, _timed(a)) for n, a in actions.items()) if t >= 1.0}
    assert not slow, slow
