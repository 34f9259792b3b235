"""The incident console: the game-day screen of 1 August 2012, live over a replay.

``course/console.ipynb`` shows :class:`IncidentConsole` as a Voilà app (``make
console``). An instructor puts it on a projector and plays the morning at 30×
while the class decides what to do: the fleet panel (each server's build, hash,
state and child orders per second), the P&L ticker and positions, the alerts
feed, a stop button per server, the kill switch and a playback-speed control.

This is the presentation layer: it uses ipywidgets, the core does not. The
logic is in :class:`ConsoleModel` (no widgets, unit-tested in
``tests/test_console.py``); :class:`IncidentConsole` only draws it.

Playback is driven by a hidden ``ipywidgets.Play`` whose timer runs in the
browser: each tick advances the replay by ``speed × tick`` simulated seconds.
When nobody has the page open nothing ticks, so the kernel goes idle and the
server's idle culling (``make console`` sets it) shuts it down.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..core.clock import CLOSE_NS, OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.scenario import Scenario
from ..fixes import Simulation

__all__ = [
    "DEFAULT_SPEED",
    "SPEEDS",
    "TICK_MS",
    "ConsoleModel",
    "FleetRow",
    "IncidentConsole",
    "default_scenario",
    "sparkline_svg",
]

#: Playback speeds offered (simulated seconds per real second).
SPEEDS: tuple[int, ...] = (1, 10, 30, 60, 120)
DEFAULT_SPEED = 30
#: Real milliseconds between two playback ticks.
TICK_MS = 500
#: Simulated seconds over which orders per second are measured.
RATE_WINDOW_S = 10


def default_scenario(*, scripted: bool = False, scale: float = 0.01) -> Scenario:
    """The console's replay: 1 August 2012 at ``scale``.

    Args:
        scripted: Keep the operators' actions of the day (the rollback at 09:45
            and the stops from 10:12). By default the class acts instead.
        scale: Resolution of the replay (0.01 plays smoothly on a laptop).
    """
    scenario = Scenario.aug1_2012(scale=scale)
    if not scripted:
        scenario = scenario.with_(rollback_at=None, stop_all_at=None)
    return scenario


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One line of the fleet panel."""

    server: int
    version: str
    short_hash: str
    running: bool
    orders_per_s: float
    #: The server does not run the build the release put on the others.
    odd_build: bool

    @property
    def state(self) -> str:
        """``"running"`` or ``"stopped"``."""
        return "running" if self.running else "stopped"

    def text(self) -> str:
        """The row as plain text (what a test reads)."""
        mark = " ≠ release" if self.odd_build else ""
        return (
            f"server {self.server}  {self.version}  {self.short_hash}  {self.state}  "
            f"{self.orders_per_s:.1f} orders/s{mark}"
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One line of the alerts feed."""

    time: int
    source: str
    text: str

    def line(self) -> str:
        """``HH:MM:SS source: text``; actions before the day show as ``before``."""
        when = format_time(self.time) if self.time else "before"
        return f"{when} {self.source}: {self.text}"


class ConsoleModel:
    """The console's state and actions over one live :class:`Simulation`.

    Args:
        scenario: What to replay (default: :func:`default_scenario`).
        start_at: Where the console starts; everything before it is replayed at
            once (the pre-market is quiet apart from the e-mails).
        speed: Initial playback speed.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        start_at: str | int = "09:29:30",
        speed: int = DEFAULT_SPEED,
    ) -> None:
        self.scenario = scenario if scenario is not None else default_scenario()
        self.sim = Simulation(self.scenario)
        self.gate = _install_kill_switch(self.sim)
        start = max(parse_time(start_at, what="start-at"), self.sim.now)
        self.sim.advance_to(min(start, self.sim.end))
        self.speed = speed
        self.kill_switch_used: str | None = None
        self._console_alerts: list[Alert] = []
        self._history: list[tuple[int, float]] = [(self.sim.now, self.closeout_pnl_usd())]

    # ---------------------------------------------------------------- time
    @property
    def now(self) -> int:
        """Simulated time, ns since midnight."""
        return self.sim.now

    @property
    def clock(self) -> str:
        """Simulated time as ``HH:MM:SS``."""
        return format_time(self.sim.now)

    @property
    def done(self) -> bool:
        """Whether the replay has reached its end."""
        return self.sim.done or self.sim.now >= self.sim.end

    def set_speed(self, speed: int) -> None:
        """Change the playback speed (simulated seconds per real second)."""
        if speed <= 0:
            raise ValueError(f"speed {speed!r} must be positive; offered: {SPEEDS}")
        self.speed = int(speed)

    def tick(self, real_seconds: float) -> int:
        """Advance the replay by ``speed × real_seconds``; return the simulated ns advanced."""
        if self.done:
            return 0
        before = self.sim.now
        target = min(self.sim.end, before + int(self.speed * real_seconds * SECOND_NS))
        self.sim.advance_to(target)
        self._history.append((self.sim.now, self.closeout_pnl_usd()))
        return self.sim.now - before

    def _apply_now(self) -> None:
        # An action is an event at the current time: run it at once.
        if not self.done:
            self.sim.advance_to(self.sim.now)

    # ------------------------------------------------------------- actions
    def stop_server(self, server_id: int) -> None:
        """Stop one server now (as an operator would)."""
        self.sim.stop_server(server_id, actor="console")
        self._apply_now()

    def kill_switch(self) -> str:
        """Press the fleet-wide kill switch; return which mechanism ran.

        Uses the fleet-wide kill switch of ``smars_sim.fixes.kill_switch`` (new
        child orders blocked on every server, working orders cancelled) when that
        fix exists, else :meth:`Simulation.halt_all` (every server stopped at once).
        """
        mechanism = _press_kill_switch(self.sim, self.gate)
        self.kill_switch_used = mechanism
        self._console_alerts.append(
            Alert(self.sim.now, "console", f"KILL SWITCH pressed ({mechanism})")
        )
        self._apply_now()
        return mechanism

    # --------------------------------------------------------------- views
    def fleet_rows(self) -> list[FleetRow]:
        """One row per server: build, hash, state and child orders per second."""
        sim = self.sim
        counts = self._recent_child_counts()
        span = min(RATE_WINDOW_S, max(0.0, (sim.now - OPEN_NS) / SECOND_NS))
        rows = []
        for server in sim.fleet.servers:
            n = counts.get(server.id, 0)
            rows.append(
                FleetRow(
                    server=server.id,
                    version=server.build.version,
                    short_hash=server.build.short_hash,
                    running=server.running,
                    # A stopped server sends nothing more, whatever it sent just before.
                    orders_per_s=n / span if span > 0 and server.running else 0.0,
                    odd_build=server.build.sha256 != sim.new_build.sha256,
                )
            )
        return rows

    def _recent_child_counts(self) -> dict[int, int]:
        """Child orders per server over the last ``RATE_WINDOW_S`` simulated seconds."""
        fleet = self.sim.fleet
        children = fleet.children
        width = 5  # CHILD_FIELDS: time, parent_id, price, qty, path
        since = self.sim.now - RATE_WINDOW_S * SECOND_NS
        counts: dict[int, int] = {}
        i = len(children) - width
        parents = fleet.parents
        while i >= 0 and children[i] > since:
            server = parents[children[i + 1]].server
            counts[server] = counts.get(server, 0) + 1
            i -= width
        return counts

    def _last_prices(self) -> list[int]:
        books = self.sim.exchange.books
        reference = self.sim.fleet.reference
        return [
            b.last_price if b.last_price is not None else r
            for b, r in zip(books, reference, strict=True)
        ]

    def pnl_usd(self) -> float:
        """Knight's P&L now, positions marked at each symbol's last trade, in dollars."""
        ledger = self.sim.fleet.ledger
        return ledger.value([float(p) for p in self._last_prices()]) / 100

    def closeout_pnl_usd(self) -> float:
        """Knight's P&L if it stopped trading now and sold everything, in dollars.

        Each position is priced where the market makers' fair value settles once
        Knight's flow has faded (their value at the 16:00 close), less the basket
        discount: the same pricing as the replay's final ``loss_usd``. Marking at
        the last trade looks far rosier, since Knight's own buying lifted those
        prices.
        """
        sim = self.sim
        fair = sim.makers.fair_cents  # at a later time only decays the impact
        discount = self.scenario.basket_discount_bps / 1e4
        ledger = sim.fleet.ledger
        value = float(ledger.cash)
        for i, q in enumerate(ledger.position):
            if q:
                value += q * fair(i, CLOSE_NS) * (1 - discount if q > 0 else 1 + discount)
        return value / 100

    def exposure_usd(self) -> tuple[float, float]:
        """``(long, short)`` gross value of the positions now, in dollars."""
        long_usd = short_usd = 0.0
        for q, price in zip(self.sim.fleet.ledger.position, self._last_prices(), strict=True):
            if q > 0:
                long_usd += q * price / 100
            elif q < 0:
                short_usd -= q * price / 100
        return long_usd, short_usd

    def positions(self, n: int = 6) -> list[tuple[str, int, float]]:
        """The ``n`` largest positions: ``(ticker, signed shares, signed dollars)``."""
        tickers = self.sim.exchange.symbols
        rows = [
            (tickers[i], q, q * price / 100)
            for i, (q, price) in enumerate(
                zip(self.sim.fleet.ledger.position, self._last_prices(), strict=True)
            )
            if q
        ]
        rows.sort(key=lambda row: -abs(row[2]))
        return rows[:n]

    def pnl_history(self) -> list[tuple[int, float]]:
        """``(time, close-out P&L in dollars)`` at each tick so far."""
        return list(self._history)

    def email_count(self) -> int:
        """Automated 'BNET reject' e-mails so far."""
        return len(self.sim.fleet.emails)

    def alerts(self, n: int = 10) -> list[Alert]:
        """The newest ``n`` alerts, newest first: e-mails, pages and actions."""
        fleet = self.sim.fleet
        tickers = self.sim.exchange.symbols
        items = [
            Alert(t, f"server {server} e-mail", f"{text} ({tickers[symbol]})")
            for t, server, _parent, symbol, text in fleet.emails
        ]
        items += [Alert(t, f"page ({control})", detail) for t, control, detail in fleet.pages]
        for entry in fleet.timeline:
            where = f" (server {entry.server})" if entry.server else ""
            detail = f": {entry.detail}" if entry.detail else ""
            items.append(Alert(entry.time, entry.actor, f"{entry.action}{where}{detail}"))
        items += self._console_alerts
        items.sort(key=lambda a: a.time)  # stable: same-time items keep their order
        return items[::-1][:n]


