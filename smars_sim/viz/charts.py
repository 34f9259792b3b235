"""Altair charts for the course (presentation layer: pandas and altair live here).

Two kinds of function:

* ``*_data(...)`` turn a :class:`~smars_sim.core.result.Result` (or a table) into a tidy
  DataFrame with readable columns. They are plain pandas, so tests can check them.
* Chart builders take such a DataFrame and return an altair chart whose axes carry
  units: dollars in $M or $B, times as HH:MM (US Eastern, 1 August 2012), shares.

Every chart uses the Okabe-Ito palette, which stays distinguishable for the common
forms of colour blindness. Each builder takes a ``takeaway``: one line, computed
from the data by the caller, shown as the chart's subtitle.

Rendering is not chosen here: the notebooks and :mod:`smars_sim.ui.widgets` use
altair's ``jupyter`` renderer with ``offline=True`` (no CDN).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd

from ..core.clock import OPEN_NS, SECOND_NS, parse_time
from ..core.fleet import CHILD_FIELDS
from .theme import (
    DAY,
    HEIGHT,
    OKABE_ITO,
    SERVER_COLOURS,
    WIDTH,
    clock,
    day_domain,
    hhmm,
    server_colour,
    usd,
)
from .theme import time_x as _time_x
from .theme import title as _title
from .theme import usd_unit_label as _usd_label

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = [
    "DAY",
    "LAST_TRADE",
    "LOCKED_IN",
    "OKABE_ITO",
    "SERVER_COLOURS",
    "book_depth",
    "clock",
    "day_domain",
    "hhmm",
    "inbox_volume",
    "metric_with_threshold",
    "order_rate",
    "order_rate_data",
    "parent_fills",
    "plan_bars",
    "pnl_data",
    "pnl_line",
    "positions_area",
    "positions_data",
    "prices_data",
    "prices_lines",
    "render_check",
    "server_colour",
    "top_symbols",
    "usd",
]

#: P&L series names (see :func:`pnl_data`).
LOCKED_IN = "at the evening basket price"
LAST_TRADE = "marked at the last trade"


def top_symbols(result: Result, n: int = 5) -> list[str]:
    """The ``n`` symbols in which Knight traded the most shares, most first."""
    traded = result.window["knight_shares"]
    order = sorted(range(len(traded)), key=lambda i: (-traded[i], i))
    return [result.symbols[i] for i in order[:n] if traded[i]]


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
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
    factor = 1.0 / result.scenario.scale if full_size else 1.0
    starts = t0 + np.arange(n_bins, dtype=np.int64) * bin_ns
    return pd.DataFrame(
        {
            "time": np.repeat(clock(starts).to_numpy(), n_servers),
            "s": np.repeat((starts - t0) // SECOND_NS, n_servers),
            "s_end": np.repeat((starts - t0) // SECOND_NS + bin_s, n_servers),
            "server": np.tile([f"server {k}" for k in range(1, n_servers + 1)], n_bins),
            "server_id": np.tile(np.arange(1, n_servers + 1), n_bins),
            "orders_per_s": (counts.reshape(-1) * factor / bin_s).round(2),
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
    times, held = _position_matrix(result)
    keep = times >= OPEN_NS
    if not keep.any():
        return pd.DataFrame(columns=["time", "s", "series", "usd", "usd_m"])
    cash = np.array([s[1] for s in result.samples], dtype=float)
    marked = np.array([s[2] for s in result.samples], dtype=float)
    discount = result.scenario.basket_discount_bps / 1e4
    fair = np.array(result.close_fair, dtype=float)
    basket = np.where(held > 0, fair * (1 - discount), fair * (1 + discount))
    locked = cash + (held * basket).sum(axis=1)
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
    ex = result.executions
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
    table = result.prices
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


# --------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------
def _server_scale(n_servers: int) -> alt.Scale:
    names = [f"server {k}" for k in range(1, n_servers + 1)]
    return alt.Scale(domain=names, range=[server_colour(k) for k in range(1, n_servers + 1)])


def _fixed_y(values: pd.Series, until: alt.Parameter | None) -> alt.Scale | alt.UndefinedType:
    """In playback (``until`` given) the y axis spans the whole day, so it never rescales."""
    if until is None or not len(values):
        return alt.Undefined
    lo, hi = min(0.0, float(values.min())), max(0.0, float(values.max()))
    return alt.Scale(domain=[lo, hi if hi > lo else lo + 1], nice=True)


def _until(chart: alt.Chart, until: alt.Parameter | None) -> alt.Chart:
    return chart.transform_filter(alt.datum.s <= until) if until is not None else chart


def order_rate(
    data: pd.DataFrame,
    *,
    takeaway: str = "",
    until: alt.Parameter | None = None,
    scale: alt.Scale | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.Chart:
    """Stacked area: child orders per second, one colour per server.

    Args:
        data: From :func:`order_rate_data`.
        takeaway: One line shown under the title.
        until: A parameter; only rows with ``s <= until`` are drawn (playback).
        scale: A fixed time scale (see :func:`day_domain`).
    """
    n_servers = int(data["server_id"].max()) if len(data) else 8
    chart = (
        alt.Chart(data, title=_title("Child orders per second, by server", takeaway))
        .mark_area(interpolate="step-after")
        .encode(
            x=_time_x(scale=scale),
            y=alt.Y(
                "orders_per_s:Q",
                stack="zero",
                title="Child orders per second (full-size)",
                axis=alt.Axis(format=",.0f"),
                scale=_fixed_y(
                    data.groupby("s")["orders_per_s"].sum() if len(data) else data.get("s", []),
                    until,
                ),
            ),
            color=alt.Color(
                "server:N", scale=_server_scale(n_servers), legend=alt.Legend(title="Server")
            ),
            order=alt.Order("server_id:Q"),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S", title="from"),
                "server:N",
                alt.Tooltip("orders_per_s:Q", format=",.0f", title="orders/s"),
            ],
        )
        .properties(width=width, height=height)
    )
    # a bin is drawn once it is complete, so playback never shows the future
    return chart.transform_filter(alt.datum.s_end <= until) if until is not None else chart


def _pnl_colours(data: pd.DataFrame) -> alt.Scale:
    colours = {LOCKED_IN: OKABE_ITO["vermillion"], LAST_TRADE: OKABE_ITO["blue"]}
    present = [name for name in colours if name in set(data["series"])] or list(colours)
    return alt.Scale(domain=present, range=[colours[name] for name in present])


def pnl_line(
    data: pd.DataFrame,
    *,
    takeaway: str = "",
    until: alt.Parameter | None = None,
    scale: alt.Scale | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.TopLevelMixin:
    """Knight's P&L over time in $M (the series of :func:`pnl_data`), with a zero line."""
    base = alt.Chart(data, title=_title("Knight's profit and loss", takeaway))
    line = _until(
        base.mark_line().encode(
            x=_time_x(scale=scale),
            y=alt.Y(
                "usd_m:Q",
                title="P&L ($M)",
                axis=alt.Axis(labelExpr=_usd_label("M")),
                scale=_fixed_y(data["usd_m"], until),
            ),
            color=alt.Color(
                "series:N", scale=_pnl_colours(data), legend=alt.Legend(title="Valued")
            ),
            strokeDash=alt.StrokeDash("series:N", legend=None),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                "series:N",
                alt.Tooltip("usd_m:Q", format=",.1f", title="$M"),
            ],
        ),
        until,
    )
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0]}))
        .mark_rule(color=OKABE_ITO["black"], opacity=0.35)
        .encode(y="zero:Q")
    )
    return alt.layer(zero, line).properties(width=width, height=height)


