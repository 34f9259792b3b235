"""Chart specs (smars_sim.viz.charts): units, palette, takeaways (the data: test_series.py).

Nothing here asserts a calibrated figure: values are checked against the replay's own
logs, never against typed-in numbers.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest

from smars_sim import Scenario, replay
from smars_sim.analysis import series as S
from smars_sim.core.clock import OPEN_NS, SECOND_NS
from smars_sim.viz import charts as C

OKABE = {c.upper() for c in C.OKABE_ITO.values()}


@pytest.fixture(scope="module")
def small():
    return replay(Scenario.small())


@pytest.fixture(scope="module")
def aug1():
    return replay(Scenario.aug1_2012(scale=0.01))


def _spec(chart: alt.TopLevelMixin) -> dict:
    return chart.to_dict()  # validates against the vega-lite schema


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _colours(spec: dict) -> set[str]:
    found = set()
    for node in _walk(spec):
        scale = node.get("scale") if "field" in node else None
        if isinstance(scale, dict) and isinstance(scale.get("range"), list):
            found |= {c.upper() for c in scale["range"] if isinstance(c, str)}
        mark = node.get("mark")
        if isinstance(mark, dict) and isinstance(mark.get("color"), str):
            found.add(mark["color"].upper())
    return found


def _axis_titles(spec: dict) -> list[str]:
    return [
        node["title"]
        for node in _walk(spec)
        if "field" in node and isinstance(node.get("title"), str) and "type" in node
    ]


# --------------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (762_693_790.31, "$762.7M"),
        (-3_200_000, "-$3.2M"),
        (4.9e9, "$4.9B"),
        (12_500, "$12.5k"),
        (950, "$950"),
        (0, "$0"),
        (999_960_000, "$1.0B"),
    ],
)
def test_usd(value, text):
    assert C.usd(value) == text


def test_clock_and_hhmm():
    assert C.clock(OPEN_NS) == pd.Timestamp("2012-08-01 09:30:00")
    assert list(C.clock([OPEN_NS, OPEN_NS + SECOND_NS])) == [
        pd.Timestamp("2012-08-01 09:30:00"),
        pd.Timestamp("2012-08-01 09:30:01"),
    ]
    assert C.hhmm(OPEN_NS + 61 * SECOND_NS) == "09:31"
    assert C.hhmm(OPEN_NS + 61 * SECOND_NS, seconds=True) == "09:31:01"


def test_palette_is_okabe_ito_and_server_8_stands_out():
    assert {c.upper() for c in C.SERVER_COLOURS} <= OKABE
    assert len(set(C.SERVER_COLOURS)) == 8
    assert C.server_colour(8) == C.OKABE_ITO["vermillion"]
    assert C.server_colour(9) == C.server_colour(1)


# --------------------------------------------------------------------------- charts
def _playback_charts(result):
    param = alt.param(name="t", value=0)
    scale = C.day_domain("09:30", "10:15")
    return [
        C.order_rate(S.order_rate_data(result), takeaway="x", until=param, scale=scale),
        C.pnl_line(S.pnl_data(result), takeaway="x", until=param, scale=scale),
        C.positions_area(S.positions_data(result), takeaway="x", until=param, scale=scale),
        C.prices_lines(S.prices_data(result, S.top_symbols(result, 3)), takeaway="x"),
    ], param


def test_time_series_charts_have_units_hhmm_and_a_takeaway(aug1):
    charts, param = _playback_charts(aug1)
    for chart in charts:
        spec = _spec(alt.vconcat(chart).add_params(param))
        text = json.dumps(spec)
        assert '"format": "%H:%M"' in text  # times as HH:MM
        titles = _axis_titles(spec)
        assert any("Time (ET" in t for t in titles)
        assert any("(" in t and ")" in t for t in titles if "Time" not in t)  # units
        assert '"subtitle": "x"' in text  # the takeaway line
        assert _colours(spec) <= OKABE


def test_money_axes_read_as_millions_or_billions(aug1):
    pnl = json.dumps(_spec(C.pnl_line(S.pnl_data(aug1))))
    assert "P&L ($M)" in pnl and "'M'" in pnl
    pos = json.dumps(_spec(C.positions_area(S.positions_data(aug1))))
    assert "($B)" in pos and "'B'" in pos


def test_until_parameter_filters_rows(aug1):
    param = alt.param(name="t", value=0)
    chart = C.order_rate(S.order_rate_data(aug1), until=param)
    spec = _spec(alt.vconcat(chart).add_params(param))
    assert {"filter": "(datum.s_end <= t)"} in next(
        node["transform"] for node in _walk(spec) if "transform" in node
    )


def test_other_charts_validate_and_use_the_palette(small):
    depth = pd.DataFrame(
        {"side": ["bid", "offer"], "price_usd": [9.99, 10.01], "shares": [100, 200]}
    )
    fills = pd.DataFrame(
        {
            "time": C.clock([OPEN_NS, OPEN_NS + SECOND_NS]),
            "filled": [100, 200],
            "path": ["power_peg", "power_peg"],
        }
    )
    inbox = pd.DataFrame(
        {"time": C.clock([OPEN_NS] * 2), "kind": ["other e-mail", "BNET reject"], "count": [5, 1]}
    )
    metric = pd.DataFrame(
        {"time": C.clock([OPEN_NS, OPEN_NS]), "value": [1.0, 2.0], "day": ["a", "b"]}
    )
    plans = pd.DataFrame(
        {
            "plan": ["p1", "p2"],
            "loss_usd_m": [1.0, 2.0],
            "minutes_to_stop": [3.0, 4.0],
            "kind": ["preset", "yours"],
        }
    )
    servers = pd.DataFrame(
        {
            "time": C.clock([OPEN_NS] * 2),
            "server": ["server 1", "server 8"],
            "server_id": [1, 8],
            "executions": [3, 4],
        }
    )
    charts = [
        C.book_depth(depth, takeaway="t"),
        C.parent_fills(fills, 100, takeaway="t"),
        C.inbox_volume(inbox, takeaway="t"),
        C.metric_with_threshold(metric, 1.5, OPEN_NS, label="Things (count)", takeaway="t"),
        C.metric_with_threshold(metric, 1.5, None, label="Things (count)"),
        C.plan_bars(plans, takeaway="t"),
        C.server_share(servers, takeaway="t"),
        C.render_check(3),
    ]
    for chart in charts:
        spec = _spec(chart)
        assert _colours(spec) <= OKABE, chart
    assert len(C.render_check(3).data) == 3
    plan_text = json.dumps(_spec(C.plan_bars(plans)))
    assert "Loss ($M)" in plan_text and "Minutes after the open" in plan_text


def test_no_chart_uses_a_non_colourblind_safe_scheme(aug1):
    charts, param = _playback_charts(aug1)
    text = json.dumps([_spec(alt.vconcat(c).add_params(param)) for c in charts])
    assert "tableau" not in text and "category10" not in text
