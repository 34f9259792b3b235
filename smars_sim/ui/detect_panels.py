"""Notebooks 03 and 04's panels: the inbox, the market open played back, an alert rule.

Each view draws a widget-free model of :mod:`smars_sim.ui.detect_model`: the view's
controls are copied into the model before each answer, so a cell (or a test) that
moves a slider reads the same text the page shows. The charts come from
:mod:`smars_sim.viz.charts` and :mod:`smars_sim.viz.day_charts`.
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from ..analysis import forensics as F
from ..analysis.inbox import inbox_volume_data
from ..analysis.runs import day, normal_morning, run
from ..core.clock import OPEN_NS, SECOND_NS, format_time
from ..core.result import Result
from ..viz.charts import inbox_volume, metric_with_threshold
from ..viz.day_charts import market_open, server_share_chart
from .detect_model import AlertRuleModel, InboxModel, PlaybackModel
from .panel import ChartView, Panel, chart_widget, html_table, show, text_table
from .text import esc

__all__ = ["AlertDesigner", "Inbox", "Playback", "server_share_view"]


class Inbox(Panel):
    """The shared mailbox, 08:00 to the open: slide through the morning, search it."""

    name = "inbox"

    def __init__(self, result: Result | None = None, show: int = 12) -> None:
        self.model = InboxModel(result or day())
        self.result = self.model.result
        self.mail = self.model.mail
        self.show_n = show
        self.time = W.SelectionSlider(
            options=[(format_time(t)[:5], t) for t in self.model.times],
            value=self.model.time,
            description="Time:",
            layout=W.Layout(width="560px"),
        )
        self.search = W.Text(value="", placeholder="search subjects", description="Search:")
        self.counts = W.HTML()
        self.listing = W.HTML()
        for control in (self.time, self.search):
            control.observe(lambda _: self._refresh(), names="value")
        volume = inbox_volume_data(self.mail)
        self.view = ChartView(inbox_volume(volume, takeaway=self.model.volume_takeaway()))
        self.widget = W.VBox(
            [W.HBox([self.time]), self.search, self.counts, self.listing, self.view.widget]
        )
        self._refresh()

    def _sync(self) -> InboxModel:
        self.model.time = self.time.value
        self.model.query = self.search.value
        return self.model

    def at(self, time: str) -> None:
        """Move the time slider to ``HH:MM`` (the nearest minute on the slider)."""
        self.time.value = self.model.nearest(time)

    def find(self, query: str) -> pd.DataFrame:
        """Type ``query`` in the search box; return the matching messages so far."""
        self.search.value = query
        return self.visible()

    def visible(self) -> pd.DataFrame:
        """Messages received by the slider's time that match the search."""
        return self._sync().visible()

    def counts_text(self) -> str:
        """How many messages, and how many BNET rejects, by the slider's time."""
        return self._sync().counts_text()

    def _refresh(self) -> None:
        self.counts.value = esc(self.counts_text())
        latest = self.visible().tail(self.show_n).iloc[::-1]
        self.listing.value = html_table(latest.to_dict("records"), ["time", "sender", "subject"])

    def describe(self) -> str:
        latest = self.visible().tail(5).iloc[::-1]
        return (
            self.counts_text()
            + "\n"
            + text_table(latest.to_dict("records"), ["time", "sender", "subject"])
        )


class Playback(Panel):
    """Play the 45 minutes: a Play button and a time slider drive four charts.

    The charts get their data once; moving the slider only changes the chart
    parameter ``t`` (seconds after the open), so every step is instant.
    """

    name = "market open playback"

    def __init__(
        self,
        result: Result | None = None,
        step_s: int = 15,
        interval_ms: int = 400,
        rate_bin_s: int = 60,
    ) -> None:
        self.model = m = PlaybackModel(result or day(), step_s, rate_bin_s)
        self.result, self.step_s, self.max_s = m.result, m.step_s, m.max_s
        self.rates, self.pnl, self.positions = m.rates, m.pnl, m.positions
        self.top, self.prices = m.top, m.prices
        self.t = alt.param(name="t", value=0)
        self.chart = chart_widget(self._chart())
        self.play = W.Play(min=0, max=self.max_s, step=step_s, interval=interval_ms, value=0)
        self.slider = W.IntSlider(
            min=0,
            max=self.max_s,
            step=step_s,
            value=0,
            readout=False,
            description="Time:",
            layout=W.Layout(width="520px"),
        )
        self.clock_label = W.HTML()
        self.status = W.HTML()
        W.link((self.play, "value"), (self.slider, "value"))
        self.slider.observe(lambda change: self.seek(change["new"]), names="value")
        self.widget = W.VBox(
            [W.HBox([self.play, self.slider, self.clock_label]), self.status, self.chart]
        )
        self.seek(0)

    def _chart(self) -> alt.TopLevelMixin:
        return market_open(
            self.result,
            rates=self.rates,
            pnl=self.pnl,
            positions=self.positions,
            prices=self.prices,
            until=self.t,
        )

    def at(self, time: str) -> None:
        """Move the playback to a clock time, ``HH:MM[:SS]``."""
        self.seek(self.model.seconds_at(time))

    def seek(self, seconds: int) -> None:
        """Move the playback to ``seconds`` after the open."""
        seconds = self.model.clamp(seconds)
        if self.slider.value != seconds:
            self.slider.value = seconds  # the observer calls seek again
            return
        cast(Any, self.chart.params).t = seconds
        self.clock_label.value = f"<b>{format_time(OPEN_NS + seconds * SECOND_NS)}</b>"
        self.status.value = esc(self.status_text())

    def status_text(self) -> str:
        """What the charts show at the current time, in words."""
        return self.model.status_text(self.slider.value)

    def visible(self, name: str) -> pd.DataFrame:
        """Rows a chart shows now: ``rates``, ``pnl``, ``positions`` or ``prices``."""
        return self.model.visible(name, self.slider.value)

    def describe(self) -> str:
        return f"t = {self.slider.value} s after the open\n{self.status_text()}"


