"""Which controls acted in a replay, and when: read from the timeline's structured fields.

A fix (or one of the course's contrasts) that acts writes a
:class:`~smars_sim.core.orders.TimelineEntry` with its ``control`` field set: the fix's
registry name (``"kill-switch"``), or the contrast's or the core hook's name
(``"exchange kill switch"``, ``"flag guard"``). Warnings, deploy steps that changed
nothing and a flag's creation are written without it. So the one rule of what counts as
a control acting lives where the control acts, and no view reads the text of an entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = ["ControlAction", "control_actions", "control_events"]


@dataclass(frozen=True, slots=True)
class ControlAction:
    """A control acting, as the timeline recorded it.

    Attributes:
        time: When, ns since midnight (0: before 1 August).
        control: What acted: a fix's registry name, a contrast's or a hook's name.
        actor: Who the timeline names (e.g. ``"risk gate"``, or ``"console"`` for a
            person pressing the kill switch).
        action: What it did.
        server: The server concerned (0: the fleet).
        detail: The control's own explanation.
    """

    time: int
    control: str
    actor: str
    action: str
    server: int
    detail: str

    @property
    def where(self) -> str:
        """`` (server k)`` when one server is concerned, else nothing."""
        return f" (server {self.server})" if self.server else ""

    @property
    def label(self) -> str:
        """``actor: action``, with the server when there is one (the course's timelines)."""
        return f"{self.actor}: {self.action}{self.where}"

    @property
    def fix_label(self) -> str:
        """``control: action``, with the server (which fix acted, for ``whatif``)."""
        return f"{self.control}: {self.action}{self.where}"


def control_actions(result: Result) -> list[ControlAction]:
    """Every control that acted in a replay, in time order (ties: in the order noted)."""
    return [
        ControlAction(e.time, e.control, e.actor, e.action, e.server, e.detail)
        for e in sorted(result.timeline, key=lambda e: e.time)
        if e.control
    ]


def control_events(result: Result) -> list[tuple[int, str, str]]:
    """``(time, control, what it did)`` for every control that acted, in time order.

    The control is :attr:`ControlAction.label` (e.g. ``"risk gate: reconciliation:
    kill (server 3)"``), the last item the control's own explanation.
    """
    return [(a.time, a.label, a.detail) for a in control_actions(result)]
