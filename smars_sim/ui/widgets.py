"""Widget panels for the course notebooks (presentation layer: ipywidgets and altair).

Each panel is a small class: it builds its controls and charts, wires the callbacks,
and keeps its state. A notebook creates one in a line and displays it. Every panel
also has a plain-text :meth:`Panel.describe`, so a notebook cell (and the tests) can
click a button or move a slider and print what changed, without a browser.

Charts are altair ``JupyterChart`` widgets in offline mode (the JavaScript comes from
``vl-convert``, never from a CDN). Replays run at :data:`NOTEBOOK_SCALE` and are
cached, so every control answers well within a second.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from ..analysis import forensics as F
from ..analysis.runs import NOTEBOOK_SCALE, day, normal_morning, notebook_scenario, run
from ..core.builds import FLAG, Build, old_build, rlp_build
from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.fleet import CHILD_FIELDS, ParentOrder
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes import Simulation
from ..viz import charts as C
from .panel import (
    ChartView,
    Panel,
    _esc,
    chart_widget,
    html_table,
    md,
    show,
    text_table,
)

__all__ = [
    "NOTEBOOK_SCALE",
    "AlertDesigner",
    "BookViewer",
    "ChartView",
    "DeployDay",
    "FlagExplorer",
    "Inbox",
    "Panel",
    "ParentTracer",
    "Plan",
    "PlanComparison",
    "Playback",
    "RenderCheck",
    "Responder",
    "check_setup",
    "day",
    "loss_and_alerts",
    "md",
    "notebook_scenario",
    "rollback_view",
    "run",
    "server_share_view",
    "show",
]


# --------------------------------------------------------------------------
# 00: set-up check
# --------------------------------------------------------------------------
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
        self.view = ChartView(C.render_check(0))
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
        self.view.update(C.render_check(self.clicks))

    def describe(self) -> str:
        bars = len(self.view.data) if self.view.data is not None else 0
        return f"clicks: {self.clicks}; bars in the chart: {bars}"


# --------------------------------------------------------------------------
# 01: one parent order, the flag, the order book
# --------------------------------------------------------------------------
_KNOWN_BUILDS: dict[str, Build] = {}
for _b in (
    old_build(),
    rlp_build(),
    old_build(with_power_peg=False),
    rlp_build(with_power_peg=False),
):
    _KNOWN_BUILDS[_b.version] = _b


def _build_named(text: str) -> Build | None:
    for version in sorted(_KNOWN_BUILDS, key=len, reverse=True):
        if version in text:
            return _KNOWN_BUILDS[version]
    return None


def build_history(result: Result, server: int) -> list[tuple[int, Build | None]]:
    """``(time, build)`` each time a server's build changed (time 0 = before the day)."""
    history: list[tuple[int, Build | None]] = []
    for entry in result.timeline:
        if entry.server != server:
            continue
        if entry.action in ("deploy", "deploy skipped", "rollback: re-install"):
            history.append((entry.time, _build_named(entry.detail)))
    return history


def build_at(result: Result, server: int, time: int) -> Build | None:
    """The build a server ran at a time."""
    current = None
    for t, build in build_history(result, server):
        if t <= time:
            current = build
    return current


def _side(side: int) -> str:
    return "buy" if side > 0 else "sell"


class ParentTracer(Panel):
    """Follow one parent order: server, build, router, code path, child orders, fills."""

    name = "parent order tracer"

    def __init__(self, result: Result | None = None) -> None:
        self.result = result or day()
        self.examples = self._pick_examples()
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

    def _pick_examples(self) -> dict[str, int]:
        r = self.result
        stale = set(r.scenario.stale_servers)
        picks: dict[str, int] = {}

        def pick(label: str, test: Callable[[ParentOrder], bool]) -> None:
            for p in r.parents:
                if test(p):
                    picks[f"#{p.id}: {label} (server {p.server})"] = p.id
                    return

        pick(
            "retail order on the server the technician missed",
            lambda p: p.retail and p.server in stale,
        )
        pick("retail order on an updated server", lambda p: p.retail and p.server not in stale)
        pick(
            "pre-market order on an updated server",
            lambda p: not p.retail and p.server not in stale,
        )
        pick("pre-market order on the missed server", lambda p: not p.retail and p.server in stale)
        return picks

    def parent(self, parent_id: int) -> ParentOrder:
        """A parent order of the replay by id."""
        for p in self.result.parents:
            if p.id == parent_id:
                return p
        raise ValueError(f"no parent order #{parent_id}; ids run 1..{len(self.result.parents)}")

    def trace(self, parent_id: int) -> list[str]:
        """The parent order's life, one step per line."""
        r = self.result
        p = self.parent(parent_id)
        symbol = r.symbols[p.symbol]
        kind = (
            "retail, for the opening auction"
            if p.retail and p.for_open
            else "pre-market, from another client"
        )
        steps = [
            f"{format_time(p.received)}  A client sends parent order #{p.id}: "
            f"{_side(p.side)} {p.qty:,} {symbol} ({kind}).",
            f"SMARS hands it to server {p.server}, the next server in turn.",
        ]
        routed = max(p.received, OPEN_NS) if p.for_open else p.received
        build = build_at(r, p.server, routed)
        if build is None:
            steps.append(f"Server {p.server} runs a build this tracer does not know.")
            return steps
        steps.append(
            f"Server {p.server} runs build {build.version} (sha256 {build.short_hash}...)."
        )
        if p.for_open:
            steps.append("The order waits on the server until the market opens.")
        flags = {r.scenario.flag: True}
        path = build.route(flags, p).__name__
        steps.append(
            f"{format_time(routed)}  The build's router {build.router.__name__}() reads the "
            f"flag '{r.scenario.flag}' = on and picks the code path {path}()."
        )
        children = r.child_orders[r.child_orders["parent_id"] == p.id]
        fills = r.executions[r.executions["parent_id"] == p.id]
        filled_by_child = fills.groupby("child_id")["qty"].sum()
        if p.rejected:
            steps.append(
                f"Before the open, {path}() refuses to run: the order is rejected "
                f"('{p.rejected}') and a BNET reject e-mail goes out."
            )
            return steps
        if path == "rlp" and (children.empty or children["path"].iloc[0] != "rlp"):
            steps.append(
                "The order rests in the Retail Liquidity Program. (This kit does not model "
                "who fills RLP orders, so there it stays.)"
            )
        history = [(t, b) for t, b in build_history(r, p.server) if t > routed]
        for t, b in history:
            if b is None:
                continue
            later = children[children["time_ns"] >= t]
            if later.empty:
                continue
            new_path = b.route(flags, p).__name__
            steps.append(
                f"{format_time(t)}  A rollback re-installs {b.version} on server {p.server}. "
                f"The restarted server routes the order again: {b.router.__name__}() "
                f"picks {new_path}()."
            )
        # Runs of child orders by code path.
        if not children.empty:
            run_id = (children["path"] != children["path"].shift()).cumsum()
            for _, run_rows in children.groupby(run_id, sort=True):
                path_name = str(run_rows["path"].iloc[0])
                n = len(run_rows)
                filled = int(filled_by_child.reindex(run_rows["child_id"]).fillna(0).sum())
                first = format_time(int(run_rows["time_ns"].iloc[0]))
                last = format_time(int(run_rows["time_ns"].iloc[-1]))
                times = f"at {first}" if n == 1 else f"from {first} to {last}"
                ratio = filled / p.qty
                times_text = f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.1f}"
                steps.append(
                    f"{path_name}() sends {n:,} child order{'s' if n != 1 else ''} {times}; "
                    f"{filled:,} shares fill ({times_text} times the {p.qty:,} the client "
                    "asked for)."
                )
        total = int(fills["qty"].sum())
        steps.append(
            f"In all: {len(children):,} child orders, {len(fills):,} executions, "
            f"{total:,} shares for an order of {p.qty:,}."
        )
        return steps

    def _chart(self, parent_id: int) -> alt.TopLevelMixin:
        r = self.result
        p = self.parent(parent_id)
        fills = r.executions[r.executions["parent_id"] == p.id]
        paths = r.child_orders.set_index("child_id")["path"]
        data = pd.DataFrame(
            {
                "time": C.clock(fills["time_ns"].to_numpy()),
                "filled": fills["qty"].cumsum().to_numpy(),
                "path": paths.reindex(fills["child_id"]).astype(str).to_numpy(),
            }
        )
        total = int(fills["qty"].sum())
        if total == 0:
            takeaway = "Nothing filled: this order never reached the market."
        elif total <= p.qty:
            takeaway = f"{total:,} of {p.qty:,} shares filled, and then it stopped."
        else:
            takeaway = f"{total:,} shares filled against {p.qty:,} asked: it never stopped."
        return C.parent_fills(data, p.qty, takeaway=takeaway)

    def select(self, parent_id: int) -> None:
        """Show one parent order (the dropdown calls this)."""
        self.current = parent_id
        if self.dropdown.value != parent_id:
            self.dropdown.value = parent_id
        items = "".join(f"<li>{_esc(s)}</li>" for s in self.trace(parent_id))
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