def _install_kill_switch(sim: Simulation) -> Any:
    """Put the fleet-wide kill switch of ``smars_sim.fixes.kill_switch`` on the fleet.

    It is that fix's :class:`RiskGate` with no automated control
    (``RiskLimits.manual_only()``), so the morning plays out as it did until
    someone presses the switch. Returns the gate, or ``None`` when the fix is not
    available (the console then falls back to :meth:`Simulation.halt_all`).
    """
    try:
        from ..fixes.kill_switch import RiskGate, RiskLimits
    except ImportError:
        return None
    gate = sim.fleet.gate
    if gate is None:
        gate = RiskGate(sim.fleet, RiskLimits.manual_only(), sim.scenario.scale)
        sim.fleet.gate = gate
    return gate if isinstance(gate, RiskGate) else None


def _press_kill_switch(sim: Simulation, gate: Any) -> str:
    """Stop the whole fleet at once; return a label of the mechanism used."""
    if gate is not None:
        gate.kill(
            sim.now,
            "manual kill",
            f"kill switch pressed at {format_time(sim.now)} on the incident console",
            actor="console",
        )
        return "fixes.kill_switch RiskGate.kill"
    sim.halt_all(actor="kill switch")
    return "Simulation.halt_all"


# --------------------------------------------------------------------- drawing
def _usd(value: float) -> str:
    sign = "−" if value < 0 else ""
    value = abs(value)
    if value >= 1e9:
        return f"{sign}${value / 1e9:,.2f}B"
    if value >= 1e6:
        return f"{sign}${value / 1e6:,.1f}M"
    return f"{sign}${value:,.0f}"


