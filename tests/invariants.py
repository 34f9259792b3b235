"""Invariants every replay must satisfy, whatever the scenario or calibration.

``check_invariants(result)`` recomputes what it can from the raw tables (executions,
child orders, parents, actions, samples) and compares it with what the simulation
reports. It asserts nothing about calibrated figures (loss, counts): only that the
books balance and that the logs agree with each other and with the summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smars_sim import Result, format_time
from smars_sim.analysis import tables

__all__ = ["check_invariants", "signed_executions", "stop_times"]


def signed_executions(result: Result) -> pd.DataFrame:
    """The executions table with integer cents, a symbol index and a signed quantity."""
    ex = tables.executions(result)
    out = pd.DataFrame(
        {
            "time_ns": ex["time_ns"].to_numpy(),
            "child_id": ex["child_id"].to_numpy(),
            "parent_id": ex["parent_id"].to_numpy(),
            "server": ex["server"].to_numpy(),
            "symbol": ex["symbol"].cat.codes.to_numpy().astype(np.int64),
            "sign": np.where(ex["side"].astype(str).to_numpy() == "buy", 1, -1),
            "cents": np.rint(ex["price_usd"].to_numpy() * 100).astype(np.int64),
            "qty": ex["qty"].to_numpy(),
        }
    )
    out["signed"] = out["sign"] * out["qty"]
    out["cash"] = -out["signed"] * out["cents"]  # buying spends cash, selling brings it in
    return out


def stop_times(result: Result) -> dict[int, int]:
    """Server -> the earliest time it was stopped (by a stop or a halt of all servers)."""
    actions = tables.actions(result)
    stops: dict[int, int] = {}
    n = result.scenario.servers
    for row in actions.itertuples(index=False):
        if row.action == "stop server":
            targets = [int(row.server)]
        elif row.action == "halt all servers":
            targets = list(range(1, n + 1))
        else:
            continue
        for server in targets:
            stops[server] = min(stops.get(server, int(row.time_ns)), int(row.time_ns))
    return stops


def _per_symbol(frame: pd.DataFrame, column: str, n: int) -> np.ndarray:
    return np.bincount(frame["symbol"], weights=frame[column], minlength=n).astype(np.int64)


def check_invariants(result: Result) -> None:
    """Assert every replay invariant on ``result`` (a finished replay)."""
    n_symbols = len(result.symbols)
    n_servers = result.scenario.servers
    ex = signed_executions(result)
    children = tables.child_orders(result)
    parents = {p.id: p for p in result.parents}
    position = np.array(result.position, dtype=np.int64)

    # --- Every share bought was sold by someone: Knight + others + makers = 0.
    others = np.array(result.others_position, dtype=np.int64)
    makers = np.array(result.maker_position, dtype=np.int64)
    assert (position + others + makers == 0).all(), "shares bought != shares sold"
    # Knight only ever trades with the makers (they own every resting order), so what
    # Knight bought net in each symbol is what the makers sold to Knight.
    knight_net = _per_symbol(ex, "signed", n_symbols)
    sold_to_knight = -(makers + others)
    assert (knight_net == sold_to_knight).all(), "Knight's executions != makers' sales to Knight"

    # --- Every execution belongs to a child order; every child to a server and a parent.
    n_children = len(children)
    assert n_children == len(result.children) // 5
    assert (children["child_id"].to_numpy() == np.arange(1, n_children + 1)).all()
    assert ex["child_id"].between(1, n_children).all(), "an execution without a child order"
    assert children["server"].between(1, n_servers).all(), "a child order without a server"
    assert children["parent_id"].isin(list(parents)).all(), "a child order without a parent"
    child_parent = children["parent_id"].to_numpy()[ex["child_id"].to_numpy() - 1]
    assert (ex["parent_id"].to_numpy() == child_parent).all()
    child_server = children["server"].to_numpy()[ex["child_id"].to_numpy() - 1]
    assert (ex["server"].to_numpy() == child_server).all()
    parent_server = np.zeros(max(parents) + 1, dtype=np.int64)
    for p in result.parents:
        parent_server[p.id] = p.server
    assert (children["server"].to_numpy() == parent_server[children["parent_id"].to_numpy()]).all()
    # An execution never precedes its child order nor overfills it.
    child_time = children["time_ns"].to_numpy()[ex["child_id"].to_numpy() - 1]
    assert (ex["time_ns"].to_numpy() >= child_time).all(), "an execution before its child order"
    per_child = np.bincount(ex["child_id"], weights=ex["qty"], minlength=n_children + 1)[1:]
    assert (per_child <= children["qty"].to_numpy()).all(), "a child order filled beyond its qty"
    # A parent's filled quantity is the sum of its children's executions.
    per_parent = ex.groupby("parent_id")["qty"].sum()
    for p in result.parents:
        assert p.filled_qty == int(per_parent.get(p.id, 0)), f"parent {p.id} filled_qty"
        assert p.held_qty == 0, f"parent {p.id} still has shares held at the exchange"

    # --- Positions are the cumulative signed executions.
    assert (knight_net == position).all(), "positions != cumulative signed executions"

    # --- Cash + marked positions = P&L, at every sample.
    pnl = tables.pnl(result)
    assert len(pnl) == len(result.samples) == len(result.price_samples) > 0
    ex_sorted = ex.sort_values("time_ns", kind="stable")
    times = ex_sorted["time_ns"].to_numpy()
    cum_cash = np.concatenate([[0], np.cumsum(ex_sorted["cash"].to_numpy())])
    for row, prices in zip(pnl.itertuples(index=False), result.price_samples, strict=True):
        # Executions up to the sample time. Events at the sample's own nanosecond may run
        # before or after it (the engine breaks ties by scheduling order), so the sample
        # must match one of the prefixes that end at that nanosecond.
        lo = int(np.searchsorted(times, row.time_ns, side="left"))
        hi = int(np.searchsorted(times, row.time_ns, side="right"))
        marks = np.array(prices, dtype=float)
        matches = []
        for k in range(lo, hi + 1):
            upto = ex_sorted.iloc[:k]
            pos_t = np.bincount(upto["symbol"], weights=upto["signed"], minlength=n_symbols)
            cash_t = int(cum_cash[k])
            marked = cash_t + float(np.dot(pos_t, marks))
            matches.append(
                abs(row.cash_usd - cash_t / 100) <= 0.01
                and abs(row.pnl_usd - marked / 100) <= 0.01 * n_symbols
            )
        assert any(matches), (
            f"at {row.time}: cash {row.cash_usd} and P&L {row.pnl_usd} are not cash + "
            "positions marked at the last prices"
        )
    # The realised loss: cash plus every position sold in the after-close basket.
    cash = int(ex["cash"].sum())
    basket = sum(int(q) * result.basket_price(i) for i, q in enumerate(position) if q)
    loss = -(cash + basket) / 100
    assert abs(result.summary.loss_usd - loss) <= 0.01 * n_symbols, "loss_usd"

    # --- No child order from a server after its stop time.
    for server, stopped in stop_times(result).items():
        late = children[(children["server"] == server) & (children["time_ns"] > stopped)]
        assert late.empty, f"server {server} sent {len(late)} child orders after its stop"
    # ...nor from any server after the replay's last action (everyone was stopped by then).
    start = result.scenario.t("start_at") or 0
    assert children["time_ns"].ge(start).all()

    # --- The summary agrees with the tables.
    s = result.summary
    assert s.executions == len(tables.executions(result))
    assert s.child_orders == n_children
    assert s.shares_traded == int(ex["qty"].sum())
    assert s.symbols_traded == ex["symbol"].nunique()
    assert s.long_symbols == int((position > 0).sum())
    assert s.short_symbols == int((position < 0).sum())
    last = np.array(result.last_price, dtype=float)
    assert abs(s.long_usd - float((np.clip(position, 0, None) * last).sum()) / 100) <= 0.01
    assert abs(s.short_usd - float((np.clip(-position, 0, None) * last).sum()) / 100) <= 0.01
    peg = children[children["path"] == "power_peg"]
    assert s.parent_orders == peg["parent_id"].nunique()
    assert s.parent_orders == sum(1 for p in result.parents if p.ran_power_peg)
    assert s.bnet_emails == len(tables.alerts(result).query("channel == 'email'"))
    if len(peg):
        assert s.start is not None and s.stop is not None
        assert s.start == format_time(int(peg["time_ns"].min()), ms=True)
        assert s.stop == format_time(int(peg["time_ns"].max()), ms=True)
    else:
        assert s.start is None and s.stop is None and s.duration_minutes == 0
