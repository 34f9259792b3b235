"""Notebook 07 (flag reuse): everything its cells use, and nothing else.

The flag registry console, OpenFeature's evaluations, the day replayed with a fresh
key and the old one tombstoned, and the stale-flag report.
"""

from __future__ import annotations

from ..analysis.fix_outcomes import timeline_rows
from ..analysis.fix_tables import evaluation_row
from ..core.builds import FLAG
from ..fixes import flag_registry
from ..ui.fix_panels import FlagReplay
from ..ui.flag_panels import FlagConsole, StaleFlagReport
from ..ui.panel import md, table, text_table

__all__ = [
    "FLAG",
    "FlagConsole",
    "FlagReplay",
    "StaleFlagReport",
    "evaluation_row",
    "flag_registry",
    "md",
    "table",
    "text_table",
    "timeline_rows",
]
