"""q5 · Delete Power Peg: remove the dead path from a copy of the router, and prove it.

The learner loads a copy of ``smars_sim/core/router.py`` into a cell (``%load {ROUTER_PY}``),
deletes Power Peg from it and runs the cell. The checks find that cell through the
learner's ``route_rlp`` (IPython keeps every cell's text in ``linecache``), run its
text as a fresh module, and prove the deletion three ways:

* **the code**: no ``power_peg`` left, and the old build's router reads no flag, so no
  flag can switch anything back on; vulture, run on the cell, finds nothing;
* **the replay tests**: builds made from the learner's router replay the morning with
  exactly the executions of the ``dead-code`` fix (Power Peg deleted), and a normal
  day with exactly the executions of the original router (deleting dead code changes
  nothing that runs);
* **variants**: another flag name (the RLP release must still honour its flag), the
  real universe, a fleet where another server is stale.
"""

from __future__ import annotations

import ast
import linecache
import tempfile
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import router as _real_router
from ..core.builds import Build
from ..core.fleet import ParentOrder
from .learner import blame, blames_learner, call, test_case
from .scenarios import describe, replayed, scenario

if TYPE_CHECKING:
    from ..core.result import Result
    from ..core.scenario import Scenario

name = "q5"
title = "Delete Power Peg"
points = 9

#: The real router's source file: ``%load {ROUTER_PY}`` copies it into a cell.
ROUTER_PY = str(Path(_real_router.__file__).resolve())
#: The names the router cell must still define.
KEPT = ("route_rlp", "standard", "rlp")
_CELL = "<your router cell>"
_MISSING = (
    "Run the cell with `%load {ROUTER_PY}`: it turns into a copy of the router. Delete "
    "Power Peg from that copy, then run the cell (Shift+Enter)."
)


# --------------------------------------------------------------------------
# Finding and loading the learner's router cell
# --------------------------------------------------------------------------
def cell_text(anchor: Any) -> str:
    """The text of the cell (or file) that defined ``anchor`` (a function, or a module)."""
    if isinstance(anchor, types.ModuleType):
        return Path(anchor.__file__ or "").read_text(encoding="utf-8")
    if isinstance(anchor, str):
        return anchor
    code = getattr(anchor, "__code__", None)
    assert code is not None, f"route_rlp should be a function; it is a {type(anchor).__name__}."
    lines = linecache.getlines(code.co_filename)
    if not lines and Path(code.co_filename).is_file():
        lines = Path(code.co_filename).read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines, (
        "cannot find the cell that defines route_rlp; keep the whole router copy in one cell "
        "and run it."
    )
    return "".join(lines)


def load_router(text: str) -> types.ModuleType:
    """Run a router's text as a fresh module (a new copy for every check).

    Raises:
        LearnerError: If the text does not compile or run.
    """
    module = types.ModuleType("your_router")
    module.__file__ = _CELL
    lines = text.splitlines(keepends=True)
    linecache.cache[_CELL] = (len(text), None, lines, _CELL)
    try:
        exec(compile(text, _CELL, "exec"), module.__dict__)
    except Exception as exc:
        raise blame("your router cell", exc) from None
    missing = [n for n in KEPT if not callable(getattr(module, n, None))]
    assert not missing, (
        f"your router cell no longer defines {missing[0]}; delete only Power Peg and what "
        "exists for it (keep route_rlp, standard and rlp)."
    )
    return module


def _old_router(module: types.ModuleType) -> Any:
    """The old build's router: ``route_pre_rlp``, or ``route_without_flags`` if it was deleted."""
    router = getattr(module, "route_pre_rlp", None) or getattr(module, "route_without_flags", None)
    assert callable(router), (
        "your router cell defines neither route_pre_rlp nor route_without_flags: the old build "
        "needs a router (one that sends every order the standard way)."
    )
    return router


def builds(module: types.ModuleType, flag: str) -> tuple[Build, Build]:
    """The old build and the RLP release, made from the learner's router."""
    old = Build("your-2011.12-pre-rlp", _old_router(module), (module.standard,), flag)
    new = Build("your-2012.07-rlp", module.route_rlp, (module.standard, module.rlp), flag)
    return old, new


