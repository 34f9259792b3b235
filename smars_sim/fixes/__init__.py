"""The fixes: each engineering failure of 1 August 2012, mended the way the best teams do it.

Each fix is a real mechanism installed into a :class:`~smars_sim.core.engine.Simulation`
through its set-up hooks, never an ``if fix:`` that zeroes the loss:

* ``sim.set_builds(old, new)``: different builds (e.g. without Power Peg);
* ``sim.rlp_flag``: the key the RLP release reads;
* ``sim.deploy``: the deploy procedure (default: Knight's manual copy);
* ``sim.fleet.flags``: the flag store (any mapping name -> bool);
* ``sim.fleet.flag_guard``: may refuse a flag change, with a reason;
* ``sim.fleet.gate``: a pre-trade gate every child order passes;
* ``sim.call_at(time, callback)``: periodic checks;
* ``sim.fleet.pages``: ``(time, control, detail)`` when a control pages someone.

The four fixes, installed in this order (each may build on the ones before it):

* ``dead-code`` (:mod:`.dead_code`): Power Peg was deleted when it was retired;
* ``flag-registry`` (:mod:`.flag_registry`): flags with a lifecycle, single-use keys,
  evaluated through OpenFeature;
* ``verified-deploy`` (:mod:`.verified_deploy`): automated deploy, fleet hash check, canary;
* ``kill-switch`` (:mod:`.kill_switch`): pre-trade risk gate and a fleet-wide kill switch.

The modules are imported only when a fix is installed: the simulation core stays pure
standard library (``flag-registry`` needs ``openfeature-sdk``, the dead-code detector
needs ``vulture``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.engine import Simulation

__all__ = ["AVAILABLE", "REGISTRY", "install_fixes", "validate_fixes"]


def _lazy(module: str) -> Callable[[Simulation], None]:
    """An installer that imports ``smars_sim.fixes.<module>`` only when it is used."""

    def install(sim: Simulation) -> None:
        importlib.import_module(f"{__name__}.{module}").install(sim)

    install.__qualname__ = install.__name__ = f"install_{module}"
    install.__doc__ = f"Install the fix in :mod:`smars_sim.fixes.{module}`."
    return install


#: Fix name -> installer ``install(sim)``, in installation order.
REGISTRY: dict[str, Callable[[Simulation], None]] = {
    "dead-code": _lazy("dead_code"),
    "flag-registry": _lazy("flag_registry"),
    "verified-deploy": _lazy("verified_deploy"),
    "kill-switch": _lazy("kill_switch"),
}

#: Fix names accepted by ``--fix`` and ``Scenario(fixes=...)``, in a fixed order.
AVAILABLE: tuple[str, ...] = tuple(REGISTRY)


def validate_fixes(fixes: Iterable[str]) -> None:
    """Raise ``ValueError`` if any fix name is unknown or repeated.

    Args:
        fixes: Fix names.
    """
    seen: set[str] = set()
    for name in fixes:
        if name not in REGISTRY:
            listed = ", ".join(REGISTRY) if REGISTRY else "none yet"
            raise ValueError(f"unknown fix {name!r}; available fixes: {listed}")
        if name in seen:
            raise ValueError(f"fix {name!r} is given twice; give each fix once")
        seen.add(name)


def install_fixes(sim: Simulation) -> None:
    """Install the scenario's fixes into a simulation, in ``AVAILABLE`` order.

    A manual kill time (``Scenario.kill_at``) without the ``kill-switch`` fix installs
    the fleet-wide kill switch alone, with no automated trigger: "what if someone
    had had a kill button and pressed it then".
    """
    for name in REGISTRY:
        if name in sim.scenario.fixes:
            REGISTRY[name](sim)
    if sim.scenario.kill_at is not None and "kill-switch" not in sim.scenario.fixes:
        from .kill_switch import install_manual_kill

        install_manual_kill(sim)
