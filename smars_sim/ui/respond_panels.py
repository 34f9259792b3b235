"""Notebook 05's panels: the operator's console with no kill switch, and plans compared.

Each view draws a widget-free model of :mod:`smars_sim.ui.respond_model` and a chart
of :mod:`smars_sim.viz.response_charts`.
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import ipywidgets as W
import pandas as pd

from ..analysis.plans import Plan
from ..analysis.runs import day
from ..core.result import Result
from ..core.scenario import Scenario
from ..viz.response_charts import plan_comparison, responder_chart, rollback_chart
from .panel import ChartView, Panel, chart_widget, html_table, show, text_table
from .respond_model import ACTIONS, PlanComparisonModel, ResponderModel
from .text import esc

__all__ = ["PlanComparison", "Responder", "rollback_view"]


class Responder(Panel):
    """You are on the desk at 09:30, with no kill switch: advance the clock, stop servers.

    Stopping a server takes a person ``operator_step_s`` seconds (the replay moves on
    meanwhile). The rollback re-installs the old build on the updated servers, one by
    one, as the team did. The state is a :class:`~smars_sim.ui.respond_model.ResponderModel`.
    """

    name = "operator console"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.model = ResponderModel(scenario)
        self.scenario = self.model.scenario
        self.step_s = self.model.step_s
        self.clock_html = W.HTML()
        self.advance_buttons = [
            W.Button(description=f"+{m} min", icon="forward", layout=W.Layout(width="90px"))
            for m in (1, 5)
        ]
        self.stop_buttons = [
            W.Button(description=f"Stop {k}", layout=W.Layout(width="80px"))
            for k in range(1, self.scenario.servers + 1)
        ]
        self.rollback_button = W.Button(
            description="Roll back the updated servers",
            icon="history",
            button_style="danger",
            layout=W.Layout(width="260px"),
        )
        self.reset_button = W.Button(description="Start over", icon="undo")
        self.servers_html = W.HTML()
        self.log = W.HTML()
        self.chart = chart_widget(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        for minutes, button in zip((1, 5), self.advance_buttons, strict=True):
            button.on_click(lambda _, m=minutes: self.advance(m))
        for k, button in enumerate(self.stop_buttons, 1):
            button.on_click(lambda _, k=k: self.stop(k))
        self.rollback_button.on_click(lambda _: self.rollback())
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = W.VBox(
            [
                self.clock_html,
                W.HBox([*self.advance_buttons, self.reset_button]),
                W.HBox(self.stop_buttons),
                self.rollback_button,
                self.servers_html,
                self.chart,
                self.log,
            ]
        )
        self._refresh()

    @property
    def sim(self) -> Any:
        """The live simulation (the model's)."""
        return self.model.sim

    @property
    def actions(self) -> list[str]:
        """What you did, one line each."""
        return self.model.actions

    # actions: the model acts, the view redraws
    def reset(self) -> None:
        """Back to 09:30:00 with every server running."""
        self.model.reset()
        self._refresh()

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes."""
        self.model.advance(minutes)
        self._refresh()

    def stop(self, server: int) -> None:
        """Stop one server: it takes a person ``operator_step_s`` seconds."""
        self.model.stop(server)
        self._refresh()

    def rollback(self) -> None:
        """Re-install the old build on the updated servers, one every ``operator_step_s``."""
        self.model.rollback()
        self._refresh()

    # views
    def result(self) -> Result:
        """The replay so far."""
        return self.model.result()

    def server_rows(self, result: Result | None = None) -> list[dict[str, object]]:
        """Each server: running or stopped, its build, child orders in the last minute."""
        return self.model.server_rows(result)

    def status_text(self, result: Result | None = None) -> str:
        """The clock, the loss so far and what is still running."""
        return self.model.status_text(result)

    def _refresh(self) -> None:
        r = self.result()
        self.clock_html.value = f"<b>{esc(self.status_text(r))}</b>"
        self.servers_html.value = html_table(self.server_rows(r))
        for srv, button in zip(self.sim.fleet.servers, self.stop_buttons, strict=True):
            button.disabled = not srv.running
        self.rollback_button.disabled = self.model.rolled_back
        self.log.value = "<br>".join(esc(a) for a in self.actions)
        self.chart.chart = cast(Any, responder_chart(r, self.sim.now))

    def describe(self) -> str:
        return "\n".join([self.status_text(), text_table(self.server_rows()), *self.actions])


class PlanComparison(Panel):
    """Compare response plans side by side: the loss under each and minutes to stop.

    The plans and their replays are a
    :class:`~smars_sim.ui.respond_model.PlanComparisonModel`.
    """

    name = "plan comparison"

    ACTIONS = ACTIONS

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.model = PlanComparisonModel(scenario)
        self.base = self.model.base
        self.presets = self.model.presets
        self.rollback_time = self.model.rollback_time
        self.action = W.Dropdown(
            options=list(ACTIONS), description="Action:", layout=W.Layout(width="420px")
        )
        self.at = W.SelectionSlider(
            options=self.model.times(),
            value="09:40",
            description="At:",
            layout=W.Layout(width="520px"),
        )
        self.rollback = W.Checkbox(
            value=False, description=f"roll back first, at {self.rollback_time}", indent=False
        )
        self.add_button = W.Button(description="Add your plan", button_style="primary", icon="plus")
        self.clear_button = W.Button(description="Clear your plans", icon="trash")
        self.table = W.HTML()
        self.view = ChartView(plan_comparison(pd.DataFrame(self.rows())))
        self.add_button.on_click(lambda _: self.add())
        self.clear_button.on_click(lambda _: self.clear())
        self.widget = W.VBox(
            [
                W.HBox([self.action, self.rollback]),
                self.at,
                W.HBox([self.add_button, self.clear_button]),
                self.table,
                self.view.widget,
            ]
        )
        self._refresh()

    @property
    def yours(self) -> list[Plan]:
        """Your plans, oldest first."""
        return self.model.yours

    def plan_from_controls(self) -> Plan:
        """The plan the controls describe."""
        return self.model.plan(self.action.value, self.at.value, self.rollback.value)

    def add(self, plan: Plan | None = None) -> Result:
        """Replay a plan (default: the controls') and add it to the comparison."""
        result = self.model.add(plan or self.plan_from_controls())
        self._refresh()
        return result

    def clear(self) -> None:
        """Remove your plans."""
        self.model.clear()
        self._refresh()

    def rows(self) -> list[dict[str, object]]:
        """Every plan with its loss, minutes to stop and child orders."""
        return self.model.rows()

    def _refresh(self) -> None:
        rows = self.rows()
        self.table.value = html_table(rows, ["plan", "loss", "minutes_to_stop", "child_orders"])
        self.view.update(plan_comparison(pd.DataFrame(rows)))

    def describe(self) -> str:
        return text_table(self.rows(), ["plan", "loss", "minutes_to_stop"])


def rollback_view(result: Result | None = None) -> ChartView:
    """Child orders per second by server over the window, with what the rollback changed."""
    return show(rollback_chart(result or day()))
