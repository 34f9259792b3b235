"""Which controls acted in a replay, and when: read from the timeline's structured fields.

Every control writes a :class:`~smars_sim.core.fleet.TimelineEntry` when it acts. An
entry is a control acting when its ``actor`` is one of :data:`CONTROL_ACTORS` (the
names the fix modules declare) and its ``action`` is one by which that control
changes the day: warnings, deploy steps that changed nothing, and a flag's
creation are left out. Only the ``actor`` and ``action`` fields are compared, with
names the fixes declare; the free-text ``detail`` is passed on, never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..fixes import dead_code, flag_registry, verified_deploy
from ..fixes.contrasts import IN_BINARY_ACTOR, ExchangeKillSwitch

if TYPE_CHECKING:
    from ..core.fleet import TimelineEntry
    from ..core.result import Result

__all__ = ["CONTROL_ACTORS", "ControlAction", "control_actions", "control_events"]

# Actors whose names are written as literals outside the fix modules this layer may
# read a constant from: the flag guard of core.fleet.Fleet.set_flag, the risk gate and
# the risk officer of fixes.kill_switch, and the incident console of ui.console.
FLAG_GUARD = "flag guard"
RISK_GATE = "risk gate"
RISK_OFFICER = "risk officer"
CONSOLE = "console"

#: Timeline actors that are controls (the fixes, and the course's contrasts), in the
#: order of the layers they stand for.
CONTROL_ACTORS = (
    dead_code.ACTOR,
    flag_registry.ACTOR,
    verified_deploy.ACTOR,
    FLAG_GUARD,
    RISK_GATE,
    RISK_OFFICER,
    CONSOLE,
    ExchangeKillSwitch.ACTOR,
    IN_BINARY_ACTOR,
)


@dataclass(frozen=True, slots=True)
class ControlAction:
    """A control acting, as the timeline recorded it.

    Attributes:
        time: When, ns since midnight (0: before 1 August).
        actor: The control (one of :data:`CONTROL_ACTORS`).
        action: What it did.
        server: The server concerned (0: the fleet).
        detail: The control's own explanation.
    """

    time: int
    actor: str
    action: str
    server: int
    detail: str

    @property
    def label(self) -> str:
        """``actor: action``, with the server when there is one."""
        where = f" (server {self.server})" if self.server else ""
        return f"{self.actor}: {self.action}{where}"


def _gate_action(entry: TimelineEntry) -> str:
    # The risk gate notes each ControlEvent as "<control>: <action>" (RiskGate._fire);
    # the part after the last ": " is the event's action ("reject", "warn", "kill"...).
    return entry.action.rpartition(": ")[2]


def _acts(entry: TimelineEntry, following: Sequence[TimelineEntry]) -> bool:
    """Whether a control's entry is it acting (``following``: the same actor's later entries)."""
    actor, action = entry.actor, entry.action
    if actor == RISK_GATE:
        return _gate_action(entry) != "warn"
    if actor == verified_deploy.ACTOR:
        if action == verified_deploy.ROLLOUT_ABORTED:
            return True
        # The analysis is noted whatever its verdict; a verdict other than PASS is
        # the one the rollout acts on, and it aborts right after it.
        return (
            action == verified_deploy.CANARY_ANALYSIS
            and bool(following)
            and (following[0].action == verified_deploy.ROLLOUT_ABORTED)
        )
    if actor == flag_registry.ACTOR:
        return action == flag_registry.RETIRED_KEY_READ
    return True


def control_actions(result: Result) -> list[ControlAction]:
    """Every control that acted in a replay, in time order (ties: in the order noted)."""
    entries = sorted(result.timeline, key=lambda e: e.time)
    by_actor: dict[str, list[TimelineEntry]] = {}
    for entry in entries:
        if entry.actor in CONTROL_ACTORS:
            by_actor.setdefault(entry.actor, []).append(entry)
    seen: dict[str, int] = {}
    out = []
    for entry in entries:
        if entry.actor not in CONTROL_ACTORS:
            continue
        i = seen[entry.actor] = seen.get(entry.actor, -1) + 1
        if _acts(entry, by_actor[entry.actor][i + 1 :]):
            out.append(
                ControlAction(entry.time, entry.actor, entry.action, entry.server, entry.detail)
            )
    return out


def control_events(result: Result) -> list[tuple[int, str, str]]:
    """``(time, control, what it did)`` for every control that acted, in time order.

    The control is :attr:`ControlAction.label` (e.g. ``"risk gate: reconciliation:
    kill (server 3)"``), the last item the control's own explanation.
    """
    return [(a.time, a.label, a.detail) for a in control_actions(result)]
