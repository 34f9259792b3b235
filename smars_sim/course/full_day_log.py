"""Notebook 04's first line: the full-size execution log, built before anything heavy.

The forensic drill of notebook 04 reads the full-size execution log (four million
rows). Building it means replaying the whole day at full size, and the process that
does so holds the day's logs, about 290 MB. Beside a kernel that has already imported
pandas, altair and the widgets (about 200 MB), that would take a learner over 500 MB.
So notebook 04's set-up cell calls :func:`prepare` first, while its kernel is still
small, and the build runs in a process of its own.

With ``make lab``, or on a class hub, the log is built before any notebook opens, and
:func:`prepare` only checks it (its sha256), in well under a second.

Standard library only, on purpose: importing this module must not make the kernel big.
"""

from __future__ import annotations

import subprocess
import sys

__all__ = ["prepare"]

#: The builder: ``smars_sim.analysis.execution_log``'s ``build-cache`` command.
BUILDER = ("-m", "smars_sim.analysis.execution_log", "build-cache")


def prepare() -> None:
    """Build notebook 04's full-size execution log now, unless it is built. Never raises.

    If the build cannot run, one line says so, and the drill builds the log when it
    first reads it (``smars_sim.analysis.forensics.full_day_executions``). The browser
    edition has no processes: there the drill builds it.
    """
    if sys.platform == "emscripten":
        return
    try:
        done = subprocess.run(
            [sys.executable, *BUILDER], capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        why = str(exc) or type(exc).__name__
    else:
        if done.returncode == 0:
            return
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    print(f"The full-size log was not built in advance ({why}); the drill builds it later.")
