"""Helpers shared by the notebook tests of course parts 1 and 2."""

from __future__ import annotations

import ast
import builtins
import re

import nbformat


def cell_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names a cell defines, and names it reads."""
    defined, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (defined if isinstance(node.ctx, (ast.Store, ast.Del)) else used).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                defined.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return defined, used


def typed_numbers(nb: nbformat.NotebookNode, allowed: list[str]) -> list[tuple[list[str], str]]:
    """Numbers typed into Markdown cells, after removing the ``allowed`` patterns.

    Figures belong in code cells (loaded with their source, or computed), so a test
    expects an empty list. Returns ``(digits, start of the cell)`` per offending cell.
    """
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        for pattern in allowed:
            text = re.sub(pattern, " ", text, flags=re.MULTILINE)
        digits = re.findall(r"\S*\d\S*", text)
        if digits:
            found.append((digits, cell.source[:60]))
    return found


def names_not_from_setup(nb: nbformat.NotebookNode, setup_tag: str) -> list[tuple[list[str], str]]:
    """Names a code cell reads that neither it nor a set-up cell defines.

    A learner may run the cells after the set-up in any order, so each must depend only
    on the set-up cells. The first code cell must be one. A test expects an empty list.
    """
    cells = [c for c in nb.cells if c.cell_type == "code"]
    assert setup_tag in cells[0].metadata.get("tags", []), "first code cell must be the set-up"
    available = set(dir(builtins)) | {"display", "get_ipython"}
    found = []
    for cell in cells:
        defined, used = cell_names(ast.parse(cell.source))
        if setup_tag in cell.metadata.get("tags", []):
            available |= defined
            continue
        missing = used - defined - available
        if missing:
            found.append((sorted(missing), cell.source[:60]))
    return found
