"""Notebook 08 (deploy verification): everything its cells use, and nothing else.

The deploy lab (the automated deploy against a careless technician), the canary
judge, and the timeline of the day replayed with the check.
"""

from __future__ import annotations

from ..analysis.fix_outcomes import timeline_rows
from ..core.record import figure
from ..fixes import verified_deploy
from ..ui.deploy_panels import CanaryJudge, DeployLab
from ..ui.panel import md, table, text_table

__all__ = [
    "CanaryJudge",
    "DeployLab",
    "figure",
    "md",
    "table",
    "text_table",
    "timeline_rows",
    "verified_deploy",
]
