"""Notebook 10 (what if): everything its cells use, and nothing else.

Every combination of the four fixes, the swiss-cheese view, and the game day.
"""

from __future__ import annotations

from ..analysis.fix_tables import single_layer_rows, what_if_rows, what_if_table
from ..ui.fix_panels import SwissCheese
from ..ui.gameday import GameDay, record_line
from ..ui.panel import md, show, table, text_table
from ..viz.fix_charts import fix_heatmap

__all__ = [
    "GameDay",
    "SwissCheese",
    "fix_heatmap",
    "md",
    "record_line",
    "show",
    "single_layer_rows",
    "table",
    "text_table",
    "what_if_rows",
    "what_if_table",
]