@dataclass(frozen=True, slots=True)
class _Snapshot:
    held: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    last: int | None


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
        tickers = [s.ticker for s in self.scenario.symbols]
        self.symbols = list(symbols) if symbols else tickers[:12]
        self._index = {t: tickers.index(t) for t in self.symbols}
        pre_open = OPEN_NS - SECOND_NS
        end = parse_time(self.scenario.window_end)
        self.times = [pre_open, *range(OPEN_NS, end + 1, 60 * SECOND_NS)]
        self.snapshots = self._record()
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

    def _record(self) -> dict[int, dict[str, _Snapshot]]:
        cache_key = (repr(self.scenario), tuple(self.symbols), self.levels)
        if cache_key in _BOOK_CACHE:
            return _BOOK_CACHE[cache_key]
        sim = Simulation(self.scenario)
        out: dict[int, dict[str, _Snapshot]] = {}

        def snap(now: int) -> None:
            books = sim.exchange.books
            out[now] = {}
            for ticker, i in self._index.items():
                bids, asks = books[i].depth(self.levels)
                out[now][ticker] = _Snapshot(
                    sim.exchange.held_count, bids, asks, books[i].last_price
                )

        for t in self.times:
            sim.call_at(t, snap)
        sim.advance_to(self.times[-1])
        _BOOK_CACHE.clear()
        _BOOK_CACHE[cache_key] = out
        return out

    def depth(self, symbol: str | None = None, time: int | None = None) -> pd.DataFrame:
        """Resting shares per price level (full-size equivalent) for a symbol at a time."""
        symbol = symbol or self.symbol.value
        time = self.time.value if time is None else time
        snap = self.snapshots[time][symbol]
        scale = self.scenario.scale
        rows = [("bid", p / 100, round(q * scale)) for p, q in snap.bids]
        rows += [("offer", p / 100, round(q * scale)) for p, q in snap.asks]
        return pd.DataFrame(rows, columns=["side", "price_usd", "shares"])

    def summary(self) -> str:
        """Best bid, best offer, spread and last trade, in words."""
        time = self.time.value
        snap = self.snapshots[time][self.symbol.value]
        when = format_time(time)
        if not snap.bids and not snap.asks:
            return (
                f"{self.symbol.value} at {when}: the book is empty before the open; "
                f"{snap.held:,} orders wait at the exchange for the opening auction."
            )
        bid = snap.bids[0][0] if snap.bids else None
        ask = snap.asks[0][0] if snap.asks else None
        parts = [f"{self.symbol.value} at {when}:"]
        if bid is not None:
            parts.append(f"best bid ${bid / 100:,.2f}")
        if ask is not None:
            parts.append(f"best offer ${ask / 100:,.2f}")
        if bid is not None and ask is not None:
            parts.append(f"spread {ask - bid} cents")
        if snap.last is not None:
            parts.append(f"last trade ${snap.last / 100:,.2f}")
        return " ".join(parts[:1]) + " " + ", ".join(parts[1:]) + "."

    def _chart(self) -> alt.TopLevelMixin:
        data = self.depth()
        snap = self.snapshots[self.time.value][self.symbol.value]
        index = self._index[self.symbol.value]
        open_cents = self.scenario.symbols[index].open_cents
        if not snap.bids and not snap.asks:
            takeaway = (
                "Nothing rests in the book before the open: "
                f"the makers start quoting at {format_time(OPEN_NS)[:5]}."
            )
        elif snap.last is None:
            takeaway = f"No trade yet; the opening price is ${open_cents / 100:,.2f}."
        else:
            move = 100 * (snap.last / open_cents - 1)
            takeaway = f"Last trade {move:+.1f}% from the opening price (${open_cents / 100:,.2f})."
        return C.book_depth(data, title=f"{self.symbol.value}: the order book", takeaway=takeaway)

    def _refresh(self) -> None:
        self.info.value = _esc(self.summary())
        self.view.update(self._chart())

    def describe(self) -> str:
        rows = [
            {"side": r["side"], "price": f"${r['price_usd']:,.2f}", "shares": f"{r['shares']:,}"}
            for r in self.depth().to_dict("records")
        ]
        return self.summary() + "\n" + text_table(rows, ["side", "price", "shares"])


_BOOK_CACHE: dict[tuple, dict[int, dict[str, _Snapshot]]] = {}


# --------------------------------------------------------------------------
# 02: deploy day
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Check:
    """A check someone could have run after the deploy."""

    name: str
    run: Callable[[DeployDay], tuple[bool, str]]


def _check_word(d: DeployDay) -> tuple[bool, str]:
    return False, "'All done.' A person's word covers what they meant to do."


def _check_spot(d: DeployDay) -> tuple[bool, str]:
    build = d.builds()[0]
    ok = build.sha256 == d.release.sha256
    return (not ok, f"server 1 runs {build.version}: {'matches' if ok else 'DIFFERS'}")


def _check_count(d: DeployDay) -> tuple[bool, str]:
    n = len(d.servers) - len(d.missed())
    return (
        n < len(d.servers),
        f"the log lists {n} of {len(d.servers)} servers in the inventory",
    )


def _check_hashes(d: DeployDay) -> tuple[bool, str]:
    wrong = [k for k, b in zip(d.servers, d.builds(), strict=True) if b.sha256 != d.release.sha256]
    if not wrong:
        return False, f"all {len(d.servers)} servers match {d.release.short_hash}"
    listed = ", ".join(str(k) for k in wrong)
    return True, f"server(s) {listed} do not match the release hash {d.release.short_hash}"


