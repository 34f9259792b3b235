"""The base of every widget panel, and the display helpers the panels share.

A panel is a widget tree plus a plain-text :meth:`Panel.describe` of its state, so a
notebook cell (and the tests) can click a button or move a slider and print what
changed, without a browser. Charts are altair ``JupyterChart`` widgets in offline mode
(the JavaScript is a local bundle, never from a CDN: ``viz.offline``).
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import ipywidgets as W
import pandas as pd

from ..viz.offline import enable_offline_charts
from .text import html_table, table, text_table

__all__ = [
    "SETUP_HELP",
    "ChartView",
    "Panel",
    "chart_widget",
    "html_table",
    "md",
    "show",
    "table",
    "text_table",
]

#: Where a learner finds the fix when widgets show as text.
SETUP_HELP = "docs/setup.md, section 4"


# --------------------------------------------------------------------------
# Display helpers
# --------------------------------------------------------------------------
def md(text: str) -> Any:
    """Markdown for a notebook cell's output, with every ``$`` escaped.

    JupyterLab typesets the text between two dollar signs as maths, so
    "$3.5B and $3.15B" would come out garbled. A single backslash is not enough:
    the Markdown renderer consumes it before MathJax runs. Two backslashes leave
    MathJax one escape, and the page shows a plain "$" (checked in JupyterLab 4.6).
    """
    from IPython.display import Markdown

    return Markdown(text.replace("\\$", "$").replace("$", "\\\\$"))


def chart_widget(chart: alt.TopLevelMixin) -> alt.JupyterChart:
    """An interactive chart widget whose JavaScript is bundled locally (no CDN)."""
    enable_offline_charts()
    return alt.JupyterChart(cast(Any, chart))


def _chart_caption(chart: Any) -> str:
    title = getattr(chart, "title", alt.Undefined)
    if isinstance(title, alt.TitleParams):
        text = title.text if title.text is not alt.Undefined else ""
        sub = title.subtitle if title.subtitle is not alt.Undefined else ""
        if isinstance(sub, list):
            sub = " ".join(sub)
        return f"{text}: {sub}" if sub else str(text)
    return "" if title is alt.Undefined else str(title)


class Panel:
    """Base class: a widget tree plus a plain-text description of its state.

    Displaying a panel shows its widgets. Where widgets cannot be shown, the
    notebook shows the text fallback instead, which says how to fix that.
    """

    name = "panel"
    widget: W.Widget

    def describe(self) -> str:
        """The panel's state as plain text."""
        return ""

    def fallback_text(self) -> str:
        """What a notebook shows where the widgets are not drawn.

        A notebook is stored without widget state, so before its cells run this is
        what a learner sees in place of every panel: it must say to run the cell,
        not that something is broken.
        """
        return (
            f"[{self.name}: run this cell to show the panel. If this line is still here "
            f"after the cell has run, widgets are not displaying: see {SETUP_HELP}.]"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle or {})
        data["text/plain"] = self.fallback_text()
        return data


class ChartView(Panel):
    """One chart widget with its takeaway (the chart's subtitle) and a text fallback."""

    name = "chart"

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        self.chart = chart_widget(chart)
        self.widget = W.VBox([self.chart])

    def update(self, chart: alt.TopLevelMixin) -> None:
        """Replace the chart."""
        self.chart.chart = cast(Any, chart)

    @property
    def data(self) -> pd.DataFrame | None:
        """The chart's data (of its first data-carrying layer)."""
        return _chart_data(self.chart.chart)

    def describe(self) -> str:
        return _chart_caption(self.chart.chart)

    def fallback_text(self) -> str:
        return (
            f"[chart: run this cell to draw it] {self.describe()}\n[If this line is still "
            f"here after the cell has run, widgets are not displaying: see {SETUP_HELP}.]"
        )


def _chart_data(chart: Any) -> pd.DataFrame | None:
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        return data
    for attr in ("layer", "hconcat", "vconcat", "concat"):
        for sub in getattr(chart, attr, None) or []:
            found = _chart_data(sub)
            if found is not None:
                return found
    return None


def show(chart: alt.TopLevelMixin) -> ChartView:
    """Display a chart as an offline widget with its takeaway as text fallback."""
    return ChartView(chart)
