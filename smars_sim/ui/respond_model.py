"""Responding without widgets: the operator's desk at 09:30, and response plans compared.

Notebook 05's panels (:mod:`smars_sim.ui.respond_panels`) draw these models. The
:class:`ResponderModel` holds one live simulation that a person advances and acts on
(no kill switch: servers are stopped one by one, the rollback re-installs the old
build); the :class:`PlanComparisonModel` replays whole plans and compares their loss
and minutes to stop (the plans themselves are :mod:`smars_sim.analysis.plans`).
Neither imports ipywidgets or altair.
"""

from __future__ import annotations

from ..analysis.plans import Plan, minutes_to_stop, preset_plans
from ..analysis.runs import notebook_scenario
from ..analysis.series import order_rate_data
from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.fmt import usd
from ..core.pnl import IF_STOPPED_NOW
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes import Simulation

__all__ = ["ACTIONS", "PlanComparisonModel", "ResponderModel"]


class ResponderModel:
    """The operator's desk: one live replay from 09:30, advanced and acted on by a person.

    Stopping a server takes a person ``operator_step_s`` seconds (the replay moves on
    meanwhile). The rollback re-installs the old build on the updated servers, one by
    one, as the team did.

    Args:
        scenario: The morning (default: the notebooks' 1 August replay); its scripted
            rollback, stops and halt are removed, so the actions are yours.
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        base = scenario or notebook_scenario()
        self.scenario = base.with_(rollback_at=None, stop_all_at=None, halt_at=None)
        self.step_s = self.scenario.operator_step_s
        self.actions: list[str] = []
        self.reset()

    # actions
    def reset(self) -> None:
        """Back to 09:30:00 with every server running."""
        self.sim = Simulation(self.scenario)
        self.sim.advance_to("09:30")
        self.actions = []
        self.rolled_back = False

    def _clamp(self, t: int) -> int:
        return min(t, self.sim.end)

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes."""
        self.sim.advance_to(self._clamp(self.sim.now + int(minutes * 60 * SECOND_NS)))

    def stop(self, server: int) -> None:
        """Stop one server: it takes a person ``operator_step_s`` seconds."""
        srv = self.sim.fleet.server(server)
        if not srv.running:
            return
        done = self._clamp(self.sim.now + int(self.step_s * SECOND_NS))
        self.sim.stop_server(server, at=done)
        self.sim.advance_to(done)
        self.actions.append(f"{format_time(done)} server {server} stopped")

    def rollback(self) -> None:
        """Re-install the old build on the updated servers, one every ``operator_step_s``."""
        if self.rolled_back:
            return
        self.rolled_back = True
        self.sim.rollback()
        self.actions.append(f"{format_time(self.sim.now)} rollback started")

    # views
    def result(self) -> Result:
        """The replay so far."""
        return self.sim.result()

    def server_rows(self, result: Result | None = None) -> list[dict[str, object]]:
        """Each server: running or stopped, its build, child orders in the last minute."""
        r = result or self.result()
        rates = order_rate_data(
            r, bin_s=60, start=max(OPEN_NS, self.sim.now - 60 * SECOND_NS), end=self.sim.now + 1
        )
        last_minute = rates.groupby("server_id")["orders_per_s"].sum()
        rows: list[dict[str, object]] = []
        for srv in self.sim.fleet.servers:
            rows.append(
                {
                    "server": srv.id,
                    "state": "running"
                    if srv.running
                    else f"stopped {format_time(srv.stopped_at or 0)}",
                    "build": srv.build.version,
                    "child orders/s (last minute)": f"{last_minute.get(srv.id, 0):,.0f}",
                }
            )
        return rows

    def status_text(self, result: Result | None = None) -> str:
        """The clock, the loss so far and what is still running."""
        r = result or self.result()
        running = [s.id for s in self.sim.fleet.servers if s.running]
        text = (
            f"{format_time(self.sim.now)}: loss {IF_STOPPED_NOW} {usd(r.summary.loss_usd)}; "
            f"{len(running)} of {len(self.sim.fleet.servers)} servers running."
        )
        if not running:
            minutes = minutes_to_stop(r)
            text += f" All stopped: the last bad order went out {minutes:.1f} min after the open."
        elif self.sim.now >= self.sim.end:
            text += " The window is over."
        return text


#: The actions a learner's own plan may take: (label, :attr:`Plan.action`).
ACTIONS: tuple[tuple[str, str], ...] = (
    ("stop the servers one by one", "stop_all"),
    ("stop only the missed server", "stop_stale"),
    ("kill switch: halt everything at once", "halt"),
)


class PlanComparisonModel:
    """The preset plans and up to five of yours, each replayed: loss and minutes to stop.

    Args:
        scenario: The morning the plans are applied to (default: the notebooks' replay).
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or notebook_scenario()
        self.presets = preset_plans(self.base)
        self.yours: list[Plan] = []
        rb = self.base.rollback_at
        self.rollback_time = format_time(parse_time(rb))[:5] if rb is not None else "09:45"

    def times(self) -> list[str]:
        """The ``HH:MM`` a plan may act at: every minute after the open, to the window end."""
        end = parse_time(self.base.window_end)
        return [format_time(t)[:5] for t in range(OPEN_NS + 60 * SECOND_NS, end, 60 * SECOND_NS)]

    def plan(self, action: str, at: str, rollback_first: bool = False) -> Plan:
        """A plan of yours: ``action`` (see :data:`ACTIONS`) at ``at``, after a rollback or not."""
        label_action = dict((v, k) for k, v in ACTIONS)[action]
        label = f"Yours: {label_action} at {at}"
        rollback = None
        if rollback_first:
            label += f", after a rollback at {self.rollback_time}"
            rollback = self.rollback_time
        return Plan(label, action, at, rollback)

    def add(self, plan: Plan) -> Result:
        """Replay a plan and add it to the comparison (one of the same label is replaced)."""
        result = plan.run(self.base)
        self.yours = [*[p for p in self.yours if p.label != plan.label][-4:], plan]
        return result

    def clear(self) -> None:
        """Remove your plans."""
        self.yours = []

    def rows(self) -> list[dict[str, object]]:
        """Every plan with its loss, minutes to stop and child orders."""
        rows: list[dict[str, object]] = []
        for kind, plans in (("preset", self.presets), ("yours", self.yours)):
            for plan in plans:
                r = plan.run(self.base)
                minutes = minutes_to_stop(r)
                rows.append(
                    {
                        "plan": plan.label,
                        "kind": kind,
                        "loss_usd_m": round(r.summary.loss_usd / 1e6, 3),
                        "loss": usd(r.summary.loss_usd),
                        "minutes_to_stop": minutes if minutes is not None else 0.0,
                        "child_orders": r.summary.child_orders,
                    }
                )
        return rows