def positions_area(
    data: pd.DataFrame,
    *,
    takeaway: str = "",
    until: alt.Parameter | None = None,
    scale: alt.Scale | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.Chart:
    """Gross long and short positions over time, in $B."""
    chart = (
        alt.Chart(data, title=_title("Positions building up", takeaway))
        .mark_line(interpolate="step-after")
        .encode(
            x=_time_x(scale=scale),
            y=alt.Y(
                "usd_b:Q",
                title="Position value ($B)",
                axis=alt.Axis(labelExpr=_usd_label("B")),
                scale=_fixed_y(data["usd_b"], until),
            ),
            color=alt.Color(
                "side:N",
                scale=alt.Scale(
                    domain=["long", "short"], range=[OKABE_ITO["blue"], OKABE_ITO["orange"]]
                ),
                legend=alt.Legend(title="Net position"),
            ),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                "side:N",
                alt.Tooltip("usd_b:Q", format=".2f", title="$B"),
                alt.Tooltip("symbols:Q", title="stocks"),
            ],
        )
        .properties(width=width, height=height)
    )
    return _until(chart, until)


def prices_lines(
    data: pd.DataFrame,
    *,
    takeaway: str = "",
    until: alt.Parameter | None = None,
    scale: alt.Scale | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.Chart:
    """Prices of a few symbols as % from their opening price."""
    symbols = list(dict.fromkeys(data["symbol"]))
    palette = [c for k, c in OKABE_ITO.items() if k not in ("yellow",)]
    chart = (
        alt.Chart(data, title=_title("Prices in the most-hit stocks (simulated)", takeaway))
        .mark_line()
        .encode(
            x=_time_x(scale=scale),
            y=alt.Y(
                "pct:Q",
                title="Change from the open (%)",
                axis=alt.Axis(format="+.0f"),
                scale=_fixed_y(data["pct"], until),
            ),
            color=alt.Color(
                "symbol:N",
                scale=alt.Scale(domain=symbols, range=palette[: len(symbols)]),
                legend=alt.Legend(title="Stock"),
            ),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                "symbol:N",
                alt.Tooltip("price_usd:Q", format="$.2f", title="price"),
                alt.Tooltip("pct:Q", format="+.1f", title="% from open"),
            ],
        )
        .properties(width=width, height=height)
    )
    return _until(chart, until)


