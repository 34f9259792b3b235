"""Build the exercise notebooks from their sources, check they are in sync, and reset them.

Layout (under ``exercises/`` at the top of the repository):

* ``source/NN_name.ipynb``: the one source of each exercise, solutions included;
* ``NN_name.ipynb``: the learner's version, generated (byte-deterministic);
* ``solutions/NN_name.ipynb``: the solution, generated then run in a fresh kernel
  (execution counts 1..N, no widget state), for nbval and for instructors;
* ``backups/``: learners' attempts kept by ``reset``.

Markers in a source cell (nbgrader's and otter's names):

* ``### BEGIN SOLUTION`` / ``### END SOLUTION``: the solution. The learner's version
  gets the prompt block just before it, or else a ``raise NotImplementedError(...)``
  stub at the marker's indentation.
* ``### BEGIN PROMPT`` / ``### END PROMPT``: what the learner sees instead of the
  solution that follows (a stub saying what to write). Dropped from the solution.

Cell tags in a source: ``solution-only`` and ``learner-only`` keep a cell in one
version only; ``raises-in-learner`` becomes ``raises-exception`` in the learner's
version (a cell that calls a stub), and is dropped from the solution. A cell whose
learner version has a stub at the top level is tagged ``raises-exception`` too.

This module needs ``nbformat``; running the solutions needs ``nbclient`` and a kernel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Exercise",
    "build",
    "drift",
    "exercises",
    "learner_notebook",
    "reset",
    "solution_notebook",
]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_PROMPT, END_PROMPT = "### BEGIN PROMPT", "### END PROMPT"
SOLUTION_ONLY, LEARNER_ONLY = "solution-only", "learner-only"
RAISES_IN_LEARNER, RAISES = "raises-in-learner", "raises-exception"
_SOURCE_TAGS = {SOLUTION_ONLY, LEARNER_ONLY, RAISES_IN_LEARNER}
DEFAULT_STUB = 'raise NotImplementedError("write your answer here")'
MARKDOWN_STUB = "_Your answer here._"
#: Notebook metadata kept in generated notebooks (anything else a source has is dropped).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ENV_ROOT = "SMARS_EXERCISES_DIR"


def root() -> Path:
    """The ``exercises/`` folder: ``$SMARS_EXERCISES_DIR``, else next to the package."""
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2] / "exercises"  # tools/exercise_builder/ -> repo


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise's files."""

    stem: str
    folder: Path

    @property
    def source(self) -> Path:
        """The source, with solutions."""
        return self.folder / "source" / f"{self.stem}.ipynb"

    @property
    def learner(self) -> Path:
        """The learner's version."""
        return self.folder / f"{self.stem}.ipynb"

    @property
    def solution(self) -> Path:
        """The executed solution."""
        return self.folder / "solutions" / f"{self.stem}.ipynb"


def exercises(folder: Path | None = None) -> list[Exercise]:
    """Every exercise with a source, in order."""
    folder = folder or root()
    return [Exercise(p.stem, folder) for p in sorted((folder / "source").glob("[0-9]*.ipynb"))]


def find(key: str, folder: Path | None = None) -> Exercise:
    """An exercise by number, question key or name (``1``, ``01``, ``q1``, ``01_rogue_server``).

    Raises:
        ValueError: If there is no such exercise.
    """
    all_ = exercises(folder)
    text = str(key).strip().lower().removesuffix(".ipynb").rsplit("/", 1)[-1]
    if text.startswith("q") and text[1:].isdigit():
        text = text[1:]
    for ex in all_:
        number = ex.stem.split("_", 1)[0]
        if text in (ex.stem, number, number.lstrip("0"), ex.stem.split("_", 1)[-1]):
            return ex
    names = ", ".join(ex.stem for ex in all_) or "none"
    raise ValueError(f"there is no exercise {key!r}; exercises: {names}")


