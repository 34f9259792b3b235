"""The series behind each chart of the course: a replay turned into tidy tables.

Each function takes a :class:`~smars_sim.core.result.Result` (or a live simulation)
and returns a plain pandas DataFrame with readable columns; the chart builders of
:mod:`smars_sim.viz` draw them, and the tests check them without altair.
Times are ``time`` (timestamps on 1 August 2012, naive, read as US Eastern) and
``s`` (seconds after the open), so a chart can filter on ``s`` in playback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ..core import pnl
from ..core.clock import OPEN_NS, SECOND_NS, parse_time
from ..core.fleet import CHILD_FIELDS
from ..core.rates import full_size_rate
from ..core.record import load_table
from . import tables

if TYPE_CHECKING:
    from ..core.engine import Simulation
    from ..core.result import Result

__all__ = [
    "DAY",
    "LAST_TRADE",
    "LOCKED_IN",
    "child_order_times",
    "clock",
    "documented_first",
    "documented_tickers",
    "live_loss_data",
    "live_order_rate_data",
    "metric_days_data",
    "order_rate_data",
    "pnl_data",
    "positions_data",
    "prices_data",
    "top_symbols",
]

#: The trading day every chart's clock refers to.
DAY = pd.Timestamp("2012-08-01")


def clock(ns: Iterable[int] | int) -> pd.DatetimeIndex | pd.Timestamp:
    """Nanoseconds since midnight -> timestamps on 1 Aug 2012 (naive: read as US Eastern)."""
    if isinstance(ns, (int, np.integer)):
        return DAY + pd.Timedelta(int(ns), unit="ns")
    return DAY + pd.to_timedelta(np.asarray(list(ns), dtype=np.int64), unit="ns")


#: P&L series names (see :func:`pnl_data`).
LOCKED_IN = pnl.LOCKED_IN
LAST_TRADE = pnl.MARKED


def documented_tickers() -> frozenset[str]:
    """The tickers the record names (``data/named_tickers.csv``, record §4)."""
    return frozenset(row["symbol"] for row in load_table("named_tickers"))


def documented_first(tickers: Iterable[str]) -> list[str]:
    """The tickers with the record's named stocks first, each group in the order given.

    Every view that lists stocks orders them with this, so a learner meets the stocks
    the record documents (WZE, CO, CODE…) before the simulated ``~S…`` names.
    """
    named = documented_tickers()
    given = list(tickers)
    return [t for t in given if t in named] + [t for t in given if t not in named]


def top_symbols(result: Result, n: int = 5, *, lead_with_documented: bool = True) -> list[str]:
    """The ``n`` symbols in which Knight traded the most shares.

    Args:
        result: A replay.
        n: How many.
        lead_with_documented: Put the record's named stocks that Knight traded first
            (most traded first among them), then the rest, most traded first.
    """
    traded = result.window["knight_shares"]
    order = sorted(range(len(traded)), key=lambda i: (-traded[i], i))
    tickers = [result.symbols[i] for i in order if traded[i]]
    if lead_with_documented:
        tickers = documented_first(tickers)
    return tickers[:n]


def order_rate_data(
    result: Result,
    bin_s: int = 15,
    start: str | int = "09:30",
    end: str | int | None = None,
    *,
    full_size: bool = True,
) -> pd.DataFrame:
    """Child orders per second by server, in ``bin_s``-second bins (every server, every bin).

    Args:
        result: A replay.
        bin_s: Bin width in seconds.
        start: First bin's start.
        end: Last bin's end (default: the window end, or the last child order if later).
        full_size: Divide by the replay's scale, so a 1% replay reads as the full day
            (a replay at scale ``s`` sends ``s`` times as many child orders, each
            ``1/s`` times bigger).

    Returns:
        Columns ``time`` (bin start), ``s`` and ``s_end`` (bin start and end, seconds
        after ``start``), ``server`` (e.g. "server 8"), ``server_id``, ``orders_per_s``.
    """
    t0 = parse_time(start)
    flat = np.frombuffer(result.children, dtype="<i8") if len(result.children) else None
    width = len(CHILD_FIELDS)
    times = flat[0::width] if flat is not None else np.zeros(0, dtype=np.int64)
    parent_ids = flat[1::width] if flat is not None else np.zeros(0, dtype=np.int64)
    size = max((p.id for p in result.parents), default=0) + 1
    server_of = np.zeros(size, dtype=np.int64)
    for p in result.parents:
        server_of[p.id] = p.server
    servers = server_of[parent_ids]
    if end is None:
        t1 = parse_time(result.scenario.window_end)
        if len(times):
            t1 = max(t1, int(times.max()) + 1)
    else:
        t1 = parse_time(end)
    bin_ns = bin_s * SECOND_NS
    n_bins = max(1, -(-(t1 - t0) // bin_ns))
    n_servers = result.scenario.servers
    counts = np.zeros((n_bins, n_servers), dtype=np.int64)
    keep = (times >= t0) & (times < t0 + n_bins * bin_ns) & (servers >= 1)
    np.add.at(counts, ((times[keep] - t0) // bin_ns, servers[keep] - 1), 1)
    scale = result.scenario.scale if full_size else 1.0
    starts = t0 + np.arange(n_bins, dtype=np.int64) * bin_ns
    return pd.DataFrame(
        {
            "time": np.repeat(clock(starts).to_numpy(), n_servers),
            "s": np.repeat((starts - t0) // SECOND_NS, n_servers),
            "s_end": np.repeat((starts - t0) // SECOND_NS + bin_s, n_servers),
            "server": np.tile([f"server {k}" for k in range(1, n_servers + 1)], n_bins),
            "server_id": np.tile(np.arange(1, n_servers + 1), n_bins),
            "orders_per_s": full_size_rate(counts.reshape(-1), bin_s, scale).round(2),
        }
    )


def pnl_data(result: Result) -> pd.DataFrame:
    """P&L after the open, long form: ``time``, ``s``, ``series``, ``usd``, ``usd_m``.

    Two series:

    * :data:`LOCKED_IN`: cash plus the position held at that moment, valued at the
      price the whole position fetched when it was sold as one basket after the close.
      It is the loss the trades made so far went on to cost; at the end of the run it
      equals the day's loss (``-Result.summary.loss_usd``).
    * :data:`LAST_TRADE`: positions marked at each stock's last trade, as a position
      screen would show them during the run (inflated by Knight's own buying and
      selling, which had pushed those prices).
    """
    times = np.array([s[0] for s in result.samples], dtype=np.int64)
    keep = times >= OPEN_NS
    if not keep.any():
        return pd.DataFrame(columns=["time", "s", "series", "usd", "usd_m"])
    marked = np.array([s[2] for s in result.samples], dtype=float)
    # The one definition of the loss locked in (smars_sim.core.pnl), from the open on.
    locked = np.zeros(len(times), dtype=float)
    locked[keep] = [value for _, value in pnl.locked_in_cents(result)]
    rows = []
    for values, name in ((locked, LOCKED_IN), (marked, LAST_TRADE)):
        rows.append(
            pd.DataFrame(
                {
                    "time": clock(times[keep]),
                    "s": (times[keep] - OPEN_NS) // SECOND_NS,
                    "series": name,
                    "usd": (values[keep] / 100).round(2),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out["usd_m"] = (out["usd"] / 1e6).round(3)
    return out


def _position_matrix(result: Result) -> tuple[np.ndarray, np.ndarray]:
    """Sample times and Knight's signed shares per symbol at each sample."""
    times = np.array([s[0] for s in result.samples], dtype=np.int64)
    n = len(result.symbols)
    ex = tables.executions(result)
    signed = ex["qty"].to_numpy() * np.where(ex["side"].to_numpy() == "buy", 1, -1)
    codes = ex["symbol"].cat.codes.to_numpy()
    slot = np.searchsorted(times, ex["time_ns"].to_numpy(), side="left")
    delta = np.zeros((len(times) + 1, n), dtype=np.int64)
    np.add.at(delta, (slot, codes), signed)
    return times, np.cumsum(delta, axis=0)[:-1]