class AlertDesigner(Panel):
    """Design an alert rule: a metric, a threshold and how long it must hold.

    The panel shows when the rule would have fired on 1 August (and the loss by
    then) and whether it would also fire on a normal morning (a false alarm).
    """

    name = "alert designer"

    def __init__(self, result: Result | None = None, normal: Result | None = None) -> None:
        incident = result or day()
        self.model = AlertRuleModel(incident, normal or run(normal_morning(incident.scenario)))
        self.result, self.normal = self.model.result, self.model.normal
        self._quiet = False
        self.metric = W.Dropdown(
            options=[(m.label, k) for k, m in F.METRICS.items()],
            value="shares_out_per_in",
            description="Watch:",
            layout=W.Layout(width="640px"),
        )
        self.threshold = W.FloatLogSlider(
            base=10,
            min=-1,
            max=4,
            step=0.05,
            value=2,
            description="Threshold:",
            continuous_update=False,
            readout_format=".3s",
            layout=W.Layout(width="520px"),
        )
        self.hold = W.IntSlider(
            min=0, max=120, step=5, value=0, description="Hold (s):", continuous_update=False
        )
        self.note = W.HTML()
        self.verdict = W.HTML()
        self.view = ChartView(self._chart())
        self.metric.observe(lambda change: self.choose(change["new"]), names="value")
        for control in (self.threshold, self.hold):
            control.observe(lambda _: self._refresh(), names="value")
        self.widget = W.VBox(
            [self.metric, self.note, self.threshold, self.hold, self.verdict, self.view.widget]
        )
        self.choose(self.metric.value)

    def _sync(self) -> AlertRuleModel:
        self.model.metric = self.metric.value
        self.model.threshold = self.threshold.value
        self.model.hold_s = self.hold.value
        return self.model

    def series(self, which: str = "incident") -> pd.DataFrame:
        """The current metric every 5 s on the incident day or the normal morning."""
        return self._sync().series(which)

    def choose(self, metric: str) -> None:
        """Pick a metric: the threshold slider moves to that metric's range and default."""
        m = F.METRICS[metric]
        if self.metric.value != metric:
            self.metric.value = metric  # the observer calls choose again
            return
        lo, hi = float(np.log10(m.lo)), float(np.log10(m.hi))
        self._quiet = True
        try:
            self.threshold.min = min(lo, self.threshold.min)
            self.threshold.max = max(hi, self.threshold.max)
            self.threshold.value = m.default
            self.threshold.min, self.threshold.max = lo, hi
        finally:
            self._quiet = False
        self.note.value = f"<i>{esc(m.note)}</i>"
        self._refresh()

    def set_rule(self, metric: str, threshold: float, hold_s: int = 0) -> None:
        """Set the whole rule at once (for a notebook cell)."""
        self.choose(metric)
        self.hold.value = hold_s
        self.threshold.value = threshold

    def fired(self, which: str = "incident") -> int | None:
        """When the rule fires (ns since midnight), or ``None``."""
        return self._sync().fired(which)

    def verdict_text(self) -> str:
        """When the rule fires on 1 August, the loss by then, and on a normal morning."""
        return self._sync().verdict_text()

    def _chart(self) -> alt.TopLevelMixin:
        m = self._sync()
        return metric_with_threshold(
            m.chart_data(),
            m.threshold,
            m.fired("incident"),
            label=m.axis_label(),
            axis_format=F.METRICS[m.metric].axis_format,
            money=F.METRICS[m.metric].money,
            takeaway=m.chart_takeaway(),
        )

    def _refresh(self) -> None:
        if self._quiet:
            return
        self.verdict.value = esc(self.verdict_text())
        self.view.update(self._chart())

    def describe(self) -> str:
        return f"metric: {self.metric.value}\n{self.verdict_text()}"


def server_share_view(executions: pd.DataFrame, n_servers: int = 8) -> ChartView:
    """Executions per minute by server from an execution log (the forensic drill's chart)."""
    return show(server_share_chart(executions, n_servers))
