"""The checker's side of the class board: one record per ``check()``, never the answer.

:func:`record` is called by :func:`smars_sim.exercises.check` after it printed the
result. It passes on only the exercise's key and, per check, its name and whether
it passed (never the learner's code, values or the hint, which can quote them) to
:func:`smars_sim.analysis.classboard.record_checks_quietly`, which writes them to
``SMARS_CLASS_DB`` or posts them to the hub's class board service
(``SMARS_CLASS_URL``). Off unless one of those is set; ``SMARS_CLASS_OPTOUT=1`` or
the file ``~/.smars-sim/class-optout`` turns it off. See ``exercises/README.md``.
"""

from __future__ import annotations

from ..analysis.classboard import record_checks_quietly
from .core import Report

__all__ = ["record"]


def record(report: Report) -> None:
    """Record a check's outcome for the class board; print one quiet line if it failed.

    Never raises, and waits at most ``RECORD_DEADLINE_S`` seconds.
    """
    try:
        line = record_checks_quietly(
            report.question, [(o.case.name, o.passed) for o in report.outcomes]
        )
    except Exception:  # record_checks_quietly never raises; this is belt and braces
        line = "   (class board: this check was not recorded; your result above stands.)"
    if line:
        print(line)
