"""One parent order followed through SMARS: server, build, router, code path, fills.

The words and the fill series behind notebook 01's tracer
(:class:`smars_sim.ui.trace_panels.ParentTracer`), and each server's build over the
day (which build routed an order, after a rollback too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from ..core.builds import Build, old_build, rlp_build
from ..core.clock import OPEN_NS, format_time
from . import tables
from .series import clock

if TYPE_CHECKING:
    from ..core.fleet import ParentOrder
    from ..core.result import Result

__all__ = [
    "build_at",
    "build_history",
    "find_parent",
    "parent_fill_data",
    "pick_examples",
    "trace_steps",
]

_KNOWN_BUILDS: dict[str, Build] = {}
for _b in (
    old_build(),
    rlp_build(),
    old_build(with_power_peg=False),
    rlp_build(with_power_peg=False),
):
    _KNOWN_BUILDS[_b.version] = _b


def _build_named(text: str) -> Build | None:
    for version in sorted(_KNOWN_BUILDS, key=len, reverse=True):
        if version in text:
            return _KNOWN_BUILDS[version]
    return None


def build_history(result: Result, server: int) -> list[tuple[int, Build | None]]:
    """``(time, build)`` each time a server's build changed (time 0 = before the day)."""
    history: list[tuple[int, Build | None]] = []
    for entry in result.timeline:
        if entry.server != server:
            continue
        if entry.action in ("deploy", "deploy skipped", "rollback: re-install"):
            history.append((entry.time, _build_named(entry.detail)))
    return history


def build_at(result: Result, server: int, time: int) -> Build | None:
    """The build a server ran at a time."""
    current = None
    for t, build in build_history(result, server):
        if t <= time:
            current = build
    return current


def _side(side: int) -> str:
    return "buy" if side > 0 else "sell"


def find_parent(result: Result, parent_id: int) -> ParentOrder:
    """A parent order of the replay by id."""
    for p in result.parents:
        if p.id == parent_id:
            return p
    raise ValueError(f"no parent order #{parent_id}; ids run 1..{len(result.parents)}")


def pick_examples(result: Result) -> dict[str, int]:
    """Four parent orders worth following, by label: retail or not, missed server or not."""
    r = result
    stale = set(r.scenario.stale_servers)
    picks: dict[str, int] = {}

    def pick(label: str, test: Callable[[ParentOrder], bool]) -> None:
        for p in r.parents:
            if test(p):
                picks[f"#{p.id}: {label} (server {p.server})"] = p.id
                return

    pick(
        "retail order on the server the technician missed",
        lambda p: p.retail and p.server in stale,
    )
    pick("retail order on an updated server", lambda p: p.retail and p.server not in stale)
    pick(
        "pre-market order on an updated server",
        lambda p: not p.retail and p.server not in stale,
    )
    pick("pre-market order on the missed server", lambda p: not p.retail and p.server in stale)
    return picks


def trace_steps(result: Result, parent_id: int) -> list[str]:
    """A parent order's life, one step per line: server, build, router, path, fills."""
    r = result
    p = find_parent(result, parent_id)
    symbol = r.symbols[p.symbol]
    kind = (
        "retail, for the opening auction"
        if p.retail and p.for_open
        else "pre-market, from another client"
    )
    steps = [
        f"{format_time(p.received)}  A client sends parent order #{p.id}: "
        f"{_side(p.side)} {p.qty:,} {symbol} ({kind}).",
        f"SMARS hands it to server {p.server}, the next server in turn.",
    ]
    routed = max(p.received, OPEN_NS) if p.for_open else p.received
    build = build_at(r, p.server, routed)
    if build is None:
        steps.append(f"Server {p.server} runs a build this tracer does not know.")
        return steps
    steps.append(f"Server {p.server} runs build {build.version} (sha256 {build.short_hash}...).")
    if p.for_open:
        steps.append("The order waits on the server until the market opens.")
    flags = {r.scenario.flag: True}
    path = build.route(flags, p).__name__
    steps.append(
        f"{format_time(routed)}  The build's router {build.router.__name__}() reads the "
        f"flag '{r.scenario.flag}' = on and picks the code path {path}()."
    )
    children = tables.child_orders(r)[tables.child_orders(r)["parent_id"] == p.id]
    fills = tables.executions(r)[tables.executions(r)["parent_id"] == p.id]
    filled_by_child = fills.groupby("child_id")["qty"].sum()
    if p.rejected:
        steps.append(
            f"Before the open, {path}() refuses to run: the order is rejected "
            f"('{p.rejected}') and a BNET reject e-mail goes out."
        )
        return steps
    if path == "rlp" and (children.empty or children["path"].iloc[0] != "rlp"):
        steps.append(
            "The order rests in the Retail Liquidity Program. (This kit does not model "
            "who fills RLP orders, so there it stays.)"
        )
    history = [(t, b) for t, b in build_history(r, p.server) if t > routed]
    for t, b in history:
        if b is None:
            continue
        later = children[children["time_ns"] >= t]
        if later.empty:
            continue
        new_path = b.route(flags, p).__name__
        steps.append(
            f"{format_time(t)}  A rollback re-installs {b.version} on server {p.server}. "
            f"The restarted server routes the order again: {b.router.__name__}() "
            f"picks {new_path}()."
        )
    # Runs of child orders by code path.
    if not children.empty:
        run_id = (children["path"] != children["path"].shift()).cumsum()
        for _, run_rows in children.groupby(run_id, sort=True):
            path_name = str(run_rows["path"].iloc[0])
            n = len(run_rows)
            filled = int(filled_by_child.reindex(run_rows["child_id"]).fillna(0).sum())
            first = format_time(int(run_rows["time_ns"].iloc[0]))
            last = format_time(int(run_rows["time_ns"].iloc[-1]))
            times = f"at {first}" if n == 1 else f"from {first} to {last}"
            ratio = filled / p.qty
            times_text = f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.1f}"
            steps.append(
                f"{path_name}() sends {n:,} child order{'s' if n != 1 else ''} {times}; "
                f"{filled:,} shares fill ({times_text} times the {p.qty:,} the client "
                "asked for)."
            )
    total = int(fills["qty"].sum())
    steps.append(
        f"In all: {len(children):,} child orders, {len(fills):,} executions, "
        f"{total:,} shares for an order of {p.qty:,}."
    )
    return steps


def parent_fill_data(result: Result, parent_id: int) -> tuple[pd.DataFrame, str]:
    """One parent order's cumulative fills by code path, and the takeaway in words.

    Returns:
        ``(data, takeaway)``: columns ``time``, ``filled`` (cumulative shares), ``path``.
    """
    r = result
    p = find_parent(result, parent_id)
    fills = tables.executions(r)[tables.executions(r)["parent_id"] == p.id]
    paths = tables.child_orders(r).set_index("child_id")["path"]
    data = pd.DataFrame(
        {
            "time": clock(fills["time_ns"].to_numpy()),
            "filled": fills["qty"].cumsum().to_numpy(),
            "path": paths.reindex(fills["child_id"]).astype(str).to_numpy(),
        }
    )
    total = int(fills["qty"].sum())
    if total == 0:
        takeaway = "Nothing filled: this order never reached the market."
    elif total <= p.qty:
        takeaway = f"{total:,} of {p.qty:,} shares filled, and then it stopped."
    else:
        takeaway = f"{total:,} shares filled against {p.qty:,} asked: it never stopped."
    return data, takeaway
