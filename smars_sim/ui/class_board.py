"""The class board on the instructor's screen: who is where, who is stuck, what trips people.

Served by ``make class-board`` (Voila, ``tools/class_board.ipynb``), it reads the class
database (``SMARS_CLASS_DB``) or, on a hub, the board service's ``board.json``
(``SMARS_CLASS_BOARD_URL`` with the instructor's token in ``SMARS_CLASS_TOKEN``), and
refreshes itself every ``refresh_s`` seconds (a periodic callback in the kernel). It shows:

* a learners × exercises grid (checks passed of total on the latest attempt, and
  the number of attempts);
* who looks stuck: ``failed_attempts`` failed attempts in a row on an exercise not
  yet passed, or no check for ``idle_minutes`` since a failed one (both thresholds
  can be changed on the board);
* the checks that trip most people;
* after a game day, each learner's time to stop and loss, as a chart for the debrief.

Fonts are big (a projector at the back of a room). The queries are in
:mod:`smars_sim.analysis.classboard`.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import sqlite3
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets as W
import pandas as pd

from ..analysis import classboard as cb
from .panel import chart_widget

__all__ = ["ClassBoard", "game_chart"]

#: Colours (Okabe & Ito), readable on a projector.
DONE, WORKING, STUCK, EMPTY = "#009E73", "#E69F00", "#D55E00", "#9a9a9a"
FONT = "font-size:24px;line-height:1.35"


def _esc(value: object) -> str:
    return html.escape(str(value))


def game_chart(games: list[dict[str, Any]]) -> alt.LayerChart:
    """Each learner's game day: minutes to stop the runaway (x) and the loss (y)."""
    frame = pd.DataFrame(
        {
            "learner": [g["learner"] for g in games],
            "minutes_to_stop": [float(g["minutes_to_stop"]) for g in games],
            "loss_usd_m": [round(float(g["loss_usd"]) / 1e6, 1) for g in games],
        }
    )
    base = alt.Chart(frame).encode(
        x=alt.X("minutes_to_stop:Q", title="Minutes from the open to the last bad order"),
        y=alt.Y("loss_usd_m:Q", title="Loss ($M)"),
    )
    points = base.mark_circle(size=260, color="#0072B2", opacity=0.85).encode(
        tooltip=["learner", "minutes_to_stop", "loss_usd_m"]
    )
    labels = base.mark_text(align="left", dx=12, fontSize=18).encode(text="learner:N")
    median = frame["minutes_to_stop"].median()
    rule = (
        alt.Chart(pd.DataFrame({"m": [median]}))
        .mark_rule(color=STUCK, strokeDash=[6, 4], size=2)
        .encode(x="m:Q")
    )
    return (
        alt.layer(points, labels, rule)
        .properties(
            width=540,
            height=330,
            title=alt.TitleParams(
                [f"Game day: stopped after {median:.1f} min", "(the class's median)"],
                subtitle="Each dot is one learner: faster is left, cheaper is lower.",
                fontSize=26,
                subtitleFontSize=18,
                anchor="start",
            ),
        )
        .configure_axis(labelFontSize=18, titleFontSize=20)
        .configure_view(strokeWidth=0)
    )


