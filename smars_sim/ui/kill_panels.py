"""Panels of notebook 09: the kill-switch drill, the kill-switch lab, the exchange's view.

The drill and the lab are views on :class:`~smars_sim.ui.kill_models.KillDrillModel`
and :class:`~smars_sim.ui.kill_models.KillLabModel` (their state and logic, without
widgets). The exchange view's state is its two controls' values, and its replays are
:func:`smars_sim.fixes.contrasts.contrast_replay`, so it has no separate model.
"""

from __future__ import annotations

import html
from typing import Any

import altair as alt
import ipywidgets as W
import pandas as pd

from ..analysis.fix_outcomes import SWEEP_MINUTES, base_scenario, kill_switch_rows
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes.contrasts import contrast_replay
from ..fixes.kill_switch import RiskLimits
from ..viz import charts as C
from ..viz.control_charts import kill_lab_chart, kill_switch_bars
from ..viz.theme import day_domain
from .kill_models import KillDrillModel, KillLabModel
from .panel import ChartView, Panel, html_table, text_table

__all__ = ["ExchangeView", "KillDrill", "KillSwitchLab"]


def _esc(value: object) -> str:
    return html.escape(str(value))


def _empty_chart() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": []})).mark_point()


class KillDrill(Panel):
    """The fleet-wide kill switch on a live replay: advance the clock, then press it.

    It is the kill switch of ``smars_sim.fixes.kill_switch`` (a ``RiskGate`` with
    no automated limit), driven by the incident console's model.
    """

    name = "kill-switch drill"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.model = KillDrillModel(scenario)
        self.scenario = self.model.scenario
        self.clock = W.HTML()
        self.advance_buttons = [
            W.Button(description=f"+{m} min", icon="forward", layout=W.Layout(width="90px"))
            for m in (1, 5)
        ]
        self.kill_button = W.Button(
            description="KILL SWITCH",
            button_style="danger",
            tooltip="Block new child orders on every server at once and cancel working ones",
            layout=W.Layout(width="160px", height="40px"),
        ).add_class("smars-kill-switch")
        self.reset_button = W.Button(description="Start over", icon="undo")
        self.log = W.HTML()
        self.view = ChartView(_empty_chart())
        for minutes, button in zip((1, 5), self.advance_buttons, strict=True):
            button.on_click(lambda _, m=minutes: self.advance(m))
        self.kill_button.on_click(lambda _: self.kill())
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = W.VBox(
            [
                self.clock,
                W.HBox([*self.advance_buttons, self.kill_button, self.reset_button]),
                self.log,
                self.view.widget,
            ]
        )
        self._refresh()

    def reset(self) -> None:
        """Back to 09:30 with nothing pressed."""
        self.model.reset()
        self._refresh()

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes."""
        self.model.advance(minutes)
        self._refresh()

    def kill(self) -> None:
        """Press the kill switch now."""
        self.model.kill()
        self._refresh()

    def killed_at(self) -> int | None:
        """When the kill switch was engaged (``None``: not yet)."""
        return self.model.killed_at()

    def status_text(self) -> str:
        """The clock, the loss so far, and the kill switch's state."""
        return self.model.status_text()

    def log_lines(self) -> list[str]:
        """What the kill switch did, from the timeline."""
        return self.model.log_lines()

    def _refresh(self) -> None:
        m = self.model
        self.clock.value = f"<b>{_esc(m.status_text())}</b>"
        self.log.value = "<br>".join(_esc(x) for x in m.log_lines())
        self.kill_button.disabled = m.killed_at() is not None or m.done
        rates = C.order_rate_data(m.result(), bin_s=30, end=m.rate_end())
        self.view.update(
            C.order_rate(
                rates,
                takeaway=m.takeaway(),
                width=460,
                height=150,
                scale=day_domain("09:30", "10:16"),
            )
        )

    def describe(self) -> str:
        return self.model.describe()


_CAPITAL_M = (
    ("off", 0.0),
    ("$5M", 5e6),
    ("$25M", 25e6),
    ("$100M", 100e6),
    ("$500M", 500e6),
    ("$2B", 2e9),
)
_EXECUTIONS = (("off", 0), ("5", 5), ("100", 100), ("1,000", 1000), ("10,000", 10000))
_MESSAGES = (("off", 0.0), ("10/s", 10.0), ("50/s", 50.0), ("500/s", 500.0))


def _limit_slider(options: list[Any], value: Any, description: str) -> W.SelectionSlider:
    """One of the kill lab's sliders: all share a width and a label column."""
    return W.SelectionSlider(
        options=options,
        value=value,
        description=description,
        continuous_update=False,
        style={"description_width": "150px"},
        layout=W.Layout(width="520px"),
    )


