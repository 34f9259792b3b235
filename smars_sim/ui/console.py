"""The incident console: the game-day screen of 1 August 2012, live over a replay.

``course/console.ipynb`` shows :class:`IncidentConsole` as a Voilà app (``make
console``). An instructor puts it on a projector and plays the morning at 30×
while the class decides what to do: the fleet panel (each server's build, hash,
state and child orders per second), the P&L ticker and positions, the alerts
feed, a stop button per server, the kill switch and a playback-speed control.

This is the presentation layer: it uses ipywidgets, the core does not. The
logic is in :class:`~smars_sim.ui.console_model.ConsoleModel` (no widgets,
unit-tested in ``tests/test_console_model.py``, re-exported here);
:class:`IncidentConsole` only draws it.

Playback is driven by a hidden ``ipywidgets.Play`` whose timer runs in the
browser: each tick advances the replay by ``speed × tick`` simulated seconds.
When nobody has the page open nothing ticks, so the kernel goes idle and the
server's idle culling (``make console`` sets it) shuts it down.
"""

from __future__ import annotations

import html
from typing import Any

from ..core.fmt import usd_report
from ..core.scenario import Scenario
from .console_model import (
    DEFAULT_SPEED,
    RATE_WINDOW_S,
    SPEEDS,
    TICK_MS,
    Alert,
    ConsoleModel,
    FleetRow,
    default_scenario,
)

__all__ = [
    "DEFAULT_SPEED",
    "RATE_WINDOW_S",
    "SPEEDS",
    "TICK_MS",
    "Alert",
    "ConsoleModel",
    "FleetRow",
    "IncidentConsole",
    "default_scenario",
    "sparkline_svg",
]


# --------------------------------------------------------------------- drawing
def _usd(value: float) -> str:
    """The console's dollars: ``$1.23B``, ``$12.3M``, ``$950``, ``−$4.5M`` (true minus)."""
    return usd_report(value, minus="−")


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


# Sized for a projector: every font grows with the viewport's width (``vw``), with a
# floor for a laptop and a ceiling for a wall. At 1920 px the clock is about 86 px,
# the P&L about 77 px and a fleet row about 23 px. The two columns wrap (the P&L goes
# under the fleet) rather than overlap when the window is narrow, and each fleet field
# is an unbreakable block, so a narrow row wraps between fields and never overflows.
_STYLE = """
<style>
.smars-console, .smars-console .widget-html-content {
  font-family: system-ui, sans-serif; font-size: clamp(14px, 1.1vw, 24px); }
.smars-console .widget-html-content { line-height: 1.3; }
.smars-console h3 { font-size: clamp(16px, 1.45vw, 30px); margin: 0.4em 0 0.2em; }
.smars-console table { border-collapse: collapse; }
.smars-console td, .smars-console th { padding: 2px 0.6em; text-align: left; }
.smars-console .jupyter-button, .smars-console .widget-toggle-button {
  font-size: clamp(13px, 1vw, 22px); height: auto; min-height: 2em; }
.smars-title { font-size: clamp(16px, 1.5vw, 32px); font-weight: 700; }
.smars-subtitle { font-size: clamp(12px, 0.9vw, 18px); color: #444; }
.smars-speed .widget-toggle-button { min-width: 3.6em; padding: 0 0.6em; }
.smars-fleet-row { align-items: center; }
.smars-row-text { font-size: clamp(14px, 1.2vw, 26px); min-width: 0; flex: 1 1 auto; }
.smars-row-text .smars-field { display: inline-block; white-space: nowrap; margin-right: 0.6em; }
.smars-field-server { min-width: 4.3em; } .smars-field-build { min-width: 7.6em; }
.smars-field-hash { min-width: 7.4em; color: #555; font-size: 0.85em; }
.smars-field-state { min-width: 4.3em; }
.smars-field-rate { font-weight: 700; min-width: 7em; }
.smars-odd { background: #fff3cd; }
.smars-stopped { color: #777; }
.smars-big { font-weight: 700; font-family: monospace; line-height: 1.1; }
.smars-clock { font-size: clamp(40px, 4.5vw, 96px); }
.smars-pnl-value { font-size: clamp(36px, 4vw, 88px); }
.smars-red { color: #c62828; } .smars-green { color: #2e7d32; }
.smars-feed { font-family: monospace; font-size: clamp(13px, 1vw, 22px); line-height: 1.35; }
.smars-pnl svg { width: 100%; height: auto; }
</style>
"""


def _fleet_fields(row: FleetRow) -> str:
    """A fleet row as separate blocks, so a narrow row wraps between fields."""
    return " ".join(
        f'<span class="smars-field smars-field-{k}">{html.escape(v)}</span>'
        for k, v in row.fields()
    )


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
            style={"button_width": "auto"},
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
        # Fluid columns that wrap: the P&L column drops under the fleet on a narrow
        # screen instead of overlapping it.
        left = w.VBox(
            [self.fleet, self.alerts], layout=w.Layout(flex="3 1 620px", min_width="0")
        ).add_class("smars-left")
        right = w.VBox(
            [self.pnl, self.positions], layout=w.Layout(flex="2 1 360px", min_width="0")
        ).add_class("smars-right")
        columns = w.HBox([left, right], layout=w.Layout(flex_flow="row wrap", width="100%"))
        self.widget = w.VBox(
            [w.HTML(_STYLE), self.header, controls, self.status, columns]
        ).add_class("smars-console")

        self.play_button.observe(self._on_play, "value")
        self.speed.observe(self._on_speed, "value")
        self.timer.observe(self._on_tick, "value")
        self.kill_button.on_click(self._on_kill)
        self.restart_button.on_click(self._on_restart)
        for server, button in zip(self.model.sim.fleet.servers, self.stop_buttons, strict=True):
            button.on_click(lambda _b, sid=server.id: self._on_stop(sid))
        self.refresh()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The widget, with a text fallback that says what to do before the cell has run
        # (a notebook is stored without widget state), as every course panel does.
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle or {})
        data["text/plain"] = (
            "[incident console: run this cell to show it. If this line is still here after "
            "the cell has run, widgets are not displaying: see docs/setup.md, section 4.]"
        )
        return data

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
        self.header.value = (
            f'<div><span class="smars-big smars-clock">{m.clock}</span> '
            f'&nbsp; <span class="smars-title">Knight Capital, 1 August 2012: SMARS</span> '
            f'<span class="smars-subtitle">a replay of the kit\'s model; rates and dollars '
            f"shown at full size</span></div>"
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
            line.value = f'<div class="{" ".join(classes)}">{_fleet_fields(row)}</div>'
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