# --------------------------------------------------------------------------
# Transforming sources
# --------------------------------------------------------------------------
def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _split(source: str, markdown: bool) -> tuple[str, str, bool]:
    """``(learner text, solution text, learner has a top-level stub)`` of one cell's source."""
    learner: list[str] = []
    solution: list[str] = []
    state = "both"  # both | prompt | solution
    prompt_given = False
    top_level_stub = False
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker.startswith(BEGIN_PROMPT):
            if state != "both":
                raise ValueError(f"line {number}: {BEGIN_PROMPT} inside another block")
            state, prompt_given = "prompt", True
            continue
        if marker.startswith(END_PROMPT):
            if state != "prompt":
                raise ValueError(f"line {number}: {END_PROMPT} without {BEGIN_PROMPT}")
            state = "both"
            continue
        if marker.startswith(BEGIN_SOLUTION):
            if state != "both":
                raise ValueError(f"line {number}: {BEGIN_SOLUTION} inside another block")
            state = "solution"
            if not prompt_given:
                stub = MARKDOWN_STUB if markdown else DEFAULT_STUB
                learner.append(_indent(line) + stub)
                top_level_stub = top_level_stub or (not markdown and not _indent(line))
            prompt_given = False
            continue
        if marker.startswith(END_SOLUTION):
            if state != "solution":
                raise ValueError(f"line {number}: {END_SOLUTION} without {BEGIN_SOLUTION}")
            state = "both"
            continue
        if state == "both":
            if prompt_given and marker:
                raise ValueError(f"line {number}: a prompt block must be followed by a solution")
            learner.append(line)
            solution.append(line)
        elif state == "prompt":
            learner.append(line)
            if not markdown and line.startswith("raise NotImplementedError"):
                top_level_stub = True
        else:
            solution.append(line)
    if state != "both":
        raise ValueError(f"unclosed {state} block")
    return "\n".join(learner), "\n".join(solution), top_level_stub