def sparkline_svg(points: list[tuple[int, float]], width: int = 360, height: int = 70) -> str:
    """A small inline SVG line of ``(time, value)`` points: no script, no network."""
    if len(points) < 2:
        return f'<svg width="{width}" height="{height}" class="smars-sparkline-empty"></svg>'
    t0, t1 = points[0][0], points[-1][0]
    values = [v for _, v in points]
    lo, hi = min([*values, 0.0]), max([*values, 0.0])
    span_t = max(1, t1 - t0)
    span_v = (hi - lo) or 1.0

    def xy(t: int, v: float) -> str:
        x = 2 + (width - 4) * (t - t0) / span_t
        y = 2 + (height - 4) * (hi - v) / span_v
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(t, v) for t, v in points)
    zero = 2 + (height - 4) * hi / span_v
    colour = "#c62828" if values[-1] < 0 else "#2e7d32"
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="P&amp;L over time">'
        f'<line x1="0" x2="{width}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999" '
        f'stroke-dasharray="3 3"/>'
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/></svg>'
    )


_STYLE = """
<style>
.smars-console { font-family: system-ui, sans-serif; }
.smars-console table { border-collapse: collapse; }
.smars-console td, .smars-console th { padding: 2px 8px; text-align: left; }
.smars-fleet-row .smars-row-text { font-family: monospace; font-size: 14px; white-space: pre; }
.smars-odd { background: #fff3cd; }
.smars-stopped { color: #777; }
.smars-big { font-size: 34px; font-weight: 700; font-family: monospace; }
.smars-red { color: #c62828; } .smars-green { color: #2e7d32; }
.smars-feed { font-family: monospace; font-size: 13px; line-height: 1.35; }
</style>
"""


