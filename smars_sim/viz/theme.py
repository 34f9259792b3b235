"""The look every chart shares: palette, sizes, the clock axis, dollar axes, titles.

One theme, one time axis, one title helper: the chart builders in this package
(and nowhere else) call these, so every chart of the course reads alike.
"""

from __future__ import annotations

import textwrap

import altair as alt

from ..analysis.series import DAY, clock
from ..core.clock import SECOND_NS, parse_time
from ..core.fmt import hhmm, usd

__all__ = [
    "DAY",
    "HEIGHT",
    "OKABE_ITO",
    "SERVER_COLOURS",
    "WIDTH",
    "clock",
    "day_domain",
    "hhmm",
    "server_colour",
    "time_x",
    "title",
    "usd",
    "usd_axis_expr",
    "usd_unit_label",
]

#: Okabe & Ito (2008), "Color Universal Design": safe for the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
#: Colours of servers 1..8. The eighth server (the one the technician missed) is vermillion.
SERVER_COLOURS = (
    OKABE_ITO["blue"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["green"],
    OKABE_ITO["orange"],
    OKABE_ITO["purple"],
    OKABE_ITO["yellow"],
    OKABE_ITO["black"],
    OKABE_ITO["vermillion"],
)
WIDTH = 420
HEIGHT = 180


def server_colour(server: int) -> str:
    """The colour of a server (1-based) in every chart."""
    return SERVER_COLOURS[(server - 1) % len(SERVER_COLOURS)]


def _dt(time: str | int) -> alt.DateTime:
    ns = parse_time(time)
    h, rest = divmod(ns, 3600 * SECOND_NS)
    m, rest = divmod(rest, 60 * SECOND_NS)
    s = rest // SECOND_NS
    return alt.DateTime(year=2012, month=8, date=1, hours=int(h), minutes=int(m), seconds=int(s))


def day_domain(start: str | int, end: str | int) -> alt.Scale:
    """A fixed time scale from ``start`` to ``end`` (so a growing series does not rescale)."""
    return alt.Scale(domain=[_dt(start), _dt(end)])


def time_x(
    field: str = "time", scale: alt.Scale | None = None, step_minutes: int | None = None
) -> alt.X:
    """Time axis as HH:MM. With ``step_minutes``, bars fill their whole interval."""
    return alt.X(
        f"{field}:T",
        title="Time (ET, 1 Aug 2012)",
        axis=alt.Axis(format="%H:%M", labelOverlap=True),
        scale=scale if scale is not None else alt.Undefined,
        timeUnit=(
            alt.TimeUnitParams(unit="hoursminutes", step=step_minutes)
            if step_minutes
            else alt.Undefined
        ),
    )


def usd_unit_label(unit: str) -> str:
    """A Vega label expression for an axis already in one unit: ``$120M``, ``-$40M``, ``$1.5B``."""
    digits = ".1f" if unit == "B" else ",.0f"
    return f"(datum.value < 0 ? '-$' : '$') + format(abs(datum.value), '{digits}') + '{unit}'"


def title(text: str, takeaway: str, width: int = 95) -> alt.TitleParams:
    """A chart title with its takeaway as the subtitle, wrapped at ``width`` characters.

    Vega does not wrap titles, so a long takeaway becomes several subtitle lines.
    """
    lines = textwrap.wrap(takeaway, width) if takeaway else []
    return alt.TitleParams(
        text=text,
        subtitle=(lines[0] if len(lines) == 1 else lines) if lines else alt.Undefined,
        anchor="start",
        subtitleColor="#333333",
    )


def usd_axis_expr() -> str:
    """A Vega label expression for an axis in dollars: ``$460M``, ``$3k``, ``$1.2B``, ``-$40M``.

    The unit follows each tick's own size, so a $289k loss never reads "$0M".
    """
    return (
        "(datum.value < 0 ? '-$' : '$') + (abs(datum.value) >= 1e9 ? "
        "format(abs(datum.value) / 1e9, '.1f') + 'B' : abs(datum.value) >= 1e6 ? "
        "format(abs(datum.value) / 1e6, ',.0f') + 'M' : abs(datum.value) >= 1e3 ? "
        "format(abs(datum.value) / 1e3, ',.0f') + 'k' : format(abs(datum.value), ',.0f'))"
    )