def _check_smoke_off(d: DeployDay) -> tuple[bool, str]:
    probe = ParentOrder(0, 0, 1, 100, OPEN_NS - 60 * SECOND_NS, retail=True)
    paths = {b.route({d.flag: False}, probe).__name__ for b in d.builds()}
    return False, f"every server routes the test order to {', '.join(sorted(paths))}()"


def _check_smoke_on(d: DeployDay) -> tuple[bool, str]:
    probe = ParentOrder(0, 0, 1, 100, OPEN_NS - 60 * SECOND_NS, retail=True)
    odd = [
        k
        for k, b in zip(d.servers, d.builds(), strict=True)
        if b.route({d.flag: True}, probe).__name__ != "rlp"
    ]
    if not odd:
        return False, "every server routes it to rlp()"
    return True, f"server(s) {', '.join(map(str, odd))} route it to power_peg() and reject it"


def _check_emails(d: DeployDay) -> tuple[bool, str]:
    if not d.missed():
        return False, "no BNET reject e-mails arrive"
    return True, "BNET 'Power Peg disabled' e-mails arrive from the missed server(s)"


CHECKS: tuple[Check, ...] = (
    Check("Ask the technician", _check_word),
    Check("Spot-check server 1's build", _check_spot),
    Check("Compare the deploy log with the server inventory", _check_count),
    Check("Compare every server's build hash with the release", _check_hashes),
    Check("Send a test order with the flag off", _check_smoke_off),
    Check("Send a test retail order to each server with the flag on", _check_smoke_on),
    Check("Read the pre-open BNET e-mails", _check_emails),
)


class DeployDay(Panel):
    """Deploy the RLP build by hand, server by server, then see what would have caught a miss.

    The checklist has one box per server: ticking it copies the release to that
    server. "The technician's way" ticks all but the eighth. The fleet table shows
    every server's build, hash and what the shared flag means there; the checks
    table says which checks would reveal a missed server; "Run the morning" replays
    1 August with the fleet as deployed.
    """

    name = "deploy day"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or notebook_scenario()
        self.flag = self.scenario.flag
        self.old = old_build(flag=self.flag)
        self.release = rlp_build(flag=self.flag)
        self.servers = list(range(1, self.scenario.servers + 1))
        self.boxes = [
            W.Checkbox(
                value=False,
                description=f"server {k}: copy {self.release.version}",
                indent=False,
                layout=W.Layout(width="260px"),
            )
            for k in self.servers
        ]
        self.technician_button = W.Button(
            description="The technician's way",
            icon="user",
            tooltip="copies to all but one",
            layout=W.Layout(width="210px"),
        )
        self.all_button = W.Button(
            description="Copy to every server", icon="check-square", layout=W.Layout(width="210px")
        )
        self.reset_button = W.Button(description="Start over", icon="undo")
        self.run_button = W.Button(
            description="Run the morning", button_style="warning", icon="play"
        )
        self.fleet_html = W.HTML()
        self.checks_html = W.HTML()
        self.outcome = W.HTML()
        self.runs: list[dict[str, object]] = []
        self._quiet = False
        self.view = ChartView(self._runs_chart())
        for box in self.boxes:
            box.observe(lambda _: self._refresh(), names="value")
        self.technician_button.on_click(lambda _: self.technician())
        self.all_button.on_click(lambda _: self.copy_all())
        self.reset_button.on_click(lambda _: self.reset())
        self.run_button.on_click(lambda _: self.run_morning())
        checklist = W.GridBox(self.boxes, layout=W.Layout(grid_template_columns="repeat(2, 270px)"))
        self.widget = W.VBox(
            [
                W.HTML("<b>Checklist: copy the release to each server</b>"),
                checklist,
                W.HBox([self.technician_button, self.all_button, self.reset_button]),
                W.HTML("<b>The fleet</b>"),
                self.fleet_html,
                W.HTML("<b>Would these checks reveal a missed server?</b>"),
                self.checks_html,
                self.run_button,
                self.outcome,
                self.view.widget,
            ]
        )
        self._refresh()

    # state
    def missed(self) -> list[int]:
        """Servers still on the old build."""
        return [k for k, box in zip(self.servers, self.boxes, strict=True) if not box.value]

    def builds(self) -> list[Build]:
        """The build on each server."""
        return [self.release if box.value else self.old for box in self.boxes]

    def _set(self, copied: set[int]) -> None:
        self._quiet = True
        try:
            for k, box in zip(self.servers, self.boxes, strict=True):
                box.value = k in copied
        finally:
            self._quiet = False
        self._refresh()

    def copy(self, server: int) -> None:
        """Tick one server's box (copy the release to it)."""
        self.boxes[server - 1].value = True

    def technician(self) -> None:
        """What happened: the release copied to every server but the ones the record says."""
        stale = set(self.scenario.stale_servers)
        self._set({k for k in self.servers if k not in stale})

    def copy_all(self) -> None:
        """The release on every server."""
        self._set(set(self.servers))

    def reset(self) -> None:
        """Every server back on the old build; forget the runs."""
        self.runs = []
        self.outcome.value = ""
        self._set(set())
        self.view.update(self._runs_chart())

    # views
    def fleet_rows(self) -> list[dict[str, object]]:
        """Each server's build, hash and what the flag makes a retail order do there."""
        probe = ParentOrder(0, 0, 1, 100, OPEN_NS, retail=True)
        rows: list[dict[str, object]] = []
        for k, build in zip(self.servers, self.builds(), strict=True):
            rows.append(
                {
                    "server": k,
                    "build": build.version,
                    "hash": build.short_hash,
                    f"flag '{self.flag}' on means": build.route({self.flag: True}, probe).__name__
                    + "()",
                }
            )
        return rows

    def check_rows(self) -> list[dict[str, object]]:
        """Each check, what it shows for the fleet as it is, and whether it reveals a miss."""
        rows: list[dict[str, object]] = []
        for check in CHECKS:
            reveals, finding = check.run(self)
            rows.append(
                {
                    "check": check.name,
                    "what it shows": finding,
                    "reveals": "YES" if reveals else "no",
                }
            )
        return rows

    def _refresh(self) -> None:
        if self._quiet:
            return
        self.fleet_html.value = html_table(self.fleet_rows())
        self.checks_html.value = html_table(self.check_rows())

    # the morning
    def scenario_for_fleet(self) -> Scenario:
        """The morning with this fleet (the kit's operator actions only if something is wrong)."""
        missed = tuple(self.missed())
        if not missed:
            return normal_morning(self.scenario)
        return self.scenario.with_(stale_servers=missed)

    def run_morning(self) -> Result:
        """Replay 1 August with the fleet as deployed; add it to the runs chart."""
        result = run(self.scenario_for_fleet())
        s = result.summary
        missed = self.missed()
        label = "missed: " + (", ".join(map(str, missed)) if missed else "none")
        row = {
            "fleet": label,
            "loss_usd_m": round(s.loss_usd / 1e6, 3),
            "bnet_emails": s.bnet_emails,
            "child_orders": s.child_orders,
        }
        self.runs = [r for r in self.runs if r["fleet"] != label] + [row]
        self.outcome.value = _esc(self.outcome_text(result))
        self.view.update(self._runs_chart())
        return result

    def outcome_text(self, result: Result) -> str:
        """One line on how the morning went with this fleet."""
        s = result.summary
        missed = self.missed()
        where = f"servers missed: {', '.join(map(str, missed))}" if missed else "no server missed"
        return (
            f"{where}. Power Peg ran for {s.parent_orders} parent orders; "
            f"{s.bnet_emails} BNET e-mails before the open; loss {C.usd(s.loss_usd)}."
        )

    def _runs_chart(self) -> alt.TopLevelMixin:
        data = pd.DataFrame(
            self.runs, columns=["fleet", "loss_usd_m", "bnet_emails", "child_orders"]
        )
        if data.empty:
            takeaway = "Run the morning to see what this fleet costs."
        else:
            worst = data.loc[data["loss_usd_m"].idxmax()]
            takeaway = f"Worst so far: {worst['fleet']}, {C.usd(worst['loss_usd_m'] * 1e6)}."
        return (
            alt.Chart(data, title=C._title("Loss by deploy outcome (replay)", takeaway))
            .mark_bar(color=C.OKABE_ITO["vermillion"])
            .encode(
                y=alt.Y("fleet:N", title=None, sort=None),
                x=alt.X(
                    "loss_usd_m:Q", title="Loss ($M)", axis=alt.Axis(labelExpr=C._usd_label("M"))
                ),
                tooltip=["fleet:N", alt.Tooltip("loss_usd_m:Q", format=",.1f"), "bnet_emails:Q"],
            )
            .properties(width=380, height=max(40, 26 * max(1, len(data))))
        )

    def describe(self) -> str:
        missed = self.missed()
        lines = [
            "missed: " + (", ".join(map(str, missed)) if missed else "none"),
            text_table(self.fleet_rows()),
            "",
            text_table(self.check_rows(), ["check", "reveals"]),
        ]
        if self.runs:
            lines += ["", text_table(self.runs)]
        return "\n".join(lines)


