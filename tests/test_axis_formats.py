"""The dollar axes read true at every magnitude, from $1 to $10B.

The labels are Vega expressions (:func:`smars_sim.viz.theme.usd_axis_expr` and
:func:`~smars_sim.viz.theme.usd_unit_label`). They are evaluated here by Vega itself:
each chart is rendered headless to SVG with ``vl-convert`` (the package the notebooks'
offline charts already use), and the tick labels are read back from the SVG.
"""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from smars_sim.core.fmt import usd
from smars_sim.viz.theme import usd_axis_expr, usd_unit_label

vlc = pytest.importorskip("vl_convert")

ROOT = Path(__file__).resolve().parents[1]
#: Nice tick values in every decade from $1 to $10B, as an axis would place them.
MANTISSAS = (1, 1.5, 2, 2.5, 3, 5, 7, 7.5)
TICKS = [m * 10**e for e in range(0, 11) for m in MANTISSAS if m * 10**e <= 1e10]
UNIT = {"k": 1e3, "M": 1e6, "B": 1e9}


def _labels(values: list[float], expr: str) -> list[str]:
    """The tick labels Vega draws for ``values`` on an axis labelled by ``expr``."""
    lo, hi = min(values), max(values)
    pad = (hi - lo) or 1.0
    chart = (
        alt.Chart(pd.DataFrame({"v": [lo, hi]}))
        .mark_point()
        .encode(
            y=alt.Y(
                "v:Q",
                title=None,
                scale=alt.Scale(domain=[lo - pad, hi + pad], nice=False, zero=False),
                axis=alt.Axis(values=values, labelExpr=expr, labelOverlap=False),
            )
        )
        .properties(height=40 * len(values), width=20)
    )
    svg = vlc.vegalite_to_svg(chart.to_dict())
    group = svg[svg.index('class="mark-text role-axis-label"') :]
    group = group[: group.index("</g>")]
    return re.findall(r"<text[^>]*>([^<]*)</text>", group)


def _value(label: str) -> float:
    """The dollars a label such as ``-$1.25B`` states."""
    m = re.fullmatch(r"(-?)\$([\d,.]+)([kMB]?)", label)
    assert m, f"not a dollar label: {label!r}"
    sign = -1 if m.group(1) else 1
    return sign * float(m.group(2).replace(",", "")) * UNIT.get(m.group(3), 1.0)


def _check(values: list[float], labels: list[str]) -> None:
    assert len(labels) == len(values), (values, labels)
    # each label states its tick's true value, and reads as the prose formatter writes it
    by_value = {round(_value(label), 6): label for label in labels}
    for v in values:
        assert round(v, 6) in by_value, f"no label states {v}: {labels}"
        if float(v).is_integer():  # prose writes cents below $1k ($1.50); an axis does not
            assert by_value[round(v, 6)] == usd(v, 3, trim=True)


def test_usd_axis_reads_each_tick_in_its_own_unit() -> None:
    values = TICKS + [-v for v in TICKS[::7]]
    labels = _labels(values, usd_axis_expr())
    _check(values, labels)
    assert "$7B" in labels and "$289k" in _labels([289e3], usd_axis_expr())
    assert not any(label.endswith("G") for label in labels)


@pytest.mark.parametrize("unit", ["M", "B"])
def test_unit_axes_convert_back_to_dollars(unit: str) -> None:
    """An axis whose field is in $M or $B labels small values in k and dollars."""
    size = UNIT[unit]
    values = [v / size for v in TICKS]
    labels = _labels(values, usd_unit_label(unit))
    _check(TICKS, labels)


def test_a_289k_loss_on_a_millions_axis_does_not_read_0m() -> None:
    """The game day's loss axis is in $M; a $289k loss's ticks are $50k, $100k, ..."""
    ticks = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    labels = _labels(ticks, usd_unit_label("M"))
    assert labels == ["$0", "$50k", "$100k", "$150k", "$200k", "$250k", "$300k"]


def test_no_chart_writes_its_own_dollar_unit() -> None:
    """Dollar axes go through the theme's helpers: no inline ``+ 'M'`` label and no SI ``~s``
    (which writes a billion as ``G``) on a dollar field."""
    offenders = []
    for path in sorted((ROOT / "smars_sim" / "viz").glob("*.py")):
        if path.name == "theme.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\+ '[kMB]'", line) or ("usd" in line and 'format="~s"' in line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, offenders
