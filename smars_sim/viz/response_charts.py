"""Charts of the response: the deploy's outcomes, the operator's console, the plans, the game.

Each builder takes tidy data (from :mod:`smars_sim.analysis.series` or a panel's
model) and returns one altair chart with its takeaway, drawn with the theme's
palette, time axis, dollar axis and title helper (:mod:`smars_sim.viz.theme`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import altair as alt
import pandas as pd

from ..analysis.series import LOCKED_IN, order_rate_data, pnl_data
from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.fmt import hhmm, usd
from . import charts as C
from .theme import OKABE_ITO, day_domain, time_x, title, usd_unit_label

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = [
    "deploy_outcomes",
    "game_dashboard",
    "plan_comparison",
    "responder_chart",
    "rollback_chart",
]


def deploy_outcomes(data: pd.DataFrame, *, takeaway: str = "") -> alt.Chart:
    """The loss of each fleet replayed on deploy day, one bar per fleet.

    Args:
        data: Columns ``fleet``, ``loss_usd_m``, ``bnet_emails`` (one row per run).
    """
    return (
        alt.Chart(data, title=title("Loss by deploy outcome (replay)", takeaway))
        .mark_bar(color=OKABE_ITO["vermillion"])
        .encode(
            y=alt.Y("fleet:N", title=None, sort=None),
            x=alt.X(
                "loss_usd_m:Q", title="Loss ($M)", axis=alt.Axis(labelExpr=usd_unit_label("M"))
            ),
            tooltip=["fleet:N", alt.Tooltip("loss_usd_m:Q", format=",.1f"), "bnet_emails:Q"],
        )
        .properties(width=380, height=max(40, 26 * max(1, len(data))))
    )


def responder_chart(result: Result, now: int) -> alt.TopLevelMixin:
    """The operator console's charts up to ``now``: child orders per second, the loss."""
    scale = day_domain("09:30", result.scenario.window_end)
    rates = order_rate_data(result, bin_s=60, end=max(now, OPEN_NS + 60 * SECOND_NS))
    pnl = pnl_data(result)
    pnl = pnl[pnl["series"] == LOCKED_IN]
    loss = C.pnl_line(
        pnl,
        scale=scale,
        width=520,
        height=120,
        takeaway=f"Loss locked in: {usd(result.summary.loss_usd)} (evening basket price).",
    )
    return alt.vconcat(
        C.order_rate(
            rates, scale=scale, width=520, height=140, takeaway=f"Up to {format_time(now)}."
        ),
        cast(Any, loss),
    ).resolve_scale(color="independent")


def rollback_chart(result: Result) -> alt.Chart:
    """Child orders per second by server over the window, with what the rollback changed."""
    rates = order_rate_data(result, bin_s=60)
    rollback = result.scenario.rollback_at
    if rollback is None:
        takeaway = "No rollback in this replay."
    else:
        t = parse_time(rollback)
        before = rates[(rates["s"] * SECOND_NS + OPEN_NS < t)]
        after = rates[(rates["s"] * SECOND_NS + OPEN_NS >= t + 7 * 60 * SECOND_NS)]
        sending_before = sorted(set(before[before["orders_per_s"] > 0]["server_id"]))
        sending_after = sorted(set(after[after["orders_per_s"] > 0]["server_id"]))
        rate_before = before.groupby("s")["orders_per_s"].sum().mean()
        rate_after = after.groupby("s")["orders_per_s"].sum().mean()
        takeaway = (
            f"Before {hhmm(t)}: {len(sending_before)} server(s) sending "
            f"(~{rate_before:,.0f}/s); after the rollback: {len(sending_after)} "
            f"(~{rate_after:,.0f}/s)."
        )
    return C.order_rate(rates, takeaway=takeaway, width=560)


def plan_comparison(data: pd.DataFrame) -> alt.TopLevelMixin:
    """Response plans side by side, with the best and the worst named in the takeaway.

    Args:
        data: One row per plan: ``plan``, ``kind``, ``loss_usd_m``, ``loss`` (as text),
            ``minutes_to_stop`` (see :class:`smars_sim.ui.respond_model.PlanComparisonModel`).
    """
    best = data.loc[data["loss_usd_m"].idxmin()]
    worst = data.loc[data["loss_usd_m"].idxmax()]
    takeaway = f"From {best['loss']} ({best['plan']}) to {worst['loss']} ({worst['plan']})."
    return C.plan_bars(data, takeaway=takeaway, width=240)


def game_dashboard(
    loss: pd.DataFrame, rates: pd.DataFrame, *, clock: str, loss_now_usd: float
) -> alt.VConcatChart:
    """The game day's charts: the loss locked in, and child orders per second by server.

    Args:
        loss: Columns ``time``, ``loss_usd_m`` (:func:`~smars_sim.analysis.series.live_loss_data`).
        rates: :func:`~smars_sim.analysis.series.live_order_rate_data`.
        clock: The game's time, ``HH:MM:SS``.
        loss_now_usd: The loss if Knight stopped now, in dollars.
    """
    scale = day_domain("09:30", "10:16")
    loss_chart = (
        alt.Chart(
            loss, title=title("Loss locked in", f"{clock}: {usd(loss_now_usd)} if stopped now.")
        )
        .mark_line(color=OKABE_ITO["vermillion"])
        .encode(
            x=time_x(scale=scale),
            y=alt.Y(
                "loss_usd_m:Q",
                title="Loss if stopped now ($M)",
                axis=alt.Axis(labelExpr=usd_unit_label("M")),
            ),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                alt.Tooltip("loss_usd_m:Q", format=",.1f", title="$M"),
            ],
        )
        .properties(width=460, height=120)
    )
    rate_chart = C.order_rate(
        rates, width=460, height=130, scale=scale, takeaway=f"Up to {clock[:5]}."
    )
    return alt.vconcat(loss_chart, rate_chart).resolve_scale(color="independent")