def _simulation_class() -> type:
    from ..fixes import Simulation

    class WithYourBuilds(Simulation):
        """The replay, with the learner's builds in place before the deploy."""

        def __init__(self, scenario: Scenario, old: Build, new: Build) -> None:
            self._your_builds = (old, new)
            super().__init__(scenario)

        def _manual_deploy(self) -> None:
            self.set_builds(*self._your_builds)
            super()._manual_deploy()

    return WithYourBuilds


def replay_with_router(router: Any, scenario_name: str = "small") -> Result:
    """Replay a named morning with builds made from a router (a cell's function, or text).

    Args:
        router: ``route_rlp`` from the router cell (or the module text itself).
        scenario_name: Which morning (see ``smars_sim.exercises.scenarios``).
    """
    module = load_router(cell_text(router))
    sc = scenario(scenario_name)
    old, new = builds(module, sc.flag)
    sim = _simulation_class()(sc, old, new)
    try:
        return sim.run()
    except Exception as exc:
        if blames_learner(exc) or isinstance(exc, RuntimeError):
            raise blame("your router (during the replay)", exc) from None
        raise


def vulture_findings(router: Any, min_confidence: int = 0) -> list[str]:
    """What vulture reports on a router: a cell's function, a module, or the text itself."""
    from vulture import Vulture  # a dependency of the package (the dead-code fix uses it)

    text = cell_text(router)
    with tempfile.TemporaryDirectory(prefix="smars-q5-") as tmp:
        path = Path(tmp) / "router.py"
        path.write_text(text, encoding="utf-8")
        scanner = Vulture(verbose=False)
        scanner.scavenge([str(path)])
        return [
            item.get_report().replace(str(path), "router.py")
            for item in scanner.get_unused_code(min_confidence=min_confidence)
        ]


# --------------------------------------------------------------------------
# Static proofs
# --------------------------------------------------------------------------
def _power_peg_lines(text: str) -> list[int]:
    """Lines where the code (not prose) still names power_peg."""
    tree = ast.parse(text)
    lines = set()
    for node in ast.walk(tree):
        if (
            (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "power_peg")
            or (isinstance(node, ast.Name) and node.id == "power_peg")
            or (isinstance(node, ast.Constant) and node.value == "power_peg")
            or (isinstance(node, ast.Attribute) and node.attr == "power_peg")
        ):
            lines.add(node.lineno)
    return sorted(lines)


def _flag_reads(text: str, function: str) -> list[int]:
    """Lines of ``function`` that use its first parameter (the flags mapping)."""
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function and node.args.args:
            flags = node.args.args[0].arg
            return sorted(
                {
                    n.lineno
                    for stmt in node.body
                    for n in ast.walk(stmt)
                    if isinstance(n, ast.Name) and n.id == flags
                }
            )
    return []


def _parent(retail: bool) -> ParentOrder:
    return ParentOrder(1, 0, 1, 100, 0, retail=retail, for_open=True)


def _path_name(path: Any) -> str:
    return getattr(path, "__name__", repr(path))


def _vulture_advice(finding: str) -> str:
    if "unused function" in finding or "unused class" in finding:
        return (
            "Nothing calls it: delete it (a name listed in __all__ counts as used, so a dead "
            "function still exported stays hidden)."
        )
    if "unsatisfiable" in finding or "unreachable" in finding:
        return "That branch can never run: delete it."
    if "unused import" in finding:
        return "Delete the import."
    return (
        "A name nobody reads: did an edit hard-code something the code should read from it "
        "(such as the flag)?"
    )


