"""Regenerate docs/screenshots/ (course.png, console*.png).

Run ``.venv/bin/pytest tests/browser -m screenshots``. ``make test`` leaves it out: the
pictures are committed, and retaking them on every run would only churn the repository.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import REPO, Server, open_notebook, run_all, wait_text

OUT = REPO / "docs" / "screenshots"

# Not a test: it retakes docs/screenshots/. Marked "screenshots" (not "browser"), so
# `make test` (pytest -m browser) leaves it out rather than skipping it; run it with
# `pytest tests/browser -m screenshots`.
pytestmark = pytest.mark.screenshots


@pytest.mark.parametrize(
    ("width", "height", "name"),
    [
        (1400, 960, "console.png"),  # the console alone, for the README
        (1920, 1080, "console-1920x1080.png"),  # the projector: the whole screen
        (1280, 720, "console-1280x720.png"),  # a small projector or a laptop
    ],
)
def test_console_screenshot(
    page: Any, voila_console: Server, width: int, height: int, name: str
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(voila_console.url("/"))
    page.locator(".smars-console").wait_for(timeout=90_000)
    header = page.locator(".smars-header")
    page.locator(".smars-speed button", has_text="120×").click()
    page.locator(".smars-play").click()
    wait_text(header, lambda t: "09:4" in t, timeout_s=60)  # a quarter of an hour in
    page.locator(".smars-speed button", has_text="30×").click()
    page.wait_for_timeout(1500)
    page.locator(".smars-play").click()  # pause for the picture, server 8 still sending
    OUT.mkdir(parents=True, exist_ok=True)
    if name == "console.png":
        page.locator(".smars-console").screenshot(path=str(OUT / name))
    else:  # what the room sees: the viewport, as projected
        page.screenshot(path=str(OUT / name))


def test_course_screenshot(page: Any, clean_lab: Server) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    panel = open_notebook(page, clean_lab, "02_deploy_day.ipynb")
    run_all(page, panel, timeout_s=180)
    out = panel.locator(".jp-OutputArea-output").filter(
        has=page.get_by_role("button", name="Run the morning")
    )
    w = out.first
    w.get_by_role("button", name="Start over").click()
    for k in range(1, 8):
        w.get_by_role("checkbox", name=f"server {k}: copy 2012.07-rlp").check()
    w.get_by_role("button", name="Run the morning").click()
    wait_text(w, lambda t: "servers missed: 8" in t, timeout_s=60)
    w.get_by_role("button", name="Copy to every server").click()
    w.get_by_role("button", name="Run the morning").click()
    wait_text(w, lambda t: "no server missed" in t, timeout_s=60)
    w.get_by_role("button", name="The technician's way").click()
    page.wait_for_timeout(1000)
    w.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / "course.png"))
