"""Notebook 00's set-up check: does this kernel have what the course needs, do widgets draw?"""

from __future__ import annotations

import sys

import altair as alt
import ipywidgets as W

from ..viz.charts import render_check
from .panel import ChartView, Panel

__all__ = ["RenderCheck", "check_setup"]


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_setup() -> str:
    """Check what the course needs in this kernel; one line per check, with the fix.

    Returns:
        Text lines ``OK ...`` or ``PROBLEM ... -> fix``.
    """
    lines = []

    def check(ok: bool, what: str, fix: str) -> None:
        lines.append(f"OK       {what}" if ok else f"PROBLEM  {what} -> {fix}")

    check(sys.version_info >= (3, 11), "Python 3.11 or newer", "use Python 3.11+ (docs/setup.md)")
    check(
        _version_tuple(W.__version__)[0] == 8,
        "ipywidgets 8",
        "pip install -U 'ipywidgets>=8.1.9,<9', then restart",
    )
    check(
        _version_tuple(alt.__version__)[0] >= 6,
        "altair 6 or newer",
        "pip install -U 'altair>=6.3,<7'",
    )
    for module, fix in (
        ("anywidget", "pip install 'anywidget>=0.11,<0.12' (interactive charts need it)"),
        ("vl_convert", "pip install 'vl-convert-python>=1.9,<2' (offline chart bundle)"),
    ):
        try:
            __import__(module)
            ok = True
        except ImportError:
            ok = False
        check(ok, f"{module} installed", fix)
    check(
        alt.renderers.active == "jupyter" and bool(alt.renderers.options.get("offline")),
        "altair draws charts offline (jupyter renderer, offline=True)",
        "run: _ = alt.renderers.enable('jupyter', offline=True)",
    )
    return "\n".join(lines)


class RenderCheck(Panel):
    """A button, a counter and a chart: if clicking updates both, the kit works here."""

    name = "render check"

    def __init__(self) -> None:
        self.clicks = 0
        self.button = W.Button(description="Click me", button_style="primary", icon="check")
        self.label = W.HTML()
        self.view = ChartView(render_check(0))
        self.button.on_click(lambda _: self.click())
        self.widget = W.VBox([W.HBox([self.button, self.label]), self.view.widget])
        self._refresh()

    def click(self) -> None:
        """What the button does: count, and redraw the chart."""
        self.clicks += 1
        self._refresh()

    def reset(self) -> None:
        """Back to zero clicks."""
        self.clicks = 0
        self._refresh()

    def _refresh(self) -> None:
        self.label.value = f"clicks: <b>{self.clicks}</b>"
        self.view.update(render_check(self.clicks))

    def describe(self) -> str:
        bars = len(self.view.data) if self.view.data is not None else 0
        return f"clicks: {self.clicks}; bars in the chart: {bars}"
