"""The package's layers: each imports only the layers below it, and nothing imports in a cycle.

core (standard library only) < fixes < analysis (pandas) < viz (altair) < ui (ipywidgets)
< course and exercises. ``smars_sim/__init__.py`` is the public face of the core and the
fixes; ``cli.py`` sits on top of core, fixes and analysis. Every runtime import counts: at
module level and inside functions (those under ``if TYPE_CHECKING:`` do not run, so they
are left out). See docs/architecture.md.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "smars_sim"

#: Layer of each part of the package, lowest first.
LAYERS = {"core": 0, "fixes": 1, "analysis": 2, "viz": 3, "ui": 4, "course": 5, "exercises": 5}
#: The package's top-level modules, with the highest layer each may import.
TOP = {"smars_sim": 1, "smars_sim.cli": 2}
#: Third-party packages a layer may import (each layer may also use those of the layers below).
THIRD_PARTY = {
    0: set(),
    1: {"openfeature", "vulture"},
    2: {"numpy", "pandas", "pyarrow"},
    3: {"altair"},
    4: {"ipywidgets", "IPython", "anywidget", "traitlets"},
    5: set(),
}
#: Biggest module a reader should meet (the guide's target is about 500 lines).
MAX_LINES = 800


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(path: Path, module: str | None = None) -> set[str]:
    """Absolute names of everything ``path`` (the module ``module``) imports when it runs."""
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                if node.module:
                    found.add(f"{prefix}.{node.module}")
                else:  # from . import a, b: the names are submodules
                    found.update(f"{prefix}.{alias.name}" for alias in node.names)
            else:
                assert node.module is not None
                found.add(node.module)
                if node.module.startswith("smars_sim"):
                    found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The package module an import names (``smars_sim.core.fmt.usd`` -> ``...fmt``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _layer(module: str) -> int:
    if module in TOP:
        return TOP[module]
    return LAYERS[module.split(".")[1]]


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = set()
        for name in _runtime_imports(path):
            if name.startswith("smars_sim"):
                target = _resolve(name)
                if target is not None and target != module:
                    targets.add(target)
        edges[module] = targets
    return edges


def test_every_module_belongs_to_a_layer() -> None:
    stray = [m for m in MODULES if m not in TOP and m.split(".")[1] not in LAYERS]
    assert not stray, f"modules outside the layers (add them to a layer): {stray}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_its_layer_and_those_below(module: str) -> None:
    layer = _layer(module)
    allowed_third = set().union(*(THIRD_PARTY[i] for i in range(layer + 1)))
    problems = []
    for name in sorted(_runtime_imports(MODULES[module])):
        top = name.split(".")[0]
        if top == "smars_sim":
            target = _resolve(name)
            if target is not None and target != module and _layer(target) > layer:
                problems.append(f"{name} (layer {_layer(target)} > {layer})")
        elif top not in sys.stdlib_module_names | {"__future__"} | allowed_third:
            problems.append(f"{name} (third-party, not allowed in layer {layer})")
    assert not problems, f"{module} imports upward or outside its layer: {problems}"


def test_core_imports_only_the_standard_library_and_itself() -> None:
    for module, path in MODULES.items():
        if not module.startswith("smars_sim.core"):
            continue
        for name in _runtime_imports(path):
            top = name.split(".")[0]
            assert (
                top in sys.stdlib_module_names
                or top == "__future__"
                or (name.startswith("smars_sim.core"))
            ), f"{module} imports {name}"


def test_no_import_cycle() -> None:
    edges = _edges()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            cycle = walk(start)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_800_lines(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most {MAX_LINES})"


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    """The rule itself: an import inside a function counts, one under TYPE_CHECKING does not."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import pandas\n"
        "def f():\n"
        "    from ..fixes import install_fixes\n",
        encoding="utf-8",
    )
    names = _runtime_imports(probe, module="smars_sim.core.probe")
    assert "smars_sim.fixes" in names
    assert "pandas" not in names