# --------------------------------------------------------------------------
# Replay proofs
# --------------------------------------------------------------------------
def _same_as(route_rlp: Any, scenario_name: str, fixes: tuple[str, ...], what: str) -> str:
    mine = replay_with_router(route_rlp, scenario_name)
    reference = replayed(scenario_name, fixes)
    peg = mine.summary.parent_orders
    assert peg == 0, (
        f"on {describe(scenario_name)}, Power Peg still worked {peg} orders with your router "
        f"(loss ${mine.summary.loss_usd:,.0f})."
    )
    a, b = mine.summary, reference.summary
    assert a.execution_digest == b.execution_digest, (
        f"on {describe(scenario_name)}, your router's replay differs from {what}: "
        f"{a.child_orders:,} child orders and {a.executions:,} executions, expected "
        f"{b.child_orders:,} and {b.executions:,}. Delete only Power Peg and the branch "
        "that calls it; leave standard, rlp and route_rlp as they were."
    )
    return f"{describe(scenario_name)}: {what}, loss ${a.loss_usd:,.0f}"


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------
@test_case("your router cell runs and keeps route_rlp, standard and rlp", missing_hint=_MISSING)
def the_cell_runs(route_rlp):
    _old_router(load_router(cell_text(route_rlp)))


@test_case("Power Peg is gone from the code", missing_hint=_MISSING)
def power_peg_is_gone(route_rlp):
    text = cell_text(route_rlp)
    lines = _power_peg_lines(text)
    assert not lines, (
        f"your router cell still names power_peg on line{'s' if len(lines) > 1 else ''} "
        f"{', '.join(map(str, lines))}: delete the function, the branch that returns it, and "
        "its entry in __all__."
    )


@test_case("the flag is gone: the old build's router reads no flag", missing_hint=_MISSING)
def the_flag_is_gone(route_rlp):
    text = cell_text(route_rlp)
    module = load_router(text)
    router = _old_router(module)
    reads = _flag_reads(text, router.__name__)
    assert not reads, (
        f"{router.__name__} still reads the flags on line {reads[0]}: with Power Peg gone "
        "there is nothing for a flag to switch on; delete the `if flags...` branch."
    )
    for retail in (True, False):
        got = call(router, {"powerpeg": True}, _parent(retail), "powerpeg", what=router.__name__)
        assert _path_name(got) == "standard", (
            f"with the flag on, {router.__name__} returned {_path_name(got)}; the old build "
            "should send every order the standard way."
        )


@test_case("vulture finds no dead code in your router cell", missing_hint=_MISSING)
def vulture_is_clean(route_rlp):
    findings = vulture_findings(route_rlp)
    assert not findings, (
        f"vulture reports {len(findings)} finding(s), first: {findings[0]}. "
        + _vulture_advice(findings[0])
    )
    return "vulture: no finding"


@test_case("replay of the small market: the executions of the dead-code fix", missing_hint=_MISSING)
def replay_matches_the_fix(route_rlp):
    return _same_as(route_rlp, "small", ("dead-code",), "the same executions as the dead-code fix")


@test_case("replay of a normal day: the executions of the original router", missing_hint=_MISSING)
def normal_day_unchanged(route_rlp):
    return _same_as(route_rlp, "small-noflag", (), "the same executions as the original router")


@test_case(hidden=True, variant=describe("small-newflag-stale1-seed4"), missing_hint=_MISSING)
def another_flag_name(route_rlp):
    module = load_router(cell_text(route_rlp))
    flag = "smars.legacy.peg"
    got = call(module.route_rlp, {flag: True}, _parent(True), flag, what="route_rlp")
    assert _path_name(got) == "rlp", (
        f"the RLP release reading the flag {flag!r} returned {_path_name(got)} for a retail "
        "order with the flag on; route_rlp must still read the key it is given (its `flag` "
        "parameter), whatever its name."
    )
    _same_as(route_rlp, "small-newflag-stale1-seed4", ("dead-code",), "the dead-code fix")


@test_case(
    hidden=True,
    variant="the real universe (154 stocks, 1% resolution), server 8 stale",
    missing_hint=_MISSING,
)
def the_real_universe(route_rlp):
    _same_as(route_rlp, "aug", ("dead-code",), "the dead-code fix")


@test_case(hidden=True, variant=describe("small-deployed-seed2"), missing_hint=_MISSING)
def normal_day_with_the_release(route_rlp):
    _same_as(route_rlp, "small-deployed-seed2", (), "the original router")
