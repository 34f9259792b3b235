"""What ``course/console.ipynb`` (the Voilà incident console, ``make console``) uses.

``from smars_sim.course.console_app import IncidentConsole`` in its one cell.
"""

from __future__ import annotations

from ..ui.console import IncidentConsole

__all__ = ["IncidentConsole"]
