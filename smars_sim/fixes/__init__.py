"""The fixes: each engineering failure of 1 August 2012, mended the way the best teams do it.

Each fix is a real mechanism installed into a :class:`~smars_sim.engine.Simulation`
through its set-up hooks, never an ``if fix:`` that zeroes the loss:

* ``sim.set_builds(old, new)``: different builds (e.g. without Power Peg);
* ``sim.rlp_flag``: the key the RLP release reads;
* ``sim.deploy``: the deploy procedure (default: Knight's manual copy);
* ``sim.fleet.flags``: the flag store (any mapping name -> bool);
* ``sim.fleet.flag_guard``: may refuse a flag change, with a reason;
* ``sim.fleet.gate``: a pre-trade gate every child order passes;
* ``sim.call_at(time, callback)``: periodic checks;
* ``sim.fleet.pages``: ``(time, control, detail)`` when a control pages someone.

No fix is available yet; this module owns the list of fix names so that the CLI
and ``Scenario`` reject unknown names with one clear message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine import Simulation

__all__ = ["AVAILABLE", "install_fixes", "validate_fixes"]

#: Fix name -> installer ``install(sim)``.
REGISTRY: dict[str, Callable[[Simulation], None]] = {}

#: Fix names accepted by ``--fix`` and ``Scenario(fixes=...)``, in a fixed order.
AVAILABLE: tuple[str, ...] = tuple(REGISTRY)


def validate_fixes(fixes: Iterable[str]) -> None:
    """Raise ``ValueError`` if any fix name is unknown.

    Args:
        fixes: Fix names.
    """
    for name in fixes:
        if name not in REGISTRY:
            listed = ", ".join(REGISTRY) if REGISTRY else "none yet"
            raise ValueError(f"unknown fix {name!r}; available fixes: {listed}")


def install_fixes(sim: Simulation) -> None:
    """Install the scenario's fixes into a simulation, in ``AVAILABLE`` order."""
    for name in REGISTRY:
        if name in sim.scenario.fixes:
            REGISTRY[name](sim)