def book_depth(
    data: pd.DataFrame, *, title: str = "Order book", takeaway: str = "", width: int = 360
) -> alt.Chart:
    """Resting shares at each price level: bids (buy orders) and offers (sell orders).

    Args:
        data: Columns ``side`` ("bid" / "offer"), ``price_usd``, ``shares``.
    """
    return (
        alt.Chart(data, title=_title(title, takeaway))
        .mark_bar()
        .encode(
            y=alt.Y(
                "price_usd:O",
                sort="descending",
                title="Price ($)",
                axis=alt.Axis(labelExpr="'$' + format(datum.value, ',.2f')"),
            ),
            x=alt.X("shares:Q", title="Shares resting (full-size equivalent)"),
            color=alt.Color(
                "side:N",
                scale=alt.Scale(
                    domain=["bid", "offer"], range=[OKABE_ITO["blue"], OKABE_ITO["orange"]]
                ),
                legend=alt.Legend(title="Side"),
            ),
            tooltip=["side:N", alt.Tooltip("price_usd:Q", format="$.2f"), "shares:Q"],
        )
        .properties(width=width, height=max(60, 22 * max(1, len(data))))
    )


def parent_fills(
    data: pd.DataFrame, qty: int, *, takeaway: str = "", width: int = WIDTH, height: int = HEIGHT
) -> alt.TopLevelMixin:
    """Cumulative shares filled for one parent order, against what the client asked for.

    Args:
        data: Columns ``time``, ``filled`` (cumulative shares), ``path``.
        qty: The parent's quantity (drawn as a dashed line).
    """
    paths = ["standard", "rlp", "power_peg"]
    line = (
        alt.Chart(data)
        .mark_line(interpolate="step-after", point=len(data) < 60)
        .encode(
            x=_time_x(),
            y=alt.Y("filled:Q", title="Shares filled (cumulative)", axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "path:N",
                scale=alt.Scale(
                    domain=paths,
                    range=[OKABE_ITO["green"], OKABE_ITO["blue"], OKABE_ITO["vermillion"]],
                ),
                legend=alt.Legend(title="Code path"),
            ),
            tooltip=[alt.Tooltip("time:T", format="%H:%M:%S"), "path:N", "filled:Q"],
        )
    )
    target = (
        alt.Chart(pd.DataFrame({"qty": [qty], "label": ["client asked for"]}))
        .mark_rule(strokeDash=[6, 4], color=OKABE_ITO["black"])
        .encode(y="qty:Q", tooltip=["label:N", "qty:Q"])
    )
    return alt.layer(line, target, title=_title("One parent order's fills", takeaway)).properties(
        width=width, height=height
    )


def inbox_volume(
    data: pd.DataFrame, *, takeaway: str = "", width: int = WIDTH, height: int = 150
) -> alt.Chart:
    """E-mails per interval, stacked: the BNET rejects among everything else.

    Args:
        data: Columns ``time``, ``kind``, ``count`` (and ``end``, each bar's end).
    """
    return (
        alt.Chart(data, title=_title("The morning's e-mail", takeaway))
        .mark_bar()
        .encode(
            x=_time_x(step_minutes=5),
            y=alt.Y("count:Q", title="E-mails per 5 minutes", stack="zero"),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["other e-mail", "BNET reject"],
                    range=[OKABE_ITO["sky_blue"], OKABE_ITO["vermillion"]],
                ),
                legend=alt.Legend(title="Message"),
            ),
            order=alt.Order("kind:N", sort="descending"),
            tooltip=[alt.Tooltip("time:T", format="%H:%M"), "kind:N", "count:Q"],
        )
        .properties(width=width, height=height)
    )


