"""Notebook 02's panel: deploy the RLP build by hand, then see what would have caught a miss.

The view of :class:`~smars_sim.ui.deploy_model.DeployDayModel`: one checkbox per
server, the fleet and checks tables, and the runs chart of
:func:`smars_sim.viz.response_charts.deploy_outcomes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as W

from ..core.builds import Build
from ..core.result import Result
from ..core.scenario import Scenario
from ..viz.response_charts import deploy_outcomes
from .deploy_model import CHECKS, Check, DeployDayModel
from .panel import ChartView, Panel, html_table
from .text import esc

if TYPE_CHECKING:
    import altair as alt

__all__ = ["CHECKS", "Check", "DeployDay"]


class DeployDay(Panel):
    """Deploy the RLP build by hand, server by server, then see what would have caught a miss.

    The checklist has one box per server: ticking it copies the release to that
    server. "The technician's way" ticks all but the eighth. The fleet table shows
    every server's build, hash and what the shared flag means there; the checks
    table says which checks would reveal a missed server; "Run the morning" replays
    1 August with the fleet as deployed.
    """

    name = "deploy day"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.model = m = DeployDayModel(scenario)
        self.scenario, self.flag, self.servers = m.scenario, m.flag, m.servers
        self.old, self.release = m.old, m.release
        self.boxes = [
            W.Checkbox(
                value=False,
                description=f"server {k}: copy {self.release.version}",
                indent=False,
                layout=W.Layout(width="260px"),
            )
            for k in self.servers
        ]
        self.technician_button = W.Button(
            description="The technician's way",
            icon="user",
            tooltip="copies to all but one",
            layout=W.Layout(width="210px"),
        )
        self.all_button = W.Button(
            description="Copy to every server", icon="check-square", layout=W.Layout(width="210px")
        )
        self.reset_button = W.Button(description="Start over", icon="undo")
        self.run_button = W.Button(
            description="Run the morning", button_style="warning", icon="play"
        )
        self.fleet_html = W.HTML()
        self.checks_html = W.HTML()
        self.outcome = W.HTML()
        self._quiet = False
        self.view = ChartView(self._runs_chart())
        for k, box in zip(self.servers, self.boxes, strict=True):
            box.observe(lambda change, k=k: self._on_box(k, change["new"]), names="value")
        self.technician_button.on_click(lambda _: self.technician())
        self.all_button.on_click(lambda _: self.copy_all())
        self.reset_button.on_click(lambda _: self.reset())
        self.run_button.on_click(lambda _: self.run_morning())
        checklist = W.GridBox(self.boxes, layout=W.Layout(grid_template_columns="repeat(2, 270px)"))
        self.widget = W.VBox(
            [
                W.HTML("<b>Checklist: copy the release to each server</b>"),
                checklist,
                W.HBox([self.technician_button, self.all_button, self.reset_button]),
                W.HTML("<b>The fleet</b>"),
                self.fleet_html,
                W.HTML("<b>Would these checks reveal a missed server?</b>"),
                self.checks_html,
                self.run_button,
                self.outcome,
                self.view.widget,
            ]
        )
        self._refresh()

    # the model's state, read through the view
    @property
    def runs(self) -> list[dict[str, object]]:
        """The mornings replayed so far, one row per fleet."""
        return self.model.runs

    def missed(self) -> list[int]:
        """Servers still on the old build."""
        return self.model.missed()

    def builds(self) -> list[Build]:
        """The build on each server."""
        return self.model.builds()

    def fleet_rows(self) -> list[dict[str, object]]:
        """Each server's build, hash and what the flag makes a retail order do there."""
        return self.model.fleet_rows()

    def check_rows(self) -> list[dict[str, object]]:
        """Each check, what it shows for the fleet as it is, and whether it reveals a miss."""
        return self.model.check_rows()

    def scenario_for_fleet(self) -> Scenario:
        """The morning with this fleet (the kit's operator actions only if something is wrong)."""
        return self.model.scenario_for_fleet()

    def outcome_text(self, result: Result) -> str:
        """One line on how the morning went with this fleet."""
        return self.model.outcome_text(result)

    # actions
    def _on_box(self, server: int, copied: bool) -> None:
        if self._quiet:
            return
        self.model.copy(server, copied)
        self._refresh()

    def _sync(self) -> None:
        """Tick the boxes as the model says, without each tick redrawing."""
        self._quiet = True
        try:
            for k, box in zip(self.servers, self.boxes, strict=True):
                box.value = k in self.model.copied
        finally:
            self._quiet = False
        self._refresh()

    def copy(self, server: int) -> None:
        """Tick one server's box (copy the release to it)."""
        self.boxes[server - 1].value = True

    def technician(self) -> None:
        """What happened: the release copied to every server but the ones the record says."""
        self.model.technician()
        self._sync()

    def copy_all(self) -> None:
        """The release on every server."""
        self.model.copy_all()
        self._sync()

    def reset(self) -> None:
        """Every server back on the old build; forget the runs."""
        self.model.reset()
        self.outcome.value = ""
        self._sync()
        self.view.update(self._runs_chart())

    def run_morning(self) -> Result:
        """Replay 1 August with the fleet as deployed; add it to the runs chart."""
        result = self.model.run_morning()
        self.outcome.value = esc(self.outcome_text(result))
        self.view.update(self._runs_chart())
        return result

    # drawing
    def _refresh(self) -> None:
        if self._quiet:
            return
        self.fleet_html.value = html_table(self.fleet_rows())
        self.checks_html.value = html_table(self.check_rows())

    def _runs_chart(self) -> alt.Chart:
        return deploy_outcomes(self.model.runs_data(), takeaway=self.model.runs_takeaway())

    def describe(self) -> str:
        return self.model.describe()
