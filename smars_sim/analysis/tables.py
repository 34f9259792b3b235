"""pandas tables built from a :class:`~smars_sim.core.result.Result` (the analysis layer).

The simulation keeps its logs as flat integer arrays; this module turns them into
DataFrames with readable columns. Money columns end in ``_usd`` (dollars), times
are ns since midnight plus an ``HH:MM:SS.fff`` text column where people read them.

Each table is built once per result and kept while the result lives
(``tables.executions(result)`` twice builds one DataFrame): a result is immutable
once its replay has finished, and views ask for the same table again and again.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.clock import format_time
from ..core.fleet import CHILD_FIELDS, PATH_CODES
from .execution_log import EXECUTION_COLUMNS, SIDES, execution_arrays, parent_lookup

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = [
    "EXECUTION_COLUMNS",
    "actions",
    "alerts",
    "child_orders",
    "execution_columns",
    "executions",
    "parent_orders",
    "pnl",
    "positions",
    "prices",
]

_PATH_NAMES = {code: name for name, code in PATH_CODES.items()}


def _per_result(build: Callable[[Result], pd.DataFrame]) -> Callable[[Result], pd.DataFrame]:
    """Build a result's table once; later calls return the same DataFrame."""
    built: weakref.WeakKeyDictionary[Result, pd.DataFrame] = weakref.WeakKeyDictionary()

    @wraps(build)
    def table(result: Result) -> pd.DataFrame:
        frame = built.get(result)
        if frame is None:
            frame = built[result] = build(result)
        return frame

    return table


