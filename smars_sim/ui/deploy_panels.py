"""Panels of notebook 08: the deploy lab and the canary judge.

Each is a view on a widget-free model of :mod:`.fix_models`:
:class:`~smars_sim.ui.fix_models.DeployLabModel` (the deploy case and its checked
outcome) and :class:`~smars_sim.ui.fix_models.CanaryJudgeModel` (the candidate, the
judge's configuration and its verdict).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import altair as alt
import ipywidgets as W
import pandas as pd

from ..analysis.fix_outcomes import AS_IT_HAPPENED, outcome
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes import verified_deploy as deploy
from ..fixes.contrasts import RELEASES, DeployCheck
from ..viz.control_charts import canary_chart
from ..viz.fix_charts import loss_curves, loss_curves_data
from ..viz.theme import OKABE_ITO
from .fix_models import CANARY_CANDIDATES, VERDICT_ACTIONS, CanaryJudgeModel, DeployLabModel
from .panel import ChartView, Panel, html_table

__all__ = ["CanaryJudge", "DeployLab"]


def _esc(value: object) -> str:
    return html.escape(str(value))


class DeployLab(Panel):
    """Play the careless technician against the automated deploy, and watch the check.

    Toggle the servers on which the copy fails, pick one that sends no hash report, or
    ship a (made-up) bad release. The panel shows each server's reported hash, the
    rollout's log and the flag gate's answer. When the release is the real one and some
    server is missed, it also replays the day with the ``verified-deploy`` fix.
    """

    name = "deploy lab"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.model = DeployLabModel(scenario)
        self.base = self.model.base
        n = self.base.servers
        self.missed_buttons = [
            W.ToggleButton(value=False, description=f"miss {k}", layout=W.Layout(width="72px"))
            for k in range(1, n + 1)
        ]
        for k in self.model.missed:
            self.missed_buttons[k - 1].value = True
        self.unreachable = W.Dropdown(
            options=[("none", 0)] + [(f"server {k}", k) for k in range(1, n + 1)],
            value=self.model.unreachable,
            description="No report:",
            layout=W.Layout(width="220px"),
        )
        self.release = W.Dropdown(
            options=list(RELEASES),
            value=self.model.release,
            description="Release:",
            layout=W.Layout(width="460px"),
        )
        self.summary_html = W.HTML()
        self.table = W.HTML()
        self.log_html = W.HTML()
        self.outcome_html = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        for b in self.missed_buttons:
            b.observe(lambda _: self._changed(), "value")
        self.unreachable.observe(lambda _: self._changed(), "value")
        self.release.observe(lambda _: self._changed(), "value")
        self.widget = W.VBox(
            [
                W.HTML("<b>Copy fails on</b> (toggle servers):"),
                W.HBox(self.missed_buttons),
                W.HBox([self.unreachable, self.release]),
                self.summary_html,
                self.table,
                self.log_html,
                self.outcome_html,
                self.view.widget,
            ]
        )
        self._refresh()

    # controls
    @property
    def missed(self) -> list[int]:
        """Servers on which the copy fails."""
        return self.model.missed

    def set(
        self,
        missed: Sequence[int] | None = None,
        unreachable: int | None = None,
        release: str | None = None,
    ) -> None:
        """Set the controls (as clicking them does)."""
        if missed is not None:
            for k, b in enumerate(self.missed_buttons, 1):
                b.value = k in missed
        if unreachable is not None:
            self.unreachable.value = unreachable
        if release is not None:
            self.release.value = release

    def _changed(self) -> None:
        self.model.set(
            missed=[k for k, b in enumerate(self.missed_buttons, 1) if b.value],
            unreachable=self.unreachable.value,
            release=self.release.value,
        )
        self._refresh()

    # the model
    def check(self) -> DeployCheck:
        """The automated deploy for the controls' case."""
        return self.model.check()

    def replayable(self) -> bool:
        """Whether the day can be replayed with the fix for this case (see the class)."""
        return self.model.replayable()

    def result(self) -> Result | None:
        """The day replayed with ``verified-deploy`` and these missed servers, if replayable."""
        return self.model.result()

    def outcome_text(self) -> str:
        """What the replay says, or why there is none."""
        return self.model.outcome_text()

    def _refresh(self) -> None:
        check = self.check()
        colour = OKABE_ITO["green"] if check.status == "succeeded" else OKABE_ITO["vermillion"]
        self.summary_html.value = f"<b style='color:{colour}'>{_esc(self.model.headline())}</b>"
        self.table.value = html_table(check.fleet_rows())
        self.log_html.value = (
            "<b>Deploy log</b><pre style='font-size:12px;white-space:pre-wrap'>"
            + _esc("\n".join(check.log()))
            + "</pre>"
        )
        self.outcome_html.value = f"<p>{_esc(self.outcome_text())}</p>"
        result = self.result()
        if result is not None:
            self.view.update(
                loss_curves(
                    loss_curves_data(
                        {AS_IT_HAPPENED: self.model.reference(), "with verified-deploy": result}
                    ),
                    takeaway=f"With the check: {outcome(result)['loss']} lost.",
                )
            )
        self.view.widget.layout.display = None if result is not None else "none"

    def describe(self) -> str:
        return self.model.describe()


