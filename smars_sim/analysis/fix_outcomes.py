"""What a replay with a fix came to: headline figures, the timeline, the kill-switch sweeps.

The figures of course part 2 (notebooks 06-10), each computed from a replay's own logs
(``Result.summary``, ``Result.timeline``, ``Result.pages``, the executions); nothing
here decides an outcome. Pandas only where a table is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import pandas as pd

from ..core.clock import OPEN_NS, SECOND_NS, format_time
from ..core.fmt import usd
from ..core.pnl import minutes_to_stop
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes.contrasts import servers_named
from ..fixes.kill_switch import RiskLimits
from . import tables
from .controls import control_events
from .runs import notebook_scenario, run

__all__ = [
    "AS_IT_HAPPENED",
    "OUTCOME_ROWS",
    "SWEEP_MINUTES",
    "base_scenario",
    "comparison_rows",
    "controls_table",
    "kill_delay_sweep",
    "kill_switch_rows",
    "kill_time_scenario",
    "minutes_text",
    "outcome",
    "reconciliation_data",
    "servers_sending",
    "stop_point",
    "timeline_rows",
    "timeline_text",
    "when",
]

#: Label of the unfixed replay every comparison starts from.
AS_IT_HAPPENED = "as it happened (kit's replay)"


def base_scenario(**overrides: Any) -> Scenario:
    """1 August 2012 at the notebooks' scale, operators' actions of the day included."""
    return notebook_scenario(**overrides)


# --------------------------------------------------------------------------
# The outcome of a replay
# --------------------------------------------------------------------------
def when(ns: int) -> str:
    """A timeline time as ``HH:MM:SS``, or ``before 1 Aug`` for the set-up (time 0)."""
    return format_time(ns) if ns else "before 1 Aug"


def outcome(result: Result) -> dict[str, Any]:
    """The headline figures of a replay, computed from its logs.

    Keys: ``loss_usd``, ``loss`` (formatted), ``executions``, ``child_orders``,
    ``power_peg_parents``, ``minutes_to_stop`` (:func:`smars_sim.core.pnl.minutes_to_stop`;
    ``None`` when Power Peg never ran, shown as "never ran"),
    ``first_control`` and ``first_control_at``.
    """
    s = result.summary
    events = control_events(result)
    first = events[0] if events else None
    return {
        "loss_usd": s.loss_usd,
        "loss": usd(s.loss_usd),
        "executions": s.executions,
        "child_orders": s.child_orders,
        "power_peg_parents": s.parent_orders,
        "minutes_to_stop": minutes_to_stop(result),
        "first_control": first[1] if first else "none",
        "first_control_at": when(first[0]) if first else "",
    }


#: The rows of :func:`comparison_rows`: an :func:`outcome` key and its label.
OUTCOME_ROWS = (
    ("loss", "Loss (evening basket price)"),
    ("executions", "Executions (at this scale)"),
    ("child_orders", "Child orders (at this scale)"),
    ("power_peg_parents", "Parent orders Power Peg worked"),
    ("minutes_to_stop", "Minutes from the open to the last bad order"),
    ("first_control", "First control that acted"),
    ("first_control_at", "... at"),
)


def comparison_rows(results: dict[str, Result]) -> list[dict[str, object]]:
    """One row per headline figure, one column per replay."""
    outs = {label: outcome(r) for label, r in results.items()}
    rows = []
    for key, label in OUTCOME_ROWS:
        row: dict[str, object] = {"": label}
        for name, out in outs.items():
            value = out[key]
            if value is None:  # minutes to stop when Power Peg never ran
                value = "never ran"
            row[name] = f"{value:,}" if isinstance(value, int) else value
        rows.append(row)
    return rows


def servers_sending(result: Result) -> list[int]:
    """Servers that sent a Power Peg child order."""
    return sorted({p.server for p in result.parents if p.ran_power_peg})


# --------------------------------------------------------------------------
# The timeline
# --------------------------------------------------------------------------
_Item = tuple[int, int, str, str, int, str]  # time, order noted, who, what, server, detail


def timeline_rows(
    result: Result,
    *,
    skip: Sequence[str] = ("technician",),
    limit: int | None = None,
    group: bool = True,
) -> list[dict[str, object]]:
    """The replay's timeline (``tables.actions(result)``) with its pages, in time order.

    Args:
        result: A replay.
        skip: Actors to leave out (the eight deploy lines of the technician by default).
        limit: At most this many rows (the first ones).
        group: Merge a run of the same action on one server after another (a rollback,
            a stop of every server) into one row naming the servers.
    """
    items: list[_Item] = []
    for i, e in enumerate(result.timeline):
        if e.actor in skip or e.action == "market open":
            continue
        items.append((e.time, i, e.actor, e.action, e.server, e.detail))
    n = len(result.timeline)
    for j, (t, control, detail) in enumerate(result.pages):
        items.append((t, n + j, "pager", control, 0, detail))
    items.sort(key=lambda r: (r[0], r[1]))
    runs: list[list[_Item]] = []
    for item in items:
        last = runs[-1][-1] if runs else None
        if (
            group
            and last is not None
            and item[4]
            and last[4]
            and (item[2], item[3]) == (last[2], last[3])
        ):
            runs[-1].append(item)
        else:
            runs.append([item])
    out: list[dict[str, object]] = []
    for run_ in runs:
        first, final = run_[0], run_[-1]
        servers = [it[4] for it in run_]
        where = ""
        if len(servers) > 1:
            where = f" ({servers_named(servers)})"
        elif servers[0]:
            where = f" (server {servers[0]})"
        at = when(first[0])
        if final[0] != first[0]:
            at += f" to {when(final[0])}"
        out.append({"time": at, "who": first[2], "what": first[3] + where, "detail": first[5]})
    return out[:limit] if limit is not None else out


def timeline_text(result: Result, limit: int = 8, width: int = 110) -> str:
    """The first timeline rows as plain text, each cut at ``width`` characters."""
    lines = []
    for row in timeline_rows(result, limit=limit):
        text = f"{row['time']:>20}  {row['who']}: {row['what']}"
        if row["detail"]:
            text += f": {row['detail']}"
        lines.append(text if len(text) <= width else text[: width - 1] + "…")
    return "\n".join(lines) or "(nothing)"


# --------------------------------------------------------------------------
# 09: pre-trade controls, the kill switch, orders out against orders in
# --------------------------------------------------------------------------
_CONTROL_RULES = {
    "price_collar_pct": ("price collar", "15c3-5(c)(1)(ii); RTS 6 Art. 15", "reject the order"),
    "max_order_shares": ("maximum order size", "15c3-5(c)(1)(ii); RTS 6 Art. 15", "reject"),
    "max_order_usd": ("maximum order value", "15c3-5(c)(1)(ii); RTS 6 Art. 15", "reject"),
    "max_messages_per_s": (
        "message-rate throttle",
        "RTS 6 Art. 15 (maximum message limits)",
        "disable the server until re-enabled",
    ),
    "max_executions_per_parent": (
        "repeated-execution throttle",
        "RTS 6 Art. 15",
        "disable the server until re-enabled",
    ),
    "capital_threshold_usd": (
        "capital threshold (orders sent)",
        "15c3-5(c)(1)(i)",
        "warn, then the kill switch",
    ),
    "reconcile": (
        "orders out vs orders in",
        "SEC order ¶21 (the control Knight lacked)",
        "kill switch",
    ),
}


def controls_table(limits: RiskLimits | None = None) -> list[dict[str, object]]:
    """The risk gate's controls: the rule each follows, what it does, the kit's default."""
    limits = limits or RiskLimits()
    rows: list[dict[str, object]] = []
    for f in fields(RiskLimits):
        if f.name not in _CONTROL_RULES:
            continue
        name, rule, action = _CONTROL_RULES[f.name]
        value = getattr(limits, f.name)
        if isinstance(value, bool):
            shown = "on" if value else "off"
        elif value is None:
            shown = "off"
        elif f.name.endswith("_usd"):
            shown = usd(value)
        elif f.name.endswith("_pct"):
            shown = f"{value:g}%"
        elif f.name.endswith("_per_s"):
            shown = f"{value:,g}/s per server"
        elif f.name.endswith("_shares"):
            shown = f"{value:,g} shares"
        elif f.name == "max_executions_per_parent":
            shown = f"{value:,g} executions per parent order"
        else:
            shown = f"{value:,g}"
        rows.append({"control": name, "rule": rule, "on breach": action, "kit default": shown})
    rows.append(
        {
            "control": "kill switch",
            "rule": "RTS 6 Art. 12; FIA guide §1.11",
            "on breach": "block new orders on every server, cancel working ones",
            "kit default": "a button",
        }
    )
    return rows


#: Detection delays (minutes after the open) the kill-switch lab replays.
SWEEP_MINUTES = (1, 2, 5, 10, 15, 20, 30, 45)


def kill_time_scenario(base: Scenario, minutes: float) -> Scenario:
    """The day with only a kill switch, pressed ``minutes`` after the open."""
    return base.with_(kill_at=OPEN_NS + int(minutes * 60 * SECOND_NS))


def kill_delay_sweep(base: Scenario, minutes: Sequence[float] = SWEEP_MINUTES) -> pd.DataFrame:
    """Loss and minutes to stop for a kill switch pressed after each delay (one replay each).

    Columns ``delay_min``, ``minutes_to_stop``, ``loss_usd`` and ``what``.
    """
    rows = []
    for m in minutes:
        r = run(kill_time_scenario(base, m))
        rows.append(
            {
                "delay_min": m,
                "minutes_to_stop": _plotted(minutes_to_stop(r)),
                "loss_usd": r.summary.loss_usd,
                "what": "kill switch pressed by a person",
            }
        )
    return pd.DataFrame(rows)


def reconciliation_data(result: Result) -> pd.DataFrame:
    """Shares executed for the parents Power Peg worked, against the shares they asked for.

    Returns:
        One row per execution of those parents, in time order: ``time_ns``, ``s``,
        ``shares_out`` (cumulative executed), ``shares_in`` (the sum of their
        quantities), ``parents_over`` (how many were over-executed so far). The chart
        adds the clock time (:func:`smars_sim.viz.fix_charts.reconciliation_chart`).
    """
    parents = {p.id: p for p in result.parents if p.ran_power_peg}
    shares_in = sum(p.qty for p in parents.values())
    ex = tables.executions(result)
    ex = ex[ex["parent_id"].isin(list(parents))].sort_values("time_ns", kind="stable")
    cum = ex["qty"].cumsum()
    per_parent = ex.groupby("parent_id")["qty"].cumsum()
    qty = ex["parent_id"].map(lambda pid: parents[pid].qty)
    # the execution that first takes a parent over
    first_over = (per_parent > qty) & ~((per_parent - ex["qty"]) > qty)
    return pd.DataFrame(
        {
            "time_ns": ex["time_ns"].to_numpy(),
            "s": ((ex["time_ns"] - OPEN_NS) // SECOND_NS).to_numpy(),
            "shares_out": cum.to_numpy(),
            "shares_in": shares_in,
            "parents_over": first_over.cumsum().to_numpy(),
        }
    )


def kill_switch_rows(results: dict[str, Result]) -> list[dict[str, object]]:
    """Loss, minutes to stop, who kept sending and the first control, per kind of kill switch."""
    rows = []
    for label, r in results.items():
        out = outcome(r)
        rows.append(
            {
                "kill switch": label,
                "loss": out["loss"],
                "loss_usd_m": round(out["loss_usd"] / 1e6, 3),
                "minutes_to_stop": out["minutes_to_stop"]
                if out["minutes_to_stop"] is not None
                else "never ran",
                "Power Peg ran on": servers_named(servers_sending(r)),
                "what the timeline says": next(
                    (f"{when(t)} {c}: {d}" for t, c, d in control_events(r)), "nothing"
                ),
            }
        )
    return rows


def stop_point(what: str, result: Result) -> dict[str, object]:
    """One point of the kill-switch lab's chart: minutes to stop and loss of a replay."""
    return {
        "what": what,
        "minutes_to_stop": _plotted(minutes_to_stop(result)),
        "loss_usd": result.summary.loss_usd,
    }


def minutes_text(minutes: float | None) -> str:
    """Minutes to stop in prose: ``24.8 min after the open``, or ``never ran``."""
    return "never ran" if minutes is None else f"{minutes:g} min after the open"


def _plotted(minutes: float | None) -> float:
    """Minutes to stop on a chart's axis: a replay where Power Peg never ran sits at 0."""
    return 0.0 if minutes is None else minutes