class KillSwitchLab(Panel):
    """Limits and detection delay against the loss: a chart of loss against time-to-kill.

    The curve: the day replayed with only a kill switch, pressed a number of minutes
    after the open (one replay per point). The sliders: (1) when a person presses it
    (the detection delay), (2) the risk gate's automated limits, replayed with the
    ``kill-switch`` fix and only the limits you switch on.
    """

    name = "kill-switch lab"
    #: The controls and their defaults (the model's settings).
    DEFAULTS = KillLabModel.DEFAULTS

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.model = KillLabModel(scenario or base_scenario())
        self.base = self.model.base
        self.delay = _limit_slider(
            [(f"{m} min", m) for m in SWEEP_MINUTES], self.model.delay, "Detected after:"
        )
        self.capital = _limit_slider(list(_CAPITAL_M), self.model.capital, "Capital threshold:")
        self.executions = _limit_slider(
            list(_EXECUTIONS), self.model.executions, "Executions/parent:"
        )
        self.messages = _limit_slider(list(_MESSAGES), self.model.messages, "Messages/server:")
        self.reconcile = W.Checkbox(
            value=self.model.reconcile, description="orders out vs orders in", indent=False
        )
        self.text = W.HTML()
        self.view = ChartView(_empty_chart())
        self.timeline = W.HTML()
        for w in self._controls().values():
            w.observe(lambda _: self._changed(), "value")
        self.widget = W.VBox(
            [
                W.HTML("<b>A person presses the kill switch</b>"),
                self.delay,
                W.HTML("<b>Automated pre-trade limits</b> (replayed with the risk gate)"),
                self.capital,
                self.executions,
                self.messages,
                self.reconcile,
                self.text,
                self.view.widget,
                self.timeline,
            ]
        )
        self._refresh()

    def _controls(self) -> dict[str, W.ValueWidget]:
        return {name: getattr(self, name) for name in self.DEFAULTS}

    def set(self, **values: Any) -> None:
        """Set controls by name (delay, capital, executions, messages, reconcile); the
        others go back to their defaults (no automated limit, detected after 10 min)."""
        unknown = set(values) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; use {list(self.DEFAULTS)}")
        for name, default in self.DEFAULTS.items():
            getattr(self, name).value = values.get(name, default)

    def _changed(self) -> None:
        self.model.set(**{name: w.value for name, w in self._controls().items()})
        self._refresh()

    # the model
    def limits(self) -> RiskLimits | None:
        """The automated limits switched on (``None``: none is)."""
        return self.model.limits()

    def sweep(self) -> pd.DataFrame:
        """Loss and minutes to stop for a kill switch pressed at each delay on the slider."""
        return self.model.sweep()

    def manual(self) -> Result:
        """The day with the kill switch pressed after the chosen delay."""
        return self.model.manual()

    def automated(self) -> Result | None:
        """The day with the chosen automated limits (``None`` if none is on)."""
        return self.model.automated()

    def points(self) -> pd.DataFrame:
        """The highlighted points: as it happened, your kill, your limits."""
        return self.model.points()

    def summary_text(self) -> str:
        """What the chosen settings cost, computed from the replays."""
        return self.model.summary_text()

    def _refresh(self) -> None:
        self.text.value = f"<p>{_esc(self.summary_text())}</p>"
        self.view.update(kill_lab_chart(self.sweep(), self.points()))
        rows = self.model.control_rows()
        self.timeline.value = (
            "<b>Controls that acted (automated limits)</b>" + html_table(rows)
            if self.automated() is not None
            else ""
        )

    def describe(self) -> str:
        return self.model.describe()


class ExchangeView(Panel):
    """Three kill switches compared: inside the binary, the firm's out-of-process one, the
    exchange's. Choose when the firm presses its switch and the exchange's limit."""

    name = "exchange view"

    KINDS = (
        ("in-binary", "kill command inside the release"),
        ("firm", "firm's out-of-process kill switch"),
        ("exchange", "exchange's notional limit"),
    )

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.at = W.SelectionSlider(
            options=["09:35", "09:40", "09:50"],
            value="09:40",
            description="Pressed at:",
            continuous_update=False,
            layout=W.Layout(width="360px"),
        )
        self.limit = W.Dropdown(
            options=[
                ("net $25M", (25e6, "net")),
                ("net $100M", (100e6, "net")),
                ("gross $250M", (250e6, "gross")),
            ],
            value=(25e6, "net"),
            description="Exchange limit:",
            style={"description_width": "110px"},
            layout=W.Layout(width="280px"),
        )
        self.table = W.HTML()
        self.view = ChartView(_empty_chart())
        self.notes = W.HTML()
        self.at.observe(lambda _: self._refresh(), "value")
        self.limit.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox(
            [W.HBox([self.at, self.limit]), self.table, self.view.widget, self.notes]
        )
        # Every press time is replayed now, so moving the slider answers at once.
        for when in self.at.options:
            for kind in ("in-binary", "firm"):
                contrast_replay(self.base, kind, at=when)
        self._refresh()

    def results(self) -> dict[str, Result]:
        """One replay per kind of kill switch."""
        limit, measure = self.limit.value
        return {
            label: contrast_replay(
                self.base, kind, at=self.at.value, limit_usd=limit, measure=measure
            )
            for kind, label in self.KINDS
        }

    def rows(self) -> list[dict[str, object]]:
        """Loss, minutes to stop, who kept sending, and the first control, per kind."""
        return kill_switch_rows(self.results())

    def _refresh(self) -> None:
        rows = self.rows()
        self.table.value = html_table(
            rows, ["kill switch", "loss", "minutes_to_stop", "Power Peg ran on"]
        )
        self.view.update(kill_switch_bars(pd.DataFrame(rows)))
        self.notes.value = "<br>".join(
            _esc(f"{r['kill switch']}: {r['what the timeline says']}") for r in rows
        )

    def describe(self) -> str:
        return text_table(
            self.rows(), ["kill switch", "loss", "minutes_to_stop", "Power Peg ran on"]
        )
