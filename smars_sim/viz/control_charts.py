"""Charts of the controls in course part 2: the canary judge, the kill switches.

Each builder takes the data (from :mod:`smars_sim.fixes` and :mod:`smars_sim.analysis`)
and returns an altair chart in the shared theme (:mod:`.theme`).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..fixes.verified_deploy import CanaryAnalysis
from .theme import OKABE_ITO, title, usd, usd_axis_expr, usd_unit_label

__all__ = ["canary_chart", "kill_lab_chart", "kill_switch_bars"]


def canary_chart(a: CanaryAnalysis) -> alt.TopLevelMixin:
    """Canary against baseline, per metric: two dots joined by a rule, and the verdict."""
    data = pd.DataFrame(
        [
            {
                "metric": m.name.replace("_", " "),
                "side": side,
                "mean": max(value, 1e-3),
                "result": m.classification,
            }
            for m in a.metrics
            for side, value in (("baseline", m.baseline_mean), ("canary", m.canary_mean))
        ]
    )
    takeaway = f"Verdict {a.verdict} (score {a.score:.0f}): {a.reason}."
    lo, hi = float(data["mean"].min()), float(data["mean"].max())
    scale = alt.Scale(type="log", domain=[lo / 3, hi * 300])  # room for the labels
    x = alt.X(
        "mean:Q",
        scale=scale,
        title="Mean per sample (log scale; each metric in its own unit)",
        axis=alt.Axis(format="~s"),
    )
    y = alt.Y("metric:N", title=None, axis=alt.Axis(labelLimit=240))
    spans = data.pivot_table(index=["metric", "result"], columns="side", values="mean")
    spans = spans.reset_index()
    spans["label"] = spans["result"] + spans["metric"].map(
        lambda m: (
            " (critical)"
            if any(r.critical and r.name.replace("_", " ") == m for r in a.metrics)
            else ""
        )
    )
    spans["right"] = spans[["baseline", "canary"]].max(axis=1)
    rule = (
        alt.Chart(spans)
        .mark_rule(color="#999999", strokeWidth=2)
        .encode(y=y, x=alt.X("baseline:Q", scale=scale), x2="canary:Q")
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=140)
        .encode(
            y=y,
            x=x,
            color=alt.Color(
                "side:N",
                scale=alt.Scale(
                    domain=["baseline", "canary"],
                    range=[OKABE_ITO["blue"], OKABE_ITO["orange"]],
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            shape=alt.Shape("side:N", legend=None),
            tooltip=["metric:N", "side:N", alt.Tooltip("mean:Q", format=",.3g"), "result:N"],
        )
    )
    text = (
        alt.Chart(spans)
        .mark_text(align="left", dx=10)
        .encode(y=y, x=alt.X("right:Q", scale=scale), text="label:N")
    )
    return alt.layer(
        rule, dots, text, title=title("Canary against baseline, per metric", takeaway)
    ).properties(width=380, height=120)


def kill_lab_chart(sweep: pd.DataFrame, points: pd.DataFrame) -> alt.TopLevelMixin:
    """Loss against time-to-kill: the sweep as a line, the chosen settings as dots.

    Args:
        sweep: From :func:`smars_sim.analysis.fix_outcomes.kill_delay_sweep`.
        points: ``what``, ``minutes_to_stop``, ``loss_usd`` per highlighted replay.
    """
    sweep, points = sweep.copy(), points.copy()
    floor = 1e3
    sweep["loss_plot"] = sweep["loss_usd"].clip(lower=floor)
    points["loss_plot"] = points["loss_usd"].clip(lower=floor)
    first, last = sweep.iloc[0], sweep.iloc[-1]
    takeaway = (
        f"Pressed after {first['delay_min']} min: {usd(first['loss_usd'])}; after "
        f"{last['delay_min']} min: {usd(last['loss_usd'])}."
    )
    y = alt.Y(
        "loss_plot:Q",
        scale=alt.Scale(type="log"),
        title="Loss (log scale; below $1k drawn at $1k)",
        axis=alt.Axis(labelExpr=usd_axis_expr()),
    )
    x = alt.X(
        "minutes_to_stop:Q",
        title="Minutes from the open to the last bad order",
        scale=alt.Scale(domain=[0, 46]),
    )
    line = (
        alt.Chart(sweep)
        .mark_line(point=True, color=OKABE_ITO["sky_blue"])
        .encode(x=x, y=y, tooltip=["delay_min:Q", alt.Tooltip("loss_usd:Q", format="$,.0f")])
    )
    names = list(points["what"])
    dots = (
        alt.Chart(points)
        .mark_point(size=140, filled=True)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "what:N",
                scale=alt.Scale(
                    domain=names,
                    range=[
                        OKABE_ITO["vermillion"],
                        OKABE_ITO["blue"],
                        OKABE_ITO["green"],
                    ][: len(names)],
                ),
                legend=alt.Legend(title=None, orient="bottom", direction="vertical"),
            ),
            shape=alt.Shape("what:N", legend=None),
            tooltip=["what:N", "minutes_to_stop:Q", alt.Tooltip("loss_usd:Q", format="$,.0f")],
        )
    )
    return alt.layer(line, dots, title=title("Loss against time-to-kill", takeaway)).properties(
        width=460, height=220
    )


def kill_switch_bars(data: pd.DataFrame) -> alt.Chart:
    """Loss under each kind of kill switch, as bars.

    Args:
        data: From :func:`smars_sim.analysis.fix_outcomes.kill_switch_rows`.
    """
    worst = data.loc[data["loss_usd_m"].idxmax()]
    best = data.loc[data["loss_usd_m"].idxmin()]
    takeaway = f"{best['kill switch']}: {best['loss']}; {worst['kill switch']}: {worst['loss']}."
    return (
        alt.Chart(data, title=title("Loss under each kind of kill switch", takeaway))
        .mark_bar()
        .encode(
            y=alt.Y(
                "kill switch:N",
                sort=list(data["kill switch"]),
                title=None,
                axis=alt.Axis(labelLimit=260),
            ),
            x=alt.X(
                "loss_usd_m:Q",
                title="Loss ($M)",
                axis=alt.Axis(labelExpr=usd_unit_label("M")),
            ),
            color=alt.value(OKABE_ITO["blue"]),
            tooltip=["kill switch:N", "loss:N", "minutes_to_stop:Q"],
        )
        .properties(width=320, height=90)
    )
