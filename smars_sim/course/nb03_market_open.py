"""Everything notebook 03 (market open) uses: the inbox and the playback of the open.

``from smars_sim.course import nb03_market_open as sw`` in the notebook's set-up cell.
"""

from __future__ import annotations

from ..analysis import tables
from ..analysis.inbox import ORDINARY_PER_MINUTE
from ..analysis.runs import day
from ..core.record import figure
from ..ui.detect_panels import Inbox, Playback
from ..ui.panel import md, table

__all__ = ["ORDINARY_PER_MINUTE", "Inbox", "Playback", "day", "figure", "md", "table", "tables"]
