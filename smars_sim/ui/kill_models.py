"""The state and logic of notebook 09's kill-switch panels, without a widget.

:class:`KillDrillModel` drives the incident console's model through a drill;
:class:`KillLabModel` holds the lab's settings and reads the replays they select.
Neither imports ipywidgets or altair; the views are in :mod:`.kill_panels`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from ..analysis.controls import control_events
from ..analysis.fix_outcomes import (
    AS_IT_HAPPENED,
    SWEEP_MINUTES,
    base_scenario,
    kill_delay_sweep,
    kill_time_scenario,
    minutes_text,
    outcome,
    stop_point,
    when,
)
from ..analysis.runs import run
from ..core.clock import OPEN_NS, SECOND_NS, format_time
from ..core.fmt import usd
from ..core.pnl import IF_STOPPED_NOW
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes.kill_switch import RiskLimits
from .console import ConsoleModel

__all__ = ["KillDrillModel", "KillLabModel"]


class KillDrillModel:
    """The fleet-wide kill switch on a live replay: advance the clock, then press it.

    It is the kill switch of :mod:`smars_sim.fixes.kill_switch` (a ``RiskGate`` with no
    automated limit), driven by the incident console's model.

    Args:
        scenario: The day (default: the notebooks' scale, the operators' rollback and
            stops left out: you are the operator).
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or base_scenario(rollback_at=None, stop_all_at=None)
        self.reset()

    def reset(self) -> None:
        """Back to 09:30 with nothing pressed."""
        self.console = ConsoleModel(self.scenario, start_at="09:30")

    @property
    def sim(self) -> Any:
        """The live simulation."""
        return self.console.sim

    @property
    def done(self) -> bool:
        """Whether the replay has reached its end."""
        return self.console.done

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes."""
        sim = self.sim
        sim.advance_to(min(sim.end, sim.now + int(minutes * 60 * SECOND_NS)))

    def kill(self) -> None:
        """Press the kill switch now (once)."""
        if self.console.gate is not None and self.console.gate.killed_at is None:
            self.console.kill_switch()

    def killed_at(self) -> int | None:
        """When the kill switch was engaged (``None``: not yet)."""
        gate = self.console.gate
        return gate.killed_at if gate is not None else None

    def status_text(self) -> str:
        """The clock, the loss so far, and the kill switch's state."""
        m = self.console
        running = sum(1 for s in m.sim.fleet.servers if s.running)
        killed = self.killed_at()
        state = (
            f"kill switch engaged at {format_time(killed)}"
            if killed is not None
            else "kill switch not pressed"
        )
        return (
            f"{m.clock}: loss {IF_STOPPED_NOW} {usd(-m.closeout_pnl_usd())}; "
            f"{running} of {len(m.sim.fleet.servers)} servers sending; {state}."
        )

    def log_lines(self) -> list[str]:
        """What the kill switch did, from the timeline."""
        return [
            f"{format_time(e.time)} {e.actor}: {e.action}: {e.detail}"
            for e in self.sim.fleet.timeline
            if e.action.startswith("kill switch engaged")
        ]

    def result(self) -> Result:
        """The replay so far."""
        return self.sim.result()

    def rate_end(self) -> int:
        """Where the order-rate chart ends: now, and at least a minute after the open."""
        return max(self.sim.now, OPEN_NS + 60 * SECOND_NS)

    def takeaway(self) -> str:
        """The chart's takeaway: up to when, and when the kill switch stopped the fleet."""
        killed = self.killed_at()
        clock = self.console.clock
        if killed is not None:
            return (
                f"Up to {clock[:5]}; the kill switch stopped every server at {format_time(killed)}."
            )
        return f"Up to {clock[:5]}."

    def describe(self) -> str:
        """The status line, then what the kill switch did."""
        return "\n".join([self.status_text(), *self.log_lines()])


