"""The game day: 1 August 2012 live, with you on the desk, scored and debriefed.

The morning runs at a chosen speed (30x plays the 45 minutes from the open in 90
seconds). You watch the dashboards (the fleet, the P&L, the alerts) and act: stop a
server, press the kill switch, roll back. When the runaway is stopped, or the window
ends, the replay runs to its end and you are scored by the dollars lost and the
minutes from the open to the last bad order. A blameless debrief is then written
from your action log and from what the dashboards showed when you acted.

:class:`~smars_sim.ui.gameday_model.GameDayModel` holds the logic (no widgets; it
extends the incident console's :class:`~smars_sim.ui.console_model.ConsoleModel`), and
:class:`GameDay` draws it, with the chart of
:func:`smars_sim.viz.response_charts.game_dashboard`. Playback is
a hidden ``ipywidgets.Play`` ticking in the browser, as in the console; a notebook
cell (or a test) drives the same model deterministically with :meth:`GameDay.advance`
and the buttons' ``click()``.

The exercise follows the Wheel of Misfortune and game-day practice that notebook 10
cites (the Google SRE workbook, dastergon/wheel-of-misfortune, Gremlin's glossary): a
time box, visible state that changes with each action, a score, and a debrief about
the system, not the person.
"""

from __future__ import annotations

import html
from typing import Any

import altair as alt
import ipywidgets as W

from ..analysis.series import live_loss_data, live_order_rate_data
from ..core.fmt import usd
from ..core.scenario import Scenario
from ..viz.response_charts import game_dashboard
from .console_model import DEFAULT_SPEED, SPEEDS, TICK_MS
from .gameday_model import (
    START_AT,
    STEP_S,
    Action,
    GameDayModel,
    Score,
    game_scenario,
    record_line,
)
from .panel import ChartView, Panel, html_table, text_table

__all__ = [
    "START_AT",
    "STEP_S",
    "Action",
    "GameDay",
    "GameDayModel",
    "Score",
    "dashboard_chart",
    "game_scenario",
    "record_line",
]


def dashboard_chart(model: GameDayModel) -> alt.VConcatChart:
    """The game's charts for the model as it is now (see :func:`game_dashboard`)."""
    return game_dashboard(
        live_loss_data(model.pnl_history()),
        live_order_rate_data(model.sim, bin_s=30),
        clock=model.clock,
        loss_now_usd=-model.closeout_pnl_usd(),
    )


