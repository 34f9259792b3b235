"""Everything notebook 04 (detect) uses: the alerts that existed, the forensics, an alert rule.

``from smars_sim.course import nb04_detect as sw`` in the notebook's set-up cell; the
forensic drill reads the full-day execution log through :data:`fx`.
"""

from __future__ import annotations

from ..analysis import forensics as fx
from ..analysis.runs import day
from ..core.clock import MINUTE_NS, format_time
from ..core.record import figure
from ..ui.detect_panels import AlertDesigner, server_share_view
from ..ui.panel import md, show, table
from ..viz.day_charts import loss_and_alerts

__all__ = [
    "MINUTE_NS",
    "AlertDesigner",
    "day",
    "figure",
    "format_time",
    "fx",
    "loss_and_alerts",
    "md",
    "server_share_view",
    "show",
    "table",
]
