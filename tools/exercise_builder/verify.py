"""The CI gates, runnable anywhere: every solution passes, every blank learner version fails.

Notebooks are run in-process, cell by cell, in an IPython shell (magics such as
``%load`` work, and cell texts land in ``linecache`` as in a kernel), then each
question's checks are evaluated against the shell's namespace. This is what
``python -m tools.exercise_builder verify`` and ``tests/test_exercises.py`` use; nbval
separately runs the solution notebooks in real kernels.

Needs IPython (installed with the ``course`` extra); the checker itself does not.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smars_sim.exercises import QUESTIONS, evaluate
from smars_sim.exercises.core import Report

from .notebooks import RAISES, Exercise, exercises, solution_notebook

__all__ = ["CellRun", "NotebookRun", "gate_problems", "run_notebook"]


@dataclass(slots=True)
class CellRun:
    """One code cell as run: its id, tags, whether it raised and what."""

    id: str
    tags: tuple[str, ...]
    error: BaseException | None
    stdout: str


@dataclass(slots=True)
class NotebookRun:
    """A notebook run in-process: its cells and the namespace they left."""

    path: Path
    cells: list[CellRun] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)

    def report(self, key: str) -> Report:
        """Evaluate a question's checks against this notebook's namespace."""
        return evaluate(key, self.namespace)


def _shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if InteractiveShell.initialized():
        shell = InteractiveShell.instance()
    else:
        config = Config()
        config.HistoryManager.enabled = False
        shell = InteractiveShell.instance(config=config)
    shell.reset(new_session=False)
    return shell


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run_notebook(path: Path, nb: dict[str, Any] | None = None) -> NotebookRun:
    """Run every code cell of a notebook in a fresh namespace, in its folder.

    Args:
        path: The notebook file (its folder is the working directory).
        nb: The notebook's content, if not the file's (e.g. a solution not yet saved).
    """
    from IPython.utils.capture import capture_output

    if nb is None:
        nb = json.loads(path.read_text(encoding="utf-8"))
    shell = _shell()
    run = NotebookRun(path)
    with _cwd(path.parent if path.parent.exists() else path.parent.parent):
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            with capture_output() as captured:
                result = shell.run_cell(source, store_history=True)
            error = result.error_before_exec or result.error_in_exec
            tags = tuple(cell.get("metadata", {}).get("tags", []))
            run.cells.append(CellRun(cell.get("id", ""), tags, error, captured.stdout))
    run.namespace = shell.user_ns
    return run


def _key(ex: Exercise) -> str:
    for q in QUESTIONS.values():
        if q.notebook == ex.stem:
            return q.key
    raise ValueError(f"{ex.stem} is not a question in smars_sim.exercises.QUESTIONS")


def gate_problems(folder: Path | None = None, only: tuple[str, ...] = ()) -> list[str]:
    """Run both gates; return one line per problem (empty when both hold)."""
    problems: list[str] = []
    for ex in exercises(folder):
        if only and ex.stem not in only:
            continue
        key = _key(ex)
        solved = run_notebook(ex.solution, solution_notebook(ex.source))
        for cell in solved.cells:
            if cell.error is not None:
                problems.append(f"{ex.stem} solution: cell {cell.id} raised {cell.error!r}")
        report = solved.report(key)
        problems += [
            f"{ex.stem} solution fails {o.case.name!r}: {o.message}" for o in report.failed
        ]
        blank = run_notebook(ex.learner)
        for cell in blank.cells:
            raised = cell.error is not None
            if raised != (RAISES in cell.tags):
                what = "raises but is not tagged" if raised else f"is tagged {RAISES} but ran"
                problems.append(f"{ex.stem} learner: cell {cell.id} {what}")
        report = blank.report(key)
        for o in report.outcomes:
            if o.passed:
                problems.append(f"{ex.stem} blank version passes {o.case.name!r}")
            elif o.status == "checker" or not o.message:
                problems.append(
                    f"{ex.stem} blank version: no hint for {o.case.name!r}: {o.message}"
                )
    return problems
