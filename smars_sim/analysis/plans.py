"""Response plans replayed: what the operators do and when, and how long the runaway ran.

A :class:`Plan` is a whole morning's response (stop the servers one by one, stop
only the missed server, or halt everything; with or without the rollback first),
replayed at once. Notebook 05 compares them
(:class:`smars_sim.ui.respond_model.PlanComparisonModel`); the benchmarks time one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.clock import format_time, parse_time
from ..core.pnl import minutes_to_stop  # re-exported: the plans compare it
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes import Simulation
from .runs import run

__all__ = ["Plan", "minutes_to_stop", "preset_plans"]


@dataclass(frozen=True, slots=True)
class Plan:
    """A response plan: what the operators do, and when."""

    label: str
    action: str = "stop_all"  # "stop_all" (one by one), "stop_stale" or "halt"
    at: str | None = "10:12:20"
    rollback_at: str | None = None

    def run(self, base: Scenario) -> Result:
        """Replay the morning under this plan."""
        scenario = base.with_(
            rollback_at=self.rollback_at,
            stop_all_at=self.at if self.action == "stop_all" else None,
            halt_at=self.at if self.action == "halt" else None,
        )
        if self.action != "stop_stale":
            return run(scenario)
        key = f"{self!r}|{scenario!r}"
        if key not in _PLAN_CACHE:
            sim = Simulation(scenario)
            for server in scenario.stale_servers:
                sim.stop_server(server, at=self.at)
            _PLAN_CACHE[key] = sim.run()
        return _PLAN_CACHE[key]


_PLAN_CACHE: dict[str, Result] = {}


def preset_plans(base: Scenario) -> list[Plan]:
    """The plans every learner sees: what happened (the kit's reconstruction) and others."""
    rollback = base.rollback_at
    stop_all = base.stop_all_at
    rb = format_time(parse_time(rollback))[:8] if rollback is not None else None
    sa = format_time(parse_time(stop_all))[:8] if stop_all is not None else "10:12:20"
    return [
        Plan("What happened (kit's timing): roll back, then stop all", "stop_all", sa, rb),
        Plan("Same stop, without the rollback", "stop_all", sa, None),
        Plan("Stop the servers one by one from 09:35", "stop_all", "09:35", None),
        Plan("Stop only the missed server at 09:35", "stop_stale", "09:35", None),
        Plan("Kill switch: halt everything at 09:31", "halt", "09:31", None),
    ]