def metric_with_threshold(
    data: pd.DataFrame,
    threshold: float,
    fired_ns: int | None,
    *,
    label: str,
    axis_format: str = ",.0f",
    title: str = "Your alert rule",
    takeaway: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.TopLevelMixin:
    """A metric over time (one line per ``day``), the threshold, and when the rule fired.

    Args:
        data: Columns ``time``, ``value``, ``day`` ("1 Aug 2012 replay" / "normal morning").
        threshold: Drawn as a dashed horizontal line.
        fired_ns: When the rule fired on the incident day (a vertical line), or ``None``.
        label: The y-axis title (with units).
    """
    days = list(dict.fromkeys(data["day"]))
    line = (
        alt.Chart(data)
        .mark_line(interpolate="step-after")
        .encode(
            x=_time_x(),
            y=alt.Y("value:Q", title=label, axis=alt.Axis(format=axis_format)),
            color=alt.Color(
                "day:N",
                scale=alt.Scale(
                    domain=days, range=[OKABE_ITO["vermillion"], OKABE_ITO["blue"]][: len(days)]
                ),
                legend=alt.Legend(title="Morning"),
            ),
            tooltip=[alt.Tooltip("time:T", format="%H:%M:%S"), "day:N", "value:Q"],
        )
    )
    layers: list[alt.Chart] = [line]
    layers.append(
        alt.Chart(pd.DataFrame({"threshold": [threshold]}))
        .mark_rule(strokeDash=[6, 4], color=OKABE_ITO["black"])
        .encode(y="threshold:Q")
    )
    if fired_ns is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"time": [clock(fired_ns)], "what": ["rule fires"]}))
            .mark_rule(color=OKABE_ITO["green"], size=2)
            .encode(x="time:T", tooltip=[alt.Tooltip("time:T", format="%H:%M:%S"), "what:N"])
        )
    return alt.layer(*layers, title=_title(title, takeaway)).properties(width=width, height=height)


def plan_bars(data: pd.DataFrame, *, takeaway: str = "", width: int = 300) -> alt.TopLevelMixin:
    """Response plans side by side: the loss under each, and minutes until the last bad order.

    Args:
        data: Columns ``plan``, ``loss_usd_m``, ``minutes_to_stop``, ``kind``
            ("preset" / "yours").
    """
    order = list(data["plan"])
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["preset", "yours"], range=[OKABE_ITO["blue"], OKABE_ITO["orange"]]),
        legend=alt.Legend(title="Plan"),
    )
    y = alt.Y("plan:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    height = max(80, 26 * len(order))
    loss = (
        alt.Chart(data, title="Loss ($M)")
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("loss_usd_m:Q", title="Loss ($M)", axis=alt.Axis(labelExpr=_usd_label("M"))),
            color=colour,
            tooltip=["plan:N", alt.Tooltip("loss_usd_m:Q", format=",.1f", title="loss $M")],
        )
        .properties(width=width, height=height)
    )
    minutes = (
        alt.Chart(data, title="Minutes from the open to the last bad order")
        .mark_bar()
        .encode(
            y=alt.Y("plan:N", sort=order, title=None, axis=None),
            x=alt.X("minutes_to_stop:Q", title="Minutes after the open"),
            color=colour,
            tooltip=["plan:N", alt.Tooltip("minutes_to_stop:Q", format=".1f")],
        )
        .properties(width=220, height=height)
    )
    return alt.hconcat(loss, minutes, title=_title("Response plans compared", takeaway))


def server_share(
    data: pd.DataFrame, *, takeaway: str = "", width: int = WIDTH, height: int = HEIGHT
) -> alt.Chart:
    """Executions per minute by server (the forensic view of the full-size log).

    Args:
        data: Columns ``time``, ``server`` ("server k"), ``server_id``, ``executions``
            (and ``end``, each bar's end).
    """
    n_servers = int(data["server_id"].max()) if len(data) else 8
    return (
        alt.Chart(data, title=_title("Executions per minute, by server", takeaway))
        .mark_bar()
        .encode(
            x=_time_x(step_minutes=1),
            y=alt.Y("executions:Q", title="Executions per minute", axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "server:N", scale=_server_scale(n_servers), legend=alt.Legend(title="Server")
            ),
            order=alt.Order("server_id:Q"),
            tooltip=[alt.Tooltip("time:T", format="%H:%M"), "server:N", "executions:Q"],
        )
        .properties(width=width, height=height)
    )


def render_check(clicks: int) -> alt.Chart:
    """A tiny bar chart for the set-up check: one bar per click so far."""
    data = pd.DataFrame({"click": list(range(1, clicks + 1)), "height": [1] * clicks})
    return (
        alt.Chart(data, title=_title("Render check", f"{clicks} click(s) so far"))
        .mark_bar(color=OKABE_ITO["blue"])
        .encode(
            x=alt.X("click:O", title="Click number"),
            y=alt.Y("height:Q", title="Bar (no unit)", scale=alt.Scale(domain=[0, 1])),
        )
        .properties(width=240, height=80)
    )