# --------------------------------------------------------------------------
# 03: the inbox and the market open
# --------------------------------------------------------------------------
_ORDINARY_SUBJECTS = (
    ("ops-desk", "Pre-market indications"),
    ("risk-reports", "Overnight positions report"),
    ("market-data", "Feed status: all lines up"),
    ("client-services", "Client asks about order status"),
    ("compliance", "Reminder: attestation due Friday"),
    ("release-mgmt", "RLP go-live today: checklist"),
    ("it-helpdesk", "Ticket updated"),
    ("trading-floor", "Morning meeting notes"),
    ("settlements", "Fails report"),
    ("facilities", "Fire drill next week"),
    ("market-data", "Corporate actions for today"),
    ("ops-desk", "Opening auction imbalances"),
    ("hr", "Benefits enrolment"),
    ("client-services", "New account onboarding"),
    ("risk-reports", "Limit utilisation summary"),
)
#: Ordinary messages per minute in the invented inbox (a kit choice, not a historical figure).
ORDINARY_PER_MINUTE = 5


def inbox(result: Result, per_minute: int = ORDINARY_PER_MINUTE) -> pd.DataFrame:
    """The morning's e-mail: the replay's BNET rejects among invented ordinary traffic.

    The ordinary messages are made up by this kit (``per_minute`` on average,
    08:00-09:30, from a fixed seed); only the BNET rejects come from the replay.

    Returns:
        Columns ``time_ns``, ``time``, ``sender``, ``subject``, ``kind``, sorted by time.
    """
    rng = random.Random(f"inbox:{result.scenario.seed}")
    start, end = parse_time("08:00"), OPEN_NS
    n = per_minute * (end - start) // (60 * SECOND_NS)
    rows = []
    for _ in range(n):
        t = start + int(rng.random() * (end - start))
        sender, subject = rng.choice(_ORDINARY_SUBJECTS)
        rows.append((t, sender, subject, "other e-mail"))
    for t, server, _parent, symbol, text in result.emails:
        if t < end:
            rows.append(
                (t, f"smars-server-{server}", f"{text} ({result.symbols[symbol]})", "BNET reject")
            )
    frame = pd.DataFrame(rows, columns=["time_ns", "sender", "subject", "kind"])
    frame = frame.sort_values(["time_ns", "sender"], kind="stable").reset_index(drop=True)
    frame.insert(1, "time", [format_time(t) for t in frame["time_ns"]])
    return frame


def inbox_volume_data(mail: pd.DataFrame, bin_minutes: int = 5) -> pd.DataFrame:
    """E-mails per ``bin_minutes`` by kind (every bin, both kinds)."""
    width = bin_minutes * 60 * SECOND_NS
    start = parse_time("08:00")
    slots = (mail["time_ns"] - start) // width
    n = int(slots.max()) + 1 if len(slots) else 1
    rows = []
    for kind in ("other e-mail", "BNET reject"):
        counts = np.bincount(slots[mail["kind"] == kind].to_numpy(), minlength=n)
        for i, count in enumerate(counts):
            rows.append(
                {
                    "time": C.clock(start + i * width),
                    "end": C.clock(start + (i + 1) * width),
                    "kind": kind,
                    "count": int(count),
                }
            )
    return pd.DataFrame(rows)


class Inbox(Panel):
    """The shared mailbox, 08:00 to the open: slide through the morning, search it."""

    name = "inbox"

    def __init__(self, result: Result | None = None, show: int = 12) -> None:
        self.result = result or day()
        self.mail = inbox(self.result)
        self.show_n = show
        start = parse_time("08:00")
        options = [
            (format_time(t)[:5], t)
            for t in range(start + 60 * SECOND_NS, OPEN_NS + 1, 60 * SECOND_NS)
        ]
        self.time = W.SelectionSlider(
            options=options,
            value=options[14][1],
            description="Time:",
            layout=W.Layout(width="560px"),
        )
        self.search = W.Text(value="", placeholder="search subjects", description="Search:")
        self.counts = W.HTML()
        self.listing = W.HTML()
        for control in (self.time, self.search):
            control.observe(lambda _: self._refresh(), names="value")
        volume = inbox_volume_data(self.mail)
        bnet = int((self.mail["kind"] == "BNET reject").sum())
        takeaway = (
            f"{bnet} BNET rejects among {len(self.mail):,} e-mails before the open "
            f"({100 * bnet / max(1, len(self.mail)):.0f}%): nothing made them stand out."
        )
        self.view = ChartView(C.inbox_volume(volume, takeaway=takeaway))
        self.widget = W.VBox(
            [W.HBox([self.time]), self.search, self.counts, self.listing, self.view.widget]
        )
        self._refresh()

    def at(self, time: str) -> None:
        """Move the time slider to ``HH:MM`` (the nearest minute on the slider)."""
        target = parse_time(time)
        values = [v for _, v in self.time.options]
        self.time.value = min(values, key=lambda v: abs(v - target))

    def find(self, query: str) -> pd.DataFrame:
        """Type ``query`` in the search box; return the matching messages so far."""
        self.search.value = query
        return self.visible()

    def visible(self) -> pd.DataFrame:
        """Messages received by the slider's time that match the search."""
        mail = self.mail[self.mail["time_ns"] <= self.time.value]
        query = self.search.value.strip().lower()
        if query:
            mail = mail[mail["subject"].str.lower().str.contains(query, regex=False)]
        return mail

    def counts_text(self) -> str:
        """How many messages, and how many BNET rejects, by the slider's time."""
        upto = self.mail[self.mail["time_ns"] <= self.time.value]
        bnet = int((upto["kind"] == "BNET reject").sum())
        when = format_time(self.time.value)[:5]
        text = f"By {when}: {len(upto):,} e-mails, {bnet} of them BNET rejects."
        if self.search.value.strip():
            text += f" {len(self.visible()):,} match '{self.search.value.strip()}'."
        return text

    def _refresh(self) -> None:
        self.counts.value = _esc(self.counts_text())
        latest = self.visible().tail(self.show_n).iloc[::-1]
        self.listing.value = html_table(latest.to_dict("records"), ["time", "sender", "subject"])

    def describe(self) -> str:
        latest = self.visible().tail(5).iloc[::-1]
        return (
            self.counts_text()
            + "\n"
            + text_table(latest.to_dict("records"), ["time", "sender", "subject"])
        )


