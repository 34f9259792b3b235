"""Everything notebook 02 (deploy day) uses: the deploy panel and the dollar formatter.

``from smars_sim.course import nb02_deploy_day as sw`` in the notebook's set-up cell.
"""

from __future__ import annotations

from ..core.fmt import usd
from ..core.record import figure
from ..ui.deploy_day import DeployDay
from ..ui.panel import md, table

__all__ = ["DeployDay", "figure", "md", "table", "usd"]
