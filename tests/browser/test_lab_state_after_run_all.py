"""State after Run All (issue 15, item 1), in JupyterLab in Chromium.

After *Run All*, every panel a learner is asked to use is in the state its text
describes: the cells that demonstrate a panel in code drive instances of their own.
Notebook 09 is the case the issue found: its lab's "orders out vs orders in" was left
ticked by a later cell, so the three limit sliders looked dead (the reconciliation
fires at the open, before any of them could).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_helpers import (
    COURSE,
    Server,
    assert_no_cell_errors,
    assert_page_healthy,
    open_notebook,
    run_all,
    wait_text,
)


def _open(page: Any, lab: Server, prefix: str) -> Any:
    found = sorted(COURSE.glob(f"{prefix}_*.ipynb"))
    if not found:
        pytest.skip(f"course/{prefix}_*.ipynb does not exist")
    panel = open_notebook(page, lab, found[0].name)
    run_all(page, panel, timeout_s=300)
    assert_no_cell_errors(panel)
    return panel


def _output_with(panel: Any, page: Any, role: str, name: str) -> Any:
    out = panel.locator(".jp-OutputArea-output").filter(has=page.get_by_role(role, name=name))
    out.first.wait_for()
    return out.first


def test_09_the_limit_sliders_respond_after_run_all(page: Any, clean_lab: Server) -> None:
    panel = _open(page, clean_lab, "09")
    lab = _output_with(panel, page, "checkbox", "orders out vs orders in")
    summary = lab.locator(".widget-html p").first

    # As the text describes it: a person presses after 10 min, no automated limit on.
    assert not lab.get_by_role("checkbox", name="orders out vs orders in").is_checked()
    text = wait_text(summary, lambda t: "Automated limits" in t)
    assert "Automated limits: all off" in text, text

    # The capital threshold's slider moves the outcome: it is not hidden behind the
    # reconciliation any more.
    capital = lab.locator(".widget-slider").filter(has_text="Capital threshold")
    capital.locator(".noUi-handle").first.focus()
    page.keyboard.press("End")  # the highest threshold
    text = wait_text(summary, lambda t: "capital threshold" in t, timeout_s=60)
    assert "first control: risk gate" in text, text
    page.keyboard.press("Home")  # off again
    wait_text(summary, lambda t: "Automated limits: all off" in t, timeout_s=60)

    # The drill above is untouched: its clock at the open, its kill switch enabled.
    drill = _output_with(panel, page, "button", "KILL SWITCH")
    kill = drill.get_by_role("button", name="KILL SWITCH")
    assert kill.is_enabled()
    assert re.search(r"\b09:30:00\b", drill.inner_text())
    assert "kill switch engaged" not in drill.inner_text()

    # ... and the tick works as a learner would use it.
    lab.get_by_role("checkbox", name="orders out vs orders in").check()
    wait_text(summary, lambda t: "reconciliation" in t, timeout_s=60)
    assert_page_healthy(page)