class Playback(Panel):
    """Play the 45 minutes: a Play button and a time slider drive four charts.

    The charts get their data once; moving the slider only changes the chart
    parameter ``t`` (seconds after the open), so every step is instant.
    """

    name = "market open playback"

    def __init__(
        self,
        result: Result | None = None,
        step_s: int = 15,
        interval_ms: int = 400,
        rate_bin_s: int = 60,
    ) -> None:
        self.result = r = result or day()
        self.step_s = step_s
        end = parse_time(r.scenario.window_end)
        self.max_s = (end - OPEN_NS) // SECOND_NS
        self.rates = C.order_rate_data(r, bin_s=rate_bin_s, end=end)
        width = len(CHILD_FIELDS)
        flat = np.frombuffer(r.children, dtype="<i8") if len(r.children) else None
        times = flat[0::width] if flat is not None else np.zeros(0, dtype=np.int64)
        server_of = {p.id: p.server for p in r.parents}
        parents = flat[1::width] if flat is not None else np.zeros(0, dtype=np.int64)
        order = np.argsort(times, kind="stable")
        self._child_times = times[order]
        self._child_servers = np.array([server_of[int(i)] for i in parents[order]], dtype=int)
        self.pnl = C.pnl_data(r)
        self.positions = C.positions_data(r)
        self.top = C.top_symbols(r, 5)
        self.prices = C.prices_data(r, self.top)
        self.t = alt.param(name="t", value=0)
        self.chart = chart_widget(self._chart())
        self.play = W.Play(min=0, max=self.max_s, step=step_s, interval=interval_ms, value=0)
        self.slider = W.IntSlider(
            min=0,
            max=self.max_s,
            step=step_s,
            value=0,
            readout=False,
            description="Time:",
            layout=W.Layout(width="520px"),
        )
        self.clock_label = W.HTML()
        self.status = W.HTML()
        W.link((self.play, "value"), (self.slider, "value"))
        self.slider.observe(lambda change: self.seek(change["new"]), names="value")
        self.widget = W.VBox(
            [W.HBox([self.play, self.slider, self.clock_label]), self.status, self.chart]
        )
        self.seek(0)

    def _chart(self) -> alt.TopLevelMixin:
        r = self.result
        scale = C.day_domain("09:30", r.scenario.window_end)
        rates, pnl, pos, prices = self.rates, self.pnl, self.positions, self.prices
        stale = list(r.scenario.stale_servers)
        by_server = rates.groupby("server_id")["orders_per_s"].sum()
        share = 100 * by_server.reindex(stale).fillna(0).sum() / max(1e-9, by_server.sum())
        if stale:
            rate_takeaway = (
                f"{_server_list(stale).capitalize()} (missed in the deploy): "
                f"{share:.0f}% of all child orders."
            )
        else:
            rate_takeaway = "No server was missed in the deploy."
        final = pnl[pnl["series"] == C.LOCKED_IN]["usd"]
        worst = float(final.min()) if len(final) else 0.0
        gross = pos.groupby("s")["usd"].sum()
        peak = float(gross.max()) if len(gross) else 0.0
        last = prices.sort_values("s").groupby("symbol").tail(1)
        biggest = last.loc[last["pct"].abs().idxmax()] if len(last) else None
        width, height = 330, 150
        common: dict[str, Any] = {"until": self.t, "scale": scale, "width": width, "height": height}
        charts: list[Any] = [
            C.order_rate(rates, takeaway=rate_takeaway, **common),
            C.positions_area(pos, takeaway=f"Gross position peaks at {C.usd(peak)}.", **common),
            C.pnl_line(pnl, takeaway=f"The loss locked in reaches {C.usd(-worst)}.", **common),
            C.prices_lines(
                prices,
                takeaway=(
                    f"{biggest['symbol']} ends {biggest['pct']:+.0f}% from its open."
                    if biggest is not None
                    else ""
                ),
                **common,
            ),
        ]
        # one level of concatenation, so each chart keeps its own colours and legend
        return (
            alt.concat(*charts, columns=2)
            .add_params(self.t)
            .resolve_scale(color="independent")
            .resolve_legend(color="independent")
        )

    def at(self, time: str) -> None:
        """Move the playback to a clock time, ``HH:MM[:SS]``."""
        seconds = (parse_time(time) - OPEN_NS) // SECOND_NS
        self.seek(int(seconds // self.step_s * self.step_s))

    def seek(self, seconds: int) -> None:
        """Move the playback to ``seconds`` after the open."""
        seconds = int(min(max(0, seconds), self.max_s))
        if self.slider.value != seconds:
            self.slider.value = seconds  # the observer calls seek again
            return
        cast(Any, self.chart.params).t = seconds
        self.clock_label.value = f"<b>{format_time(OPEN_NS + seconds * SECOND_NS)}</b>"
        self.status.value = _esc(self.status_text())

    def status_text(self) -> str:
        """What the charts show at the current time, in words."""
        s = self.slider.value
        now = format_time(OPEN_NS + s * SECOND_NS)
        t = OPEN_NS + s * SECOND_NS
        window = 15 * SECOND_NS
        lo, hi = np.searchsorted(self._child_times, [t - window, t], side="right")
        total = (hi - lo) / 15 / self.result.scenario.scale
        sending = sorted(set(self._child_servers[lo:hi].tolist()))
        busiest = ", ".join(map(str, sending)) or "none"
        upto = self.pnl[(self.pnl["s"] <= s) & (self.pnl["series"] == C.LOCKED_IN)]
        pnl = float(upto["usd"].iloc[-1]) if len(upto) else 0.0
        pos = self.positions[self.positions["s"] <= s]
        gross = float(pos[pos["s"] == pos["s"].max()]["usd"].sum()) if len(pos) else 0.0
        return (
            f"{now}: {total:,.0f} child orders/s over the last 15 s (servers sending: {busiest}); "
            f"gross position {C.usd(gross)}; P&L at the evening basket price {C.usd(pnl)}."
        )

    def visible(self, name: str) -> pd.DataFrame:
        """Rows a chart shows now: ``rates``, ``pnl``, ``positions`` or ``prices``."""
        frame = getattr(self, name)
        return frame[frame["s"] <= self.slider.value]

    def describe(self) -> str:
        return f"t = {self.slider.value} s after the open\n{self.status_text()}"


# --------------------------------------------------------------------------
# 04: detect
# --------------------------------------------------------------------------
def loss_and_alerts(result: Result) -> alt.TopLevelMixin:
    """The e-mails that existed (top) over the P&L curves (bottom), 08:00 to the window end.

    The P&L is shown two ways (see :func:`smars_sim.viz.charts.pnl_data`): at the price the
    position fetched after the close, which is the loss being locked in, and marked at
    the last trade, which is what a position screen showed.
    """
    scale = C.day_domain("08:00", result.scenario.window_end)
    minute = 60 * SECOND_NS
    start = parse_time("08:00")
    end = parse_time(result.scenario.window_end)
    times = np.array([e[0] for e in result.emails], dtype=np.int64)
    counts = np.bincount((times - start) // minute, minlength=(end - start) // minute + 1)
    per_minute = pd.DataFrame(
        {
            "time": C.clock(start + np.arange(len(counts), dtype=np.int64) * minute),
            "end": C.clock(start + np.arange(1, len(counts) + 1, dtype=np.int64) * minute),
            "emails": counts,
        }
    )
    pnl = C.pnl_data(result)
    before = int((times < OPEN_NS).sum())
    after = len(times) - before
    last = pnl[pnl["series"] == C.LAST_TRADE]["usd"]
    screen = float(last.iloc[-1]) if len(last) else 0.0
    top = (
        alt.Chart(per_minute, title="Automated e-mails (BNET rejects)")
        .mark_bar(color=C.OKABE_ITO["vermillion"], width=max(1, 560 // len(counts) - 1))
        .encode(
            x=C._time_x(scale=scale),
            y=alt.Y("emails:Q", title="E-mails per minute", axis=alt.Axis(tickMinStep=1)),
            tooltip=[alt.Tooltip("time:T", format="%H:%M"), "emails:Q"],
        )
        .properties(width=560, height=90)
    )
    bottom = C.pnl_line(pnl, scale=scale, width=560, height=170)
    takeaway = (
        f"{before} e-mails before the open, {after} after, and no automated alert once "
        f"trading began. The loss locked in reaches {C.usd(result.summary.loss_usd)}; "
        f"marked at the last trade, the same positions show {C.usd(screen)}."
    )
    return alt.vconcat(
        top,
        cast(Any, bottom),
        title=C._title("What warned Knight, and what it cost (replay)", takeaway),
    ).resolve_scale(color="independent")


class AlertDesigner(Panel):
    """Design an alert rule: a metric, a threshold and how long it must hold.

    The panel shows when the rule would have fired on 1 August (and the loss by
    then) and whether it would also fire on a normal morning (a false alarm).
    """

    name = "alert designer"

    def __init__(self, result: Result | None = None, normal: Result | None = None) -> None:
        self.result = result or day()
        self.normal = normal or run(normal_morning(self.result.scenario))
        self._series: dict[tuple[str, str], pd.DataFrame] = {}
        self._quiet = False
        self.metric = W.Dropdown(
            options=[(m.label, k) for k, m in F.METRICS.items()],
            value="shares_out_per_in",
            description="Watch:",
            layout=W.Layout(width="640px"),
        )
        self.threshold = W.FloatLogSlider(
            base=10,
            min=-1,
            max=4,
            step=0.05,
            value=2,
            description="Threshold:",
            continuous_update=False,
            readout_format=".3s",
            layout=W.Layout(width="520px"),
        )
        self.hold = W.IntSlider(
            min=0, max=120, step=5, value=0, description="Hold (s):", continuous_update=False
        )
        self.note = W.HTML()
        self.verdict = W.HTML()
        self.view = ChartView(self._chart())
        self.metric.observe(lambda change: self.choose(change["new"]), names="value")
        for control in (self.threshold, self.hold):
            control.observe(lambda _: self._refresh(), names="value")
        self.widget = W.VBox(
            [self.metric, self.note, self.threshold, self.hold, self.verdict, self.view.widget]
        )
        self.choose(self.metric.value)

    def series(self, which: str = "incident") -> pd.DataFrame:
        """The current metric every 5 s on the incident day or the normal morning."""
        key = (which, self.metric.value)
        if key not in self._series:
            source = self.result if which == "incident" else self.normal
            self._series[key] = F.metric_series(source, self.metric.value)
        return self._series[key]

    def choose(self, metric: str) -> None:
        """Pick a metric: the threshold slider moves to that metric's range and default."""
        m = F.METRICS[metric]
        if self.metric.value != metric:
            self.metric.value = metric  # the observer calls choose again
            return
        lo, hi = float(np.log10(m.lo)), float(np.log10(m.hi))
        self._quiet = True
        try:
            self.threshold.min = min(lo, self.threshold.min)
            self.threshold.max = max(hi, self.threshold.max)
            self.threshold.value = m.default
            self.threshold.min, self.threshold.max = lo, hi
        finally:
            self._quiet = False
        self.note.value = f"<i>{_esc(m.note)}</i>"
        self._refresh()

    def set_rule(self, metric: str, threshold: float, hold_s: int = 0) -> None:
        """Set the whole rule at once (for a notebook cell)."""
        self.choose(metric)
        self.hold.value = hold_s
        self.threshold.value = threshold

    def fired(self, which: str = "incident") -> int | None:
        """When the rule fires (ns since midnight), or ``None``."""
        s = self.series(which)
        return F.first_fire(s["time_ns"], s["value"], self.threshold.value, self.hold.value)

    def _fmt(self, value: float) -> str:
        m = F.METRICS[self.metric.value]
        return C.usd(value) if m.money else f"{value:,.4g}"

    def verdict_text(self) -> str:
        """When the rule fires on 1 August, the loss by then, and on a normal morning."""
        rule = f"Rule: alert when it is at least {self._fmt(self.threshold.value)}"
        if self.hold.value:
            rule += f" for {self.hold.value} s"
        fired = self.fired("incident")
        false_alarm = self.fired("normal")
        if fired is None:
            day_text = "On 1 August it never fires."
        else:
            when = format_time(fired)
            minutes = (fired - OPEN_NS) / (60 * SECOND_NS)
            timing = (
                f"{minutes:.1f} min after the open"
                if fired >= OPEN_NS
                else f"{-minutes:.0f} min before the open"
            )
            day_text = (
                f"On 1 August it fires at {when} ({timing}); "
                f"loss by then {C.usd(F.loss_at(self.result, fired))}."
            )
        normal_text = (
            "On a normal morning it stays quiet."
            if false_alarm is None
            else f"On a normal morning it ALSO fires, at {format_time(false_alarm)}: a false alarm."
        )
        return f"{rule}. {day_text} {normal_text}"

    def _chart(self) -> alt.TopLevelMixin:
        m = F.METRICS[self.metric.value]
        frames = []
        for which, label in (("incident", "1 Aug 2012 replay"), ("normal", "normal morning")):
            s = self.series(which)
            frames.append(
                pd.DataFrame(
                    {"time": C.clock(s["time_ns"].to_numpy()), "value": s["value"], "day": label}
                )
            )
        data = pd.concat(frames, ignore_index=True)
        fired = self.fired("incident")
        takeaway = (
            f"Fires at {format_time(fired)}." if fired is not None else "Never fires on 1 August."
        )
        return C.metric_with_threshold(
            data,
            self.threshold.value,
            fired,
            label=m.label if len(m.label) < 60 else m.label.split(" (")[0],
            axis_format=m.axis_format,
            takeaway=takeaway,
        )

    def _refresh(self) -> None:
        if self._quiet:
            return
        self.verdict.value = _esc(self.verdict_text())
        self.view.update(self._chart())

    def describe(self) -> str:
        return f"metric: {self.metric.value}\n{self.verdict_text()}"


# --------------------------------------------------------------------------
# 05: respond
# --------------------------------------------------------------------------
def minutes_to_stop(result: Result) -> float | None:
    """Minutes from the open to the last Power Peg child order (``None`` if it never ran)."""
    stop = result.summary.stop
    if not stop:
        return None
    return round((parse_time(stop) - OPEN_NS) / (60 * SECOND_NS), 2)


class Responder(Panel):
    """You are on the desk at 09:30, with no kill switch: advance the clock, stop servers.

    Stopping a server takes a person ``operator_step_s`` seconds (the replay moves on
    meanwhile). The rollback re-installs the old build on the updated servers, one by
    one, as the team did.
    """

    name = "operator console"

    def __init__(self, scenario: Scenario | None = None) -> None:
        base = scenario or notebook_scenario()
        self.scenario = base.with_(rollback_at=None, stop_all_at=None, halt_at=None)
        self.step_s = self.scenario.operator_step_s
        self.clock_html = W.HTML()
        self.advance_buttons = [
            W.Button(description=f"+{m} min", icon="forward", layout=W.Layout(width="90px"))
            for m in (1, 5)
        ]
        self.stop_buttons = [
            W.Button(description=f"Stop {k}", layout=W.Layout(width="80px"))
            for k in range(1, self.scenario.servers + 1)
        ]
        self.rollback_button = W.Button(
            description="Roll back the updated servers",
            icon="history",
            button_style="danger",
            layout=W.Layout(width="260px"),
        )
        self.reset_button = W.Button(description="Start over", icon="undo")
        self.servers_html = W.HTML()
        self.log = W.HTML()
        self.actions: list[str] = []
        self.chart = chart_widget(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        for minutes, button in zip((1, 5), self.advance_buttons, strict=True):
            button.on_click(lambda _, m=minutes: self.advance(m))
        for k, button in enumerate(self.stop_buttons, 1):
            button.on_click(lambda _, k=k: self.stop(k))
        self.rollback_button.on_click(lambda _: self.rollback())
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = W.VBox(
            [
                self.clock_html,
                W.HBox([*self.advance_buttons, self.reset_button]),
                W.HBox(self.stop_buttons),
                self.rollback_button,
                self.servers_html,
                self.chart,
                self.log,
            ]
        )
        self.reset()

    # actions
    def reset(self) -> None:
        """Back to 09:30:00 with every server running."""
        self.sim = Simulation(self.scenario)
        self.sim.advance_to("09:30")
        self.actions = []
        self.rolled_back = False
        self._refresh()

    def _clamp(self, t: int) -> int:
        return min(t, self.sim.end)

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes."""
        self.sim.advance_to(self._clamp(self.sim.now + int(minutes * 60 * SECOND_NS)))
        self._refresh()

    def stop(self, server: int) -> None:
        """Stop one server: it takes a person ``operator_step_s`` seconds."""
        srv = self.sim.fleet.server(server)
        if not srv.running:
            return
        done = self._clamp(self.sim.now + int(self.step_s * SECOND_NS))
        self.sim.stop_server(server, at=done)
        self.sim.advance_to(done)
        self.actions.append(f"{format_time(done)} server {server} stopped")
        self._refresh()

    def rollback(self) -> None:
        """Re-install the old build on the updated servers, one every ``operator_step_s``."""
        if self.rolled_back:
            return
        self.rolled_back = True
        self.sim.rollback()
        self.actions.append(f"{format_time(self.sim.now)} rollback started")
        self._refresh()

    # views
    def result(self) -> Result:
        """The replay so far."""
        return self.sim.result()

    def server_rows(self, result: Result | None = None) -> list[dict[str, object]]:
        """Each server: running or stopped, its build, child orders in the last minute."""
        r = result or self.result()
        rates = C.order_rate_data(
            r, bin_s=60, start=max(OPEN_NS, self.sim.now - 60 * SECOND_NS), end=self.sim.now + 1
        )
        last_minute = rates.groupby("server_id")["orders_per_s"].sum()
        rows: list[dict[str, object]] = []
        for srv in self.sim.fleet.servers:
            rows.append(
                {
                    "server": srv.id,
                    "state": "running"
                    if srv.running
                    else f"stopped {format_time(srv.stopped_at or 0)}",
                    "build": srv.build.version,
                    "child orders/s (last minute)": f"{last_minute.get(srv.id, 0):,.0f}",
                }
            )
        return rows

    def status_text(self, result: Result | None = None) -> str:
        """The clock, the loss so far and what is still running."""
        r = result or self.result()
        running = [s.id for s in self.sim.fleet.servers if s.running]
        text = (
            f"{format_time(self.sim.now)}: loss so far {C.usd(r.summary.loss_usd)} "
            f"(at the evening basket price); "
            f"{len(running)} of {len(self.sim.fleet.servers)} servers running."
        )
        if not running:
            minutes = minutes_to_stop(r)
            text += f" All stopped: the last bad order went out {minutes:.1f} min after the open."
        elif self.sim.now >= self.sim.end:
            text += " The window is over."
        return text

    def _refresh(self) -> None:
        r = self.result()
        self.clock_html.value = f"<b>{_esc(self.status_text(r))}</b>"
        self.servers_html.value = html_table(self.server_rows(r))
        for srv, button in zip(self.sim.fleet.servers, self.stop_buttons, strict=True):
            button.disabled = not srv.running
        self.rollback_button.disabled = self.rolled_back
        self.log.value = "<br>".join(_esc(a) for a in self.actions)
        self.chart.chart = cast(Any, self._chart(r))

    def _chart(self, r: Result) -> alt.TopLevelMixin:
        end = self.scenario.window_end
        scale = C.day_domain("09:30", end)
        rates = C.order_rate_data(r, bin_s=60, end=max(self.sim.now, OPEN_NS + 60 * SECOND_NS))
        pnl = C.pnl_data(r)
        pnl = pnl[pnl["series"] == C.LOCKED_IN]
        now = format_time(self.sim.now)
        loss = C.pnl_line(
            pnl,
            scale=scale,
            width=520,
            height=120,
            takeaway=f"Loss locked in: {C.usd(r.summary.loss_usd)} (evening basket price).",
        )
        return alt.vconcat(
            C.order_rate(rates, scale=scale, width=520, height=140, takeaway=f"Up to {now}."),
            cast(Any, loss),
        ).resolve_scale(color="independent")

    def describe(self) -> str:
        return "\n".join([self.status_text(), text_table(self.server_rows()), *self.actions])


@dataclass(frozen=True, slots=True)
class Plan:
    """A response plan: what the operators do, and when."""

    label: str
    action: str = "stop_all"  # "stop_all" (one by one), "stop_stale" or "halt"
    at: str | None = "10:12:20"
    rollback_at: str | None = None

    def run(self, base: Scenario) -> Result:
        """Replay the morning under this plan."""
        scenario = base.with_(
            rollback_at=self.rollback_at,
            stop_all_at=self.at if self.action == "stop_all" else None,
            halt_at=self.at if self.action == "halt" else None,
        )
        if self.action != "stop_stale":
            return run(scenario)
        key = f"{self!r}|{scenario!r}"
        if key not in _PLAN_CACHE:
            sim = Simulation(scenario)
            for server in scenario.stale_servers:
                sim.stop_server(server, at=self.at)
            _PLAN_CACHE[key] = sim.run()
        return _PLAN_CACHE[key]


_PLAN_CACHE: dict[str, Result] = {}


def preset_plans(base: Scenario) -> list[Plan]:
    """The plans every learner sees: what happened (the kit's reconstruction) and others."""
    rollback = base.rollback_at
    stop_all = base.stop_all_at
    rb = format_time(parse_time(rollback))[:8] if rollback is not None else None
    sa = format_time(parse_time(stop_all))[:8] if stop_all is not None else "10:12:20"
    return [
        Plan("What happened (kit's timing): roll back, then stop all", "stop_all", sa, rb),
        Plan("Same stop, without the rollback", "stop_all", sa, None),
        Plan("Stop the servers one by one from 09:35", "stop_all", "09:35", None),
        Plan("Stop only the missed server at 09:35", "stop_stale", "09:35", None),
        Plan("Kill switch: halt everything at 09:31", "halt", "09:31", None),
    ]


class PlanComparison(Panel):
    """Compare response plans side by side: the loss under each and minutes to stop."""

    name = "plan comparison"

    ACTIONS = (
        ("stop the servers one by one", "stop_all"),
        ("stop only the missed server", "stop_stale"),
        ("kill switch: halt everything at once", "halt"),
    )

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or notebook_scenario()
        self.presets = preset_plans(self.base)
        self.yours: list[Plan] = []
        end = parse_time(self.base.window_end)
        times = [format_time(t)[:5] for t in range(OPEN_NS + 60 * SECOND_NS, end, 60 * SECOND_NS)]
        self.action = W.Dropdown(
            options=list(self.ACTIONS), description="Action:", layout=W.Layout(width="420px")
        )
        self.at = W.SelectionSlider(
            options=times, value="09:40", description="At:", layout=W.Layout(width="520px")
        )
        rb = self.base.rollback_at
        self.rollback_time = format_time(parse_time(rb))[:5] if rb is not None else "09:45"
        self.rollback = W.Checkbox(
            value=False, description=f"roll back first, at {self.rollback_time}", indent=False
        )
        self.add_button = W.Button(description="Add your plan", button_style="primary", icon="plus")
        self.clear_button = W.Button(description="Clear your plans", icon="trash")
        self.table = W.HTML()
        self.view = ChartView(self._chart())
        self.add_button.on_click(lambda _: self.add())
        self.clear_button.on_click(lambda _: self.clear())
        self.widget = W.VBox(
            [
                W.HBox([self.action, self.rollback]),
                self.at,
                W.HBox([self.add_button, self.clear_button]),
                self.table,
                self.view.widget,
            ]
        )
        self._refresh()

    def plan_from_controls(self) -> Plan:
        """The plan the controls describe."""
        label_action = dict((v, k) for k, v in self.ACTIONS)[self.action.value]
        label = f"Yours: {label_action} at {self.at.value}"
        rollback = None
        if self.rollback.value:
            label += f", after a rollback at {self.rollback_time}"
            rollback = self.rollback_time
        return Plan(label, self.action.value, self.at.value, rollback)

    def add(self, plan: Plan | None = None) -> Result:
        """Replay a plan (default: the controls') and add it to the comparison."""
        plan = plan or self.plan_from_controls()
        result = plan.run(self.base)
        self.yours = [*[p for p in self.yours if p.label != plan.label][-4:], plan]
        self._refresh()
        return result

    def clear(self) -> None:
        """Remove your plans."""
        self.yours = []
        self._refresh()

    def rows(self) -> list[dict[str, object]]:
        """Every plan with its loss, minutes to stop and child orders."""
        rows: list[dict[str, object]] = []
        for kind, plans in (("preset", self.presets), ("yours", self.yours)):
            for plan in plans:
                r = plan.run(self.base)
                minutes = minutes_to_stop(r)
                rows.append(
                    {
                        "plan": plan.label,
                        "kind": kind,
                        "loss_usd_m": round(r.summary.loss_usd / 1e6, 3),
                        "loss": C.usd(r.summary.loss_usd),
                        "minutes_to_stop": minutes if minutes is not None else 0.0,
                        "child_orders": r.summary.child_orders,
                    }
                )
        return rows

    def _chart(self) -> alt.TopLevelMixin:
        data = pd.DataFrame(self.rows())
        best = data.loc[data["loss_usd_m"].idxmin()]
        worst = data.loc[data["loss_usd_m"].idxmax()]
        takeaway = f"From {best['loss']} ({best['plan']}) to {worst['loss']} ({worst['plan']})."
        return C.plan_bars(data, takeaway=takeaway)

    def _refresh(self) -> None:
        self.table.value = html_table(
            self.rows(), ["plan", "loss", "minutes_to_stop", "child_orders"]
        )
        self.view.update(self._chart())

    def describe(self) -> str:
        return text_table(self.rows(), ["plan", "loss", "minutes_to_stop"])


def rollback_view(result: Result | None = None) -> ChartView:
    """Child orders per second by server over the window, with what the rollback changed."""
    r = result or day()
    rates = C.order_rate_data(r, bin_s=60)
    rollback = r.scenario.rollback_at
    if rollback is None:
        takeaway = "No rollback in this replay."
    else:
        t = parse_time(rollback)
        stale = set(r.scenario.stale_servers)
        before = rates[(rates["s"] * SECOND_NS + OPEN_NS < t)]
        after = rates[(rates["s"] * SECOND_NS + OPEN_NS >= t + 7 * 60 * SECOND_NS)]
        sending_before = sorted(set(before[before["orders_per_s"] > 0]["server_id"]))
        sending_after = sorted(set(after[after["orders_per_s"] > 0]["server_id"]))
        rate_before = before.groupby("s")["orders_per_s"].sum().mean()
        rate_after = after.groupby("s")["orders_per_s"].sum().mean()
        takeaway = (
            f"Before {format_time(t)[:5]}: {len(sending_before)} server(s) sending "
            f"(~{rate_before:,.0f}/s); after the rollback: {len(sending_after)} "
            f"(~{rate_after:,.0f}/s)."
        )
        del stale
    return show(C.order_rate(rates, takeaway=takeaway, width=560))


def _server_list(servers: Sequence[int]) -> str:
    servers = sorted(servers)
    if len(servers) == 1:
        return f"server {servers[0]}"
    if servers == list(range(servers[0], servers[-1] + 1)) and len(servers) > 2:
        return f"servers {servers[0]}-{servers[-1]}"
    return "servers " + ", ".join(map(str, servers))


def server_share_view(executions: pd.DataFrame, n_servers: int = 8) -> ChartView:
    """Executions per minute by server from an execution log (the forensic drill's chart)."""
    data = F.executions_per_minute(executions, n_servers)
    since = F.busy_since(data)
    groups: dict[int, list[int]] = {}
    for server, t in since.items():
        groups.setdefault(t, []).append(server)
    parts = [
        f"{_server_list(servers)} busy from {format_time(t)[:5]}"
        for t, servers in sorted(groups.items())
    ]
    text = "; ".join(parts) + "."
    takeaway = text[0].upper() + text[1:] if parts else "No executions."
    return show(C.server_share(data, takeaway=takeaway))
