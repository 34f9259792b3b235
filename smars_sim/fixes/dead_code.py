"""Fix ``dead-code``: Power Peg deleted when it was retired, and how a team finds such code.

The fix
    In this history Power Peg was deleted from the codebase in 2003, when Knight
    stopped using it (SEC order ¶14 says it was retired then; ¶13 that it instead
    "remained present and callable"). No later build contains it: the old build's
    router reads no flag and sends every order the standard way, and the RLP
    release does not carry the dead code either. The stale server then does
    something harmless (routes standard) instead of reviving a defective algorithm.

Detection (how a team would have found the dead code before it bit):

* :func:`coverage_report`: a code-path coverage report over a replayed production
  day, in the spirit of Meta's SCARF "dead in production" view (static reachability
  plus zero runtime hits). :func:`production_day` replays an ordinary day before
  the RLP release; Power Peg is compiled into every server's build yet has zero hits,
  which is exactly its profile from 2003 to 2012.
* :func:`vulture_demo`: the real `vulture <https://github.com/jendrikseipp/vulture>`_
  run on a copy of the real ``smars_sim/router.py`` in three steps. Vulture is silent
  while a flag read guards the call (statically, Power Peg is live). Pinning the
  retired flag's read to the literal ``False`` (the Uber Piranha approach) makes
  vulture report the unsatisfiable ``if`` at 100% confidence. Deleting that branch
  (and the now-dead export) makes it report ``power_peg`` as an unused function.

Modelled on vulture, coverage.py, Piranha and SCARF (the kit's reading of their
documentation).
"""

from __future__ import annotations

import ast
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.builds import old_build, rlp_build
from ..core.fleet import CHILD_FIELDS, PATH_CODES

if TYPE_CHECKING:
    from ..core.engine import Simulation
    from ..core.scenario import Scenario

__all__ = [
    "ACTOR",
    "CoverageReport",
    "PathHits",
    "VultureStep",
    "coverage_report",
    "delete_dead_branch",
    "install",
    "pin_flag_read",
    "production_day",
    "vulture_demo",
]

#: This fix's name in the registry (``smars_sim.fixes.SPECS``) and on its timeline entries.
NAME = "dead-code"
#: The timeline actor of the fix (it acts once, before the day: Power Peg is deleted).
ACTOR = "codebase"

_PATH_NAMES = {code: name for name, code in PATH_CODES.items()}
_PARENT, _PATH = CHILD_FIELDS.index("parent_id"), CHILD_FIELDS.index("path")
_WIDTH = len(CHILD_FIELDS)


def install(sim: Simulation) -> None:
    """Install the fix: builds without Power Peg, for the old build and the release alike.

    The flag each build reads is kept, so the fix composes with ``flag-registry``
    (installed after it, it only changes the key the release reads).
    """
    old = old_build(with_power_peg=False, flag=sim.old_build.flag)
    new = rlp_build(with_power_peg=False, flag=sim.new_build.flag)
    sim.set_builds(old, new)
    sim.fleet.note(
        0,
        ACTOR,
        "Power Peg deleted",
        0,
        f"deleted when retired in 2003 (this history): {old.version} ({old.short_hash}) "
        f"and {new.version} ({new.short_hash}) contain no Power Peg",
        control=NAME,
    )


# --------------------------------------------------------------------------
# Detection 1: code-path coverage over a replayed production day.
# --------------------------------------------------------------------------
@dataclass(slots=True)
class PathHits:
    """How often one code path ran on one server.

    Attributes:
        server: Server number (1-based).
        build: The build on the server at the end of the day.
        path: Code path name.
        compiled: Whether the path is compiled into that build.
        parents: Parent orders whose (last) routing chose this path on this server.
        child_orders: Child orders this path sent from this server.
    """

    server: int
    build: str
    path: str
    compiled: bool
    parents: int
    child_orders: int

    @property
    def hits(self) -> int:
        """Parents routed plus child orders sent: zero means the path never ran."""
        return self.parents + self.child_orders


@dataclass(slots=True)
class CoverageReport:
    """Code-path coverage of a replayed day, per server.

    Attributes:
        rows: One row per (server, path) for every path compiled into the server's
            build or seen in the logs.
    """

    rows: list[PathHits] = field(default_factory=list)

    def hits(self, path: str) -> int:
        """Total hits of a code path over every server."""
        return sum(row.hits for row in self.rows if row.path == path)

    def candidates(self) -> list[str]:
        """Paths compiled into some build that never ran anywhere: dead-code candidates.

        As with coverage.py, a zero is only evidence: a path may be meant for a day
        the replay did not contain. Each candidate needs an owner who deletes it or
        justifies keeping it.
        """
        compiled = sorted({row.path for row in self.rows if row.compiled})
        return [path for path in compiled if self.hits(path) == 0]

    def format(self) -> str:
        """The report as a text table."""
        lines = [f"{'server':>6}  {'build':<24} {'path':<10} {'parents':>8} {'children':>9}"]
        for r in self.rows:
            mark = "  <- never ran" if r.compiled and r.hits == 0 else ""
            lines.append(
                f"{r.server:>6}  {r.build:<24} {r.path:<10} {r.parents:>8} "
                f"{r.child_orders:>9}{mark}"
            )
        lines.append("dead-code candidates: " + (", ".join(self.candidates()) or "none"))
        return "\n".join(lines)


