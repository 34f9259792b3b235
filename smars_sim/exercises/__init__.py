"""Hands-on exercises: immediate feedback in the notebook, hidden variants, solutions kept apart.

In a notebook::

    from smars_sim.exercises import check
    check("q1")

prints ✅ when every check passes, or ❌ and one line per failed check saying what
was expected, what your code returned and where to look. Some checks run your code
on mornings the notebook never showed you (another stale server, another seed,
another flag name, a normal day): an answer typed in for the example fails those
with "passes the example, fails on a variant: ...".

The checks of each question are in ``q1_rogue_server.py`` ... ``q6_cap_the_damage.py``,
written in otter-grader's test style (see :mod:`.core`). The notebooks are built from
``exercises/source/`` by ``python -m tools.exercise_builder build`` (``make exercises``);
see ``tools/exercise_builder``. This package imports only the standard library, pandas and
the simulation (never ipywidgets or altair).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .core import Report, run_question

__all__ = [
    "QUESTIONS",
    "DeployRefused",
    "Question",
    "check",
    "evaluate",
    "question",
]


class DeployRefused(Exception):
    """Raised by a deployment verifier that refuses to let a release proceed (q3)."""


@dataclass(frozen=True, slots=True)
class Question:
    """One exercise.

    Attributes:
        key: ``"q1"`` ... ``"q6"``.
        module: The module holding its checks, under ``smars_sim.exercises``.
        notebook: The notebook's file stem, in ``exercises/``.
        title: Its title.
        follows: The course notebook it follows (file stem, in ``course/``).
    """

    key: str
    module: str
    notebook: str
    title: str
    follows: str

    def load(self) -> ModuleType:
        """Import the module with its checks."""
        return importlib.import_module(f"{__name__}.{self.module}")


QUESTIONS: dict[str, Question] = {
    q.key: q
    for q in (
        Question("q1", "q1_rogue_server", "01_rogue_server", "Find the rogue server", "04_detect"),
        Question("q2", "q2_alert", "02_write_the_alert", "Write the alert", "04_detect"),
        Question(
            "q3", "q3_verify_fleet", "03_verify_the_fleet", "Verify the fleet", "02_deploy_day"
        ),
        Question(
            "q4", "q4_flag_registry", "04_never_reuse_a_flag", "Never reuse a flag", "01_meet_smars"
        ),
        Question(
            "q5",
            "q5_delete_power_peg",
            "05_delete_power_peg",
            "Delete Power Peg",
            "01_meet_smars",
        ),
        Question("q6", "q6_cap_the_damage", "06_cap_the_damage", "Cap the damage", "05_respond"),
    )
}

#: Helpers the notebooks import from here (name -> module), loaded on first use.
_HELPERS = {
    "example_executions": "q1_rogue_server",
    "example_live_metrics": "q2_alert",
    "first_alarm": "q2_alert",
    "BUDGET_USD": "q2_alert",
    "example_fleet": "q3_verify_fleet",
    "replay_with_registry": "q4_flag_registry",
    "ROUTER_PY": "q5_delete_power_peg",
    "vulture_findings": "q5_delete_power_peg",
    "replay_with_router": "q5_delete_power_peg",
    "Order": "q6_cap_the_damage",
    "Fill": "q6_cap_the_damage",
    "LOSS_BUDGET_USD": "q6_cap_the_damage",
    "replay_with_policy": "q6_cap_the_damage",
}


def __getattr__(attr: str) -> Any:
    module = _HELPERS.get(attr)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), attr)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HELPERS])


def question(key: str | int) -> Question:
    """A question by key (``"q1"``, ``"1"``, ``1``, ``"01"``, or its notebook's name).

    Raises:
        ValueError: If there is no such question.
    """
    text = str(key).strip().lower().removesuffix(".ipynb")
    text = text.rsplit("/", 1)[-1]
    for q in QUESTIONS.values():
        number = q.key[1:]
        if text in (q.key, number, number.zfill(2), q.notebook, q.notebook[3:]):
            return q
    choices = ", ".join(f"{q.key} ({q.notebook})" for q in QUESTIONS.values())
    raise ValueError(f"there is no exercise {key!r}; choose one of {choices}")


def evaluate(key: str | int, env: dict[str, Any]) -> Report:
    """Run every check of a question against a namespace; return the report (no printing)."""
    q = question(key)
    return run_question(q.key, q.title, q.load(), env)


def check(key: str | int, env: dict[str, Any] | None = None) -> None:
    """Check your answer to a question and print ✅ or ❌ with one hint per failed check.

    Args:
        key: The question, e.g. ``"q1"``.
        env: Where your answer lives (default: the notebook's globals).

    It never raises: whatever your code does, you get a one-line explanation.
    """
    from .learner import _CHECKING

    if _CHECKING.get():
        return  # called from learner code that a check is running (e.g. a cell run as a module)
    label = str(key)
    try:
        q = question(key)
        label = q.key
        if env is None:
            env = sys._getframe(1).f_globals
        report = run_question(q.key, q.title, q.load(), env)
        print(report.text())
        from .classroom import record  # class board: names and pass/fail only, never answers

        record(report)
    except ValueError as exc:
        print(f"❌ {exc}")
    except KeyboardInterrupt:
        print(f"❌ {label}: the check was interrupted before it finished.")
    except BaseException as exc:
        print(
            f"❌ {label}: the checker itself failed ({type(exc).__name__}: {exc}); "
            "please tell your instructor."
        )
