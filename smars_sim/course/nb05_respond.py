"""Everything notebook 05 (respond) uses: the operator's console, the rollback, the plans.

``from smars_sim.course import nb05_respond as sw`` in the notebook's set-up cell.
"""

from __future__ import annotations

from ..analysis.plans import Plan
from ..analysis.runs import day, rollback_table
from ..core.clock import format_time, parse_time
from ..core.fmt import usd
from ..core.record import figure
from ..ui.panel import md, table
from ..ui.respond_panels import PlanComparison, Responder, rollback_view

__all__ = [
    "Plan",
    "PlanComparison",
    "Responder",
    "day",
    "figure",
    "format_time",
    "md",
    "parse_time",
    "rollback_table",
    "rollback_view",
    "table",
    "usd",
]