def coverage_report(sim: Simulation) -> CoverageReport:
    """Which code paths ran, and how often, on each server of a replayed day.

    It reads the replay's own logs, as a production coverage job reads logs, rather
    than instrumenting the hot path: each parent order records the path its
    (last) routing chose, and each child order in the child-order log records the
    path that sent it. The compiled paths come from each server's build at the end
    of the day.

    Args:
        sim: A simulation, normally run to its end.

    Returns:
        The report; :meth:`CoverageReport.candidates` lists the never-run paths.
    """
    fleet = sim.fleet
    parents = fleet.parents
    routed = Counter((p.server, p.path) for p in parents.values() if p.path)
    children = fleet.children
    sent: Counter[tuple[int, str]] = Counter()
    for parent_id, code in zip(children[_PARENT::_WIDTH], children[_PATH::_WIDTH], strict=True):
        sent[(parents[parent_id].server, _PATH_NAMES[code])] += 1
    report = CoverageReport()
    for server in fleet.servers:
        compiled = server.build.path_names
        seen = {path for (sid, path) in routed | sent if sid == server.id}
        for path in sorted(set(compiled) | seen):
            report.rows.append(
                PathHits(
                    server.id,
                    server.build.version,
                    path,
                    path in compiled,
                    routed[(server.id, path)],
                    sent[(server.id, path)],
                )
            )
    return report


def production_day(scenario: Scenario) -> Simulation:
    """Replay an ordinary production day before the RLP release, and return it.

    Every server runs the old build (nobody deploys anything), nobody turns a flag
    on, and nobody intervenes: the day the coverage report should have been read
    on. The market, the orders and the seed are the scenario's.

    Args:
        scenario: The scenario whose market and order flow to use.

    Returns:
        The finished simulation (pass it to :func:`coverage_report`).
    """
    from . import Simulation

    day = scenario.with_(
        stale_servers=tuple(range(1, scenario.servers + 1)),  # the release reaches no server
        flag_on_at=None,  # the flag stays off all day
        rollback_at=None,
        stop_all_at=None,
        halt_at=None,
        kill_at=None,
        fixes=(),
    )
    sim = Simulation(day)
    sim.run()
    return sim


# --------------------------------------------------------------------------
# Detection 2: vulture on the real router, Piranha-style.
# --------------------------------------------------------------------------
@dataclass(slots=True)
class VultureStep:
    """One run of vulture in the demonstration.

    Attributes:
        name: ``"as is"``, ``"flag read pinned"`` or ``"branch deleted"``.
        change: What was changed in the source before this run.
        source: The source text vulture scanned.
        findings: Vulture's report lines (``file:line: message (confidence)``).
        exit_code: What ``python -m vulture`` would exit with: 3 when it finds
            dead code (a usable CI gate), 0 otherwise.
    """

    name: str
    change: str
    source: str
    findings: list[str]
    exit_code: int

    def mentions(self, text: str) -> bool:
        """Whether any finding mentions ``text`` (e.g. ``"power_peg"``)."""
        return any(text in line for line in self.findings)


def _function(tree: ast.Module, name: str) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise ValueError(f"no function {name!r} in the source")