class KillLabModel:
    """Detection delay and automated limits against the loss (the kill-switch lab).

    The curve: the day replayed with only a kill switch, pressed a number of minutes
    after the open (one replay per point). The settings: when a person presses it (the
    detection delay), and the risk gate's automated limits, replayed with the
    ``kill-switch`` fix and only the limits switched on.

    Args:
        scenario: The day (default: the notebooks' 1 August 2012).
    """

    #: The settings and their defaults: no automated limit, detected after 10 min.
    DEFAULTS: dict[str, Any] = {  # noqa: RUF012
        "delay": 10,
        "capital": 0.0,
        "executions": 0,
        "messages": 0.0,
        "reconcile": False,
    }

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.delay: float = self.DEFAULTS["delay"]
        self.capital: float = self.DEFAULTS["capital"]
        self.executions: int = self.DEFAULTS["executions"]
        self.messages: float = self.DEFAULTS["messages"]
        self.reconcile: bool = self.DEFAULTS["reconcile"]

    def set(self, **values: Any) -> None:
        """Set settings by name; the others go back to their defaults."""
        unknown = set(values) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; use {list(self.DEFAULTS)}")
        for name, default in self.DEFAULTS.items():
            setattr(self, name, values.get(name, default))

    def limits(self) -> RiskLimits | None:
        """The automated limits switched on (``None``: none is)."""
        limits = replace(
            RiskLimits.manual_only(),
            capital_threshold_usd=self.capital or None,
            max_executions_per_parent=self.executions or None,
            max_messages_per_s=self.messages or None,
            reconcile=self.reconcile,
        )
        if limits == RiskLimits.manual_only():
            return None
        return limits

    def sweep(self) -> pd.DataFrame:
        """Loss and minutes to stop for a kill switch pressed at each delay of the lab."""
        return kill_delay_sweep(self.base, SWEEP_MINUTES)

    def manual(self) -> Result:
        """The day with the kill switch pressed after the chosen delay."""
        return run(kill_time_scenario(self.base, self.delay))

    def automated(self) -> Result | None:
        """The day with the chosen automated limits (``None`` if none is on)."""
        limits = self.limits()
        if limits is None:
            return None
        return run(self.base.with_(fixes=("kill-switch",), fix_params={"kill-switch": limits}))

    def points(self) -> pd.DataFrame:
        """The highlighted points: as it happened, your kill, your limits."""
        rows = [
            stop_point(AS_IT_HAPPENED, run(self.base)),
            stop_point(f"your kill after {self.delay} min", self.manual()),
        ]
        auto = self.automated()
        if auto is not None:
            rows.append(stop_point("your automated limits", auto))
        return pd.DataFrame(rows)

    def summary_text(self) -> str:
        """What the chosen settings cost, computed from the replays."""
        p = self.points().set_index("what")
        mine = p.iloc[1]
        text = (
            f"Kill switch pressed after {self.delay} min: the last bad order went out "
            f"{mine['minutes_to_stop']:g} min after the open; loss {usd(mine['loss_usd'])}."
        )
        auto = self.automated()
        if auto is None:
            text += " Automated limits: all off."
        else:
            out = outcome(auto)
            text += (
                f" Automated limits: loss {out['loss']}, last bad order "
                f"{minutes_text(out['minutes_to_stop'])}; first control: "
                f"{out['first_control']} at {out['first_control_at']}."
            )
        return text

    def control_rows(self, limit: int = 8) -> list[dict[str, object]]:
        """The controls that acted with the automated limits (none if none is on)."""
        auto = self.automated()
        if auto is None:
            return []
        return [
            {"time": when(t), "control": c, "detail": d} for t, c, d in control_events(auto)[:limit]
        ]

    def describe(self) -> str:
        """The summary, then the first controls that acted with the automated limits."""
        lines = [self.summary_text()]
        auto = self.automated()
        if auto is not None:
            lines += [f"{when(t)} {c}" for t, c, _ in control_events(auto)[:5]]
        return "\n".join(lines)
