"""Altair charts for the course (presentation layer: pandas and altair live here).

Two kinds of function:

* The ``*_data(...)`` series now live in :mod:`smars_sim.analysis.series` (plain pandas,
  tested without altair); they are re-exported here for the callers that read them
  as ``charts.pnl_data`` and so on.
* Chart builders take such a DataFrame and return an altair chart whose axes carry
  units: dollars in $M or $B, times as HH:MM (US Eastern, 1 August 2012), shares.

Every chart uses the Okabe-Ito palette, which stays distinguishable for the common
forms of colour blindness. Each builder takes a ``takeaway``: one line, computed
from the data by the caller, shown as the chart's subtitle.

Rendering is not chosen here: the notebooks and the panels of :mod:`smars_sim.ui` use
altair's ``jupyter`` renderer with ``offline=True`` (no CDN).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..analysis.series import (
    LAST_TRADE,
    LOCKED_IN,
    order_rate_data,
    pnl_data,
    positions_data,
    prices_data,
    top_symbols,
)
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
    usd_axis_expr,
)
from .theme import time_x as _time_x
from .theme import title as _title
from .theme import usd_unit_label as _usd_label

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
    money: bool = False,
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
        money: Dollars: label the axis with the shared dollar format ($2M, $7B), not
            ``axis_format`` (d3's SI prefixes would print a billion as "G").
    """
    axis = alt.Axis(labelExpr=usd_axis_expr()) if money else alt.Axis(format=axis_format)
    days = list(dict.fromkeys(data["day"]))
    line = (
        alt.Chart(data)
        .mark_line(interpolate="step-after")
        .encode(
            x=_time_x(),
            y=alt.Y("value:Q", title=label, axis=axis),
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
        legend=alt.Legend(title="Plan", orient="bottom", direction="horizontal"),
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
        alt.Chart(data, title=["Minutes from the open", "to the last bad order"])
        .mark_bar()
        .encode(
            y=alt.Y("plan:N", sort=order, title=None, axis=None),
            x=alt.X("minutes_to_stop:Q", title="Minutes after the open"),
            color=colour,
            tooltip=["plan:N", alt.Tooltip("minutes_to_stop:Q", format=".1f")],
        )
        .properties(width=min(width, 180), height=height)
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
