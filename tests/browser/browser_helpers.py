"""Helpers for the browser tests: page checks and JupyterLab actions (imported by the tests)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "course"


#: Text that means a widget or a chart failed in the page.
PAGE_ERRORS = (
    "Error displaying widget",
    "Error loading script",
    "Javascript Error",
    "If you see this message",  # a vega-lite mimetype JupyterLab cannot render
    "Failed to load model class",
)


@dataclass
class Server:
    """A Jupyter server started for the tests."""

    base: str  # e.g. http://127.0.0.1:41234
    token: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:]


@dataclass
class PageLog:
    """What a page did that a test may fail on."""

    offsite: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def assert_page_healthy(page: Any) -> None:
    """No widget or chart error text, no page exception, nothing fetched off the machine."""
    text = page.locator("body").inner_text()
    for marker in PAGE_ERRORS:
        assert marker not in text, f"the page shows {marker!r}"
    log: PageLog = page.smars_log
    assert not log.offsite, f"the page asked for off-machine URLs: {log.offsite}"
    assert not log.page_errors, f"uncaught errors in the page: {log.page_errors}"
    bad = [e for e in log.console_errors if "Failed to load" in e or "widget" in e.lower()]
    assert not bad, f"console errors: {bad}"


def assert_charts_drawn(page: Any, scope: Any = None, minimum: int = 1) -> int:
    """Every vega chart in ``scope`` drew an SVG or canvas, and there are at least ``minimum``."""
    where = scope if scope is not None else page
    charts = where.locator(".vega-embed")
    if minimum:
        charts.first.wait_for(state="attached")
    n: int = charts.count()
    assert n >= minimum, f"expected at least {minimum} chart(s), found {n}"
    for i in range(n):
        chart = charts.nth(i)
        chart.locator("svg, canvas").first.wait_for(state="attached")
        assert "error" not in (chart.get_attribute("class") or "")
    return n


# ------------------------------------------------------------------ Lab helpers
def open_notebook(page: Any, server: Server, name: str) -> Any:
    """Open a notebook in Lab (fresh workspace) and wait until its kernel is idle."""
    page.goto(server.url(f"/lab/tree/{name}") + "&reset")
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=60_000)
    panel = page.locator(".jp-NotebookPanel:visible").first
    panel.locator(".jp-Cell .jp-InputPrompt").first.click()
    return panel


def run_all(page: Any, panel: Any, timeout_s: float = 120) -> None:
    """Run → Run All Cells, then wait until every code cell has run and the kernel is idle."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(
        ".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel", has_text="Run All Cells"
    ).first.click()
    deadline = time.monotonic() + timeout_s
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    while time.monotonic() < deadline:
        texts = prompts.all_inner_texts()
        idle = page.locator(".jp-StatusBar-TextItem", has_text="| Idle").count() > 0
        if texts and all(t.strip() not in ("[ ]:", "[*]:", "") for t in texts) and idle:
            return
        time.sleep(0.3)
    raise AssertionError(f"cells did not all run within {timeout_s} s: {prompts.all_inner_texts()}")


def assert_no_stray_math(panel: Any) -> None:
    """No cell output rendered as LaTeX: "$3.5B and $3.15B" in Markdown becomes math.

    The course prints dollar amounts in Markdown; an unescaped pair of ``$`` turns
    the text between them into an italic formula with the spaces removed.
    """
    math = panel.locator(".jp-OutputArea-output mjx-container, .jp-OutputArea-output .MathJax")
    if math.count():
        text = math.first.evaluate("el => el.closest('.jp-OutputArea-output').innerText")
        raise AssertionError(f"an output was typeset as math (unescaped $?): {text[:300]!r}")


def assert_no_cell_errors(panel: Any) -> None:
    errors = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, f"a cell raised: {tracebacks[0][:2000]}"


def wait_text(locator: Any, predicate: Callable[[str], bool], timeout_s: float = 20) -> str:
    """Wait until ``predicate(locator.inner_text())``; return the text."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            text = locator.inner_text(timeout=2_000)
            if predicate(text):
                return text
        time.sleep(0.2)
    raise AssertionError(f"text never matched; last seen:\n{text[:2000]}")


_SIGNATURE_JS = """(el) => {
  const canvas = el.querySelector('canvas');
  if (canvas) return 'canvas:' + canvas.width + 'x' + canvas.height + ':' + canvas.toDataURL();
  const svg = el.querySelector('svg');
  return svg ? 'svg:' + svg.outerHTML : '';
}"""


def chart_signature(chart: Any) -> str:
    """What a vega chart draws now (its canvas pixels or its SVG), to tell when it changes."""
    chart.locator("svg, canvas").first.wait_for(state="attached")
    signature: str = chart.evaluate(_SIGNATURE_JS)
    return signature


def wait_changed(chart: Any, before: str, timeout_s: float = 20) -> str:
    """Wait until the chart draws something other than ``before``; return the new signature."""
    deadline = time.monotonic() + timeout_s
    now = before
    while time.monotonic() < deadline:
        now = chart_signature(chart)
        if now and now != before:
            return now
        time.sleep(0.3)
    raise AssertionError("the chart did not change")
