"""Panels of course part 2: replay the day with a fix, the dead-code clean-up, the swiss cheese.

Each panel follows :class:`~smars_sim.ui.panel.Panel`: it builds its controls and
charts, wires the callbacks, and :meth:`describe` gives its state as plain text, so a
notebook cell (and the tests) can click and print without a browser. The figures come
from :mod:`smars_sim.analysis`, the charts from :mod:`smars_sim.viz`. These panels keep
no state beyond their controls' values, so they have no separate model: their logic
is the analysis functions they call.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence

import altair as alt
import ipywidgets as W
import pandas as pd

from ..analysis.fix_outcomes import (
    AS_IT_HAPPENED,
    base_scenario,
    comparison_rows,
    outcome,
    reconciliation_data,
    servers_sending,
    timeline_rows,
    timeline_text,
)
from ..analysis.fix_tables import (
    LAYER_LABELS,
    coverage_data,
    flags_read,
    server_paths,
    swiss_cheese_text,
    what_if_row,
    what_if_table,
)
from ..analysis.runs import run
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes import AVAILABLE
from ..fixes import dead_code as dead
from ..fixes.contrasts import servers_named
from ..fixes.dead_code_steps import DeletionStep, deletion_steps
from ..viz.fix_charts import (
    coverage_chart,
    loss_curves,
    loss_curves_data,
    order_rate_chart,
    reconciliation_chart,
    swiss_cheese_chart,
)
from .panel import ChartView, Panel, html_table, text_table

__all__ = [
    "DeadCodeReplay",
    "FixReplay",
    "FlagReplay",
    "SwissCheese",
    "VultureSteps",
    "coverage_view",
    "reconciliation_view",
    "timeline_html",
]


def _esc(value: object) -> str:
    return html.escape(str(value))


def timeline_html(result: Result, limit: int = 10) -> str:
    """The first timeline rows as an HTML table, every detail whole (the cell wraps)."""
    return html_table(timeline_rows(result, limit=limit), ["time", "who", "what", "detail"])


def _empty_chart() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": []})).mark_point()


# --------------------------------------------------------------------------
# The replay comparison every notebook of part 2 ends with
# --------------------------------------------------------------------------
class FixReplay(Panel):
    """Replay the day with a fix on or off, and with any server missed by the deploy.

    The reference is the day as it happened in the kit (server 8 missed, no fix, the
    operators' rollback and stops of the day). Your replay uses the controls. Both keep
    the operators' actions of the day, so only the fix and the missed server differ.
    The panel shows the headline figures side by side, the loss over the morning, the
    child orders per second by server, and the timeline: which control acted and when.

    Args:
        fix: The fix this panel switches (a name of :data:`smars_sim.fixes.AVAILABLE`).
        labels: Text of the toggle for (off, on).
        scenario: The base scenario (default: the notebooks' 1 August 2012).
    """

    name = "replay with the fix"

    def __init__(self, fix: str, labels: tuple[str, str], scenario: Scenario | None = None) -> None:
        if fix not in AVAILABLE:
            raise ValueError(f"unknown fix {fix!r}; available: {', '.join(AVAILABLE)}")
        self.fix = fix
        self.base = scenario or base_scenario()
        self.toggle = W.ToggleButtons(
            options=[(labels[0], False), (labels[1], True)],
            value=True,
            description="Fix:",
            style={"button_width": "auto"},
        )
        self.missed = W.Dropdown(
            options=[(f"server {k}", k) for k in range(1, self.base.servers + 1)],
            value=self.base.stale_servers[0] if self.base.stale_servers else self.base.servers,
            description="Missed:",
            layout=W.Layout(width="220px"),
        )
        self.table = W.HTML()
        self.view = ChartView(_empty_chart())
        self.timeline = W.HTML()
        self.toggle.observe(lambda _: self._refresh(), "value")
        self.missed.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox(
            [
                W.HBox([self.toggle, self.missed]),
                W.HTML("<i>Missed: the server the technician did not copy the release to.</i>"),
                self.table,
                self.view.widget,
                W.HTML("<b>Timeline of your replay</b> (which control acted, and when)"),
                self.timeline,
            ]
        )
        self._refresh()

    # state
    def set(self, fixed: bool | None = None, missed: int | None = None) -> None:
        """Set the controls (as clicking them does)."""
        if missed is not None:
            self.missed.value = missed
        if fixed is not None:
            self.toggle.value = bool(fixed)

    def scenario(self) -> Scenario:
        """The scenario the controls describe."""
        return self.base.with_(
            stale_servers=(self.missed.value,), fixes=(self.fix,) if self.toggle.value else ()
        )

    def reference(self) -> Result:
        """The day as it happened in the kit."""
        return run(self.base)

    def result(self) -> Result:
        """Your replay."""
        return run(self.scenario())

    def label(self) -> str:
        """Your replay's name in the table and the charts."""
        fix = f"with {self.fix}" if self.toggle.value else "no fix"
        return f"yours: {fix}, server {self.missed.value} missed"

    def takeaway(self) -> str:
        """One line: what changed, computed from the two replays."""
        ref, mine = outcome(self.reference()), outcome(self.result())
        sending = servers_sending(self.result())
        return (
            f"Loss {ref['loss']} as it happened, {mine['loss']} in yours; Power Peg ran on "
            f"{servers_named(sending)}."
        )

    def _refresh(self) -> None:
        ref, mine = self.reference(), self.result()
        self.table.value = html_table(comparison_rows({AS_IT_HAPPENED: ref, self.label(): mine}))
        curves = loss_curves(
            loss_curves_data({AS_IT_HAPPENED: ref, "yours": mine}), takeaway=self.takeaway()
        )
        rate = order_rate_chart(
            mine, f"Yours: Power Peg ran on {servers_named(servers_sending(mine))}."
        )
        self.view.update(alt.vconcat(curves, rate).resolve_scale(color="independent"))
        self.timeline.value = timeline_html(mine, limit=12)

    def describe(self) -> str:
        ref, mine = self.reference(), self.result()
        return "\n".join(
            [
                text_table(comparison_rows({AS_IT_HAPPENED: ref, "yours": mine})),
                self.takeaway(),
                "Timeline of yours:",
                timeline_text(mine),
            ]
        )


class DeadCodeReplay(FixReplay):
    """Replay the day with Power Peg deleted when it was retired (the ``dead-code`` fix)."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        super().__init__("dead-code", ("Power Peg kept (2012)", "Power Peg deleted"), scenario)

    def server_paths(self, at: str = "09:40") -> list[dict[str, object]]:
        """Code paths each server ran in your replay up to ``at`` (its coverage report).

        The default, 09:40, is before the operators' rollback of the day re-installs
        the old build on the updated servers.
        """
        return server_paths(self.scenario(), at)


class FlagReplay(FixReplay):
    """Replay the day with a fresh key for RLP and the old key tombstoned (``flag-registry``)."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        super().__init__(
            "flag-registry", ("Old key reused (2012)", "Fresh key, old one tombstoned"), scenario
        )

    def flags_read(self) -> list[dict[str, object]]:
        """What each build in your replay reads, and what OpenFeature served it."""
        return flags_read(self.scenario())


# --------------------------------------------------------------------------
# 06: dead code
# --------------------------------------------------------------------------
def coverage_view(report: dead.CoverageReport, *, what: str = "an ordinary day") -> ChartView:
    """Code-path hits per server as a grid: a compiled path with zero hits is dead code."""
    return ChartView(coverage_chart(coverage_data(report), report.candidates(), what=what))


class VultureSteps(Panel):
    """Step through the clean-up: the diff of each step and what vulture reports after it."""

    name = "vulture, step by step"

    def __init__(self, steps: Sequence[DeletionStep] | None = None) -> None:
        self.steps = list(steps) if steps is not None else deletion_steps()
        self.picker = W.ToggleButtons(
            options=[(f"{i}. {s.name}", i) for i, s in enumerate(self.steps, 1)],
            value=1,
            description="Step:",
            style={"button_width": "auto"},
        )
        self.report = W.HTML()
        self.diff = W.HTML()
        self.picker.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox([self.picker, self.report, self.diff])
        self._refresh()

    def show_step(self, number: int) -> None:
        """Show step ``number`` (1-based), as clicking it does."""
        self.picker.value = number

    @property
    def step(self) -> DeletionStep:
        """The step shown."""
        return self.steps[self.picker.value - 1]

    def diff_text(self) -> str:
        """The unified diff of the step shown against the step before it."""
        i = self.picker.value - 1
        before = self.steps[i - 1].source if i else self.step.source
        return "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                self.step.source.splitlines(keepends=True),
                fromfile="router.py (before)",
                tofile="router.py (after)",
                n=2,
            )
        )

    def report_text(self) -> str:
        """What vulture says after the step shown, and its exit code."""
        s = self.step
        findings = "\n".join(f"  {f}" for f in s.findings) or "  (nothing)"
        return (
            f"Step {self.picker.value}, {s.name}: change: {s.change}\n"
            f"vulture router.py ->\n{findings}\nexit code {s.exit_code}"
            + (" (a CI gate fails the build)" if s.exit_code else " (the gate passes)")
        )

    def _refresh(self) -> None:
        self.report.value = f"<pre>{_esc(self.report_text())}</pre>"
        diff = self.diff_text() or "(no change: this is the module as it is)"
        self.diff.value = (
            "<details open><summary>diff</summary>"
            f"<pre style='font-size:12px'>{_esc(diff)}</pre></details>"
        )

    def describe(self) -> str:
        return self.report_text()


