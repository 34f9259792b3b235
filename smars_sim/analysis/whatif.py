"""The what-if engine: every combination of the four fixes, and a kill-time sweep.

Each row is a full replay of the scenario with some fixes installed, summarised from
the replay's own logs: the loss, the executions, how long Power Peg ran, and which
control acted first according to the timeline. Nothing here decides an outcome; it
only runs the mechanisms in :mod:`smars_sim.fixes` and reads what happened.

This module is presentation layer: it returns pandas DataFrames, and pandas is
imported here only, never by the simulation core.

Example:
    >>> from smars_sim.analysis.whatif import what_if
    >>> table = what_if()           # 16 rows at scale 0.01, a few seconds
    >>> table[["fixes", "loss_usd", "stopped_by"]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..core.clock import format_time, parse_time
from ..core.scenario import Scenario
from ..fixes import AVAILABLE, replay
from .controls import control_actions

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = ["DEFAULT_KILL_TIMES", "DEFAULT_SCALE", "fix_combinations", "kill_time_sweep", "what_if"]

#: The notebook scale: a full what-if table in a few seconds.
DEFAULT_SCALE = 0.01
#: Manual kill times swept by :func:`kill_time_sweep`.
DEFAULT_KILL_TIMES = ("09:31", "09:35", "09:40", "09:45", "09:50", "10:00", "10:10")


def fix_combinations(fixes: Sequence[str] = AVAILABLE) -> list[tuple[str, ...]]:
    """Every subset of ``fixes``: none, each alone, each pair, ..., all (2**n of them)."""
    return [combo for r in range(len(fixes) + 1) for combo in combinations(fixes, r)]


def _row(result: Result, fixes: tuple[str, ...]) -> dict[str, Any]:
    s = result.summary
    acted = [(a.time, a.fix_label) for a in control_actions(result)]
    row: dict[str, Any] = {"fixes": " + ".join(fixes) or "none"}
    row.update({name: name in fixes for name in AVAILABLE})
    row.update(
        {
            "loss_usd": s.loss_usd,
            "executions": s.executions,
            "child_orders": s.child_orders,
            "power_peg_parents": s.parent_orders,
            "power_peg_minutes": s.duration_minutes,
            "stopped_at": s.stop,
            "stopped_by": acted[0][1] if acted else "none",
            "first_action_at": format_time(acted[0][0]) if acted else None,
            "controls": "; ".join(dict.fromkeys(label for _, label in acted)) or "none",
            "pages": s.pages,
        }
    )
    return row


def _base(scenario: Scenario | None, scale: float | None, seed: int | None) -> Scenario:
    base = scenario if scenario is not None else Scenario.aug1_2012(scale=DEFAULT_SCALE)
    changes: dict[str, Any] = {}
    if scale is not None:
        changes["scale"] = scale
    if seed is not None:
        changes["seed"] = seed
    base = base.with_(**changes) if changes else base
    base.validate()
    return base


def what_if(
    scenario: Scenario | None = None,
    *,
    scale: float | None = None,
    seed: int | None = None,
    combos: Iterable[tuple[str, ...]] | None = None,
) -> pd.DataFrame:
    """Replay every combination of the four fixes and tabulate the outcomes.

    Args:
        scenario: The scenario (default ``Scenario.aug1_2012(scale=0.01)``); its own
            ``fixes`` are replaced by each combination.
        scale: Override the scenario's scale.
        seed: Override the scenario's seed.
        combos: The fix combinations (default: all 16).

    Returns:
        One row per combination, tidy: ``fixes`` (names joined by " + ", or "none"),
        one boolean column per fix, ``loss_usd``, ``loss_pct_of_unfixed``,
        ``executions``, ``child_orders``, ``power_peg_parents``, ``power_peg_minutes``
        (how long Power Peg ran: the time to stop), ``stopped_at`` (its last child
        order), ``stopped_by`` (the first control that acted, from the timeline),
        ``first_action_at``, ``controls`` (every control that acted) and ``pages``.
    """
    base = _base(scenario, scale, seed)
    rows = [
        _row(replay(base.with_(fixes=fixes)), fixes)
        for fixes in (combos if combos is not None else fix_combinations())
    ]
    table = pd.DataFrame(rows)
    unfixed = table.loc[table["fixes"] == "none", "loss_usd"]
    reference = float(unfixed.iloc[0]) if len(unfixed) else float(replay(base).summary.loss_usd)
    table.insert(
        table.columns.get_loc("loss_usd") + 1,
        "loss_pct_of_unfixed",
        (100 * table["loss_usd"] / reference).round(3) if reference else float("nan"),
    )
    return table


def kill_time_sweep(
    times: Iterable[str | int] = DEFAULT_KILL_TIMES,
    scenario: Scenario | None = None,
    *,
    scale: float | None = None,
    seed: int | None = None,
    fixes: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Replay the day with a manual kill at each time: how much a faster hand saves.

    With ``fixes=()`` (the default) only the kill switch is installed, no automated
    control, so the kill time alone decides when the orders stop.

    Args:
        times: Kill times, ``"HH:MM[:SS]"`` or ns.
        scenario: The scenario (default ``Scenario.aug1_2012(scale=0.01)``).
        scale: Override the scenario's scale.
        seed: Override the scenario's seed.
        fixes: Fixes installed as well.

    Returns:
        One row per kill time: ``kill_at``, ``loss_usd``, ``loss_pct_of_unfixed``,
        ``executions``, ``child_orders``, ``power_peg_minutes``, ``stopped_at``.
    """
    base = _base(scenario, scale, seed).with_(fixes=fixes)
    unfixed = replay(base.with_(fixes=(), kill_at=None)).summary.loss_usd
    rows = []
    for at in times:
        ns = parse_time(at, what="kill time")
        s = replay(base.with_(kill_at=ns)).summary
        rows.append(
            {
                "kill_at": format_time(ns),
                "loss_usd": s.loss_usd,
                "loss_pct_of_unfixed": round(100 * s.loss_usd / unfixed, 3) if unfixed else None,
                "executions": s.executions,
                "child_orders": s.child_orders,
                "power_peg_minutes": s.duration_minutes,
                "stopped_at": s.stop,
            }
        )
    return pd.DataFrame(rows)
