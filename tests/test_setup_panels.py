"""Notebook 00's set-up check and render check (smars_sim.ui.setup_panels), headless."""

from __future__ import annotations

import altair as alt
import pytest

from smars_sim.ui.panel import show
from smars_sim.ui.setup_panels import RenderCheck, check_setup

pytestmark = pytest.mark.usefixtures("offline_renderer")


def test_check_setup_passes_here_and_names_the_fix():
    lines = check_setup().splitlines()
    assert lines and all(line.startswith("OK") for line in lines)
    _ = alt.renderers.enable("html")
    text = check_setup()
    assert "PROBLEM  altair draws charts offline" in text
    assert "alt.renderers.enable('jupyter', offline=True)" in text


def test_panel_display_has_widget_and_text_fallback():
    check = RenderCheck()
    bundle = check._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "docs/setup.md" in bundle["text/plain"]
    view = show(alt.Chart(alt.Data(values=[{"a": 1}])).mark_point().properties(title="T"))
    assert isinstance(view.chart, alt.JupyterChart)
    assert "T" in view._repr_mimebundle_()["text/plain"]


def test_render_check_button_updates_label_and_chart():
    check = RenderCheck()
    assert check.describe() == "clicks: 0; bars in the chart: 0"
    check.button.click()
    check.button.click()
    assert "<b>2</b>" in check.label.value
    assert len(check.view.chart.chart.data) == 2
    check.reset()
    assert check.describe() == "clicks: 0; bars in the chart: 0"