# --------------------------------------------------------------------------
# 09: orders out against orders in
# --------------------------------------------------------------------------
def reconciliation_view(result: Result) -> ChartView:
    """Orders out against orders in, over the morning (log scale)."""
    return ChartView(reconciliation_chart(reconciliation_data(result)))


# --------------------------------------------------------------------------
# 10: the swiss cheese
# --------------------------------------------------------------------------
class SwissCheese(Panel):
    """The swiss-cheese view: close a layer's hole and see where the incident stops.

    Each fix is a layer. In 2012 every layer had a hole, and the trajectory passed
    through all four. Toggle the layers in place: the chart shows the first closed
    layer stopping the trajectory, and the loss and first control come from the
    what-if table (16 full replays).
    """

    name = "swiss cheese"

    def __init__(self, table: pd.DataFrame | None = None) -> None:
        self.table_data = table if table is not None else what_if_table()
        self.toggles = {
            fix: W.ToggleButton(
                value=False, description=LAYER_LABELS[fix], layout=W.Layout(width="auto")
            )
            for fix in AVAILABLE
        }
        self.text = W.HTML()
        self.view = ChartView(self._chart())
        for t in self.toggles.values():
            t.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox([W.HBox(list(self.toggles.values())), self.text, self.view.widget])
        self._refresh()

    def set(self, *fixes: str) -> None:
        """Put exactly these fixes in place."""
        for name, t in self.toggles.items():
            t.value = name in fixes

    @property
    def fixes(self) -> tuple[str, ...]:
        """The fixes in place, in installation order."""
        return tuple(f for f in AVAILABLE if self.toggles[f].value)

    def row(self) -> pd.Series:
        """The what-if row of the fixes in place."""
        return what_if_row(self.table_data, self.fixes)

    def summary_text(self) -> str:
        """Where the trajectory stops, and what it cost."""
        return swiss_cheese_text(self.table_data, self.fixes)

    def _chart(self) -> alt.TopLevelMixin:
        return swiss_cheese_chart(self.fixes, LAYER_LABELS, self.summary_text())

    def _refresh(self) -> None:
        self.text.value = f"<p>{_esc(self.summary_text())}</p>"
        self.view.update(self._chart())

    def describe(self) -> str:
        layers = ", ".join(self.fixes) or "none"
        return f"layers closed: {layers}\n{self.summary_text()}"