class GameDay(Panel):
    """The game day as widgets: play, watch, act; then the score and the debrief.

    Args:
        scenario: What to replay (default: :func:`game_scenario`).
        speed: Initial playback speed (one of :data:`smars_sim.ui.console.SPEEDS`).
        hints: Mark the server whose build differs from the release (an easier game).
    """

    name = "game day"

    def __init__(
        self, scenario: Scenario | None = None, *, speed: int = DEFAULT_SPEED, hints: bool = True
    ) -> None:
        self._scenario = scenario
        self.hints = hints
        self.model = GameDayModel(scenario, speed=speed)
        self.clock = W.HTML()
        self.play_button = W.ToggleButton(
            value=False, description="Play", icon="play", tooltip="Play or pause the morning"
        )
        self.speed = W.ToggleButtons(
            options=[(f"{s}x", s) for s in SPEEDS],
            value=speed,
            description="Speed:",
            style={"button_width": "auto"},
        )
        self.timer = W.Play(
            value=0, min=0, max=10**9, step=1, interval=TICK_MS, layout=W.Layout(display="none")
        )
        self.advance_button = W.Button(
            description="+1 min", icon="forward", tooltip="Let the market run one minute"
        )
        self.stop_buttons = [
            W.Button(
                description=f"Stop {s.id}",
                tooltip=f"Stop server {s.id}",
                layout=W.Layout(width="76px"),
            )
            for s in self.model.sim.fleet.servers
        ]
        self.kill_button = W.Button(
            description="KILL SWITCH",
            button_style="danger",
            tooltip="Block new child orders on every server at once",
            layout=W.Layout(width="150px"),
        )
        self.rollback_button = W.Button(
            description="Roll back",
            icon="history",
            tooltip="Re-install the old build on the servers that have the release",
        )
        self.finish_button = W.Button(
            description="Finish and score", icon="flag-checkered", button_style="primary"
        )
        self.restart_button = W.Button(description="Restart", icon="undo")
        self.fleet = W.HTML()
        self.alerts = W.HTML()
        self.log = W.HTML()
        self.result_html = W.HTML()
        self.view = ChartView(dashboard_chart(self.model))

        self.play_button.observe(self._on_play, "value")
        self.speed.observe(lambda ch: self.model.set_speed(int(ch["new"])), "value")
        self.timer.observe(self._on_tick, "value")
        self.advance_button.on_click(lambda _: self.advance(1))
        for k, b in enumerate(self.stop_buttons, 1):
            b.on_click(lambda _, k=k: self.stop(k))
        self.kill_button.on_click(lambda _: self.kill())
        self.rollback_button.on_click(lambda _: self.rollback())
        self.finish_button.on_click(lambda _: self.finish())
        self.restart_button.on_click(lambda _: self.reset())
        self.widget = W.VBox(
            [
                self.clock,
                W.HBox([self.play_button, self.speed, self.advance_button, self.timer]),
                W.HBox(self.stop_buttons),
                W.HBox(
                    [
                        self.kill_button,
                        self.rollback_button,
                        self.finish_button,
                        self.restart_button,
                    ]
                ),
                # Side by side where there is room, stacked on a laptop: the charts keep
                # their full width and legends instead of being cut at half the output.
                W.Box(
                    [
                        W.VBox([self.fleet, self.alerts], layout=W.Layout(flex="1 1 380px")),
                        W.VBox([self.view.widget], layout=W.Layout(flex="0 0 auto")),
                    ],
                    layout=W.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
                self.log,
                self.result_html,
            ]
        )
        self.refresh()

    # actions (what the buttons do)
    def reset(self) -> None:
        """Start the morning again (09:29:30, nothing done)."""
        self.play_button.value = False
        self.model = GameDayModel(self._scenario, speed=self.speed.value)
        self.refresh()

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes."""
        self.model.advance(minutes)
        self._after_action()

    def stop(self, server: int) -> None:
        """Stop one server (it takes a person some seconds)."""
        self.model.stop_server(server)
        self._after_action()

    def kill(self) -> None:
        """Press the kill switch."""
        self.model.kill_switch()
        self._after_action()

    def rollback(self) -> None:
        """Roll back the servers that have the release."""
        self.model.rollback()
        self._after_action()

    def finish(self) -> None:
        """End the game now: the replay runs to its end, then the score and the debrief."""
        self.play_button.value = False
        self.model.finish()
        self.refresh()

    def _after_action(self) -> None:
        if self.model.sim.done:
            self.model.finish()
        self.refresh()

    def _on_play(self, change: dict[str, Any]) -> None:
        playing = bool(change["new"]) and not self.model.over
        self.timer.playing = playing
        self.play_button.description = "Pause" if playing else "Play"
        self.play_button.icon = "pause" if playing else "play"
        if change["new"] and not playing:
            self.play_button.value = False

    def _on_tick(self, _change: dict[str, Any]) -> None:
        if self.play_button.value:
            self.step()

    def step(self, real_seconds: float = TICK_MS / 1000) -> None:
        """One playback tick (the timer calls it)."""
        self.model.tick(real_seconds)
        if self.model.done:
            self.model.finish()
            self.play_button.value = False
        self.refresh()

    # drawing
    def status_text(self) -> str:
        """The clock, the loss so far and what is running."""
        m = self.model
        running = sum(1 for s in m.sim.fleet.servers if s.running)
        state = "OVER" if m.over else ("LIVE" if self.play_button.value else "PAUSED")
        kill = m.gate is not None and m.gate.killed_at is not None
        return (
            f"{m.clock} {state} at {m.speed}x: loss if stopped now "
            f"{usd(-m.closeout_pnl_usd())}; {running} of {len(m.sim.fleet.servers)} "
            f"servers running{'; kill switch engaged' if kill else ''}."
        )

    def fleet_rows(self) -> list[dict[str, object]]:
        """The fleet panel: each server's build, hash, state and order rate."""
        rows = []
        for row in self.model.fleet_rows():
            mark = " (differs)" if self.hints and row.odd_build else ""
            rows.append(
                {
                    "server": row.server,
                    "build": row.version + mark,
                    "hash": row.short_hash,
                    "state": "stopping"
                    if row.running and row.server in self.model.stopping
                    else row.state,
                    "orders/s (full size)": f"{row.orders_per_s:,.0f}",
                }
            )
        return rows

    def refresh(self) -> None:
        """Redraw everything from the model."""
        m = self.model
        self.clock.value = f"<b style='font-size:16px'>{html.escape(self.status_text())}</b>"
        self.fleet.value = "<b>Fleet</b>" + html_table(self.fleet_rows())
        feed = "<br>".join(html.escape(a.line()) for a in m.alerts(8))
        self.alerts.value = (
            f"<b>Alerts</b> ({m.email_count()} automated e-mails so far)"
            f"<div style='font-family:monospace;font-size:12px'>{feed}</div>"
        )
        self.log.value = "<b>Your actions</b><br>" + (
            "<br>".join(html.escape(a.line()) for a in m.log) or "<i>none yet</i>"
        )
        for srv, b in zip(m.sim.fleet.servers, self.stop_buttons, strict=True):
            b.disabled = m.over or not srv.running or srv.id in m.stopping
        killed = m.gate is not None and m.gate.killed_at is not None
        self.kill_button.disabled = m.over or killed
        self.rollback_button.disabled = m.over or m.rolled_back
        self.advance_button.disabled = m.over
        self.finish_button.disabled = m.over
        self.view.update(dashboard_chart(m))
        if m.over:
            self.result_html.value = (
                f"<pre style='white-space:pre-wrap'>{html.escape(m.debrief())}</pre>"
            )
        else:
            self.result_html.value = ""

    def score_text(self) -> str:
        """The score (finishing the game if needed)."""
        if not self.model.over:
            self.finish()
        return self.model.score().text()

    def describe(self) -> str:
        lines = [self.status_text(), text_table(self.fleet_rows())]
        lines += [a.line() for a in self.model.log] or ["(no action yet)"]
        return "\n".join(lines)
