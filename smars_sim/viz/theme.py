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
    """A Vega label expression for an axis whose field is in one unit ($M or $B).

    The field is converted back to dollars and labelled as :func:`usd_axis_expr` does,
    so a $289k loss on a $M axis reads ``$289k``, never ``$0M``.
    """
    return _usd_expr(f"datum.value * {_UNIT_SIZE[unit]:.0f}")


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


#: Dollars in one unit, for :func:`usd_unit_label`.
_UNIT_SIZE = {"B": 1e9, "M": 1e6, "k": 1e3, "": 1.0}
#: d3-format: up to four significant digits, trailing zeros dropped (1.5, 250, 7).
_TICK_DIGITS = ",.4~r"


def _usd_expr(value: str) -> str:
    """The Vega expression labelling ``value`` (dollars) in the unit of its own size.

    Every tick picks its unit (B, M, k or whole dollars) from its own size, and keeps up
    to four significant digits with trailing zeros dropped, so each label is the tick's
    true value: ``$1.5M`` (never a rounded ``$2M``), ``$7B`` (never d3's SI ``$7G``),
    ``$250k``, ``$40``. :func:`smars_sim.core.fmt.usd` with ``trim=True`` writes the same
    text in prose (tests/test_axis_formats.py holds the two together).
    """
    v = f"abs({value})"

    def scaled(size: str, suffix: str) -> str:
        return f"format({v} / {size}, '{_TICK_DIGITS}') + '{suffix}'"

    return (
        f"(({value}) < 0 ? '-$' : '$') + ({v} >= 1e9 ? {scaled('1e9', 'B')} : "
        f"{v} >= 1e6 ? {scaled('1e6', 'M')} : {v} >= 1e3 ? {scaled('1e3', 'k')} : "
        f"format({v}, '{_TICK_DIGITS}'))"
    )


def usd_axis_expr() -> str:
    """A Vega label expression for an axis in dollars: ``$460M``, ``$3k``, ``$1.25B``, ``-$40M``.

    The unit follows each tick's own size, so a $289k loss never reads "$0M" and
    $7 billion reads ``$7B``, never ``$7G``.
    """
    return _usd_expr("datum.value")
