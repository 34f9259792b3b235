"""Everything notebook 01 (meet SMARS) uses: the tracer, the flag, the book, the router.

``from smars_sim.course import nb01_meet_smars as sw`` in the notebook's set-up cell;
the cells that print the router's code read :data:`router` and the two builds here.
"""

from __future__ import annotations

from ..analysis.runs import day
from ..core import router
from ..core.builds import OLD_BUILD, RLP_BUILD
from ..core.record import figure, named_tickers
from ..ui.panel import md, table
from ..ui.trace_panels import BookViewer, FlagExplorer, ParentTracer

__all__ = [
    "OLD_BUILD",
    "RLP_BUILD",
    "BookViewer",
    "FlagExplorer",
    "ParentTracer",
    "day",
    "figure",
    "md",
    "named_tickers",
    "router",
    "table",
]
