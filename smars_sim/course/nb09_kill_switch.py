"""Notebook 09 (kill switch): everything its cells use, and nothing else.

The pre-trade controls and the rules they follow, the kill-switch drill and lab,
orders out against orders in, and three kinds of kill switch compared.
"""

from __future__ import annotations

from ..analysis.fix_outcomes import controls_table, timeline_rows
from ..analysis.runs import day
from ..core.record import figure
from ..ui.fix_panels import reconciliation_view
from ..ui.kill_panels import ExchangeView, KillDrill, KillSwitchLab
from ..ui.panel import md, table, text_table

__all__ = [
    "ExchangeView",
    "KillDrill",
    "KillSwitchLab",
    "controls_table",
    "day",
    "figure",
    "md",
    "reconciliation_view",
    "table",
    "text_table",
    "timeline_rows",
]
