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
* ``sim.fleet.pages``: ``(time, control, detail)`` when a control pages someone;
* ``sim.fleet.note(..., control=NAME)``: a timeline entry that says the fix acted.

Adding a fix means one module with ``NAME`` and ``install(sim)``, and one
:class:`FixSpec` in :data:`SPECS`: the CLI's ``--fix``, ``whatif`` and the course read
the registry and never match names or texts of their own. The fixes are installed in
the order of :data:`SPECS` (each may build on the ones before it).

The modules are imported only when a fix is installed: the simulation core stays pure
standard library (``flag-registry`` needs ``openfeature-sdk``, the dead-code detector
needs ``vulture``). This package's :class:`Simulation` and :func:`replay` are the
core's, with the registry's installers passed in; the package root exports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.engine import Simulation as _CoreSimulation
from ..core.result import Result
from ..core.scenario import Scenario, register_fix_check

__all__ = [
    "AVAILABLE",
    "REGISTRY",
    "SPECS",
    "FixSpec",
    "Simulation",
    "install_fixes",
    "replay",
    "spec",
    "validate_fixes",
]


@dataclass(frozen=True, slots=True)
class FixSpec:
    """One fix, declared once: everything the CLI, ``whatif`` and the course need.

    Attributes:
        name: The fix's name (``--fix NAME``, ``Scenario(fixes=...)``).
        mends: The failure of 1 August 2012 it mends, in a few words.
        does: What it does, in one sentence.
        module: Its module under ``smars_sim.fixes``, with ``NAME`` and ``install(sim)``.
        control: What acts when it works (the timeline's ``control`` field of its entries).
        params: ``"module:Class"`` of its parameters, a dataclass with ``validate()``
            and ``parse(pairs)``, given as ``Scenario.fix_params[name]`` (empty: none).
        cli_option: The CLI option that sets one parameter, ``key=value`` (repeatable).
    """

    name: str
    mends: str
    does: str
    module: str
    control: str
    params: str = ""
    cli_option: str = ""

    def load(self) -> Any:
        """The fix's module (imported now: it may need the fix's own dependency)."""
        return importlib.import_module(f"{__name__}.{self.module}")

    def install(self, sim: _CoreSimulation) -> None:
        """Install the fix into a simulation."""
        self.load().install(sim)

    def params_type(self) -> type | None:
        """The class of the fix's parameters, or ``None`` if it takes none."""
        if not self.params:
            return None
        module, _, cls = self.params.partition(":")
        found: type = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
        return found


#: Every fix, in installation order.
SPECS: tuple[FixSpec, ...] = (
    FixSpec(
        name="dead-code",
        mends="dead code left in the binary",
        does="Power Peg is deleted when it is retired, so no build contains it.",
        module="dead_code",
        control="dead-code",
    ),
    FixSpec(
        name="flag-registry",
        mends="a feature flag reused",
        does="Flags have a lifecycle and single-use keys, evaluated through OpenFeature.",
        module="flag_registry",
        control="flag-registry",
    ),
    FixSpec(
        name="verified-deploy",
        mends="no deployment verification",
        does="An automated deploy checks every server's build hash, behind a canary.",
        module="verified_deploy",
        control="verified-deploy",
    ),
    FixSpec(
        name="kill-switch",
        mends="no kill switch",
        does="A pre-trade risk gate on every child order and one action that halts the fleet.",
        module="kill_switch",
        control="kill-switch",
        params="kill_switch:RiskLimits",
        cli_option="--limit",
    ),
)

#: Fix name -> installer ``install(sim)``, in installation order.
REGISTRY: dict[str, Callable[[_CoreSimulation], None]] = {s.name: s.install for s in SPECS}

#: Fix names accepted by ``--fix`` and ``Scenario(fixes=...)``, in a fixed order.
AVAILABLE: tuple[str, ...] = tuple(REGISTRY)

_BY_NAME = {s.name: s for s in SPECS}


def spec(name: str) -> FixSpec:
    """The registry entry of a fix.

    Raises:
        ValueError: If no fix has that name.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown fix {name!r}; available fixes: {', '.join(AVAILABLE)}") from None


def validate_fixes(fixes: Iterable[str], params: Mapping[str, object] | None = None) -> None:
    """Raise ``ValueError`` if a fix name is unknown or repeated, or a fix's parameters
    are not of the class its registry entry declares.

    Args:
        fixes: Fix names.
        params: ``Scenario.fix_params``.
    """
    seen: set[str] = set()
    for name in fixes:
        spec(name)
        if name in seen:
            raise ValueError(f"fix {name!r} is given twice; give each fix once")
        seen.add(name)
    for name, value in (params or {}).items():
        expected = spec(name).params_type()
        if expected is None:
            raise ValueError(f"fix-params: fix {name!r} takes no parameters")
        if not isinstance(value, expected):
            raise ValueError(
                f"fix-params[{name!r}] is a {type(value).__name__}; "
                f"allowed: a {expected.__name__} (smars_sim.fixes.{spec(name).params})"
            )


register_fix_check(validate_fixes)


def install_fixes(sim: _CoreSimulation) -> None:
    """Install the scenario's fixes into a simulation, in registry order.

    A manual kill time (``Scenario.kill_at``) without the ``kill-switch`` fix installs
    the fleet-wide kill switch alone, with no automated trigger: "what if someone
    had had a kill button and pressed it then".
    """
    scenario = sim.scenario
    validate_fixes(scenario.fixes, scenario.fix_params)
    for entry in SPECS:
        if entry.name in scenario.fixes:
            entry.install(sim)
    if scenario.kill_at is not None and "kill-switch" not in scenario.fixes:
        from .kill_switch import install_manual_kill

        install_manual_kill(sim)


class Simulation(_CoreSimulation):
    """The core's step-wise :class:`~smars_sim.core.engine.Simulation`, with the fixes.

    Args:
        scenario: What to replay; its ``fixes`` are installed from the registry.
        progress: Optional callback ``progress(fraction_done)``.
    """

    def __init__(self, scenario: Scenario, progress: Callable[[float], None] | None = None) -> None:
        super().__init__(scenario, progress, install=install_fixes)


def replay(scenario: Scenario, progress: Callable[[float], None] | None = None) -> Result:
    """Replay a scenario from start to end, with its fixes installed.

    Args:
        scenario: What to replay.
        progress: Optional callback ``progress(fraction_done)``.

    Returns:
        The :class:`~smars_sim.core.result.Result`.
    """
    return Simulation(scenario, progress).run()