class ClassBoard:
    """The board's widgets, and :meth:`refresh` to redraw them from the records.

    Args:
        db: The class database (default: ``SMARS_CLASS_DB``).
        url: The board service's ``board.json`` (default: ``SMARS_CLASS_BOARD_URL``);
            used instead of ``db`` when set, with ``token`` (``SMARS_CLASS_TOKEN``).
        failed_attempts, idle_minutes: When a learner looks stuck.
        refresh_s: Seconds between two refreshes (0: only by the button).
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        failed_attempts: int = 3,
        idle_minutes: float = 10.0,
        refresh_s: float = 10.0,
    ) -> None:
        self.db = str(db) if db is not None else os.environ.get(cb.ENV_DB, "")
        self.url = url if url is not None else os.environ.get("SMARS_CLASS_BOARD_URL", "")
        self.token = token if token is not None else os.environ.get("SMARS_CLASS_TOKEN", "")
        self.refresh_s = refresh_s
        self.refreshes = 0
        self._games_seen: list[dict[str, Any]] | None = None
        self.status = W.HTML().add_class("smars-board-status")
        self.failed_attempts = W.BoundedIntText(
            value=failed_attempts,
            min=1,
            max=50,
            description="stuck after failed attempts:",
            style={"description_width": "initial"},
            layout=W.Layout(width="330px"),
        ).add_class("smars-board-failed")
        self.idle_minutes = W.BoundedFloatText(
            value=idle_minutes,
            min=1,
            max=240,
            description="or idle (min):",
            style={"description_width": "initial"},
            layout=W.Layout(width="220px"),
        ).add_class("smars-board-idle")
        self.refresh_button = W.Button(description="Refresh now", icon="refresh").add_class(
            "smars-board-refresh"
        )
        self.grid = W.HTML().add_class("smars-board-grid")
        self.stuck = W.HTML().add_class("smars-board-stuck")
        self.hardest = W.HTML().add_class("smars-board-hardest")
        self.games = W.VBox(layout=W.Layout(width="680px")).add_class("smars-board-games")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.failed_attempts.observe(lambda _: self.refresh(), "value")
        self.idle_minutes.observe(lambda _: self.refresh(), "value")
        controls = W.HBox(
            [self.refresh_button, self.failed_attempts, self.idle_minutes],
            layout=W.Layout(align_items="center", gap="16px"),
        )
        side = W.VBox([self.stuck, self.hardest], layout=W.Layout(width="500px"))
        self.widget = W.VBox(
            [
                W.HTML("<h1 style='font-size:40px;margin:0 0 4px'>Class board</h1>"),
                self.status,
                controls,
                # Side by side on a wide screen; they wrap one under the other on a narrow one.
                W.HBox(
                    [
                        W.Box([self.grid], layout=W.Layout(overflow="auto", max_width="100%")),
                        side,
                        self.games,
                    ],
                    layout=W.Layout(gap="8px 40px", align_items="flex-start", flex_flow="row wrap"),
                ),
            ],
            layout=W.Layout(padding="8px 16px", width="100%"),
        ).add_class("smars-class-board")
        self._task: asyncio.Task[None] | None = None
        self.refresh()

    # ----------------------------------------------------------- data
    def _connect(self) -> sqlite3.Connection:
        if self.url:
            req = urllib.request.Request(self.url, headers={"Authorization": f"token {self.token}"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                return cb.load_rows(json.loads(resp.read()))
        if not self.db:
            raise cb.BoardError("set SMARS_CLASS_DB (or SMARS_CLASS_BOARD_URL) to a class board")
        return cb.connect(self.db, create=False)

    def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """Everything the board shows, as plain data (what :meth:`refresh` draws)."""
        conn = self._connect()
        try:
            return {
                "rows": cb.board_rows(conn),
                "stuck": cb.stuck_learners(
                    conn,
                    failed_attempts=int(self.failed_attempts.value),
                    idle_minutes=float(self.idle_minutes.value),
                    now=now,
                ),
                "hardest": cb.hardest_checks(conn),
                "games": cb.game_rows(conn),
            }
        finally:
            conn.close()

    # --------------------------------------------------------- drawing
    def refresh(self, now: datetime | None = None) -> None:
        """Read the records again and redraw; a failure shows in the status line."""
        stamp = datetime.now(UTC).strftime("%H:%M:%S UTC")
        source = _esc(self.url or Path(self.db).name or "?")
        try:
            snap = self.snapshot(now)
        except Exception as exc:
            self.status.value = (
                f"<div style='{FONT};color:{STUCK}'>Cannot read the board ({_esc(source)}): "
                f"{_esc(exc)}. Retrying every {self.refresh_s:g} s.</div>"
            )
            return
        self.refreshes += 1
        learners = sorted({r["learner"] for r in snap["rows"]})
        self.status.value = (
            f"<div style='{FONT};color:#444'>{len(learners)} learner(s) · "
            f"{len(snap['stuck'])} look stuck · updated {stamp} from {source}"
            + (f" · every {self.refresh_s:g} s" if self.refresh_s else "")
            + "</div>"
        )
        self.grid.value = self._grid_html(snap["rows"], {s["learner"] for s in snap["stuck"]})
        self.stuck.value = self._stuck_html(snap["stuck"])
        self.hardest.value = self._hardest_html(snap["hardest"])
        if snap["games"] != self._games_seen:
            self._games_seen = snap["games"]
            self.games.children = (
                [chart_widget(game_chart(snap["games"])).add_class("smars-board-chart")]
                if snap["games"]
                else [
                    W.HTML(
                        f"<p style='{FONT};color:{EMPTY}'>No game day played yet: the "
                        "debrief chart appears here when learners finish theirs.</p>"
                    )
                ]
            )

    @staticmethod
    def _grid_html(rows: list[dict[str, Any]], stuck: set[str]) -> str:
        if not rows:
            return f"<p style='{FONT};color:{EMPTY}'>No check recorded yet.</p>"
        exercises = sorted({r["exercise"] for r in rows})
        by = {(r["learner"], r["exercise"]): r for r in rows}
        head = "".join(f"<th style='padding:6px 14px'>{_esc(e)}</th>" for e in exercises)
        body = []
        for learner in sorted({r["learner"] for r in rows}):
            name_style = f"color:{STUCK};font-weight:bold" if learner in stuck else ""
            cells = [
                f"<td class='smars-board-learner' style='padding:6px 14px;{name_style}'>"
                f"{'⚠ ' if learner in stuck else ''}{_esc(learner)}</td>"
            ]
            for e in exercises:
                r = by.get((learner, e))
                if r is None:
                    cells.append(f"<td style='padding:6px 14px;color:{EMPTY}'>·</td>")
                    continue
                done = r["passed"] == r["total"]
                colour = DONE if done else (STUCK if learner in stuck else WORKING)
                mark = "✓ " if done else ""
                cells.append(
                    f"<td style='padding:6px 14px;background:{colour}22;"
                    f"border-left:6px solid {colour}' title='last {_esc(r['last'])}'>"
                    f"<b>{mark}{r['passed']}/{r['total']}</b>"
                    f"<span style='font-size:18px;color:#555'> ×{r['attempts']}</span></td>"
                )
            body.append(f"<tr>{''.join(cells)}</tr>")
        return (
            f"<table style='{FONT};border-collapse:separate;border-spacing:0 4px'>"
            f"<thead><tr><th style='text-align:left;padding:6px 14px'>learner</th>{head}</tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table>"
            "<p style='font-size:18px;color:#555'>checks passed on the latest attempt "
            "×attempts · ✓ done · ⚠ looks stuck</p>"
        )

    @staticmethod
    def _stuck_html(stuck: list[dict[str, Any]]) -> str:
        title = f"<h2 style='font-size:30px;margin:4px 0;color:{STUCK}'>Looks stuck</h2>"
        if not stuck:
            return title + f"<p style='{FONT};color:{EMPTY}'>Nobody right now.</p>"
        items = "".join(
            f"<li><b>{_esc(s['learner'])}</b> on {_esc(s['exercise'])}: {_esc(s['why'])}</li>"
            for s in stuck[:12]
        )
        return f"{title}<ul style='{FONT};padding-left:24px'>{items}</ul>"

    @staticmethod
    def _hardest_html(hardest: list[dict[str, Any]]) -> str:
        title = "<h2 style='font-size:30px;margin:12px 0 4px'>Trips most people</h2>"
        if not hardest:
            return title + f"<p style='{FONT};color:{EMPTY}'>No failed check yet.</p>"
        items = "".join(
            f"<li>{_esc(h['exercise'])} · <b>{_esc(h['check'])}</b>: failed by {h['tripped']} "
            f"of {h['ran']}, {h['still_failing']} still failing</li>"
            for h in hardest
        )
        return f"{title}<ol style='{FONT};padding-left:28px'>{items}</ol>"

    # ---------------------------------------------------------- timer
    def start(self) -> None:
        """Refresh every ``refresh_s`` seconds in the kernel's event loop (Voila, Lab)."""
        if not self.refresh_s or self._task is not None:
            return
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return

        async def tick() -> None:
            while True:
                await asyncio.sleep(self.refresh_s)
                self.refresh()

        self._task = loop.create_task(tick())

    def stop(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        self.start()
