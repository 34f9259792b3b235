"""Detecting without widgets: the inbox, the market-open playback and an alert rule.

Notebooks 03 and 04's panels (:mod:`smars_sim.ui.detect_panels`) draw these models:
each holds what its controls set (a time, a search, a rule) and answers in words and
tables. They import no ipywidgets and no altair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import forensics as F
from ..analysis.inbox import INBOX_START, inbox
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

__all__ = ["AlertRuleModel", "InboxModel", "PlaybackModel"]


class InboxModel:
    """The shared mailbox from 08:00 to the open, read up to a minute and searched.

    Args:
        result: The replay whose BNET rejects are in the inbox.
    """

    def __init__(self, result: Result) -> None:
        self.result = result
        self.mail = inbox(result)
        start = parse_time(INBOX_START)
        #: The minutes a reader may stop at, 08:01 to the open.
        self.times = list(range(start + 60 * SECOND_NS, OPEN_NS + 1, 60 * SECOND_NS))
        self.time = self.times[14]
        self.query = ""

    def nearest(self, time: str) -> int:
        """The minute of :attr:`times` nearest to ``HH:MM``."""
        target = parse_time(time)
        return min(self.times, key=lambda v: abs(v - target))

    def visible(self) -> pd.DataFrame:
        """Messages received by :attr:`time` that match :attr:`query`."""
        mail = self.mail[self.mail["time_ns"] <= self.time]
        query = self.query.strip().lower()
        if query:
            mail = mail[mail["subject"].str.lower().str.contains(query, regex=False)]
        return mail

    def counts_text(self) -> str:
        """How many messages, and how many BNET rejects, by :attr:`time`."""
        upto = self.mail[self.mail["time_ns"] <= self.time]
        bnet = int((upto["kind"] == "BNET reject").sum())
        when = format_time(self.time)[:5]
        text = f"By {when}: {len(upto):,} e-mails, {bnet} of them BNET rejects."
        if self.query.strip():
            text += f" {len(self.visible()):,} match '{self.query.strip()}'."
        return text

    def volume_takeaway(self) -> str:
        """The volume chart's takeaway: how few the BNET rejects were among the rest."""
        bnet = int((self.mail["kind"] == "BNET reject").sum())
        return (
            f"{bnet} BNET rejects among {len(self.mail):,} e-mails before the open "
            f"({100 * bnet / max(1, len(self.mail)):.0f}%): nothing made them stand out."
        )


class PlaybackModel:
    """The 45 minutes after the open as series, read at any second.

    The series are computed once; the playback only moves a time ``s`` (seconds
    after the open) through them.

    Args:
        result: The replay.
        step_s: The playback's step, seconds.
        rate_bin_s: Width of the order-rate bins, seconds.
    """

    def __init__(self, result: Result, step_s: int = 15, rate_bin_s: int = 60) -> None:
        self.result = r = result
        self.step_s = step_s
        end = parse_time(r.scenario.window_end)
        self.max_s = (end - OPEN_NS) // SECOND_NS
        self.rates = order_rate_data(r, bin_s=rate_bin_s, end=end)
        self.child_times, self.child_servers = child_order_times(r)
        self.pnl = pnl_data(r)
        self.positions = positions_data(r)
        self.top = top_symbols(r, 5)
        self.prices = prices_data(r, self.top)

    def clamp(self, seconds: int) -> int:
        """``seconds`` kept within the window."""
        return int(min(max(0, seconds), self.max_s))

    def seconds_at(self, time: str) -> int:
        """A clock time ``HH:MM[:SS]`` as seconds after the open, snapped to the step."""
        seconds = (parse_time(time) - OPEN_NS) // SECOND_NS
        return int(seconds // self.step_s * self.step_s)

    def status_text(self, seconds: int) -> str:
        """What the charts show ``seconds`` after the open, in words."""
        s = seconds
        now = format_time(OPEN_NS + s * SECOND_NS)
        t = OPEN_NS + s * SECOND_NS
        window = 15 * SECOND_NS
        lo, hi = np.searchsorted(self.child_times, [t - window, t], side="right")
        total = (hi - lo) / 15 / self.result.scenario.scale
        sending = sorted(set(self.child_servers[lo:hi].tolist()))
        busiest = ", ".join(map(str, sending)) or "none"
        upto = self.pnl[(self.pnl["s"] <= s) & (self.pnl["series"] == LOCKED_IN)]
        pnl = float(upto["usd"].iloc[-1]) if len(upto) else 0.0
        pos = self.positions[self.positions["s"] <= s]
        gross = float(pos[pos["s"] == pos["s"].max()]["usd"].sum()) if len(pos) else 0.0
        return (
            f"{now}: {total:,.0f} child orders/s over the last 15 s (servers sending: {busiest}); "
            f"gross position {usd(gross)}; P&L at the evening basket price {usd(pnl)}."
        )

    def visible(self, name: str, seconds: int) -> pd.DataFrame:
        """Rows a chart shows at ``seconds``: ``rates``, ``pnl``, ``positions`` or ``prices``."""
        frame: pd.DataFrame = getattr(self, name)
        return frame[frame["s"] <= seconds]


class AlertRuleModel:
    """An alert rule (a metric, a threshold, a hold) judged on 1 August and a normal morning.

    Args:
        result: The incident replay.
        normal: The same morning without the incident (for false alarms).
    """

    def __init__(self, result: Result, normal: Result) -> None:
        self.result = result
        self.normal = normal
        self.metric = "shares_out_per_in"
        self.threshold = 100.0
        self.hold_s = 0
        self._series: dict[tuple[str, str], pd.DataFrame] = {}

    def series(self, which: str = "incident") -> pd.DataFrame:
        """The current metric every 5 s on the incident day or the normal morning."""
        key = (which, self.metric)
        if key not in self._series:
            source = self.result if which == "incident" else self.normal
            self._series[key] = F.metric_series(source, self.metric)
        return self._series[key]

    def fired(self, which: str = "incident") -> int | None:
        """When the rule fires (ns since midnight), or ``None``."""
        s = self.series(which)
        return F.first_fire(s["time_ns"], s["value"], self.threshold, self.hold_s)

    def format_value(self, value: float) -> str:
        """A value of the current metric as text (dollars for a money metric)."""
        m = F.METRICS[self.metric]
        return usd(value) if m.money else f"{value:,.4g}"

    def verdict_text(self) -> str:
        """When the rule fires on 1 August, the loss by then, and on a normal morning."""
        rule = f"Rule: alert when it is at least {self.format_value(self.threshold)}"
        if self.hold_s:
            rule += f" for {self.hold_s} s"
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

    def chart_data(self) -> pd.DataFrame:
        """The metric on both mornings, long form (``time``, ``value``, ``day``)."""
        return metric_days_data(self.series("incident"), self.series("normal"))

    def chart_takeaway(self) -> str:
        """The chart's takeaway: when the rule fires on 1 August."""
        fired = self.fired("incident")
        return (
            f"Fires at {format_time(fired)}." if fired is not None else "Never fires on 1 August."
        )

    def axis_label(self) -> str:
        """The metric's label, short enough for an axis."""
        m = F.METRICS[self.metric]
        return m.label if len(m.label) < 60 else m.label.split(" (")[0]