def _columns(flat, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    data = np.frombuffer(flat, dtype="<i8") if len(flat) else np.zeros(0, dtype="<i8")
    table = data.reshape(-1, len(fields))
    return {name: table[:, i].copy() for i, name in enumerate(fields)}


@_per_result
def parent_orders(result: Result) -> pd.DataFrame:
    """One row per parent order."""
    parent_ids = _columns(result.children, CHILD_FIELDS)["parent_id"]
    size = max((p.id for p in result.parents), default=0) + 1
    counts = (
        np.bincount(parent_ids, minlength=size)
        if len(parent_ids)
        else np.zeros(size, dtype=np.int64)
    )
    rows = [
        {
            "parent_id": p.id,
            "received_ns": p.received,
            "received": format_time(p.received),
            "symbol": result.symbols[p.symbol],
            "side": "buy" if p.side > 0 else "sell",
            "qty": p.qty,
            "retail": p.retail,
            "for_open": p.for_open,
            "server": p.server,
            "path": p.path,
            "filled_qty": p.filled_qty,
            "child_orders": int(counts[p.id]),
            "ran_power_peg": p.ran_power_peg,
            "rejected": p.rejected,
        }
        for p in result.parents
    ]
    return pd.DataFrame(rows)


@_per_result
def child_orders(result: Result) -> pd.DataFrame:
    """One row per child order: its server, parent, symbol, side, price, shares and code path."""
    cols = _columns(result.children, CHILD_FIELDS)
    server, symbol, side = parent_lookup(result)
    parents = cols["parent_id"]
    return pd.DataFrame(
        {
            "child_id": np.arange(1, len(parents) + 1, dtype=np.int64),
            "time_ns": cols["time"],
            "server": server[parents],
            "parent_id": parents,
            "symbol": pd.Categorical.from_codes(symbol[parents], categories=result.symbols),
            "side": pd.Categorical.from_codes(
                (side[parents] < 0).astype(np.int8), categories=list(SIDES)
            ),
            "price_usd": cols["price"] / 100.0,
            "qty": cols["qty"],
            "path": pd.Categorical.from_codes(cols["path"], categories=list(PATH_CODES)),
        }
    )


def execution_columns(
    result: Result, rows: slice | None = None
) -> dict[str, np.ndarray | pd.Categorical]:
    """The executions table's columns, built without copying the whole logs.

    The row is defined once, in :func:`smars_sim.analysis.execution_log.execution_arrays`
    (numpy only, so the full-day cache's builder needs no pandas); here its ``symbol``
    and ``side`` codes become categoricals.

    Args:
        result: A finished replay.
        rows: Only these executions (default: all).
    """
    columns: dict[str, np.ndarray | pd.Categorical] = dict(execution_arrays(result, rows))
    columns["symbol"] = pd.Categorical.from_codes(columns["symbol"], categories=result.symbols)
    columns["side"] = pd.Categorical.from_codes(columns["side"], categories=list(SIDES))
    return columns


@_per_result
def executions(result: Result) -> pd.DataFrame:
    """One row per execution, joined to its child order for server, parent, symbol and side."""
    return pd.DataFrame(execution_columns(result), copy=False)


_POSITION_COLUMNS = [
    "symbol",
    "synthetic",
    "position",
    "open_usd",
    "last_usd",
    "market_value_usd",
    "basket_price_usd",
    "knight_volume_pct",
    "max_move_pct",
]


@_per_result
def positions(result: Result) -> pd.DataFrame:
    """One row per symbol Knight traded: position, prices and realised P&L at close-out."""
    rows = []
    moves = result.symbol_moves()
    for i, q in enumerate(result.position):
        knight = result.window["knight_shares"][i]
        if not q and not knight:
            continue
        share, move = moves[i]
        rows.append(
            {
                "symbol": result.symbols[i],
                "synthetic": result.synthetic[i],
                "position": q,
                "open_usd": result.open_price[i] / 100,
                "last_usd": result.last_price[i] / 100,
                "market_value_usd": q * result.last_price[i] / 100,
                "basket_price_usd": result.basket_price(i) / 100 if q else None,
                "knight_volume_pct": share,
                "max_move_pct": move,
            }
        )
    # Named columns: a result taken before anything traded still has the table's shape.
    return pd.DataFrame(rows, columns=_POSITION_COLUMNS)


@_per_result
def pnl(result: Result) -> pd.DataFrame:
    """P&L over time.

    ``pnl_usd`` marks positions at the last trade; ``realisable_usd`` at the close-out price.
    """
    if not result.samples:
        return pd.DataFrame(
            columns=[
                "time_ns",
                "time",
                "cash_usd",
                "pnl_usd",
                "realisable_usd",
                "child_orders",
                "executions",
            ]
        )
    t, cash, mark, closeout, children, execs = zip(*result.samples, strict=True)
    return pd.DataFrame(
        {
            "time_ns": np.array(t, dtype=np.int64),
            "time": [format_time(x) for x in t],
            "cash_usd": np.array(cash, dtype=float) / 100,
            "pnl_usd": np.array(mark, dtype=float) / 100,
            "realisable_usd": np.array(closeout, dtype=float) / 100,
            "child_orders": np.array(children, dtype=np.int64),
            "executions": np.array(execs, dtype=np.int64),
        }
    )


@_per_result
def alerts(result: Result) -> pd.DataFrame:
    """Automated messages: the e-mails that existed, and pages from controls (if any)."""
    rows = [
        {
            "time_ns": t,
            "time": format_time(t),
            "channel": "email",
            "source": f"server {server}",
            "symbol": result.symbols[symbol],
            "text": text,
        }
        for t, server, _parent, symbol, text in result.emails
    ]
    rows += [
        {
            "time_ns": t,
            "time": format_time(t),
            "channel": "page",
            "source": control,
            "symbol": "",
            "text": detail,
        }
        for t, control, detail in result.pages
    ]
    frame = pd.DataFrame(rows, columns=["time_ns", "time", "channel", "source", "symbol", "text"])
    return frame.sort_values("time_ns", kind="stable").reset_index(drop=True)


@_per_result
def actions(result: Result) -> pd.DataFrame:
    """Timeline of operator and system actions."""
    return pd.DataFrame(
        [
            {
                "time_ns": e.time,
                "time": format_time(e.time) if e.time else "before 1 Aug",
                "actor": e.actor,
                "action": e.action,
                "server": e.server,
                "detail": e.detail,
            }
            for e in result.timeline
        ],
        columns=["time_ns", "time", "actor", "action", "server", "detail"],
    )


@_per_result
def prices(result: Result) -> pd.DataFrame:
    """Last trade price (USD) of each symbol at each sample; one column per symbol."""
    times = [s[0] for s in result.samples]
    data = (
        np.array(result.price_samples, dtype=float) / 100
        if result.price_samples
        else np.zeros((0, len(result.symbols)))
    )
    frame = pd.DataFrame(data, columns=result.symbols)
    frame.insert(0, "time_ns", np.array(times, dtype=np.int64))
    return frame
