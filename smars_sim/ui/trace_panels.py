"""Notebook 01's panels: one parent order traced, the shared flag, the order book.

The words, series and book snapshots come from :mod:`smars_sim.analysis.trace` and
:mod:`smars_sim.analysis.order_book`; the charts from :mod:`smars_sim.viz.charts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import ipywidgets as W
import pandas as pd

from ..analysis.order_book import BookRecord
from ..analysis.runs import day, notebook_scenario
from ..analysis.trace import find_parent, parent_fill_data, pick_examples, trace_steps
from ..core.builds import FLAG, old_build, rlp_build
from ..core.clock import OPEN_NS, format_time
from ..core.fleet import ParentOrder
from ..core.fmt import price
from ..core.result import Result
from ..core.scenario import Scenario
from ..viz.charts import book_depth, parent_fills
from .panel import ChartView, Panel, html_table, text_table
from .text import esc

__all__ = ["BookViewer", "FlagExplorer", "ParentTracer"]


class ParentTracer(Panel):
    """Follow one parent order: server, build, router, code path, child orders, fills."""

    name = "parent order tracer"

    def __init__(self, result: Result | None = None) -> None:
        self.result = result or day()
        self.examples = pick_examples(self.result)
        self.dropdown = W.Dropdown(
            options=list(self.examples.items()),
            description="Order:",
            layout=W.Layout(width="560px"),
            style={"description_width": "initial"},
        )
        self.steps = W.HTML()
        first = next(iter(self.examples.values()))
        self.view = ChartView(self._chart(first))
        self.dropdown.observe(lambda change: self.select(change["new"]), names="value")
        self.widget = W.VBox([self.dropdown, self.steps, self.view.widget])
        self.select(first)

    def parent(self, parent_id: int) -> ParentOrder:
        """A parent order of the replay by id."""
        return find_parent(self.result, parent_id)

    def trace(self, parent_id: int) -> list[str]:
        """The parent order's life, one step per line."""
        return trace_steps(self.result, parent_id)

    def _chart(self, parent_id: int) -> alt.TopLevelMixin:
        data, takeaway = parent_fill_data(self.result, parent_id)
        return parent_fills(data, self.parent(parent_id).qty, takeaway=takeaway)

    def select(self, parent_id: int) -> None:
        """Show one parent order (the dropdown calls this)."""
        self.current = parent_id
        if self.dropdown.value != parent_id:
            self.dropdown.value = parent_id
        items = "".join(f"<li>{esc(s)}</li>" for s in self.trace(parent_id))
        self.steps.value = f"<ol>{items}</ol>"
        self.view.update(self._chart(parent_id))

    def describe(self) -> str:
        lines = [f"{i}. {s}" for i, s in enumerate(self.trace(self.current), 1)]
        return "\n".join([*lines, f"chart: {self.view.describe()}"])


class FlagExplorer(Panel):
    """Flip the shared flag and the kind of order: see which code path each build picks."""

    name = "flag explorer"

    def __init__(self, flag: str = FLAG) -> None:
        self.flag = flag
        self.builds = [old_build(flag=flag), rlp_build(flag=flag)]
        self.flag_toggle = W.ToggleButtons(
            options=[("flag off", False), ("flag on", True)], value=True, description="Flag:"
        )
        self.order_toggle = W.ToggleButtons(
            options=[("retail order", True), ("other client's order", False)],
            value=True,
            description="Order:",
        )
        self.table = W.HTML()
        for control in (self.flag_toggle, self.order_toggle):
            control.observe(lambda _: self._refresh(), names="value")
        self.widget = W.VBox([self.flag_toggle, self.order_toggle, self.table])
        self._refresh()

    def rows(self) -> list[dict[str, object]]:
        """One row per build: its router and the code path it picks now."""
        probe = ParentOrder(0, 0, 1, 100, OPEN_NS, retail=self.order_toggle.value)
        flags = {self.flag: self.flag_toggle.value}
        rows: list[dict[str, object]] = []
        for build in self.builds:
            path = build.route(flags, probe)
            doc = (path.__doc__ or "").strip().splitlines()[0]
            rows.append(
                {
                    "build": build.version,
                    "router": f"{build.router.__name__}()",
                    "code path": f"{path.__name__}()",
                    "what that path does": doc,
                }
            )
        return rows

    def _refresh(self) -> None:
        self.table.value = html_table(self.rows())

    def describe(self) -> str:
        state = "on" if self.flag_toggle.value else "off"
        kind = "retail" if self.order_toggle.value else "other client's"
        return f"flag '{self.flag}' {state}, {kind} order:\n" + text_table(
            self.rows(), ["build", "router", "code path"]
        )


class BookViewer(Panel):
    """A symbol's order book at a moment of the morning: pick a stock and a minute."""

    name = "order book"

    def __init__(
        self,
        scenario: Scenario | None = None,
        symbols: Sequence[str] | None = None,
        levels: int = 3,
    ) -> None:
        self.scenario = scenario or notebook_scenario()
        self.levels = levels
        self.record = BookRecord(self.scenario, symbols, levels)
        self.symbols = self.record.symbols
        self.times = self.record.times
        self.snapshots = self.record.snapshots
        self.symbol = W.Dropdown(options=self.symbols, value=self.symbols[0], description="Stock:")
        self.time = W.SelectionSlider(
            options=[(format_time(t)[:5] if t >= OPEN_NS else "pre-open", t) for t in self.times],
            value=OPEN_NS,
            description="Time:",
            continuous_update=False,
            layout=W.Layout(width="560px"),
        )
        self.info = W.HTML()
        self.view = ChartView(self._chart())
        for control in (self.symbol, self.time):
            control.observe(lambda _: self._refresh(), names="value")
        self.widget = W.VBox([W.HBox([self.symbol]), self.time, self.info, self.view.widget])
        self._refresh()

    def depth(self, symbol: str | None = None, time: int | None = None) -> pd.DataFrame:
        """Resting shares per price level (full-size equivalent) for a symbol at a time."""
        symbol = symbol or self.symbol.value
        time = self.time.value if time is None else time
        return self.record.depth(symbol, time)

    def summary(self) -> str:
        """Best bid, best offer, spread and last trade, in words."""
        return self.record.summary(self.symbol.value, self.time.value)

    def _chart(self) -> alt.TopLevelMixin:
        takeaway = self.record.takeaway(self.symbol.value, self.time.value)
        return book_depth(
            self.depth(), title=f"{self.symbol.value}: the order book", takeaway=takeaway
        )

    def _refresh(self) -> None:
        self.info.value = esc(self.summary())
        self.view.update(self._chart())

    def describe(self) -> str:
        rows = [
            {"side": r["side"], "price": price(r["price_usd"]), "shares": f"{r['shares']:,}"}
            for r in self.depth().to_dict("records")
        ]
        return self.summary() + "\n" + text_table(rows, ["side", "price", "shares"])
