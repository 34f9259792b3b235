"""Replays for the course, cached: the notebook scale, the day, and an ordinary morning.

Every panel and notebook replays through :func:`run`, so the same scenario asked for
twice (a slider moved back and forth) is replayed once.
"""

from __future__ import annotations

from typing import Any

from ..core.fmt import hhmm, usd
from ..core.result import Result
from ..core.scenario import Scenario

__all__ = [
    "NOTEBOOK_SCALE",
    "ROLLBACK_TIMES",
    "day",
    "loss_by_rollback",
    "normal_morning",
    "notebook_scenario",
    "rollback_table",
    "run",
]

#: Rollback times to compare: the record gives none (record §5), so the course shows
#: how the loss depends on it; the calibration assumes 09:45 (``smars-sim fidelity``).
ROLLBACK_TIMES = ("09:35", "09:40", "09:45", "09:50", "09:55", "10:00")

#: The scale every notebook replays at: 1% of the child orders, each 100 times bigger,
#: so shares and dollars match the full-size day while a replay takes well under a second.
NOTEBOOK_SCALE = 0.01


# --------------------------------------------------------------------------
# Replays, cached
# --------------------------------------------------------------------------
_RESULTS: dict[str, Result] = {}
_CACHE_SIZE = 24


def run(scenario: Scenario) -> Result:
    """Replay a scenario, or return the cached result of an identical one."""
    key = repr(scenario)
    result = _RESULTS.pop(key, None)
    if result is None:
        from ..fixes import replay

        result = replay(scenario)
    _RESULTS[key] = result  # most recently used last
    while len(_RESULTS) > _CACHE_SIZE:
        del _RESULTS[next(iter(_RESULTS))]
    return result


def notebook_scenario(**overrides: Any) -> Scenario:
    """``Scenario.aug1_2012`` at :data:`NOTEBOOK_SCALE` (any field may be overridden)."""
    overrides.setdefault("scale", NOTEBOOK_SCALE)
    return Scenario.aug1_2012(**overrides)


def day(**overrides: Any) -> Result:
    """The replay of 1 August 2012 at notebook scale (cached)."""
    return run(notebook_scenario(**overrides))


def normal_morning(base: Scenario) -> Scenario:
    """The same morning with every server updated, and so no rollback and no stop."""
    return base.with_(stale_servers=(), rollback_at=None, stop_all_at=None, halt_at=None)


def loss_by_rollback(
    times: tuple[str, ...] = ROLLBACK_TIMES, **overrides: Any
) -> list[tuple[str, float]]:
    """The realised loss (dollars) for each rollback time, at notebook scale (cached).

    The rollback's clock time is not public (record §5); the kit's calibration
    assumes 09:45. An earlier rollback lets more of the morning's arriving parents
    meet Power Peg on every server (SEC ¶27), so the loss grows as it moves earlier.

    Args:
        times: Rollback start times, ``"HH:MM"``.
        **overrides: Other scenario fields (e.g. ``seed``, ``market_seed``).

    Returns:
        ``(time, loss_usd)`` per time, in the order given.
    """
    return [(t, day(rollback_at=t, **overrides).summary.loss_usd) for t in times]


def rollback_table(result: Result, times: tuple[str, ...] = ROLLBACK_TIMES) -> list[dict[str, str]]:
    """Notebook 05's table: the loss for each rollback time, the replay's own time marked.

    Args:
        result: The notebook's replay: its rollback time is the one marked (the kit's
            choice, which the calibration assumes).
        times: Rollback start times, ``"HH:MM"``.

    Returns:
        One row per time: ``rollback at``, ``loss`` (dollars, as text) and a mark.
    """
    at = result.scenario.t("rollback_at")
    assumed = hhmm(at) if at is not None else None  # a replay without one marks none
    return [
        {
            "rollback at": t,
            "loss": usd(loss),
            "": "the replay's (kit's choice)" if t == assumed else "",
        }
        for t, loss in loss_by_rollback(times)
    ]