def _is_flag_read(node: ast.expr, flags: str) -> bool:
    """``flags.get(...)`` or ``flags[...]``: a read of the flag mapping named ``flags``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        target = node.func.value
        return node.func.attr == "get" and isinstance(target, ast.Name) and target.id == flags
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == flags
    )


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line numbers index it)."""
    starts = [0, 0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _span(source: str, node: ast.expr | ast.stmt) -> tuple[int, int]:
    """The character offsets ``[begin, end)`` of a node in ``source``."""
    assert node.end_lineno is not None and node.end_col_offset is not None
    starts = _offsets(source)
    return starts[node.lineno] + node.col_offset, starts[node.end_lineno] + node.end_col_offset


def _splice(source: str, node: ast.expr, text: str) -> str:
    """Replace the exact source span of ``node`` with ``text``."""
    begin, end = _span(source, node)
    return source[:begin] + text + source[end:]


def pin_flag_read(
    source: str, function: str = "route_pre_rlp", flags: str = "flags", value: bool = False
) -> str:
    """Piranha-style: replace the flag read in an ``if`` test of ``function`` with a literal.

    Uber's Piranha takes a stale flag and its final treatment and rewrites the flag
    API call to that constant. Here the flag is retired and stays off, so
    ``if flags.get(flag, False):`` becomes ``if False:``. Only the exact source span
    of the test changes; comments and formatting elsewhere are kept.

    Args:
        source: Module source text.
        function: The function whose flag-guarded ``if`` to pin.
        flags: Name of the flag mapping parameter.
        value: The flag's final value.

    Returns:
        The rewritten source.

    Raises:
        ValueError: If the function has no ``if`` whose test reads the flags.
    """
    tree = ast.parse(source)
    for node in ast.walk(_function(tree, function)):
        if isinstance(node, ast.If) and _is_flag_read(node.test, flags):
            return _splice(source, node.test, repr(bool(value)))
    raise ValueError(f"no `if {flags}...:` flag read in {function!r} to pin")


def delete_dead_branch(source: str, function: str = "route_pre_rlp") -> str:
    """Delete an ``if False:`` branch from ``function`` and cascade the clean-up.

    Piranha follows the pinned constant: it deletes the branch that can no longer
    run, then what that deletion left dead. Here that is the export: a name listed
    in ``__all__`` counts as used (for vulture and for any importer), so a function
    that is only exported stays "present and callable", as Power Peg did. Every
    function called only from the deleted branch is dropped from ``__all__``; the
    function itself is left for the next step (vulture reports it, a person deletes it).

    Args:
        source: Module source text (after :func:`pin_flag_read`).
        function: The function holding the branch.

    Returns:
        The rewritten source.

    Raises:
        ValueError: If there is no ``if False:`` branch without ``else`` in the function.
    """
    tree = ast.parse(source)
    branch = next(
        (
            node
            for node in ast.walk(_function(tree, function))
            if isinstance(node, ast.If)
            and isinstance(node.test, ast.Constant)
            and node.test.value is False
            and not node.orelse
        ),
        None,
    )
    if branch is None:
        raise ValueError(f"no `if False:` branch (without else) in {function!r} to delete")
    in_branch = {n.id for n in ast.walk(branch) if isinstance(n, ast.Name)}
    lines = source.splitlines(keepends=True)
    del lines[branch.lineno - 1 : branch.end_lineno]
    source = "".join(lines)
    # Cascade: names whose only use was the deleted branch lose their export.
    tree = ast.parse(source)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    orphans = in_branch - used
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            # Delete from the last element backwards so earlier offsets stay valid.
            for element in reversed(node.value.elts):
                if isinstance(element, ast.Constant) and element.value in orphans:
                    source = _drop_element(source, element)
    return source


def _drop_element(source: str, element: ast.expr) -> str:
    """Remove one element of a list display, with its comma (and its line if alone)."""
    lines = source.splitlines(keepends=True)
    text = lines[element.lineno - 1]
    stripped = text.strip()
    if element.lineno == element.end_lineno and stripped.rstrip(",") == ast.unparse(element):
        del lines[element.lineno - 1]  # one element per line (ruff format's layout)
        return "".join(lines)
    begin, end = _span(source, element)
    while end < len(source) and source[end] in ", ":
        end += 1
    return source[:begin] + source[end:]


def _vulture(path: Path, min_confidence: int) -> list[str]:
    from vulture import Vulture  # a project dependency, used only by this detector

    scanner = Vulture(verbose=False)
    scanner.scavenge([str(path)])
    return [
        item.get_report().replace(str(path), path.name)
        for item in scanner.get_unused_code(min_confidence=min_confidence)
    ]


def vulture_demo(router: str | Path | None = None, min_confidence: int = 0) -> list[VultureStep]:
    """Run the real vulture on a copy of the real router module, in three steps.

    1. **As is.** ``route_pre_rlp`` returns ``power_peg`` under
       ``if flags.get(flag, False):``. Statically that is a live call, so vulture
       reports nothing about Power Peg: it was "present and callable" (SEC ¶13).
    2. **Flag read pinned.** The retired flag is pinned to ``False`` (Piranha). Vulture
       now reports the unsatisfiable ``if`` at 100% confidence, and ``--min-confidence
       100`` in CI would fail the build (exit code 3).
    3. **Branch deleted.** The dead branch and the now-dead export go. Vulture reports
       ``power_peg`` as an unused function (60%): delete it, and the fix is done.

    The copies live in a temporary directory; the package source is never touched.

    Args:
        router: The module to analyse (default: this package's ``router.py``).
        min_confidence: Vulture's ``--min-confidence``.

    Returns:
        The three steps, in order.
    """
    path = Path(router) if router is not None else Path(__file__).parents[1] / "core" / "router.py"
    original = path.read_text(encoding="utf-8")
    pinned = pin_flag_read(original)
    deleted = delete_dead_branch(pinned)
    plan = [
        ("as is", "none: the real router module", original),
        ("flag read pinned", "`if flags.get(flag, False):` -> `if False:`", pinned),
        (
            "branch deleted",
            "the `if False:` branch deleted, and its now-dead export in __all__",
            deleted,
        ),
    ]
    steps = []
    with tempfile.TemporaryDirectory(prefix="smars-vulture-") as tmp:
        for i, (name, change, text) in enumerate(plan, start=1):
            copy = Path(tmp) / f"step{i}" / path.name
            copy.parent.mkdir()
            copy.write_text(text, encoding="utf-8")
            findings = _vulture(copy, min_confidence)
            steps.append(VultureStep(name, change, text, findings, 3 if findings else 0))
    return steps
