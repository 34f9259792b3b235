"""Charts of course part 2 (notebooks 06-10): a fix against the day as it happened.

Each builder takes the data (from :mod:`smars_sim.analysis`) and a takeaway, and
returns an altair chart in the shared theme (:mod:`.theme`): one palette, one time
axis, one title helper. The kill-switch charts are in :mod:`.control_charts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from ..analysis.fix_tables import SHORT_LAYER
from ..core.clock import format_time
from ..core.result import Result
from ..fixes import AVAILABLE
from . import charts as C
from .theme import (
    OKABE_ITO,
    clock,
    day_domain,
    time_x,
    title,
    usd,
    usd_axis_expr,
    usd_unit_label,
)

__all__ = [
    "REPLAY_COLOURS",
    "coverage_chart",
    "fix_heatmap",
    "loss_curves",
    "loss_curves_data",
    "order_rate_chart",
    "reconciliation_chart",
    "swiss_cheese_chart",
]

#: Colours of the replays compared in one chart: as it happened, yours, a third.
REPLAY_COLOURS = (OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["green"])
#: The morning every part-2 time axis spans.
_MORNING = ("09:30", "10:16")


def loss_curves_data(results: dict[str, Result]) -> pd.DataFrame:
    """The loss locked in over the morning for several replays (long form).

    Columns ``time``, ``s``, ``replay``, ``loss_usd`` and ``loss_usd_m``: the loss the
    trades made so far went on to cost at the evening basket price (see
    :func:`smars_sim.viz.charts.pnl_data`, whose series it reads), positive when money
    is lost.
    """
    frames = []
    for label, result in results.items():
        pnl = C.pnl_data(result)
        pnl = pnl[pnl["series"] == C.LOCKED_IN]
        frames.append(
            pd.DataFrame(
                {
                    "time": pnl["time"].to_numpy(),
                    "s": pnl["s"].to_numpy(),
                    "replay": label,
                    "loss_usd": (-pnl["usd"]).round(2).to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["loss_usd_m"] = (out["loss_usd"] / 1e6).round(3)
    return out


def loss_curves(
    data: pd.DataFrame, *, takeaway: str = "", width: int = 460, height: int = 170
) -> alt.Chart:
    """Loss locked in over time ($M), one line per replay (data: :func:`loss_curves_data`)."""
    names = list(dict.fromkeys(data["replay"]))
    return (
        alt.Chart(data, title=title("Loss locked in over the morning", takeaway))
        .mark_line(interpolate="step-after")
        .encode(
            x=time_x(scale=day_domain(*_MORNING)),
            y=alt.Y(
                "loss_usd_m:Q",
                title="Loss ($M)",
                axis=alt.Axis(labelExpr=usd_unit_label("M")),
            ),
            color=alt.Color(
                "replay:N",
                scale=alt.Scale(domain=names, range=list(REPLAY_COLOURS[: len(names)])),
                legend=alt.Legend(title="Replay", orient="bottom", direction="vertical"),
            ),
            strokeDash=alt.StrokeDash("replay:N", legend=None),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                "replay:N",
                alt.Tooltip("loss_usd_m:Q", format=",.2f", title="loss $M"),
            ],
        )
        .properties(width=width, height=height)
    )


def order_rate_chart(
    result: Result, takeaway: str, *, width: int = 460, bin_s: int = 60, end: str | int = "10:16"
) -> alt.Chart:
    """Child orders per second by server over the morning (fixed 09:30-10:16 axis)."""
    rates = C.order_rate_data(result, bin_s=bin_s, end=end)
    return C.order_rate(
        rates, takeaway=takeaway, width=width, height=150, scale=day_domain(*_MORNING)
    )


def coverage_chart(
    data: pd.DataFrame, dead_paths: Sequence[str], *, what: str = "an ordinary day"
) -> alt.TopLevelMixin:
    """Code-path hits per server as a grid: a compiled path with zero hits is dead code.

    Args:
        data: From :func:`smars_sim.analysis.fix_tables.coverage_data`.
        dead_paths: The report's dead-code candidates.
        what: The day the report covers, for the title.
    """
    n_servers = data["server"].nunique()
    if dead_paths:
        compiled_on = data[(data["path"] == dead_paths[0]) & data["compiled"]]["server"].nunique()
        takeaway = (
            f"{', '.join(dead_paths)}: compiled on {compiled_on} of {n_servers} servers, "
            f"0 hits on {what}. A dead-code candidate."
        )
    else:
        takeaway = f"Every compiled code path ran on {what}: no dead-code candidate."
    base = alt.Chart(data)
    servers = sorted(data["server"].unique(), key=lambda s: int(s.split()[1]))
    grid = base.mark_rect(stroke="white").encode(
        x=alt.X("server:N", sort=servers, title="Server", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("path:N", title="Code path"),
        color=alt.Color(
            "status:N",
            scale=alt.Scale(
                domain=["ran", "never ran", "not compiled"],
                range=[OKABE_ITO["sky_blue"], OKABE_ITO["vermillion"], "#dddddd"],
            ),
            legend=alt.Legend(title="Status", orient="bottom"),
        ),
        tooltip=["server:N", "path:N", "build:N", "parents:Q", "child_orders:Q"],
    )
    text = base.mark_text(fontSize=12).encode(
        x=alt.X("server:N", sort=servers),
        y="path:N",
        text=alt.Text("child_orders:Q", format=","),
    )
    return alt.layer(grid, text, title=title(f"Code-path coverage on {what}", takeaway)).properties(
        width=460, height=36 * data["path"].nunique()
    )


def reconciliation_chart(data: pd.DataFrame) -> alt.TopLevelMixin:
    """Orders out against orders in, over the morning (log scale).

    Args:
        data: From :func:`smars_sim.analysis.fix_outcomes.reconciliation_data`.
    """
    data = data.copy()
    data.insert(0, "time", clock(data["time_ns"].to_numpy()))
    if data.empty:
        return alt.Chart(data).mark_line().properties(title="No Power Peg executions.")
    shares_in = int(data["shares_in"].iloc[0])
    over = data[data["shares_out"] > shares_in]
    first = int(over["time_ns"].iloc[0]) if len(over) else None
    first_parent = data[data["parents_over"] > 0]
    first_p = int(first_parent["time_ns"].iloc[0]) if len(first_parent) else None
    ratio = data["shares_out"].iloc[-1] / shares_in
    if first_p is None:
        takeaway = "No parent order got more shares than it asked for."
    else:
        takeaway = f"The first parent order was over-executed at {format_time(first_p, ms=True)}"
        if first is not None and first != first_p:
            takeaway += (
                f"; all of them together got more than they asked for at "
                f"{format_time(first, ms=True)}"
            )
        takeaway += f". By the end: {ratio:,.0f}x the shares asked for."
    # one point per second is plenty for the line
    thin = data.groupby("s", as_index=False).last()
    line = (
        alt.Chart(thin)
        .mark_line(color=OKABE_ITO["vermillion"])
        .encode(
            x=time_x(scale=day_domain(*_MORNING)),
            y=alt.Y(
                "shares_out:Q",
                scale=alt.Scale(type="log"),
                title="Shares (log scale)",
                axis=alt.Axis(format="~s"),
            ),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                alt.Tooltip("shares_out:Q", format=",", title="shares executed"),
            ],
        )
    )
    rule = (
        alt.Chart(
            pd.DataFrame({"shares_in": [shares_in], "what": ["shares the parents asked for"]})
        )
        .mark_rule(color=OKABE_ITO["blue"], strokeDash=[4, 3])
        .encode(y="shares_in:Q", tooltip=["what:N", alt.Tooltip("shares_in:Q", format=",")])
    )
    label = (
        alt.Chart(pd.DataFrame({"shares_in": [shares_in], "text": ["orders in: shares asked for"]}))
        .mark_text(align="right", baseline="top", dy=4, color=OKABE_ITO["blue"])
        .encode(y="shares_in:Q", x=alt.value(455), text="text:N")
    )
    out_label = (
        alt.Chart(thin.tail(1).assign(text="orders out: shares executed"))
        .mark_text(align="right", baseline="top", dy=6, color=OKABE_ITO["vermillion"])
        .encode(y="shares_out:Q", x=alt.value(455), text="text:N")
    )
    return alt.layer(
        rule,
        line,
        label,
        out_label,
        title=title("Orders out against orders in (the parents Power Peg worked)", takeaway),
    ).properties(width=460, height=200)


def fix_heatmap(table: pd.DataFrame) -> alt.TopLevelMixin:
    """The 16 combinations as a 4x4 grid: code and flag fixes by deploy and risk fixes.

    Args:
        table: From :func:`smars_sim.analysis.fix_tables.what_if_table`.
    """
    t = table.copy()

    def pair(row: pd.Series, a: str, b: str) -> str:
        on = [name for name in (a, b) if row[name]]
        return " + ".join(on) if on else "neither"

    t["code and flags"] = t.apply(lambda r: pair(r, "dead-code", "flag-registry"), axis=1)
    t["deploy and risk"] = t.apply(lambda r: pair(r, "verified-deploy", "kill-switch"), axis=1)
    t["loss"] = t["loss_usd"].map(usd)
    t["loss_plot"] = t["loss_usd"].clip(lower=1.0)
    rows = ["neither", "dead-code", "flag-registry", "dead-code + flag-registry"]
    cols = ["neither", "verified-deploy", "kill-switch", "verified-deploy + kill-switch"]
    none = t.loc[t["fixes"] == "none", "loss_usd"].iloc[0]
    worst_fixed = t.loc[t["fixes"] != "none", "loss_usd"].max()
    takeaway = f"No fix: {usd(none)}. Any fix, or any mix: at most {usd(worst_fixed)}."
    base = alt.Chart(t)
    rect = base.mark_rect(stroke="white").encode(
        x=alt.X(
            "deploy and risk:N",
            sort=cols,
            title="Deploy and risk fixes",
            axis=alt.Axis(labelAngle=-20, labelLimit=220),
        ),
        y=alt.Y(
            "code and flags:N",
            sort=rows,
            title="Code and flag fixes",
            axis=alt.Axis(labelLimit=220),
        ),
        color=alt.Color(
            "loss_plot:Q",
            scale=alt.Scale(type="log", scheme="orangered"),
            legend=alt.Legend(title="Loss", labelExpr=usd_axis_expr()),
        ),
        tooltip=["fixes:N", "loss:N", "stopped_by:N", "first_action_at:N"],
    )
    text = base.mark_text(fontSize=12).encode(
        x=alt.X("deploy and risk:N", sort=cols),
        y=alt.Y("code and flags:N", sort=rows),
        text="loss:N",
        color=alt.condition(alt.datum.loss_plot > 1e8, alt.value("white"), alt.value("black")),
    )
    return alt.layer(
        rect, text, title=title("Loss for every combination of the four fixes", takeaway)
    ).properties(width=440, height=200)


def swiss_cheese_chart(
    closed: Sequence[str], layer_labels: dict[str, str], takeaway: str = ""
) -> alt.TopLevelMixin:
    """Four layers as slabs, the trajectory stopped by the first closed one.

    Args:
        closed: The fixes in place (their layers' holes are closed).
        layer_labels: Each fix's layer, as the tooltip names it.
        takeaway: One line under the title.
    """
    layers = pd.DataFrame(
        [
            {
                "x": i + 1,
                "layer": layer_labels[f],
                "state": "hole closed" if f in closed else "hole open",
            }
            for i, f in enumerate(AVAILABLE)
        ]
    )
    stop_x = next((i + 1 for i, f in enumerate(AVAILABLE) if f in closed), None)
    end = (stop_x - 0.15) if stop_x is not None else 5.2
    arrow = pd.DataFrame({"x": [0.0, end], "y": [0.5, 0.5]})
    slabs_top = (
        alt.Chart(layers)
        .mark_bar(width=16)
        .encode(
            x=alt.X(
                "x:Q",
                title=None,
                scale=alt.Scale(domain=[0, 5.4]),
                axis=alt.Axis(
                    values=[1, 2, 3, 4],
                    ticks=False,
                    grid=False,
                    labelExpr=f"{[''] + [SHORT_LAYER[f] for f in AVAILABLE]}[datum.value]",
                    labelFontSize=12,
                ),
            ),
            y=alt.Y("y0:Q", title=None, scale=alt.Scale(domain=[0, 1]), axis=None),
            y2="y1:Q",
            color=alt.Color(
                "state:N",
                scale=alt.Scale(
                    domain=["hole open", "hole closed"],
                    range=[OKABE_ITO["yellow"], OKABE_ITO["orange"]],
                ),
                legend=alt.Legend(title="Layer", orient="bottom"),
            ),
            tooltip=["layer:N", "state:N"],
        )
    )
    upper = slabs_top.transform_calculate(y0="0.62", y1="1")
    middle = slabs_top.transform_filter(alt.datum.state == "hole closed").transform_calculate(
        y0="0.38", y1="0.62"
    )
    lower = slabs_top.transform_calculate(y0="0", y1="0.38")
    path = (
        alt.Chart(arrow)
        .mark_line(color=OKABE_ITO["vermillion"], strokeWidth=4)
        .encode(x="x:Q", y="y:Q")
    )
    head = (
        alt.Chart(arrow.tail(1))
        .mark_point(shape="triangle-right", size=220, filled=True, color=OKABE_ITO["vermillion"])
        .encode(x="x:Q", y="y:Q")
    )
    return alt.layer(
        lower,
        upper,
        middle,
        path,
        head,
        title=title("The swiss-cheese view: four layers, one trajectory", takeaway),
    ).properties(width=520, height=150)