class IncidentConsole:
    """The incident console's widgets over a :class:`ConsoleModel`.

    Args:
        scenario: What to replay (default: :func:`default_scenario`).
        start_at: Where the console starts.
        speed: Initial playback speed (one of :data:`SPEEDS`).

    Example (in a notebook or Voilà)::

        from smars_sim.ui.console import IncidentConsole
        IncidentConsole().widget
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        start_at: str | int = "09:29:30",
        speed: int = DEFAULT_SPEED,
    ) -> None:
        import ipywidgets as w

        self._w = w
        self._scenario = scenario
        self._start_at = start_at
        self.model = ConsoleModel(scenario, start_at=start_at, speed=speed)

        self.header = w.HTML().add_class("smars-header")
        self.status = w.HTML().add_class("smars-status")
        self.play_button = w.ToggleButton(
            value=False, description="▶ Play", tooltip="Play or pause the replay"
        ).add_class("smars-play")
        self.speed = w.ToggleButtons(
            options=[(f"{s}×", s) for s in SPEEDS],
            value=speed,
            description="Speed",
            tooltip="Simulated seconds per real second",
            style={"button_width": "56px"},
        ).add_class("smars-speed")
        self.kill_button = w.Button(
            description="KILL SWITCH",
            button_style="danger",
            tooltip="Stop every server at once",
            layout=w.Layout(width="160px", height="48px"),
        ).add_class("smars-kill-switch")
        self.restart_button = w.Button(
            description="Restart", tooltip="Start the morning again"
        ).add_class("smars-restart")
        # The timer: a hidden Play widget ticking in the browser.
        self.timer = w.Play(
            value=0, min=0, max=10**9, step=1, interval=TICK_MS, layout=w.Layout(display="none")
        ).add_class("smars-timer")

        self.fleet_title = w.HTML("<h3>Fleet</h3>")
        self.fleet_lines = [
            w.HTML().add_class("smars-row-text") for _ in self.model.sim.fleet.servers
        ]
        self.stop_buttons = [
            w.Button(
                description=f"Stop {server.id}",
                tooltip=f"Stop server {server.id}",
                layout=w.Layout(width="90px", min_width="90px", flex="0 0 auto"),
            )
            .add_class("smars-stop")
            .add_class(f"smars-stop-{server.id}")
            for server in self.model.sim.fleet.servers
        ]
        self.fleet_rows = [
            w.HBox([button, line]).add_class("smars-fleet-row").add_class(f"smars-server-{i + 1}")
            for i, (line, button) in enumerate(
                zip(self.fleet_lines, self.stop_buttons, strict=True)
            )
        ]
        self.fleet = w.VBox([self.fleet_title, *self.fleet_rows]).add_class("smars-fleet")
        self.pnl = w.HTML().add_class("smars-pnl")
        self.positions = w.HTML().add_class("smars-positions")
        self.alerts = w.HTML().add_class("smars-alerts")

        controls = w.HBox(
            [self.play_button, self.speed, self.kill_button, self.restart_button, self.timer],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
        )
        left = w.VBox([self.fleet, self.alerts], layout=w.Layout(width="64%"))
        right = w.VBox([self.pnl, self.positions], layout=w.Layout(width="36%"))
        self.widget = w.VBox(
            [w.HTML(_STYLE), self.header, controls, self.status, w.HBox([left, right])]
        ).add_class("smars-console")

        self.play_button.observe(self._on_play, "value")
        self.speed.observe(self._on_speed, "value")
        self.timer.observe(self._on_tick, "value")
        self.kill_button.on_click(self._on_kill)
        self.restart_button.on_click(self._on_restart)
        for server, button in zip(self.model.sim.fleet.servers, self.stop_buttons, strict=True):
            button.on_click(lambda _b, sid=server.id: self._on_stop(sid))
        self.refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------- events
    def _on_play(self, change: dict[str, Any]) -> None:
        playing = bool(change["new"]) and not self.model.done
        self.timer.playing = playing
        self.play_button.description = "⏸ Pause" if playing else "▶ Play"
        if change["new"] and not playing:
            self.play_button.value = False
        self.refresh()

    def _on_speed(self, change: dict[str, Any]) -> None:
        self.model.set_speed(int(change["new"]))
        self.refresh()

    def _on_tick(self, _change: dict[str, Any]) -> None:
        if not self.play_button.value:
            return
        self.step()

    def step(self, real_seconds: float = TICK_MS / 1000) -> None:
        """One playback tick (the timer calls it; tests may too)."""
        self.model.tick(real_seconds)
        if self.model.done:
            self.play_button.value = False
        self.refresh()

    def _on_stop(self, server_id: int) -> None:
        self.model.stop_server(server_id)
        self.refresh()

    def _on_kill(self, _button: object) -> None:
        self.model.kill_switch()
        self.refresh()

    def _on_restart(self, _button: object) -> None:
        self.play_button.value = False
        self.model = ConsoleModel(self._scenario, start_at=self._start_at, speed=self.speed.value)
        self.refresh()

    # ------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Redraw every panel from the model."""
        m = self.model
        s = m.scenario
        self.header.value = (
            f'<div><span class="smars-big smars-clock">{m.clock}</span> '
            f"&nbsp; <b>Knight Capital, 1 August 2012</b> — SMARS incident console "
            f"<small>(replay {html.escape(s.name)}, scale {s.scale:g}: each child order here "
            f"stands for {1 / s.scale:g})</small></div>"
        )
        if m.done:
            state = "ENDED"
        elif self.play_button.value:
            state = f"LIVE {m.speed}×"
        else:
            state = "PAUSED"
        kill = f" · kill switch: {m.kill_switch_used}" if m.kill_switch_used else ""
        self.status.value = f"<b>{state}</b>{kill}"

        for row, line, button in zip(
            m.fleet_rows(), self.fleet_lines, self.stop_buttons, strict=True
        ):
            classes = []
            if row.odd_build:
                classes.append("smars-odd")
            if not row.running:
                classes.append("smars-stopped")
            line.value = f'<span class="{" ".join(classes)}">{html.escape(row.text())}</span>'
            button.disabled = not row.running or m.done

        pnl = m.closeout_pnl_usd()
        long_usd, short_usd = m.exposure_usd()
        colour = "smars-red" if pnl < 0 else "smars-green"
        self.pnl.value = (
            "<h3>P&amp;L if Knight stopped now</h3>"
            f'<div class="smars-big smars-pnl-value {colour}">{_usd(pnl)}</div>'
            f"{sparkline_svg(m.pnl_history())}"
            f"<div>marked at last trade: {_usd(m.pnl_usd())}</div>"
            f"<div>long {_usd(long_usd)} · short {_usd(short_usd)}</div>"
        )
        rows = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{q:+,}</td><td>{_usd(v)}</td></tr>"
            for t, q, v in m.positions()
        )
        self.positions.value = (
            "<h3>Largest positions</h3><table><tr><th>symbol</th><th>shares</th><th>value</th></tr>"
            f"{rows or '<tr><td colspan=3>none yet</td></tr>'}</table>"
        )
        feed = "<br>".join(html.escape(a.line()) for a in m.alerts())
        self.alerts.value = (
            f"<h3>Alerts <small>({m.email_count()} automated e-mails so far)</small></h3>"
            f'<div class="smars-feed">{feed}</div>'
        )