class CanaryJudge(Panel):
    """A Kayenta-style canary judge on trading metrics: choose the candidate and the config.

    The baseline is the stable build with the flag off; the candidate runs the first
    minutes after the open with the flag on (see
    :func:`smars_sim.fixes.verified_deploy.canary_samples`). Sliders set each metric's
    allowed increase, a checkbox whether the first metric is critical.
    """

    name = "canary judge"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.model = CanaryJudgeModel(scenario)
        self.base = self.model.base
        self.candidate = W.Dropdown(
            options=list(CANARY_CANDIDATES),
            value=self.model.candidate,
            description="Candidate:",
            layout=W.Layout(width="560px"),
        )
        self.allowed = {
            m.name: W.SelectionSlider(
                options=[
                    ("+10%", 0.1),
                    ("+50%", 0.5),
                    ("x2", 1.0),
                    ("x10", 9.0),
                    ("x100", 99.0),
                    ("x10,000", 9999.0),
                ],
                value=self.model.allowed[m.name],
                description=m.name.replace("_", " "),
                style={"description_width": "220px"},
                continuous_update=False,
                layout=W.Layout(width="520px"),
            )
            for m in deploy.METRICS
        }
        self.critical = W.Checkbox(
            value=self.model.critical,
            description=f"{deploy.METRICS[0].name.replace('_', ' ')} is critical",
            indent=False,
        )
        self.verdict_html = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        self.candidate.observe(lambda _: self._changed(), "value")
        self.critical.observe(lambda _: self._changed(), "value")
        for slider in self.allowed.values():
            slider.observe(lambda _: self._changed(), "value")
        self.widget = W.VBox(
            [
                self.candidate,
                *self.allowed.values(),
                self.critical,
                self.verdict_html,
                self.view.widget,
            ]
        )
        self._refresh()

    def set(
        self, candidate: str | None = None, critical: bool | None = None, **allowed: float
    ) -> None:
        """Set the candidate, whether the first metric is critical, and allowed increases
        by metric name; everything not given goes back to the judge's defaults."""
        self.model.check_metrics(allowed)
        if candidate is not None:
            self.candidate.value = candidate
        self.critical.value = deploy.METRICS[0].critical if critical is None else critical
        for m in deploy.METRICS:
            self.allowed[m.name].value = allowed.get(m.name, m.allowed_increase)

    def _changed(self) -> None:
        m = self.model
        m.candidate, m.critical = self.candidate.value, self.critical.value
        m.allowed = {name: slider.value for name, slider in self.allowed.items()}
        self._refresh()

    # the model
    def metrics(self) -> list[deploy.MetricSpec]:
        """The judge's configuration from the controls."""
        return self.model.metrics()

    def samples(self) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """Baseline and candidate samples (cached by the fix module)."""
        return self.model.samples()

    def analysis(self) -> deploy.CanaryAnalysis:
        """The verdict for the controls."""
        return self.model.analysis()

    def rows(self) -> list[dict[str, object]]:
        """One row per metric: baseline and canary means, the test, the classification."""
        return self.model.rows()

    def _refresh(self) -> None:
        a = self.analysis()
        colour = {
            "PASS": OKABE_ITO["green"],
            "MARGINAL": OKABE_ITO["orange"],
            "FAIL": OKABE_ITO["vermillion"],
        }[a.verdict]
        self.verdict_html.value = (
            f"<b style='color:{colour}'>Verdict {a.verdict}, score {a.score:.0f}: "
            f"{_esc(a.reason)}</b> — {VERDICT_ACTIONS[a.verdict]}." + html_table(self.rows())
        )
        self.view.update(canary_chart(a))

    def describe(self) -> str:
        return self.model.describe()
