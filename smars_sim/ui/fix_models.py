"""The state and logic of course part 2's panels, without a widget.

Each model here is what a panel shows and does, as plain Python: a cell or a test can
drive it, and read its state as text, with neither ipywidgets nor altair imported
(as :class:`~smars_sim.ui.console.ConsoleModel` is for the incident console). The
views that put controls on them are in :mod:`.flag_panels`, :mod:`.deploy_panels` and
:mod:`.kill_panels`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    outcome,
    stop_point,
    when,
)
from ..analysis.fix_tables import evaluation_row, registry_rows, seeded_registry
from ..analysis.runs import run
from ..core.clock import OPEN_NS, SECOND_NS, format_time
from ..core.fmt import usd
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes import flag_registry as flags
from ..fixes.contrasts import DeployCheck, check_deploy, servers_named
from ..fixes.kill_switch import RiskLimits
from .console import ConsoleModel

__all__ = ["DeployLabModel", "FlagConsoleModel", "KillDrillModel", "KillLabModel"]

#: The release every lab starts with.
RLP_RELEASE = "the RLP release"


# --------------------------------------------------------------------------
# 07: the flag registry as a release manager meets it
# --------------------------------------------------------------------------
class FlagConsoleModel:
    """A flag registry to create, turn on, retire and evaluate flags in.

    Every refusal is the registry's own ``ValueError``, caught and kept as a message.

    Attributes:
        registry: The registry (starts with only the retired old key).
        last: What the last action did (``OK: ...``, ``REFUSED (...): ...``).
        ok: Whether the last action was accepted.
        evaluated: The keys evaluated lately (at most four), oldest first.
    """

    def __init__(self) -> None:
        self.registry: flags.FlagRegistry | None = None
        self.reset()

    def reset(self) -> None:
        """Back to the registry with only the retired old key."""
        if self.registry is not None:
            self.registry.close()
        self.registry = seeded_registry()
        self.last = "registry reset: the old key is a tombstone"
        self.ok = True
        self.evaluated: list[str] = []

    @property
    def flags(self) -> flags.FlagRegistry:
        """The registry (never ``None`` once built)."""
        assert self.registry is not None
        return self.registry

    def _do(self, what: str, action: Callable[[], object]) -> bool:
        try:
            action()
        except ValueError as err:
            self.ok, self.last = False, f"REFUSED ({what}): {err}"
            return False
        self.ok, self.last = True, f"OK: {what}"
        return True

    def create(self, key: str, type: str = "release") -> bool:
        """Create a flag; returns whether the registry accepted it."""
        return self._do(
            f"create {key!r}",
            lambda: self.flags.create(
                key, type=type, owner="you (release manager)", created=flags.TRADE_DATE
            ),
        )

    def turn_on(self, key: str) -> bool:
        """Turn a flag on; returns whether the registry accepted it."""
        return self._do(f"turn on {key!r}", lambda: self.flags.set(key, True))

    def retire(self, key: str) -> bool:
        """Retire a flag (it becomes a tombstone); returns whether the registry accepted it."""
        return self._do(
            f"retire {key!r}",
            lambda: self.flags.retire(key, reason="retired in the course", on=flags.TRADE_DATE),
        )

    def evaluate(self, key: str) -> dict[str, object]:
        """Evaluate a flag through OpenFeature (never raises: errors serve the default)."""
        row = evaluation_row(self.flags, key)
        self.evaluated = [*[k for k in self.evaluated if k != key][-3:], key]
        self.ok, self.last = True, f"evaluated {key!r}: {row['value']} ({row['reason']})"
        return row

    def rows(self) -> list[dict[str, object]]:
        """Every flag in the registry, tombstones included."""
        return registry_rows(self.flags)

    def evaluations(self) -> list[dict[str, object]]:
        """The lately evaluated keys, evaluated again now."""
        return [evaluation_row(self.flags, k) for k in self.evaluated]


# --------------------------------------------------------------------------
# 08: the automated deploy against a careless technician
# --------------------------------------------------------------------------
class DeployLabModel:
    """A deploy case (missed copies, a silent server, the release) and its checked outcome.

    Args:
        scenario: The day (default: the notebooks' 1 August 2012); its missed servers
            are the case to start with.
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.missed: list[int] = sorted(self.base.stale_servers)
        self.unreachable = 0
        self.release = RLP_RELEASE

    def set(
        self,
        missed: Sequence[int] | None = None,
        unreachable: int | None = None,
        release: str | None = None,
    ) -> None:
        """Set the case: servers whose copy fails, one with no report (0: none), the release."""
        if missed is not None:
            self.missed = sorted(set(missed))
        if unreachable is not None:
            self.unreachable = unreachable
        if release is not None:
            self.release = release

    def check(self) -> DeployCheck:
        """The automated deploy for this case."""
        return check_deploy(
            self.base,
            missed=self.missed,
            unreachable=[self.unreachable] if self.unreachable else [],
            release=self.release,
        )

    def replayable(self) -> bool:
        """Whether the day is replayed with the fix: the real release, some server missed,
        and every server reporting (the fix as installed has no unreachable server)."""
        return bool(self.missed) and not self.unreachable and (self.release == RLP_RELEASE)

    def reference(self) -> Result:
        """The day as it happened in the kit."""
        return run(self.base)

    def result(self) -> Result | None:
        """The day replayed with ``verified-deploy`` and these missed servers, if replayable."""
        if not self.replayable():
            return None
        return run(self.base.with_(stale_servers=tuple(self.missed), fixes=("verified-deploy",)))

    def outcome_text(self) -> str:
        """What the replay says, or why there is none."""
        result = self.result()
        if result is None:
            if self.release != RLP_RELEASE:
                analysis = self.check().rollout.analysis
                verdict = analysis.verdict if analysis is not None else "not run"
                return (
                    f"The release itself is bad: canary analysis {verdict}. (No replay: "
                    "the rollout never got past the canary, so the fleet kept the stable build.)"
                )
            if not self.missed and not self.unreachable:
                return (
                    "Nothing missed: every server reports the release's hash. (No replay: "
                    "with the whole fleet updated there is no incident to replay; see 02.)"
                )
            return (
                "The check alone: the panel replays the day only for the real release with "
                "missed servers (the fix as installed has no unreachable server)."
            )
        ref = outcome(self.reference())
        mine = outcome(result)
        return (
            f"Replay with verified-deploy, {servers_named(self.missed)} missed: loss "
            f"{mine['loss']} (as it happened: {ref['loss']}); {mine['executions']:,} executions; "
            f"Power Peg ran {mine['minutes_to_stop']:g} min. First control: "
            f"{mine['first_control']} ({mine['first_control_at']})."
        )

    def describe(self) -> str:
        """The rollout's end state, the servers that reported a wrong hash, the outcome."""
        check = self.check()
        rows = check.fleet_rows()
        wrong = [r for r in rows if r["match"] == "NO"]
        unreached = [int(str(r["server"])) for r in rows if r["match"] == "-"]
        lines = [check.summary()]
        lines += [
            f"server {r['server']}: reported {r['reported']}, release {r['release']}" for r in wrong
        ] or ["every server reached reported the release's hash"]
        if unreached:
            lines.append(f"not reached by the rollout: {servers_named(unreached)}")
        lines.append(self.outcome_text())
        return "\n".join(lines)


# --------------------------------------------------------------------------
# 09: the kill switch
# --------------------------------------------------------------------------
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
            f"{m.clock}: loss so far {usd(-m.closeout_pnl_usd())} (at the evening basket "
            f"price); {running} of {len(m.sim.fleet.servers)} servers sending; {state}."
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
        return run(self.base.with_(fixes=("kill-switch",), risk_limits=limits))

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
                f"{out['minutes_to_stop']:g} min after the open; first control: "
                f"{out['first_control']} at {out['first_control_at']}."
            )
        return text

    def control_rows(self, limit: int = 8) -> list[dict[str, object]]:
        """The controls that acted with the automated limits (none if none is on)."""
        auto = self.automated()
        if auto is None:
            return []
        return [
            {"time": when(t), "control": c, "detail": d[:160]}
            for t, c, d in control_events(auto)[:limit]
        ]

    def describe(self) -> str:
        """The summary, then the first controls that acted with the automated limits."""
        lines = [self.summary_text()]
        auto = self.automated()
        if auto is not None:
            lines += [f"{when(t)} {c}" for t, c, _ in control_events(auto)[:5]]
        return "\n".join(lines)
