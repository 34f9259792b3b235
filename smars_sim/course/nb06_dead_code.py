"""Notebook 06 (dead code): everything its cells use, and nothing else.

Power Peg deleted when it was retired: the coverage report that finds it, vulture
step by step, the builds with and without it, and the day replayed with the fix.
"""

from __future__ import annotations

from ..analysis.fix_outcomes import base_scenario, timeline_rows
from ..analysis.fix_tables import build_rows
from ..core.builds import old_build, rlp_build
from ..core.record import figure
from ..fixes import dead_code
from ..ui.fix_panels import DeadCodeReplay, VultureSteps, coverage_view
from ..ui.panel import md, table, text_table

__all__ = [
    "DeadCodeReplay",
    "VultureSteps",
    "base_scenario",
    "build_rows",
    "coverage_view",
    "dead_code",
    "figure",
    "md",
    "old_build",
    "rlp_build",
    "table",
    "text_table",
    "timeline_rows",
]