def _cell(kind: str, cell_id: str, source: str, tags: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"tags": tags} if tags else {}
    cell: dict[str, Any] = {
        "cell_type": kind,
        "id": cell_id,
        "metadata": metadata,
        "source": source,
    }
    if kind == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def _notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _source_cells(path: Path) -> list[dict[str, Any]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    seen: set[str] = set()
    for cell in cells:
        cell_id = cell.get("id")
        if not cell_id or cell_id in seen:
            raise ValueError(f"{path.name}: every cell needs a unique id (found {cell_id!r})")
        seen.add(cell_id)
    return cells


def _text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _versions(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    learner, solution = [], []
    for cell in _source_cells(path):
        kind = cell["cell_type"]
        tags = list(cell.get("metadata", {}).get("tags", []))
        keep = [t for t in tags if t not in _SOURCE_TAGS]
        try:
            for_learner, for_solution, stub = _split(_text(cell), markdown=kind != "code")
        except ValueError as exc:
            raise ValueError(f"{path.name}, cell {cell['id']}: {exc}") from None
        if SOLUTION_ONLY not in tags:
            learner_tags = list(keep)
            if kind == "code" and (stub or RAISES_IN_LEARNER in tags) and RAISES not in keep:
                learner_tags.append(RAISES)
            learner.append(_cell(kind, cell["id"], for_learner, learner_tags))
        if LEARNER_ONLY not in tags:
            solution.append(_cell(kind, cell["id"], for_solution, keep))
    return learner, solution


def _dumps(nb: dict[str, Any]) -> str:
    import nbformat

    node = nbformat.from_dict(nb)
    nbformat.validate(node)
    return nbformat.writes(node) + "\n"


def learner_notebook(source: Path) -> str:
    """The learner's version of a source notebook, as the exact text to write."""
    learner, _ = _versions(source)
    return _dumps(_notebook(learner))


def solution_notebook(source: Path) -> dict[str, Any]:
    """The solution version of a source notebook (not yet run).

    A source is written for ``exercises/`` (where the learner's version lives); the
    solution lives one folder deeper, so its relative links get one more ``../``.
    """
    _, solution = _versions(source)
    nb = _notebook(solution)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = _text(cell)
            deeper = re.sub(r"\]\((?![a-z]+:|#|/)", "](../", text)
            if deeper != text:
                keep_list = isinstance(cell["source"], list)
                cell["source"] = deeper.splitlines(keepends=True) if keep_list else deeper
    return nb


# --------------------------------------------------------------------------
# Running solutions
# --------------------------------------------------------------------------
def _inputs(nb: dict[str, Any]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [
        (c["cell_type"], c.get("id", ""), _text(c), tuple(c.get("metadata", {}).get("tags", [])))
        for c in nb["cells"]
    ]


def solution_problems(nb: dict[str, Any]) -> list[str]:
    """Why a saved solution would not pass strict nbval (empty if it is fine)."""
    problems = []
    counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts are {counts}, not 1..{len(counts)}: run it afresh")
    if "widgets" in nb.get("metadata", {}):
        problems.append("it stores widget state")
    for c in nb["cells"]:
        for out in c.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {c.get('id')} raised {out.get('ename')}")
        if "execution" in c.get("metadata", {}):
            problems.append(f"cell {c.get('id')} carries timing metadata")
    return problems


def run_solution(nb: dict[str, Any], cwd: Path, timeout: int = 600) -> dict[str, Any]:
    """Run a solution notebook top to bottom in a fresh kernel; return it with outputs."""
    import nbformat
    from nbclient import NotebookClient

    node = nbformat.from_dict(nb)
    client = NotebookClient(
        node,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()
    node.metadata.pop("widgets", None)
    return json.loads(nbformat.writes(node))


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------
def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


def build(
    folder: Path | None = None,
    *,
    execute: bool = True,
    force: bool = False,
    only: Iterable[str] = (),
    log: Any = print,
) -> list[Path]:
    """Generate the learner versions and the (run) solutions; return the files written.

    A solution is re-run only when its inputs changed, it would fail strict nbval, or
    ``force`` is set, so an unchanged exercise leaves no diff behind.
    """
    folder = folder or root()
    wanted = {find(k, folder).stem for k in only}
    written: list[Path] = []
    for ex in exercises(folder):
        if wanted and ex.stem not in wanted:
            continue
        if _write_if_changed(ex.learner, learner_notebook(ex.source)):
            written.append(ex.learner)
            log(f"wrote {ex.learner.relative_to(folder.parent)}")
        fresh = solution_notebook(ex.source)
        saved = (
            json.loads(ex.solution.read_text(encoding="utf-8")) if ex.solution.exists() else None
        )
        current = (
            saved is not None and _inputs(saved) == _inputs(fresh) and not solution_problems(saved)
        )
        if current and not force:
            continue
        if not execute:
            log(
                f"skipped {ex.solution.relative_to(folder.parent)} "
                "(out of date; run without --no-execute)"
            )
            continue
        log(f"running {ex.solution.relative_to(folder.parent)} ...")
        ex.solution.parent.mkdir(parents=True, exist_ok=True)
        done = run_solution(fresh, ex.solution.parent)
        problems = solution_problems(done)
        if problems:
            raise RuntimeError(f"{ex.solution.name}: " + "; ".join(problems))
        if _write_if_changed(ex.solution, _dumps(done)):
            written.append(ex.solution)
            log(f"wrote {ex.solution.relative_to(folder.parent)}")
    return written


def drift(folder: Path | None = None) -> list[str]:
    """What is out of sync with the sources (empty when everything is current)."""
    folder = folder or root()
    problems = []
    for ex in exercises(folder):
        expected = learner_notebook(ex.source)
        if not ex.learner.exists():
            problems.append(f"{ex.learner.name} is missing: run `make exercises`")
        elif ex.learner.read_text(encoding="utf-8") != expected:
            problems.append(
                f"{ex.learner.name} differs from what {ex.source.name} generates: run "
                "`make exercises` (or `make reset-exercises EX=...` if you edited it)"
            )
        if not ex.solution.exists():
            problems.append(f"solutions/{ex.solution.name} is missing: run `make exercises`")
            continue
        saved = json.loads(ex.solution.read_text(encoding="utf-8"))
        if _inputs(saved) != _inputs(solution_notebook(ex.source)):
            problems.append(f"solutions/{ex.solution.name} is out of date: run `make exercises`")
        problems += [f"solutions/{ex.solution.name}: {p}" for p in solution_problems(saved)]
    return problems


def reset(key: str, folder: Path | None = None, log: Any = print) -> Path | None:
    """Restore a learner's exercise to pristine; keep their attempt in ``backups/``.

    Returns:
        The backup's path, or ``None`` if there was nothing to keep (no file, or
        the notebook was already pristine).
    """
    folder = folder or root()
    ex = find(key, folder)
    pristine = learner_notebook(ex.source)
    backup = None
    if ex.learner.exists() and ex.learner.read_text(encoding="utf-8") != pristine:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backups = folder / "backups"
        backups.mkdir(exist_ok=True)
        backup = backups / f"{ex.stem}-{stamp}.ipynb"
        n = 1
        while backup.exists():
            n += 1
            backup = backups / f"{ex.stem}-{stamp}-{n}.ipynb"
        shutil.copy2(ex.learner, backup)
    _write_if_changed(ex.learner, pristine)
    if backup is not None:
        log(f"reset {ex.learner.name}; your attempt is kept in {backup.relative_to(folder.parent)}")
    else:
        log(f"reset {ex.learner.name} (it was already pristine, nothing to keep)")
    log("If the notebook is open in JupyterLab, reload it: File > Reload Notebook from Disk.")
    return backup
