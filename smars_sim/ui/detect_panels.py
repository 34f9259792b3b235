"""Notebooks 03 and 04's panels: the inbox, the market open played back, an alert rule.

The data comes from :mod:`smars_sim.analysis` (the inbox, the series behind each
chart, the monitoring metrics of :mod:`~smars_sim.analysis.forensics`); the charts
from :mod:`smars_sim.viz.charts` and :mod:`smars_sim.viz.day_charts`.
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from ..analysis import forensics as F
from ..analysis.inbox import inbox, inbox_volume_data
from ..analysis.runs import day, normal_morning, run
from ..analysis.series import (
    LOCKED_IN,
    child_order_times,
    metric_days_data,
    order_rate_data,
    pnl_data,
    positions_data,
    prices_data,
    top_symbols,
)
from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.fmt import usd
from ..core.result import Result
from ..viz.charts import inbox_volume, metric_with_threshold
from ..viz.day_charts import market_open, server_share_chart
from .panel import ChartView, Panel, chart_widget, html_table, show, text_table
from .text import esc

__all__ = ["AlertDesigner", "Inbox", "Playback", "server_share_view"]


class Inbox(Panel):
    """The shared mailbox, 08:00 to the open: slide through the morning, search it."""

    name = "inbox"

    def __init__(self, result: Result | None = None, show: int = 12) -> None:
        self.result = result or day()
        self.mail = inbox(self.result)
        self.show_n = show
        start = parse_time("08:00")
        options = [
            (format_time(t)[:5], t)
            for t in range(start + 60 * SECOND_NS, OPEN_NS + 1, 60 * SECOND_NS)
        ]
        self.time = W.SelectionSlider(
            options=options,
            value=options[14][1],
            description="Time:",
            layout=W.Layout(width="560px"),
        )
        self.search = W.Text(value="", placeholder="search subjects", description="Search:")
        self.counts = W.HTML()
        self.listing = W.HTML()
        for control in (self.time, self.search):
            control.observe(lambda _: self._refresh(), names="value")
        volume = inbox_volume_data(self.mail)
        bnet = int((self.mail["kind"] == "BNET reject").sum())
        takeaway = (
            f"{bnet} BNET rejects among {len(self.mail):,} e-mails before the open "
            f"({100 * bnet / max(1, len(self.mail)):.0f}%): nothing made them stand out."
        )
        self.view = ChartView(inbox_volume(volume, takeaway=takeaway))
        self.widget = W.VBox(
            [W.HBox([self.time]), self.search, self.counts, self.listing, self.view.widget]
        )
        self._refresh()

    def at(self, time: str) -> None:
        """Move the time slider to ``HH:MM`` (the nearest minute on the slider)."""
        target = parse_time(time)
        values = [v for _, v in self.time.options]
        self.time.value = min(values, key=lambda v: abs(v - target))

    def find(self, query: str) -> pd.DataFrame:
        """Type ``query`` in the search box; return the matching messages so far."""
        self.search.value = query
        return self.visible()

    def visible(self) -> pd.DataFrame:
        """Messages received by the slider's time that match the search."""
        mail = self.mail[self.mail["time_ns"] <= self.time.value]
        query = self.search.value.strip().lower()
        if query:
            mail = mail[mail["subject"].str.lower().str.contains(query, regex=False)]
        return mail

    def counts_text(self) -> str:
        """How many messages, and how many BNET rejects, by the slider's time."""
        upto = self.mail[self.mail["time_ns"] <= self.time.value]
        bnet = int((upto["kind"] == "BNET reject").sum())
        when = format_time(self.time.value)[:5]
        text = f"By {when}: {len(upto):,} e-mails, {bnet} of them BNET rejects."
        if self.search.value.strip():
            text += f" {len(self.visible()):,} match '{self.search.value.strip()}'."
        return text

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
        self.result = r = result or day()
        self.step_s = step_s
        end = parse_time(r.scenario.window_end)
        self.max_s = (end - OPEN_NS) // SECOND_NS
        self.rates = order_rate_data(r, bin_s=rate_bin_s, end=end)
        self._child_times, self._child_servers = child_order_times(r)
        self.pnl = pnl_data(r)
        self.positions = positions_data(r)
        self.top = top_symbols(r, 5)
        self.prices = prices_data(r, self.top)
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
        seconds = (parse_time(time) - OPEN_NS) // SECOND_NS
        self.seek(int(seconds // self.step_s * self.step_s))

    def seek(self, seconds: int) -> None:
        """Move the playback to ``seconds`` after the open."""
        seconds = int(min(max(0, seconds), self.max_s))
        if self.slider.value != seconds:
            self.slider.value = seconds  # the observer calls seek again
            return
        cast(Any, self.chart.params).t = seconds
        self.clock_label.value = f"<b>{format_time(OPEN_NS + seconds * SECOND_NS)}</b>"
        self.status.value = esc(self.status_text())

    def status_text(self) -> str:
        """What the charts show at the current time, in words."""
        s = self.slider.value
        now = format_time(OPEN_NS + s * SECOND_NS)
        t = OPEN_NS + s * SECOND_NS
        window = 15 * SECOND_NS
        lo, hi = np.searchsorted(self._child_times, [t - window, t], side="right")
        total = (hi - lo) / 15 / self.result.scenario.scale
        sending = sorted(set(self._child_servers[lo:hi].tolist()))
        busiest = ", ".join(map(str, sending)) or "none"
        upto = self.pnl[(self.pnl["s"] <= s) & (self.pnl["series"] == LOCKED_IN)]
        pnl = float(upto["usd"].iloc[-1]) if len(upto) else 0.0
        pos = self.positions[self.positions["s"] <= s]
        gross = float(pos[pos["s"] == pos["s"].max()]["usd"].sum()) if len(pos) else 0.0
        return (
            f"{now}: {total:,.0f} child orders/s over the last 15 s (servers sending: {busiest}); "
            f"gross position {usd(gross)}; P&L at the evening basket price {usd(pnl)}."
        )

    def visible(self, name: str) -> pd.DataFrame:
        """Rows a chart shows now: ``rates``, ``pnl``, ``positions`` or ``prices``."""
        frame = getattr(self, name)
        return frame[frame["s"] <= self.slider.value]

    def describe(self) -> str:
        return f"t = {self.slider.value} s after the open\n{self.status_text()}"


class AlertDesigner(Panel):
    """Design an alert rule: a metric, a threshold and how long it must hold.

    The panel shows when the rule would have fired on 1 August (and the loss by
    then) and whether it would also fire on a normal morning (a false alarm).
    """

    name = "alert designer"

    def __init__(self, result: Result | None = None, normal: Result | None = None) -> None:
        self.result = result or day()
        self.normal = normal or run(normal_morning(self.result.scenario))
        self._series: dict[tuple[str, str], pd.DataFrame] = {}
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

    def series(self, which: str = "incident") -> pd.DataFrame:
        """The current metric every 5 s on the incident day or the normal morning."""
        key = (which, self.metric.value)
        if key not in self._series:
            source = self.result if which == "incident" else self.normal
            self._series[key] = F.metric_series(source, self.metric.value)
        return self._series[key]

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
        s = self.series(which)
        return F.first_fire(s["time_ns"], s["value"], self.threshold.value, self.hold.value)

    def _fmt(self, value: float) -> str:
        m = F.METRICS[self.metric.value]
        return usd(value) if m.money else f"{value:,.4g}"

    def verdict_text(self) -> str:
        """When the rule fires on 1 August, the loss by then, and on a normal morning."""
        rule = f"Rule: alert when it is at least {self._fmt(self.threshold.value)}"
        if self.hold.value:
            rule += f" for {self.hold.value} s"
        fired = self.fired("incident")
        false_alarm = self.fired("normal")
        if fired is None:
            day_text = "On 1 August it never fires."
        else:
            when = format_time(fired)
            minutes = (fired - OPEN_NS) / (60 * SECOND_NS)
            timing = (
                f"{minutes:.1f} min after the open"
                if fired >= OPEN_NS
                else f"{-minutes:.0f} min before the open"
            )
            day_text = (
                f"On 1 August it fires at {when} ({timing}); "
                f"loss by then {usd(F.loss_at(self.result, fired))}."
            )
        normal_text = (
            "On a normal morning it stays quiet."
            if false_alarm is None
            else f"On a normal morning it ALSO fires, at {format_time(false_alarm)}: a false alarm."
        )
        return f"{rule}. {day_text} {normal_text}"

    def _chart(self) -> alt.TopLevelMixin:
        m = F.METRICS[self.metric.value]
        data = metric_days_data(self.series("incident"), self.series("normal"))
        fired = self.fired("incident")
        takeaway = (
            f"Fires at {format_time(fired)}." if fired is not None else "Never fires on 1 August."
        )
        return metric_with_threshold(
            data,
            self.threshold.value,
            fired,
            label=m.label if len(m.label) < 60 else m.label.split(" (")[0],
            axis_format=m.axis_format,
            takeaway=takeaway,
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