def positions_data(result: Result) -> pd.DataFrame:
    """Knight's gross long and short positions over time, valued at the last trade.

    Returns:
        Columns ``time``, ``s``, ``side`` ("long" / "short"), ``usd``, ``usd_b``, ``symbols``.
    """
    times, held = _position_matrix(result)
    if not len(times):
        return pd.DataFrame(columns=["time", "s", "side", "usd", "usd_b", "symbols"])
    prices = np.array(result.price_samples, dtype=float) / 100
    value = held * prices
    long_usd = np.where(value > 0, value, 0).sum(axis=1)
    short_usd = -np.where(value < 0, value, 0).sum(axis=1)
    frames = []
    for side, usd_col, count in (
        ("long", long_usd, (held > 0).sum(axis=1)),
        ("short", short_usd, (held < 0).sum(axis=1)),
    ):
        frames.append(
            pd.DataFrame(
                {
                    "time": clock(times),
                    "s": (times - OPEN_NS) // SECOND_NS,
                    "side": side,
                    "usd": usd_col.round(2),
                    "symbols": count,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["usd_b"] = (out["usd"] / 1e9).round(4)
    return out


def prices_data(result: Result, symbols: Sequence[str]) -> pd.DataFrame:
    """Last-trade prices of some symbols, as % from the opening price.

    Returns:
        Columns ``time``, ``s``, ``symbol``, ``price_usd``, ``pct``.
    """
    table = tables.prices(result)
    frames = []
    for symbol in symbols:
        i = result.symbols.index(symbol)
        open_usd = result.open_price[i] / 100
        price = table[symbol].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "time": clock(table["time_ns"].to_numpy()),
                    "s": (table["time_ns"].to_numpy() - OPEN_NS) // SECOND_NS,
                    "symbol": symbol,
                    "price_usd": price,
                    "pct": ((price / open_usd - 1) * 100).round(2),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def child_order_times(result: Result) -> tuple[np.ndarray, np.ndarray]:
    """Every child order's time and server, sorted by time (what the playback counts).

    Returns:
        ``(times, servers)``: int64 ns since midnight, and the sending server of each.
    """
    width = len(CHILD_FIELDS)
    flat = np.frombuffer(result.children, dtype="<i8") if len(result.children) else None
    times = flat[0::width] if flat is not None else np.zeros(0, dtype=np.int64)
    parents = flat[1::width] if flat is not None else np.zeros(0, dtype=np.int64)
    server_of = {p.id: p.server for p in result.parents}
    order = np.argsort(times, kind="stable")
    servers = np.array([server_of[int(i)] for i in parents[order]], dtype=int)
    return times[order], servers


# --------------------------------------------------------------------------
# A live simulation (the game day), read as a result so far
# --------------------------------------------------------------------------
@dataclass(slots=True)
class _ResultView:
    """What :func:`order_rate_data` reads from a result, taken from a live sim."""

    children: Any
    parents: list[Any]
    scenario: Any


def live_order_rate_data(sim: Simulation, bin_s: int = 30) -> pd.DataFrame:
    """Child orders per second by server so far, in ``bin_s`` bins (full-size rates)."""
    view = _ResultView(sim.fleet.children, list(sim.fleet.parents.values()), sim.scenario)
    end = max(sim.now, OPEN_NS + bin_s * SECOND_NS)
    return order_rate_data(cast("Result", view), bin_s=bin_s, end=end)


def live_loss_data(history: Sequence[tuple[int, float]]) -> pd.DataFrame:
    """The loss if stopped now, from ``(time, close-out P&L in dollars)`` points.

    Returns:
        Columns ``time`` and ``loss_usd_m`` (positive when money is lost), from the open.
    """
    points = [(t, v) for t, v in history if t >= OPEN_NS]
    if not points:
        points = [(OPEN_NS, 0.0)]
    return pd.DataFrame(
        {
            "time": clock([t for t, _ in points]),
            "loss_usd_m": [round(-v / 1e6, 3) for _, v in points],
        }
    )


def metric_days_data(incident: pd.DataFrame, normal: pd.DataFrame) -> pd.DataFrame:
    """A monitoring metric on 1 August and on a normal morning, long form for one chart.

    Args:
        incident, normal: :func:`smars_sim.analysis.forensics.metric_series` of each day.

    Returns:
        Columns ``time``, ``value``, ``day`` ("1 Aug 2012 replay" / "normal morning").
    """
    frames = []
    for series, label in ((incident, "1 Aug 2012 replay"), (normal, "normal morning")):
        frames.append(
            pd.DataFrame(
                {
                    "time": clock(series["time_ns"].to_numpy()),
                    "value": series["value"],
                    "day": label,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
