"""Deleting Power Peg properly, step by step, with vulture's report after each step.

The first three steps are :func:`smars_sim.fixes.dead_code.vulture_demo`'s (as is, flag
read pinned, dead branch and export deleted); :func:`deletion_steps` adds the fourth:
deleting the function vulture then reports, Power Peg itself. Vulture is the dead-code
fix's own dependency; the package source is never touched (every step works on text).
"""

from __future__ import annotations

import ast
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.router import power_peg
from . import dead_code as dead

__all__ = ["DeletionStep", "delete_function", "deletion_steps", "vulture_findings"]


def vulture_findings(source: str, name: str = "router.py") -> list[str]:
    """What vulture reports (at any confidence) for module source text saved as ``name``."""
    from vulture import Vulture

    with tempfile.TemporaryDirectory(prefix="smars-course2-") as tmp:
        path = Path(tmp) / name
        path.write_text(source, encoding="utf-8")
        scanner = Vulture(verbose=False)
        scanner.scavenge([str(path)])
        return [
            item.get_report().replace(str(path), name)
            for item in scanner.get_unused_code(min_confidence=0)
        ]


def delete_function(source: str, name: str) -> str:
    """Delete a top-level function (with its decorators) from module source text.

    Raises:
        ValueError: If the source has no top-level function ``name``.
    """
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            lines = source.splitlines(keepends=True)
            end = node.end_lineno
            # also drop the blank lines that separated it from the next definition
            while end < len(lines) and not lines[end].strip():
                end += 1
            del lines[first - 1 : end]
            return "".join(lines)
    raise ValueError(f"no top-level function {name!r} in the source")


@dataclass(frozen=True, slots=True)
class DeletionStep:
    """One step of deleting Power Peg properly, with what vulture says after it.

    Attributes:
        name: The step's short name.
        change: What the step changed.
        source: The router module's text after the step.
        findings: Vulture's report lines after the step.
    """

    name: str
    change: str
    source: str
    findings: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        """What ``vulture`` exits with: 3 when it finds dead code, else 0."""
        return 3 if self.findings else 0


def deletion_steps(router: str | Path | None = None) -> list[DeletionStep]:
    """The Piranha-style clean-up of the real router module, with vulture after each step.

    The first three steps are :func:`smars_sim.fixes.dead_code.vulture_demo`'s (as is,
    flag read pinned, dead branch and export deleted). The fourth deletes the function
    vulture then reports: Power Peg itself. The package source is never touched.

    Args:
        router: The router module's path (default: the package's own).
    """
    demo = dead.vulture_demo(router)
    steps = [DeletionStep(s.name, s.change, s.source, tuple(s.findings)) for s in demo]
    last = delete_function(steps[-1].source, power_peg.__name__)
    steps.append(
        DeletionStep(
            "function deleted",
            f"the unused function `{power_peg.__name__}` deleted",
            last,
            tuple(vulture_findings(last)),
        )
    )
    return steps
