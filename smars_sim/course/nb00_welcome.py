"""Everything notebook 00 (welcome) uses: the set-up check, the day's replay, the record.

``from smars_sim.course import nb00_welcome as sw`` in the notebook's set-up cell.
"""

from __future__ import annotations

from ..analysis.runs import NOTEBOOK_SCALE, day
from ..core.record import figure
from ..ui.panel import md, table
from ..ui.setup_panels import RenderCheck, check_setup

__all__ = ["NOTEBOOK_SCALE", "RenderCheck", "check_setup", "day", "figure", "md", "table"]
