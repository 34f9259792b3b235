"""Charts of the morning itself: the market open played back, the warnings, the forensics.

Each builder takes a replay (or its series from :mod:`smars_sim.analysis.series`)
and returns one altair chart with its takeaway computed from the data, drawn with
the theme's palette, time axis and title helper (:mod:`smars_sim.viz.theme`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import altair as alt
import pandas as pd

from ..analysis import forensics as F
from ..analysis.inbox import INBOX_START, emails_per_minute
from ..analysis.series import LAST_TRADE, LOCKED_IN, pnl_data
from ..core.clock import OPEN_NS
from ..core.fmt import hhmm, server_list, usd
from . import charts as C
from .theme import OKABE_ITO, day_domain, time_x, title

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = ["loss_and_alerts", "market_open", "server_share_chart"]


def market_open(
    result: Result,
    *,
    rates: pd.DataFrame,
    pnl: pd.DataFrame,
    positions: pd.DataFrame,
    prices: pd.DataFrame,
    until: alt.Parameter,
) -> alt.TopLevelMixin:
    """The four playback charts of notebook 03, each cut at the parameter ``until``.

    Args:
        result: The replay (for the window and the missed servers).
        rates, pnl, positions, prices: Its series (:mod:`smars_sim.analysis.series`),
            computed once by the caller so that moving the slider only moves ``until``.
        until: Seconds after the open; each chart shows the rows with ``s <= until``.
    """
    scale = day_domain("09:30", result.scenario.window_end)
    stale = list(result.scenario.stale_servers)
    by_server = rates.groupby("server_id")["orders_per_s"].sum()
    share = 100 * by_server.reindex(stale).fillna(0).sum() / max(1e-9, by_server.sum())
    if stale:
        rate_takeaway = (
            f"{server_list(stale).capitalize()} (missed in the deploy): "
            f"{share:.0f}% of all child orders."
        )
    else:
        rate_takeaway = "No server was missed in the deploy."
    final = pnl[pnl["series"] == LOCKED_IN]["usd"]
    worst = float(final.min()) if len(final) else 0.0
    gross = positions.groupby("s")["usd"].sum()
    peak = float(gross.max()) if len(gross) else 0.0
    last = prices.sort_values("s").groupby("symbol").tail(1)
    biggest = last.loc[last["pct"].abs().idxmax()] if len(last) else None
    # Two columns of 280 px with the legends below each chart: about 700 px in all, so
    # the grid fits a laptop's notebook column (968 px at 1280 px with the file browser).
    common: dict[str, Any] = {"until": until, "scale": scale, "width": 280, "height": 150}
    charts: list[Any] = [
        C.order_rate(rates, takeaway=rate_takeaway, **common),
        C.positions_area(positions, takeaway=f"Gross position peaks at {usd(peak)}.", **common),
        C.pnl_line(pnl, takeaway=f"The loss locked in reaches {usd(-worst)}.", **common),
        C.prices_lines(
            prices,
            takeaway=(
                f"{biggest['symbol']} ends {biggest['pct']:+.0f}% from its open."
                if biggest is not None
                else ""
            ),
            **common,
        ),
    ]
    # one level of concatenation, so each chart keeps its own colours and legend
    return (
        alt.concat(*charts, columns=2)
        .add_params(until)
        .resolve_scale(color="independent")
        .resolve_legend(color="independent")
        .configure_legend(orient="bottom", direction="horizontal", columns=4, labelLimit=200)
    )


def loss_and_alerts(result: Result) -> alt.TopLevelMixin:
    """The e-mails that existed (top) over the P&L curves (bottom), 08:00 to the window end.

    The P&L is shown two ways (see :func:`smars_sim.analysis.series.pnl_data`): at the
    price the position fetched after the close, which is the loss being locked in, and
    marked at the last trade, which is what a position screen showed.
    """
    scale = day_domain(INBOX_START, result.scenario.window_end)
    per_minute = emails_per_minute(result, INBOX_START)
    pnl = pnl_data(result)
    before = sum(1 for e in result.emails if e[0] < OPEN_NS)
    after = len(result.emails) - before
    last = pnl[pnl["series"] == LAST_TRADE]["usd"]
    screen = float(last.iloc[-1]) if len(last) else 0.0
    top = (
        alt.Chart(per_minute, title="Automated e-mails (BNET rejects)")
        .mark_bar(color=OKABE_ITO["vermillion"], width=max(1, 560 // len(per_minute) - 1))
        .encode(
            x=time_x(scale=scale),
            y=alt.Y("emails:Q", title="E-mails per minute", axis=alt.Axis(tickMinStep=1)),
            tooltip=[alt.Tooltip("time:T", format="%H:%M"), "emails:Q"],
        )
        .properties(width=560, height=90)
    )
    bottom = C.pnl_line(pnl, scale=scale, width=560, height=170)
    takeaway = (
        f"{before} e-mails before the open, {after} after, and no automated alert once "
        f"trading began. The loss locked in reaches {usd(result.summary.loss_usd)}; "
        f"marked at the last trade, the same positions show {usd(screen)}."
    )
    return alt.vconcat(
        top,
        cast(Any, bottom),
        title=title("What warned Knight, and what it cost (replay)", takeaway),
    ).resolve_scale(color="independent")


def server_share_chart(executions: pd.DataFrame, n_servers: int = 8) -> alt.Chart:
    """Executions per minute by server from an execution log (the forensic drill's chart)."""
    data = F.executions_per_minute(executions, n_servers)
    since = F.busy_since(data)
    groups: dict[int, list[int]] = {}
    for server, t in since.items():
        groups.setdefault(t, []).append(server)
    parts = [f"{server_list(servers)} busy from {hhmm(t)}" for t, servers in sorted(groups.items())]
    text = "; ".join(parts) + "."
    takeaway = text[0].upper() + text[1:] if parts else "No executions."
    return C.server_share(data, takeaway=takeaway)
