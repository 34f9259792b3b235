"""Widget panels and charts for course part 2 (notebooks 06-10): fix each failure, replay the day.

Each notebook of part 2 applies one of the four fixes in :mod:`smars_sim.fixes` the way
the best teams do it, then replays 1 August 2012 with the fix in place. The panels
here follow :mod:`smars_sim.ui.widgets` (part 1): a class builds its controls and charts,
wires the callbacks and keeps its state, and :meth:`describe` gives the same state as
plain text, so a notebook cell (and the tests) can click and print without a browser.

Nothing here decides an outcome. Every figure comes from a replay of the mechanisms in
:mod:`smars_sim.fixes`, read back from the replay's own logs (``Result.actions``,
``Result.alerts``, ``Result.summary``). The two exceptions are teaching contrasts that
the fixes do not model, and say so in their docstrings: a kill command obeyed only by
the builds that contain it (:func:`press_in_binary_kill`), and an exchange's own
net-notional kill switch (:class:`ExchangeKillSwitch`).

This is the presentation layer: ipywidgets, altair and pandas are used here, never in
the simulation core. Replays run at :data:`smars_sim.ui.widgets.NOTEBOOK_SCALE` and are
cached, so a control answers within a second once its replay has been seen.
"""

from __future__ import annotations

import ast
import difflib
import html
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets as W
import pandas as pd

from ..analysis.runs import notebook_scenario, run
from ..core.builds import FLAG, Build, old_build, rlp_build
from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.result import Result
from ..core.router import power_peg, route_pre_rlp, standard
from ..core.scenario import Scenario
from ..fixes import AVAILABLE, Simulation
from ..fixes import dead_code as dead
from ..fixes import flag_registry as flags
from ..fixes import verified_deploy as deploy
from ..fixes.kill_switch import RiskLimits
from ..ui.console import ConsoleModel
from ..ui.panel import ChartView, Panel, html_table, text_table
from ..viz import charts as C

__all__ = [
    "AS_IT_HAPPENED",
    "CanaryJudge",
    "DeadCodeReplay",
    "DeployLab",
    "ExchangeKillSwitch",
    "ExchangeView",
    "FixReplay",
    "FlagConsole",
    "FlagReplay",
    "KillDrill",
    "KillSwitchLab",
    "StaleFlagReport",
    "SwissCheese",
    "VultureSteps",
    "bad_release",
    "control_events",
    "controls_table",
    "coverage_view",
    "deletion_steps",
    "fix_heatmap",
    "minutes_to_stop",
    "outcome",
    "press_in_binary_kill",
    "reconciliation_data",
    "reconciliation_view",
    "single_layer_rows",
    "timeline_rows",
    "what_if_table",
]

#: Label of the unfixed replay every comparison starts from.
AS_IT_HAPPENED = "as it happened (kit's replay)"
#: The trading code: the modules a SMARS build is made of, where the stale-flag report looks
#: for flag keys (the course, the fixes and the exercises are not trading code).
TRADING_CODE = (
    "__init__.py",
    "book.py",
    "builds.py",
    "clock.py",
    "engine.py",
    "exchange.py",
    "fleet.py",
    "liquidity.py",
    "record.py",
    "result.py",
    "router.py",
    "scenario.py",
    "universe.py",
)


def _not_trading_code() -> tuple[str, ...]:
    root = Path(__file__).resolve().parents[1] / "core"
    return tuple(sorted(p.name for p in root.iterdir() if p.name not in TRADING_CODE))


def _esc(value: object) -> str:
    return html.escape(str(value))


def _title(text: str, takeaway: str) -> alt.TitleParams:
    return alt.TitleParams(
        text=text, subtitle=takeaway or alt.Undefined, anchor="start", subtitleColor="#333333"
    )


def base_scenario(**overrides: Any) -> Scenario:
    """1 August 2012 at the notebooks' scale, operators' actions of the day included."""
    return notebook_scenario(**overrides)


# --------------------------------------------------------------------------
# Reading a replay: the outcome and the controls that acted
# --------------------------------------------------------------------------
def minutes_to_stop(result: Result) -> float:
    """Minutes from the 09:30 open to the last Power Peg child order (0 if it never ran)."""
    stop = result.summary.stop
    if not stop or not result.summary.parent_orders:
        return 0.0
    return round(max(0, parse_time(stop) - OPEN_NS) / (60 * SECOND_NS), 2)


#: Timeline actors that are controls (fixes, or the contrasts of this module).
CONTROL_ACTORS = (
    "codebase",
    "flag registry",
    "deploy automation",
    "flag guard",
    "risk gate",
    "risk officer",
    "console",
    "exchange kill switch",
    "in-binary kill",
)


def control_events(result: Result) -> list[tuple[int, str, str]]:
    """``(time, control, what it did)`` for every control that acted, in time order.

    Read from the replay's timeline: the entries written by the fixes (and by this
    module's contrasts). Warnings and deploy steps that changed nothing are left out.
    """
    events = []
    for entry in sorted(result.timeline, key=lambda e: e.time):
        actor, action = entry.actor, entry.action
        if actor not in CONTROL_ACTORS or action.endswith(": warn"):
            continue
        if actor == "deploy automation" and not (
            action == "rollout aborted"
            or (action == "canary analysis" and "verdict PASS" not in entry.detail)
        ):
            continue
        if actor == "flag registry" and action in ("flag created", "flag retired"):
            continue
        where = f" (server {entry.server})" if entry.server else ""
        events.append((entry.time, f"{actor}: {action}{where}", entry.detail))
    return events


def _when(ns: int) -> str:
    return format_time(ns) if ns else "before 1 Aug"


def outcome(result: Result) -> dict[str, Any]:
    """The headline figures of a replay, computed from its logs."""
    s = result.summary
    events = control_events(result)
    first = events[0] if events else None
    return {
        "loss_usd": s.loss_usd,
        "loss": C.usd(s.loss_usd),
        "executions": s.executions,
        "child_orders": s.child_orders,
        "power_peg_parents": s.parent_orders,
        "minutes_to_stop": minutes_to_stop(result),
        "first_control": first[1] if first else "none",
        "first_control_at": _when(first[0]) if first else "",
    }


_OUTCOME_ROWS = (
    ("loss", "Loss (evening basket price)"),
    ("executions", "Executions (at this scale)"),
    ("child_orders", "Child orders (at this scale)"),
    ("power_peg_parents", "Parent orders Power Peg worked"),
    ("minutes_to_stop", "Minutes from the open to the last bad order"),
    ("first_control", "First control that acted"),
    ("first_control_at", "... at"),
)


def comparison_rows(results: dict[str, Result]) -> list[dict[str, object]]:
    """One row per headline figure, one column per replay."""
    outs = {label: outcome(r) for label, r in results.items()}
    rows = []
    for key, label in _OUTCOME_ROWS:
        row: dict[str, object] = {"": label}
        for name, out in outs.items():
            value = out[key]
            row[name] = f"{value:,}" if isinstance(value, int) else value
        rows.append(row)
    return rows


def timeline_rows(
    result: Result,
    *,
    skip: Sequence[str] = ("technician",),
    limit: int | None = None,
    group: bool = True,
) -> list[dict[str, object]]:
    """The replay's timeline (``Result.actions``) with its pages, in time order.

    Args:
        result: A replay.
        skip: Actors to leave out (the eight deploy lines of the technician by default).
        limit: At most this many rows (the first ones).
        group: Merge a run of the same action on one server after another (a rollback,
            a stop of every server) into one row naming the servers.
    """
    items: list[tuple[int, int, str, str, int, str]] = []
    for i, e in enumerate(result.timeline):
        if e.actor in skip or e.action == "market open":
            continue
        items.append((e.time, i, e.actor, e.action, e.server, e.detail))
    n = len(result.timeline)
    for j, (t, control, detail) in enumerate(result.pages):
        items.append((t, n + j, "pager", control, 0, detail))
    items.sort(key=lambda r: (r[0], r[1]))
    runs: list[list[tuple[int, int, str, str, int, str]]] = []
    for item in items:
        last = runs[-1][-1] if runs else None
        if (
            group
            and last is not None
            and item[4]
            and last[4]
            and (item[2], item[3]) == (last[2], last[3])
        ):
            runs[-1].append(item)
        else:
            runs.append([item])
    out: list[dict[str, object]] = []
    for run_ in runs:
        first, final = run_[0], run_[-1]
        servers = [it[4] for it in run_]
        where = ""
        if len(servers) > 1:
            where = f" ({_server_list(servers)})"
        elif servers[0]:
            where = f" (server {servers[0]})"
        when = _when(first[0])
        if final[0] != first[0]:
            when += f" to {_when(final[0])}"
        out.append({"time": when, "who": first[2], "what": first[3] + where, "detail": first[5]})
    return out[:limit] if limit is not None else out


def _timeline_text(result: Result, limit: int = 8, width: int = 110) -> str:
    lines = []
    for row in timeline_rows(result, limit=limit):
        text = f"{row['time']:>20}  {row['who']}: {row['what']}"
        if row["detail"]:
            text += f": {row['detail']}"
        lines.append(text if len(text) <= width else text[: width - 1] + "…")
    return "\n".join(lines) or "(nothing)"


def _timeline_html(result: Result, limit: int = 10) -> str:
    rows = timeline_rows(result, limit=limit)
    for row in rows:
        detail = str(row["detail"])
        row["detail"] = detail if len(detail) <= 160 else detail[:159] + "…"
    return html_table(rows, ["time", "who", "what", "detail"])


# --------------------------------------------------------------------------
# Charts shared by the part-2 panels
# --------------------------------------------------------------------------
def _usd_axis_expr() -> str:
    # "$460M", "$3.1k", "$1.2B", "-$40M" from a value in dollars.
    return (
        "(datum.value < 0 ? '-$' : '$') + (abs(datum.value) >= 1e9 ? "
        "format(abs(datum.value) / 1e9, '.1f') + 'B' : abs(datum.value) >= 1e6 ? "
        "format(abs(datum.value) / 1e6, ',.0f') + 'M' : abs(datum.value) >= 1e3 ? "
        "format(abs(datum.value) / 1e3, ',.0f') + 'k' : format(abs(datum.value), ',.0f'))"
    )


def loss_curves_data(results: dict[str, Result]) -> pd.DataFrame:
    """The loss locked in over the morning for several replays (long form).

    Columns ``time``, ``s``, ``replay``, ``loss_usd`` and ``loss_usd_m``: the loss the
    trades made so far went on to cost at the evening basket price (see
    :func:`smars_sim.viz.charts.pnl_data`), positive when money is lost.
    """
    frames = []
    for label, result in results.items():
        pnl = C.pnl_data(result)
        pnl = pnl[pnl["series"] == C.LOCKED_IN]
        frames.append(
            pd.DataFrame(
                {
                    "time": pnl["time"].to_numpy(),
                    "s": pnl["s"].to_numpy(),
                    "replay": label,
                    "loss_usd": (-pnl["usd"]).round(2).to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["loss_usd_m"] = (out["loss_usd"] / 1e6).round(3)
    return out


_REPLAY_COLOURS = (C.OKABE_ITO["vermillion"], C.OKABE_ITO["blue"], C.OKABE_ITO["green"])


def loss_curves(
    data: pd.DataFrame, *, takeaway: str = "", width: int = 460, height: int = 170
) -> alt.Chart:
    """Loss locked in over time ($M), one line per replay."""
    names = list(dict.fromkeys(data["replay"]))
    return (
        alt.Chart(data, title=_title("Loss locked in over the morning", takeaway))
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X(
                "time:T",
                title="Time (ET, 1 Aug 2012)",
                axis=alt.Axis(format="%H:%M", labelOverlap=True),
                scale=C.day_domain("09:30", "10:16"),
            ),
            y=alt.Y(
                "loss_usd_m:Q",
                title="Loss ($M)",
                axis=alt.Axis(labelExpr="'$' + format(datum.value, ',.0f') + 'M'"),
            ),
            color=alt.Color(
                "replay:N",
                scale=alt.Scale(domain=names, range=list(_REPLAY_COLOURS[: len(names)])),
                legend=alt.Legend(title="Replay", orient="bottom", direction="vertical"),
            ),
            strokeDash=alt.StrokeDash("replay:N", legend=None),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                "replay:N",
                alt.Tooltip("loss_usd_m:Q", format=",.2f", title="loss $M"),
            ],
        )
        .properties(width=width, height=height)
    )


def _order_rate_chart(result: Result, takeaway: str, width: int = 460) -> alt.Chart:
    rates = C.order_rate_data(result, bin_s=60, end="10:16")
    return C.order_rate(
        rates, takeaway=takeaway, width=width, height=150, scale=C.day_domain("09:30", "10:16")
    )


def _servers_sending(result: Result) -> list[int]:
    """Servers that sent a Power Peg child order."""
    return sorted({p.server for p in result.parents if p.ran_power_peg})


def _server_list(servers: Sequence[int]) -> str:
    servers = sorted(servers)
    if not servers:
        return "no server"
    if len(servers) == 1:
        return f"server {servers[0]}"
    return "servers " + ", ".join(map(str, servers))


# --------------------------------------------------------------------------
# The replay comparison every notebook of part 2 ends with
# --------------------------------------------------------------------------
class FixReplay(Panel):
    """Replay the day with a fix on or off, and with any server missed by the deploy.

    The reference is the day as it happened in the kit (server 8 missed, no fix, the
    operators' rollback and stops of the day). Your replay uses the controls. Both keep
    the operators' actions of the day, so only the fix and the missed server differ.
    The panel shows the headline figures side by side, the loss over the morning, the
    child orders per second by server, and the timeline: which control acted and when.

    Args:
        fix: The fix this panel switches (a name of :data:`smars_sim.fixes.AVAILABLE`).
        labels: Text of the toggle for (off, on).
        scenario: The base scenario (default: the notebooks' 1 August 2012).
    """

    name = "replay with the fix"

    def __init__(self, fix: str, labels: tuple[str, str], scenario: Scenario | None = None) -> None:
        if fix not in AVAILABLE:
            raise ValueError(f"unknown fix {fix!r}; available: {', '.join(AVAILABLE)}")
        self.fix = fix
        self.base = scenario or base_scenario()
        self.toggle = W.ToggleButtons(
            options=[(labels[0], False), (labels[1], True)],
            value=True,
            description="Fix:",
            style={"button_width": "auto"},
        )
        self.missed = W.Dropdown(
            options=[(f"server {k}", k) for k in range(1, self.base.servers + 1)],
            value=self.base.stale_servers[0] if self.base.stale_servers else self.base.servers,
            description="Missed:",
            layout=W.Layout(width="220px"),
        )
        self.table = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        self.timeline = W.HTML()
        self.toggle.observe(lambda _: self._refresh(), "value")
        self.missed.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox(
            [
                W.HBox([self.toggle, self.missed]),
                W.HTML("<i>Missed: the server the technician did not copy the release to.</i>"),
                self.table,
                self.view.widget,
                W.HTML("<b>Timeline of your replay</b> (which control acted, and when)"),
                self.timeline,
            ]
        )
        self._refresh()

    # state
    def set(self, fixed: bool | None = None, missed: int | None = None) -> None:
        """Set the controls (as clicking them does)."""
        if missed is not None:
            self.missed.value = missed
        if fixed is not None:
            self.toggle.value = bool(fixed)

    def scenario(self) -> Scenario:
        """The scenario the controls describe."""
        return self.base.with_(
            stale_servers=(self.missed.value,), fixes=(self.fix,) if self.toggle.value else ()
        )

    def reference(self) -> Result:
        """The day as it happened in the kit."""
        return run(self.base)

    def result(self) -> Result:
        """Your replay."""
        return run(self.scenario())

    def label(self) -> str:
        """Your replay's name in the table and the charts."""
        fix = f"with {self.fix}" if self.toggle.value else "no fix"
        return f"yours: {fix}, server {self.missed.value} missed"

    def takeaway(self) -> str:
        """One line: what changed, computed from the two replays."""
        ref, mine = outcome(self.reference()), outcome(self.result())
        sending = _servers_sending(self.result())
        text = (
            f"Loss {ref['loss']} as it happened, {mine['loss']} in yours; Power Peg ran on "
            f"{_server_list(sending)}."
        )
        return text

    def _refresh(self) -> None:
        ref, mine = self.reference(), self.result()
        self.table.value = html_table(comparison_rows({AS_IT_HAPPENED: ref, self.label(): mine}))
        curves = loss_curves(
            loss_curves_data({AS_IT_HAPPENED: ref, "yours": mine}), takeaway=self.takeaway()
        )
        rate = _order_rate_chart(
            mine, f"Yours: Power Peg ran on {_server_list(_servers_sending(mine))}."
        )
        self.view.update(alt.vconcat(curves, rate).resolve_scale(color="independent"))
        self.timeline.value = _timeline_html(mine, limit=12)

    def describe(self) -> str:
        ref, mine = self.reference(), self.result()
        return "\n".join(
            [
                text_table(comparison_rows({AS_IT_HAPPENED: ref, "yours": mine})),
                self.takeaway(),
                "Timeline of yours:",
                _timeline_text(mine),
            ]
        )


# --------------------------------------------------------------------------
# 06: dead code
# --------------------------------------------------------------------------
def coverage_rows(report: dead.CoverageReport) -> list[dict[str, object]]:
    """The coverage report's rows as dicts (server, build, path, parents, child orders)."""
    return [
        {
            "server": r.server,
            "build": r.build,
            "path": r.path,
            "compiled": r.compiled,
            "parents": r.parents,
            "child_orders": r.child_orders,
            "hits": r.hits,
        }
        for r in report.rows
    ]


def coverage_view(report: dead.CoverageReport, *, what: str = "an ordinary day") -> ChartView:
    """Code-path hits per server as a grid: a compiled path with zero hits is dead code."""
    data = pd.DataFrame(coverage_rows(report))
    data["server"] = data["server"].map(lambda k: f"server {k}")
    data["status"] = [
        "never ran" if c and h == 0 else ("ran" if h else "not compiled")
        for c, h in zip(data["compiled"], data["hits"], strict=True)
    ]
    dead_paths = report.candidates()
    n_servers = data["server"].nunique()
    if dead_paths:
        compiled_on = data[(data["path"] == dead_paths[0]) & data["compiled"]]["server"].nunique()
        takeaway = (
            f"{', '.join(dead_paths)}: compiled on {compiled_on} of {n_servers} servers, "
            f"0 hits on {what}. A dead-code candidate."
        )
    else:
        takeaway = f"Every compiled code path ran on {what}: no dead-code candidate."
    base = alt.Chart(data)
    servers = sorted(data["server"].unique(), key=lambda s: int(s.split()[1]))
    grid = base.mark_rect(stroke="white").encode(
        x=alt.X("server:N", sort=servers, title="Server", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("path:N", title="Code path"),
        color=alt.Color(
            "status:N",
            scale=alt.Scale(
                domain=["ran", "never ran", "not compiled"],
                range=[C.OKABE_ITO["sky_blue"], C.OKABE_ITO["vermillion"], "#dddddd"],
            ),
            legend=alt.Legend(title="Status", orient="bottom"),
        ),
        tooltip=["server:N", "path:N", "build:N", "parents:Q", "child_orders:Q"],
    )
    text = base.mark_text(fontSize=12).encode(
        x=alt.X("server:N", sort=servers),
        y="path:N",
        text=alt.Text("child_orders:Q", format=","),
    )
    chart = alt.layer(
        grid, text, title=_title(f"Code-path coverage on {what}", takeaway)
    ).properties(width=460, height=36 * data["path"].nunique())
    return ChartView(chart)


def _vulture_findings(source: str, name: str = "router.py") -> list[str]:
    from vulture import Vulture

    with tempfile.TemporaryDirectory(prefix="smars-course2-") as tmp:
        path = Path(tmp) / name
        path.write_text(source, encoding="utf-8")
        scanner = Vulture(verbose=False)
        scanner.scavenge([str(path)])
        return [
            item.get_report().replace(str(path), name)
            for item in scanner.get_unused_code(min_confidence=0)
        ]


def delete_function(source: str, name: str) -> str:
    """Delete a top-level function (with its decorators) from module source text."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            lines = source.splitlines(keepends=True)
            end = node.end_lineno
            # also drop the blank lines that separated it from the next definition
            while end < len(lines) and not lines[end].strip():
                end += 1
            del lines[first - 1 : end]
            return "".join(lines)
    raise ValueError(f"no top-level function {name!r} in the source")


@dataclass(frozen=True, slots=True)
class DeletionStep:
    """One step of deleting Power Peg properly, with what vulture says after it."""

    name: str
    change: str
    source: str
    findings: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        """What ``vulture`` exits with: 3 when it finds dead code, else 0."""
        return 3 if self.findings else 0


def deletion_steps(router: str | Path | None = None) -> list[DeletionStep]:
    """The Piranha-style clean-up of the real router module, with vulture after each step.

    The first three steps are :func:`smars_sim.fixes.dead_code.vulture_demo`'s (as is,
    flag read pinned, dead branch and export deleted). The fourth deletes the function
    vulture then reports: Power Peg itself. The package source is never touched.
    """
    demo = dead.vulture_demo(router)
    steps = [DeletionStep(s.name, s.change, s.source, tuple(s.findings)) for s in demo]
    last = delete_function(steps[-1].source, power_peg.__name__)
    steps.append(
        DeletionStep(
            "function deleted",
            f"the unused function `{power_peg.__name__}` deleted",
            last,
            tuple(_vulture_findings(last)),
        )
    )
    return steps


class VultureSteps(Panel):
    """Step through the clean-up: the diff of each step and what vulture reports after it."""

    name = "vulture, step by step"

    def __init__(self, steps: Sequence[DeletionStep] | None = None) -> None:
        self.steps = list(steps) if steps is not None else deletion_steps()
        self.picker = W.ToggleButtons(
            options=[(f"{i}. {s.name}", i) for i, s in enumerate(self.steps, 1)],
            value=1,
            description="Step:",
            style={"button_width": "auto"},
        )
        self.report = W.HTML()
        self.diff = W.HTML()
        self.picker.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox([self.picker, self.report, self.diff])
        self._refresh()

    def show_step(self, number: int) -> None:
        """Show step ``number`` (1-based), as clicking it does."""
        self.picker.value = number

    @property
    def step(self) -> DeletionStep:
        """The step shown."""
        return self.steps[self.picker.value - 1]

    def diff_text(self) -> str:
        """The unified diff of the step shown against the step before it."""
        i = self.picker.value - 1
        before = self.steps[i - 1].source if i else self.step.source
        return "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                self.step.source.splitlines(keepends=True),
                fromfile="router.py (before)",
                tofile="router.py (after)",
                n=2,
            )
        )

    def report_text(self) -> str:
        """What vulture says after the step shown, and its exit code."""
        s = self.step
        findings = "\n".join(f"  {f}" for f in s.findings) or "  (nothing)"
        return (
            f"Step {self.picker.value}, {s.name}: change: {s.change}\n"
            f"vulture router.py ->\n{findings}\nexit code {s.exit_code}"
            + (" (a CI gate fails the build)" if s.exit_code else " (the gate passes)")
        )

    def _refresh(self) -> None:
        self.report.value = f"<pre>{_esc(self.report_text())}</pre>"
        diff = self.diff_text() or "(no change: this is the module as it is)"
        self.diff.value = (
            "<details open><summary>diff</summary>"
            f"<pre style='font-size:12px'>{_esc(diff)}</pre></details>"
        )

    def describe(self) -> str:
        return self.report_text()


def build_rows(builds: Sequence[Build]) -> list[dict[str, object]]:
    """What each build contains: version, hash, code paths, the flag its router reads."""
    return [
        {
            "build": b.version,
            "sha256": b.short_hash,
            "code paths": ", ".join(b.path_names),
            "router": b.router.__name__,
            "Power Peg inside": "yes" if b.contains(power_peg) else "no",
        }
        for b in builds
    ]


class DeadCodeReplay(FixReplay):
    """Replay the day with Power Peg deleted when it was retired (the ``dead-code`` fix)."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        super().__init__("dead-code", ("Power Peg kept (2012)", "Power Peg deleted"), scenario)

    def server_paths(self, at: str = "09:40") -> list[dict[str, object]]:
        """Code paths each server ran in your replay up to ``at`` (its coverage report).

        The default, 09:40, is before the operators' rollback of the day re-installs
        the old build on the updated servers.
        """
        sim = Simulation(self.scenario())
        sim.advance_to(at)
        return [
            {
                "server": r.server,
                "build": r.build,
                "path": r.path,
                "parents": r.parents,
                "child orders": r.child_orders,
            }
            for r in dead.coverage_report(sim).rows
            if r.hits
        ]


# --------------------------------------------------------------------------
# 07: flag reuse
# --------------------------------------------------------------------------
def seeded_registry() -> flags.FlagRegistry:
    """A registry as the ``flag-registry`` fix sets it up, before the RLP key exists.

    The old key (the kit's name for the flag that switched Power Peg on) is registered
    as legacy and retired: Power Peg stopped in 2003 (SEC ¶14), date not public.
    """
    registry = flags.FlagRegistry()
    registry.register_legacy(
        FLAG,
        type="release",
        owner="SMARS (pre-registry; owner not public)",
        description="switched Power Peg on (the kit's name for the flag)",
        readers=(old_build(),),
    )
    registry.retire(FLAG, reason="Power Peg stopped in 2003 (SEC ¶14)")
    return registry


def evaluation_row(registry: flags.FlagRegistry, key: str) -> dict[str, object]:
    """One OpenFeature evaluation: the value served and the details that explain it."""
    d = registry.details(key, False)
    return {
        "key": key,
        "value": d.value,
        "reason": getattr(d.reason, "value", d.reason),
        "error code": getattr(d.error_code, "value", d.error_code) or "",
        "message": d.error_message or "",
    }


def registry_rows(registry: flags.FlagRegistry) -> list[dict[str, object]]:
    """Every flag in the registry, tombstones included."""
    return [
        {
            "key": s.key,
            "type": s.type,
            "state": s.state + (" (tombstone)" if s.tombstoned else ""),
            "value": s.value,
            "owner": s.owner,
            "created": s.created.isoformat() if s.created else "not public",
            "expires": s.expires.isoformat() if s.expires else "never",
            "read by": ", ".join(s.readers) or "-",
        }
        for s in registry.flags.values()
    ]


class FlagConsole(Panel):
    """The flag registry as a release manager meets it: create, turn on, retire, evaluate.

    Every refusal is the registry's own ``ValueError``, caught and shown as a message.
    """

    name = "flag registry console"

    def __init__(self) -> None:
        self.key = W.Text(value=FLAG, description="Key:", layout=W.Layout(width="340px"))
        self.kind = W.Dropdown(
            options=list(flags.FLAG_TYPES),
            value="release",
            description="Type:",
            layout=W.Layout(width="220px"),
        )
        self.buttons = {
            name: W.Button(description=label, layout=W.Layout(width="auto"))
            for name, label in (
                ("create", "Create flag"),
                ("on", "Turn on"),
                ("retire", "Retire"),
                ("evaluate", "Evaluate"),
            )
        }
        self.buttons["create"].button_style = "primary"
        self.buttons["create"].on_click(lambda _: self.create())
        self.buttons["on"].on_click(lambda _: self.turn_on())
        self.buttons["retire"].on_click(lambda _: self.retire())
        self.buttons["evaluate"].on_click(lambda _: self.evaluate())
        self.reset_button = W.Button(description="Reset the registry", icon="undo")
        self.reset_button.on_click(lambda _: self.reset())
        self.message = W.HTML()
        self.table = W.HTML()
        self.evaluation = W.HTML()
        self.widget = W.VBox(
            [
                W.HBox([self.key, self.kind]),
                W.HBox([*self.buttons.values(), self.reset_button]),
                self.message,
                self.table,
                self.evaluation,
            ]
        )
        self.reset()

    def reset(self) -> None:
        """Back to the registry with only the retired old key."""
        old = getattr(self, "registry", None)
        if old is not None:
            old.close()
        self.registry = seeded_registry()
        self.last = "registry reset: the old key is a tombstone"
        self.ok = True
        self.evaluated: list[str] = []
        self._refresh()

    def _do(self, what: str, action: Callable[[], object]) -> bool:
        try:
            action()
        except ValueError as err:
            self.ok, self.last = False, f"REFUSED ({what}): {err}"
            self._refresh()
            return False
        self.ok, self.last = True, f"OK: {what}"
        self._refresh()
        return True

    def create(self, key: str | None = None, type: str | None = None) -> bool:
        """Create a flag; returns whether the registry accepted it."""
        key = self.key.value.strip() if key is None else key
        kind = self.kind.value if type is None else type
        return self._do(
            f"create {key!r}",
            lambda: self.registry.create(
                key, type=kind, owner="you (release manager)", created=flags.TRADE_DATE
            ),
        )

    def turn_on(self, key: str | None = None) -> bool:
        """Turn a flag on; returns whether the registry accepted it."""
        key = self.key.value.strip() if key is None else key
        return self._do(f"turn on {key!r}", lambda: self.registry.set(key, True))

    def retire(self, key: str | None = None) -> bool:
        """Retire a flag (it becomes a tombstone); returns whether the registry accepted it."""
        key = self.key.value.strip() if key is None else key
        return self._do(
            f"retire {key!r}",
            lambda: self.registry.retire(key, reason="retired in the course", on=flags.TRADE_DATE),
        )

    def evaluate(self, key: str | None = None) -> dict[str, object]:
        """Evaluate a flag through OpenFeature (never raises: errors serve the default)."""
        key = self.key.value.strip() if key is None else key
        row = evaluation_row(self.registry, key)
        self.evaluated = [*[k for k in self.evaluated if k != key][-3:], key]
        self.ok, self.last = True, f"evaluated {key!r}: {row['value']} ({row['reason']})"
        self._refresh()
        return row

    def _refresh(self) -> None:
        colour = C.OKABE_ITO["green"] if self.ok else C.OKABE_ITO["vermillion"]
        self.message.value = f"<b style='color:{colour}'>{_esc(self.last)}</b>"
        self.table.value = html_table(registry_rows(self.registry))
        if self.evaluated:
            rows = [evaluation_row(self.registry, k) for k in self.evaluated]
            self.evaluation.value = "<b>OpenFeature evaluations</b>" + html_table(rows)
        else:
            self.evaluation.value = ""

    def describe(self) -> str:
        lines = [self.last, text_table(registry_rows(self.registry), ["key", "state", "value"])]
        return "\n".join(lines)


class StaleFlagReport(Panel):
    """The stale-flag report on an audit date of your choice (a slider)."""

    name = "stale-flag report"

    def __init__(self, registry: flags.FlagRegistry | None = None) -> None:
        if registry is None:
            registry = seeded_registry()
            registry.create(
                flags.RLP_FLAG,
                type="release",
                owner="SMARS RLP release (kit's label)",
                created=date(2012, 7, 27),
            )
            registry.bind(flags.RLP_FLAG, rlp_build(flag=flags.RLP_FLAG))
        self.registry = registry
        start = flags.TRADE_DATE
        self.dates = [start + timedelta(days=7 * i) for i in range(0, 14)]
        self.slider = W.SelectionSlider(
            options=[(d.isoformat(), d) for d in self.dates],
            value=start,
            description="Audit on:",
            continuous_update=False,
            layout=W.Layout(width="520px"),
        )
        self.table = W.HTML()
        self.slider.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox([self.slider, self.table])
        self._refresh()

    def audit(self, on: date | None = None) -> list[flags.StaleFlag]:
        """The report on a date (default: the slider's)."""
        if on is not None:
            self.slider.value = on
        return flags.stale_flags(
            self.registry,
            today=self.slider.value,
            source_root=Path(__file__).resolve().parents[1] / "core",
            exclude=_not_trading_code(),
        )

    def rows(self) -> list[dict[str, object]]:
        """One row per stale flag."""
        return [
            {
                "key": s.key,
                "state": s.state,
                "owner": s.owner,
                "why": "; ".join(s.reasons),
                "where in the code": ", ".join(s.references) or "-",
            }
            for s in self.audit()
        ]

    def _refresh(self) -> None:
        self.table.value = html_table(self.rows())

    def describe(self) -> str:
        rows = self.rows()
        head = f"Audit on {self.slider.value.isoformat()}: {len(rows)} stale flag(s)"
        lines = [head]
        for finding in self.audit():
            files = sorted({ref.rsplit(":", 1)[0] for ref in finding.references})
            where = f" (in {', '.join(files)})" if files else ""
            lines.append(f"- {finding.key} ({finding.state}): {'; '.join(finding.reasons)}{where}")
        return "\n".join(lines)


class FlagReplay(FixReplay):
    """Replay the day with a fresh key for RLP and the old key tombstoned (``flag-registry``)."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        super().__init__(
            "flag-registry", ("Old key reused (2012)", "Fresh key, old one tombstoned"), scenario
        )

    def flags_read(self) -> list[dict[str, object]]:
        """What each build in your replay reads, and what OpenFeature served it."""
        sim = Simulation(self.scenario())
        view = sim.fleet.flags
        flag_on = sim.scenario.t("flag_on_at")
        sim.advance_to(sim.now if flag_on is None else max(sim.now, flag_on + SECOND_NS))
        rows = []
        seen: set[str] = set()
        for server in sim.fleet.servers:
            b = server.build
            if b.version in seen:
                continue
            seen.add(b.version)
            rows.append(
                {
                    "build": b.version,
                    "servers": ", ".join(str(s.id) for s in sim.fleet.servers if s.build is b),
                    "reads key": b.flag,
                    "served": view.get(b.flag, False),
                }
            )
        close = getattr(view, "registry", None)
        if close is not None:
            close.close()
        return rows


# --------------------------------------------------------------------------
# 08: deploy verification
# --------------------------------------------------------------------------
def bad_release(flag: str = FLAG) -> Build:
    """A made-up bad release for the exercise: its router sends the flag to Power Peg.

    Not a historical build: it stands for a release whose own code is wrong, which a
    hash check cannot catch (every server has the same wrong build) but a canary can.
    """
    return Build(
        "2012.07-rlp-bad",
        route_pre_rlp,
        (standard, power_peg),
        flag,
        "A made-up bad release: the flag reaches Power Peg (exercise only).",
    )


RELEASES = {
    "the RLP release": lambda: rlp_build(),
    "a bad release (made up): the flag reaches Power Peg": bad_release,
}


@dataclass(slots=True)
class DeployCheck:
    """One automated deploy, checked: what each server reported and what the rollout did.

    Attributes:
        rollout: The rollout (its manifest, status, analysis and problems).
        sim: The simulation it ran on (its fleet after the rollout).
        flag_gate: The flag gate's reason to refuse turning the release's flag on
            (``None``: allowed).
        reported: Server -> the hash it reported right after its copy (``None``: no
            report). Servers the rollout never reached are absent.
    """

    rollout: deploy.Rollout
    sim: Simulation
    flag_gate: str | None
    reported: dict[int, str | None]

    @property
    def status(self) -> str:
        """``succeeded``, ``failed`` or ``paused``."""
        return self.rollout.status

    def fleet_rows(self) -> list[dict[str, object]]:
        """Each server: what it reported during the deploy, and its build after the rollout."""
        m = self.rollout.manifest
        rows = []
        for server in self.sim.fleet.servers:
            if server.id not in self.reported:
                shown, match = "(not reached)", "-"
            else:
                reported = self.reported[server.id]
                shown = reported[:12] if reported else "(no report)"
                match = "yes" if reported == m.sha256 else "NO"
            rows.append(
                {
                    "server": server.id,
                    "reported": shown,
                    "release": m.short_hash,
                    "match": match,
                    "build after the rollout": server.build.version,
                }
            )
        return rows

    def log(self) -> list[str]:
        """The deploy automation's log lines, and the pages it sent."""
        lines = [
            f"{e.action}{f' (server {e.server})' if e.server else ''}: "
            f"{e.detail.removeprefix('before 1 Aug 2012: ')}"
            for e in self.sim.fleet.timeline
            if e.actor == "deploy automation"
        ]
        lines += [f"PAGE {control}: {detail}" for _, control, detail in self.sim.fleet.pages]
        return lines

    def summary(self) -> str:
        """One line: the rollout's end state and the flag gate's answer."""
        gate = (
            f"turning {self.rollout.manifest.flags[0]!r} on is REFUSED: {self.flag_gate}"
            if self.flag_gate
            else f"turning {self.rollout.manifest.flags[0]!r} on is allowed"
        )
        return f"rollout {self.status.upper()}; {gate}"


_CHECKS: dict[tuple[Any, ...], DeployCheck] = {}


def check_deploy(
    scenario: Scenario,
    *,
    missed: Sequence[int] = (),
    unreachable: Sequence[int] = (),
    release: str = "the RLP release",
    canary: int = 1,
) -> DeployCheck:
    """Run the automated deploy of ``smars_sim.fixes.verified_deploy`` on a fresh fleet.

    The copy fails silently on ``missed`` servers (as the hand copy did), and
    ``unreachable`` servers send no hash report. Nothing is replayed after the deploy:
    this is the check alone, cached per arguments.
    """
    key = (repr(scenario), tuple(sorted(missed)), tuple(sorted(unreachable)), release, canary)
    if key in _CHECKS:
        return _CHECKS[key]
    sim = Simulation(scenario.with_(fixes=(), stale_servers=()))
    new = RELEASES[release]()
    sim.set_builds(sim.old_build, new)  # every server back on the stable build
    sim.fleet.timeline.clear()  # forget the hand copy made while setting up
    rollout = deploy.Rollout(sim, canary=canary, copy_faults=missed, unreachable=unreachable)
    reported: dict[int, str | None] = {}
    report = rollout.report

    def recording(server: Any) -> str | None:
        # The first report of each server is the one right after its copy; the later
        # ones come from the rollback's own check.
        value = report(server)
        if rollout.status == "pending":
            reported.setdefault(server.id, value)
        return value

    rollout.report = recording  # type: ignore[method-assign]
    rollout.run()
    check = DeployCheck(rollout, sim, rollout.guard(sim.rlp_flag, True, sim.now), reported)
    _CHECKS[key] = check
    return check


class DeployLab(Panel):
    """Play the careless technician against the automated deploy, and watch the check.

    Toggle the servers on which the copy fails, pick one that sends no hash report, or
    ship a (made-up) bad release. The panel shows each server's reported hash, the
    rollout's log and the flag gate's answer. When the release is the real one and some
    server is missed, it also replays the day with the ``verified-deploy`` fix.
    """

    name = "deploy lab"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        n = self.base.servers
        self.missed_buttons = [
            W.ToggleButton(value=False, description=f"miss {k}", layout=W.Layout(width="72px"))
            for k in range(1, n + 1)
        ]
        for k in self.base.stale_servers:
            self.missed_buttons[k - 1].value = True
        self.unreachable = W.Dropdown(
            options=[("none", 0)] + [(f"server {k}", k) for k in range(1, n + 1)],
            value=0,
            description="No report:",
            layout=W.Layout(width="220px"),
        )
        self.release = W.Dropdown(
            options=list(RELEASES),
            value="the RLP release",
            description="Release:",
            layout=W.Layout(width="460px"),
        )
        self.summary_html = W.HTML()
        self.table = W.HTML()
        self.log_html = W.HTML()
        self.outcome_html = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        for b in self.missed_buttons:
            b.observe(lambda _: self._refresh(), "value")
        self.unreachable.observe(lambda _: self._refresh(), "value")
        self.release.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox(
            [
                W.HTML("<b>Copy fails on</b> (toggle servers):"),
                W.HBox(self.missed_buttons),
                W.HBox([self.unreachable, self.release]),
                self.summary_html,
                self.table,
                self.log_html,
                self.outcome_html,
                self.view.widget,
            ]
        )
        self._refresh()

    # controls
    @property
    def missed(self) -> list[int]:
        """Servers on which the copy fails."""
        return [k for k, b in enumerate(self.missed_buttons, 1) if b.value]

    def set(
        self,
        missed: Sequence[int] | None = None,
        unreachable: int | None = None,
        release: str | None = None,
    ) -> None:
        """Set the controls (as clicking them does)."""
        if missed is not None:
            for k, b in enumerate(self.missed_buttons, 1):
                b.value = k in missed
        if unreachable is not None:
            self.unreachable.value = unreachable
        if release is not None:
            self.release.value = release

    def check(self) -> DeployCheck:
        """The automated deploy for the controls' case."""
        return check_deploy(
            self.base,
            missed=self.missed,
            unreachable=[self.unreachable.value] if self.unreachable.value else [],
            release=self.release.value,
        )

    def replayable(self) -> bool:
        """Whether the day can be replayed with the fix for this case (see the class)."""
        return (
            bool(self.missed)
            and not self.unreachable.value
            and (self.release.value == "the RLP release")
        )

    def result(self) -> Result | None:
        """The day replayed with ``verified-deploy`` and these missed servers, if replayable."""
        if not self.replayable():
            return None
        return run(self.base.with_(stale_servers=tuple(self.missed), fixes=("verified-deploy",)))

    def outcome_text(self) -> str:
        """What the replay says, or why there is none."""
        result = self.result()
        if result is None:
            if self.release.value != "the RLP release":
                analysis = self.check().rollout.analysis
                verdict = analysis.verdict if analysis is not None else "not run"
                return (
                    f"The release itself is bad: canary analysis {verdict}. (No replay: "
                    "the rollout never got past the canary, so the fleet kept the stable build.)"
                )
            if not self.missed and not self.unreachable.value:
                return (
                    "Nothing missed: every server reports the release's hash. (No replay: "
                    "with the whole fleet updated there is no incident to replay; see 02.)"
                )
            return (
                "The check alone: the panel replays the day only for the real release with "
                "missed servers (the fix as installed has no unreachable server)."
            )
        ref = outcome(run(self.base))
        mine = outcome(result)
        return (
            f"Replay with verified-deploy, {_server_list(self.missed)} missed: loss "
            f"{mine['loss']} (as it happened: {ref['loss']}); {mine['executions']:,} executions; "
            f"Power Peg ran {mine['minutes_to_stop']:g} min. First control: "
            f"{mine['first_control']} ({mine['first_control_at']})."
        )

    def _refresh(self) -> None:
        check = self.check()
        colour = C.OKABE_ITO["green"] if check.status == "succeeded" else C.OKABE_ITO["vermillion"]
        self.summary_html.value = f"<b style='color:{colour}'>{_esc(check.summary())}</b>"
        self.table.value = html_table(check.fleet_rows())
        self.log_html.value = (
            "<b>Deploy log</b><pre style='font-size:12px;white-space:pre-wrap'>"
            + _esc("\n".join(check.log()))
            + "</pre>"
        )
        self.outcome_html.value = f"<p>{_esc(self.outcome_text())}</p>"
        result = self.result()
        if result is not None:
            ref = run(self.base)
            self.view.update(
                loss_curves(
                    loss_curves_data({AS_IT_HAPPENED: ref, "with verified-deploy": result}),
                    takeaway=f"With the check: {outcome(result)['loss']} lost.",
                )
            )
        self.view.widget.layout.display = None if result is not None else "none"

    def describe(self) -> str:
        check = self.check()
        rows = check.fleet_rows()
        wrong = [r for r in rows if r["match"] == "NO"]
        unreached = [int(str(r["server"])) for r in rows if r["match"] == "-"]
        lines = [check.summary()]
        lines += [
            f"server {r['server']}: reported {r['reported']}, release {r['release']}" for r in wrong
        ] or ["every server reached reported the release's hash"]
        if unreached:
            lines.append(f"not reached by the rollout: {_server_list(unreached)}")
        lines.append(self.outcome_text())
        return "\n".join(lines)


_CANARY_CANDIDATES = {
    "the RLP release": (lambda: rlp_build(), True),
    "the stale build with the flag on (server 8 on the day)": (lambda: old_build(), True),
    "a bad release (made up): the flag reaches Power Peg": (bad_release, True),
}


class CanaryJudge(Panel):
    """A Kayenta-style canary judge on trading metrics: choose the candidate and the config.

    The baseline is the stable build with the flag off; the candidate runs the first
    minutes after the open with the flag on (see
    :func:`smars_sim.fixes.verified_deploy.canary_samples`). Sliders set each metric's
    allowed increase, a checkbox whether the first metric is critical.
    """

    name = "canary judge"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.candidate = W.Dropdown(
            options=list(_CANARY_CANDIDATES),
            value="the stale build with the flag on (server 8 on the day)",
            description="Candidate:",
            layout=W.Layout(width="560px"),
        )
        self.allowed = {
            m.name: W.SelectionSlider(
                options=[
                    ("+10%", 0.1),
                    ("+50%", 0.5),
                    ("x2", 1.0),
                    ("x10", 9.0),
                    ("x100", 99.0),
                    ("x10,000", 9999.0),
                ],
                value=m.allowed_increase,
                description=m.name.replace("_", " "),
                style={"description_width": "220px"},
                continuous_update=False,
                layout=W.Layout(width="520px"),
            )
            for m in deploy.METRICS
        }
        self.critical = W.Checkbox(
            value=deploy.METRICS[0].critical,
            description=f"{deploy.METRICS[0].name.replace('_', ' ')} is critical",
            indent=False,
        )
        self.verdict_html = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        self.candidate.observe(lambda _: self._refresh(), "value")
        self.critical.observe(lambda _: self._refresh(), "value")
        for s in self.allowed.values():
            s.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox(
            [
                self.candidate,
                *self.allowed.values(),
                self.critical,
                self.verdict_html,
                self.view.widget,
            ]
        )
        self._refresh()

    def set(
        self, candidate: str | None = None, critical: bool | None = None, **allowed: float
    ) -> None:
        """Set the candidate, whether the first metric is critical, and allowed increases
        by metric name; everything not given goes back to the judge's defaults."""
        unknown = set(allowed) - {m.name for m in deploy.METRICS}
        if unknown:
            raise ValueError(f"unknown metric(s) {sorted(unknown)}")
        if candidate is not None:
            self.candidate.value = candidate
        self.critical.value = deploy.METRICS[0].critical if critical is None else critical
        for m in deploy.METRICS:
            self.allowed[m.name].value = allowed.get(m.name, m.allowed_increase)

    def metrics(self) -> list[deploy.MetricSpec]:
        """The judge's configuration from the controls."""
        out = []
        for i, m in enumerate(deploy.METRICS):
            critical = self.critical.value if i == 0 else m.critical
            out.append(replace(m, allowed_increase=self.allowed[m.name].value, critical=critical))
        return out

    def samples(self) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """Baseline and candidate samples (cached by the fix module)."""
        make, _ = _CANARY_CANDIDATES[self.candidate.value]
        stable = old_build()
        base = deploy.canary_samples(self.base, stable, self.base.flag, flags_on=False)
        cand = deploy.canary_samples(self.base, make(), self.base.flag, flags_on=True)
        return base, cand

    def analysis(self) -> deploy.CanaryAnalysis:
        """The verdict for the controls."""
        base, cand = self.samples()
        return deploy.judge(base, cand, self.metrics())

    def rows(self) -> list[dict[str, object]]:
        """One row per metric: baseline and canary means, the test, the classification."""
        return [
            {
                "metric": m.name,
                "baseline mean": f"{m.baseline_mean:,.3g}",
                "canary mean": f"{m.canary_mean:,.3g}",
                "ratio": "n/a" if math.isnan(m.ratio) else f"{m.ratio:,.3g}",
                "p (Mann-Whitney)": f"{m.p_value:.2g}",
                "critical": m.critical,
                "result": m.classification,
            }
            for m in self.analysis().metrics
        ]

    def _chart(self) -> alt.TopLevelMixin:
        a = self.analysis()
        data = pd.DataFrame(
            [
                {
                    "metric": m.name.replace("_", " "),
                    "side": side,
                    "mean": max(value, 1e-3),
                    "result": m.classification,
                }
                for m in a.metrics
                for side, value in (("baseline", m.baseline_mean), ("canary", m.canary_mean))
            ]
        )
        takeaway = f"Verdict {a.verdict} (score {a.score:.0f}): {a.reason}."
        lo, hi = float(data["mean"].min()), float(data["mean"].max())
        scale = alt.Scale(type="log", domain=[lo / 3, hi * 300])  # room for the labels
        x = alt.X(
            "mean:Q",
            scale=scale,
            title="Mean per sample (log scale; each metric in its own unit)",
            axis=alt.Axis(format="~s"),
        )
        y = alt.Y("metric:N", title=None, axis=alt.Axis(labelLimit=240))
        spans = data.pivot_table(index=["metric", "result"], columns="side", values="mean")
        spans = spans.reset_index()
        spans["label"] = spans["result"] + spans["metric"].map(
            lambda m: (
                " (critical)"
                if any(r.critical and r.name.replace("_", " ") == m for r in a.metrics)
                else ""
            )
        )
        spans["right"] = spans[["baseline", "canary"]].max(axis=1)
        rule = (
            alt.Chart(spans)
            .mark_rule(color="#999999", strokeWidth=2)
            .encode(y=y, x=alt.X("baseline:Q", scale=scale), x2="canary:Q")
        )
        dots = (
            alt.Chart(data)
            .mark_point(filled=True, size=140)
            .encode(
                y=y,
                x=x,
                color=alt.Color(
                    "side:N",
                    scale=alt.Scale(
                        domain=["baseline", "canary"],
                        range=[C.OKABE_ITO["blue"], C.OKABE_ITO["orange"]],
                    ),
                    legend=alt.Legend(title=None, orient="bottom"),
                ),
                shape=alt.Shape("side:N", legend=None),
                tooltip=["metric:N", "side:N", alt.Tooltip("mean:Q", format=",.3g"), "result:N"],
            )
        )
        text = (
            alt.Chart(spans)
            .mark_text(align="left", dx=10)
            .encode(y=y, x=alt.X("right:Q", scale=scale), text="label:N")
        )
        return alt.layer(
            rule, dots, text, title=_title("Canary against baseline, per metric", takeaway)
        ).properties(width=380, height=120)

    def _refresh(self) -> None:
        a = self.analysis()
        colour = {
            "PASS": C.OKABE_ITO["green"],
            "MARGINAL": C.OKABE_ITO["orange"],
            "FAIL": C.OKABE_ITO["vermillion"],
        }[a.verdict]
        action = {
            "PASS": "the rollout continues to the rest of the fleet",
            "MARGINAL": "the rollout pauses for a person; unpromoted, it is rolled back",
            "FAIL": "the rollout aborts and every server goes back to the stable build",
        }[a.verdict]
        self.verdict_html.value = (
            f"<b style='color:{colour}'>Verdict {a.verdict}, score {a.score:.0f}: "
            f"{_esc(a.reason)}</b> — {action}." + html_table(self.rows())
        )
        self.view.update(self._chart())

    def describe(self) -> str:
        a = self.analysis()
        lines = [
            f"{r['metric']}: {r['result']} (baseline {r['baseline mean']}, canary "
            f"{r['canary mean']})"
            for r in self.rows()
        ]
        lines.append(f"verdict {a.verdict}, score {a.score:.0f}: {a.reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# 09: kill switch and pre-trade controls
# --------------------------------------------------------------------------
_CONTROL_RULES = {
    "price_collar_pct": ("price collar", "15c3-5(c)(1)(ii); RTS 6 Art. 15", "reject the order"),
    "max_order_shares": ("maximum order size", "15c3-5(c)(1)(ii); RTS 6 Art. 15", "reject"),
    "max_order_usd": ("maximum order value", "15c3-5(c)(1)(ii); RTS 6 Art. 15", "reject"),
    "max_messages_per_s": (
        "message-rate throttle",
        "RTS 6 Art. 15 (maximum message limits)",
        "disable the server until re-enabled",
    ),
    "max_executions_per_parent": (
        "repeated-execution throttle",
        "RTS 6 Art. 15",
        "disable the server until re-enabled",
    ),
    "capital_threshold_usd": (
        "capital threshold (orders sent)",
        "15c3-5(c)(1)(i)",
        "warn, then the kill switch",
    ),
    "reconcile": (
        "orders out vs orders in",
        "SEC order ¶21 (the control Knight lacked)",
        "kill switch",
    ),
}


def controls_table(limits: RiskLimits | None = None) -> list[dict[str, object]]:
    """The risk gate's controls: the rule each follows, what it does, the kit's default."""
    limits = limits or RiskLimits()
    rows: list[dict[str, object]] = []
    for f in fields(RiskLimits):
        if f.name not in _CONTROL_RULES:
            continue
        name, rule, action = _CONTROL_RULES[f.name]
        value = getattr(limits, f.name)
        if isinstance(value, bool):
            shown = "on" if value else "off"
        elif value is None:
            shown = "off"
        elif f.name.endswith("_usd"):
            shown = C.usd(value)
        elif f.name.endswith("_pct"):
            shown = f"{value:g}%"
        elif f.name.endswith("_per_s"):
            shown = f"{value:,g}/s per server"
        elif f.name.endswith("_shares"):
            shown = f"{value:,g} shares"
        elif f.name == "max_executions_per_parent":
            shown = f"{value:,g} executions per parent order"
        else:
            shown = f"{value:,g}"
        rows.append({"control": name, "rule": rule, "on breach": action, "kit default": shown})
    rows.append(
        {
            "control": "kill switch",
            "rule": "RTS 6 Art. 12; FIA guide §1.11",
            "on breach": "block new orders on every server, cancel working ones",
            "kit default": "a button",
        }
    )
    return rows


class KillDrill(Panel):
    """The fleet-wide kill switch on a live replay: advance the clock, then press it.

    It is the kill switch of ``smars_sim.fixes.kill_switch`` (a :class:`RiskGate` with
    no automated limit), driven by the incident console's model.
    """

    name = "kill-switch drill"

    def __init__(self, scenario: Scenario | None = None) -> None:
        # You are the operator: the rollback and stops of the day are left out.
        self.scenario = scenario or base_scenario(rollback_at=None, stop_all_at=None)
        self.clock = W.HTML()
        self.advance_buttons = [
            W.Button(description=f"+{m} min", icon="forward", layout=W.Layout(width="90px"))
            for m in (1, 5)
        ]
        self.kill_button = W.Button(
            description="KILL SWITCH",
            button_style="danger",
            tooltip="Block new child orders on every server at once and cancel working ones",
            layout=W.Layout(width="160px", height="40px"),
        ).add_class("smars-kill-switch")
        self.reset_button = W.Button(description="Start over", icon="undo")
        self.log = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        for minutes, button in zip((1, 5), self.advance_buttons, strict=True):
            button.on_click(lambda _, m=minutes: self.advance(m))
        self.kill_button.on_click(lambda _: self.kill())
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = W.VBox(
            [
                self.clock,
                W.HBox([*self.advance_buttons, self.kill_button, self.reset_button]),
                self.log,
                self.view.widget,
            ]
        )
        self.reset()

    def reset(self) -> None:
        """Back to 09:30 with nothing pressed."""
        self.model = ConsoleModel(self.scenario, start_at="09:30")
        self._refresh()

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes."""
        m = self.model
        m.sim.advance_to(min(m.sim.end, m.sim.now + int(minutes * 60 * SECOND_NS)))
        self._refresh()

    def kill(self) -> None:
        """Press the kill switch now."""
        if self.model.gate is not None and self.model.gate.killed_at is None:
            self.model.kill_switch()
        self._refresh()

    def killed_at(self) -> int | None:
        """When the kill switch was engaged (``None``: not yet)."""
        gate = self.model.gate
        return gate.killed_at if gate is not None else None

    def status_text(self) -> str:
        """The clock, the loss so far, and the kill switch's state."""
        m = self.model
        running = sum(1 for s in m.sim.fleet.servers if s.running)
        killed = self.killed_at()
        state = (
            f"kill switch engaged at {format_time(killed)}"
            if killed is not None
            else "kill switch not pressed"
        )
        return (
            f"{m.clock}: loss so far {C.usd(-m.closeout_pnl_usd())} (at the evening basket "
            f"price); {running} of {len(m.sim.fleet.servers)} servers sending; {state}."
        )

    def log_lines(self) -> list[str]:
        """What the kill switch did, from the timeline."""
        lines = []
        for e in self.model.sim.fleet.timeline:
            if e.action.startswith("kill switch engaged"):
                lines.append(f"{format_time(e.time)} {e.actor}: {e.action}: {e.detail}")
        return lines

    def _refresh(self) -> None:
        m = self.model
        self.clock.value = f"<b>{_esc(self.status_text())}</b>"
        self.log.value = "<br>".join(_esc(x) for x in self.log_lines())
        self.kill_button.disabled = self.killed_at() is not None or m.done
        result = m.sim.result()
        killed = self.killed_at()
        takeaway = (
            f"Up to {m.clock[:5]}; the kill switch stopped every server at {format_time(killed)}."
            if killed is not None
            else f"Up to {m.clock[:5]}."
        )
        rates = C.order_rate_data(result, bin_s=30, end=max(m.sim.now, OPEN_NS + 60 * SECOND_NS))
        self.view.update(
            C.order_rate(
                rates,
                takeaway=takeaway,
                width=460,
                height=150,
                scale=C.day_domain("09:30", "10:16"),
            )
        )

    def describe(self) -> str:
        return "\n".join([self.status_text(), *self.log_lines()])


_SWEEP_MINUTES = (1, 2, 5, 10, 15, 20, 30, 45)
_CAPITAL_M = (
    ("off", 0.0),
    ("$5M", 5e6),
    ("$25M", 25e6),
    ("$100M", 100e6),
    ("$500M", 500e6),
    ("$2B", 2e9),
)
_EXECUTIONS = (("off", 0), ("5", 5), ("100", 100), ("1,000", 1000), ("10,000", 10000))
_MESSAGES = (("off", 0.0), ("10/s", 10.0), ("50/s", 50.0), ("500/s", 500.0))


def kill_time_scenario(base: Scenario, minutes: float) -> Scenario:
    """The day with only a kill switch, pressed ``minutes`` after the open."""
    return base.with_(kill_at=OPEN_NS + int(minutes * 60 * SECOND_NS))


class KillSwitchLab(Panel):
    """Limits and detection delay against the loss: a chart of loss against time-to-kill.

    The curve: the day replayed with only a kill switch, pressed a number of minutes
    after the open (one replay per point). The sliders: (1) when a person presses it
    (the detection delay), (2) the risk gate's automated limits, replayed with the
    ``kill-switch`` fix and only the limits you switch on.
    """

    name = "kill-switch lab"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.delay = W.SelectionSlider(
            options=[(f"{m} min", m) for m in _SWEEP_MINUTES],
            value=10,
            description="Detected after:",
            continuous_update=False,
            style={"description_width": "150px"},
            layout=W.Layout(width="520px"),
        )
        style = {"description_width": "150px"}
        self.capital = W.SelectionSlider(
            options=list(_CAPITAL_M),
            value=0,
            description="Capital threshold:",
            continuous_update=False,
            style=style,
            layout=W.Layout(width="520px"),
        )
        self.executions = W.SelectionSlider(
            options=list(_EXECUTIONS),
            value=0,
            description="Executions/parent:",
            continuous_update=False,
            style=style,
            layout=W.Layout(width="520px"),
        )
        self.messages = W.SelectionSlider(
            options=list(_MESSAGES),
            value=0,
            description="Messages/server:",
            continuous_update=False,
            style=style,
            layout=W.Layout(width="520px"),
        )
        self.reconcile = W.Checkbox(
            value=False, description="orders out vs orders in", indent=False
        )
        self.text = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        self.timeline = W.HTML()
        for w in (self.delay, self.capital, self.executions, self.messages, self.reconcile):
            w.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox(
            [
                W.HTML("<b>A person presses the kill switch</b>"),
                self.delay,
                W.HTML("<b>Automated pre-trade limits</b> (replayed with the risk gate)"),
                self.capital,
                self.executions,
                self.messages,
                self.reconcile,
                self.text,
                self.view.widget,
                self.timeline,
            ]
        )
        self._refresh()

    # controls
    DEFAULTS: dict[str, Any] = {  # noqa: RUF012
        "delay": 10,
        "capital": 0.0,
        "executions": 0,
        "messages": 0.0,
        "reconcile": False,
    }

    def set(self, **values: Any) -> None:
        """Set controls by name (delay, capital, executions, messages, reconcile); the
        others go back to their defaults (no automated limit, detected after 10 min)."""
        unknown = set(values) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; use {list(self.DEFAULTS)}")
        for name, default in self.DEFAULTS.items():
            getattr(self, name).value = values.get(name, default)

    def limits(self) -> RiskLimits | None:
        """The automated limits switched on (``None``: none is)."""
        limits = replace(
            RiskLimits.manual_only(),
            capital_threshold_usd=self.capital.value or None,
            max_executions_per_parent=self.executions.value or None,
            max_messages_per_s=self.messages.value or None,
            reconcile=self.reconcile.value,
        )
        if limits == RiskLimits.manual_only():
            return None
        return limits

    # replays
    def sweep(self) -> pd.DataFrame:
        """Loss and minutes to stop for a kill switch pressed at each delay on the slider."""
        rows = []
        for m in _SWEEP_MINUTES:
            r = run(kill_time_scenario(self.base, m))
            rows.append(
                {
                    "delay_min": m,
                    "minutes_to_stop": minutes_to_stop(r),
                    "loss_usd": r.summary.loss_usd,
                    "what": "kill switch pressed by a person",
                }
            )
        return pd.DataFrame(rows)

    def manual(self) -> Result:
        """The day with the kill switch pressed after the chosen delay."""
        return run(kill_time_scenario(self.base, self.delay.value))

    def automated(self) -> Result | None:
        """The day with the chosen automated limits (``None`` if none is on)."""
        limits = self.limits()
        if limits is None:
            return None
        return run(self.base.with_(fixes=("kill-switch",), fix_params={"kill-switch": limits}))

    def points(self) -> pd.DataFrame:
        """The highlighted points: as it happened, your kill, your limits."""
        rows = []
        ref = run(self.base)
        rows.append(
            {
                "what": AS_IT_HAPPENED,
                "minutes_to_stop": minutes_to_stop(ref),
                "loss_usd": ref.summary.loss_usd,
            }
        )
        mine = self.manual()
        rows.append(
            {
                "what": f"your kill after {self.delay.value} min",
                "minutes_to_stop": minutes_to_stop(mine),
                "loss_usd": mine.summary.loss_usd,
            }
        )
        auto = self.automated()
        if auto is not None:
            rows.append(
                {
                    "what": "your automated limits",
                    "minutes_to_stop": minutes_to_stop(auto),
                    "loss_usd": auto.summary.loss_usd,
                }
            )
        return pd.DataFrame(rows)

    def summary_text(self) -> str:
        """What the chosen settings cost, computed from the replays."""
        p = self.points().set_index("what")
        mine = p.iloc[1]
        text = (
            f"Kill switch pressed after {self.delay.value} min: the last bad order went out "
            f"{mine['minutes_to_stop']:g} min after the open; loss {C.usd(mine['loss_usd'])}."
        )
        auto = self.automated()
        if auto is None:
            text += " Automated limits: all off."
        else:
            out = outcome(auto)
            text += (
                f" Automated limits: loss {out['loss']}, last bad order "
                f"{out['minutes_to_stop']:g} min after the open; first control: "
                f"{out['first_control']} at {out['first_control_at']}."
            )
        return text

    def _chart(self) -> alt.TopLevelMixin:
        sweep = self.sweep()
        points = self.points()
        floor = 1e3
        sweep["loss_plot"] = sweep["loss_usd"].clip(lower=floor)
        points["loss_plot"] = points["loss_usd"].clip(lower=floor)
        first, last = sweep.iloc[0], sweep.iloc[-1]
        takeaway = (
            f"Pressed after {first['delay_min']} min: {C.usd(first['loss_usd'])}; after "
            f"{last['delay_min']} min: {C.usd(last['loss_usd'])}."
        )
        y = alt.Y(
            "loss_plot:Q",
            scale=alt.Scale(type="log"),
            title="Loss (log scale; below $1k drawn at $1k)",
            axis=alt.Axis(labelExpr=_usd_axis_expr()),
        )
        x = alt.X(
            "minutes_to_stop:Q",
            title="Minutes from the open to the last bad order",
            scale=alt.Scale(domain=[0, 46]),
        )
        line = (
            alt.Chart(sweep)
            .mark_line(point=True, color=C.OKABE_ITO["sky_blue"])
            .encode(x=x, y=y, tooltip=["delay_min:Q", alt.Tooltip("loss_usd:Q", format="$,.0f")])
        )
        names = list(points["what"])
        dots = (
            alt.Chart(points)
            .mark_point(size=140, filled=True)
            .encode(
                x=x,
                y=y,
                color=alt.Color(
                    "what:N",
                    scale=alt.Scale(
                        domain=names,
                        range=[
                            C.OKABE_ITO["vermillion"],
                            C.OKABE_ITO["blue"],
                            C.OKABE_ITO["green"],
                        ][: len(names)],
                    ),
                    legend=alt.Legend(title=None, orient="bottom", direction="vertical"),
                ),
                shape=alt.Shape("what:N", legend=None),
                tooltip=["what:N", "minutes_to_stop:Q", alt.Tooltip("loss_usd:Q", format="$,.0f")],
            )
        )
        return alt.layer(
            line, dots, title=_title("Loss against time-to-kill", takeaway)
        ).properties(width=460, height=220)

    def _refresh(self) -> None:
        self.text.value = f"<p>{_esc(self.summary_text())}</p>"
        self.view.update(self._chart())
        auto = self.automated()
        if auto is None:
            self.timeline.value = ""
        else:
            rows: list[dict[str, object]] = [
                {"time": _when(t), "control": c, "detail": d[:160]}
                for t, c, d in control_events(auto)[:8]
            ]
            self.timeline.value = "<b>Controls that acted (automated limits)</b>" + html_table(rows)

    def describe(self) -> str:
        lines = [self.summary_text()]
        auto = self.automated()
        if auto is not None:
            lines += [f"{_when(t)} {c}" for t, c, _ in control_events(auto)[:5]]
        return "\n".join(lines)


def reconciliation_data(result: Result) -> pd.DataFrame:
    """Shares executed for the parents Power Peg worked, against the shares they asked for.

    Returns:
        One row per execution of those parents, in time order: ``time``, ``s``,
        ``shares_out`` (cumulative executed), ``shares_in`` (the sum of their
        quantities), ``parents_over`` (how many were over-executed so far).
    """
    parents = {p.id: p for p in result.parents if p.ran_power_peg}
    shares_in = sum(p.qty for p in parents.values())
    ex = result.executions
    ex = ex[ex["parent_id"].isin(list(parents))].sort_values("time_ns", kind="stable")
    cum = ex["qty"].cumsum()
    per_parent = ex.groupby("parent_id")["qty"].cumsum()
    qty = ex["parent_id"].map(lambda pid: parents[pid].qty)
    first_over = (per_parent > qty) & ~(
        (per_parent - ex["qty"]) > qty
    )  # the execution that first takes a parent over
    return pd.DataFrame(
        {
            "time": C.clock(ex["time_ns"].to_numpy()),
            "time_ns": ex["time_ns"].to_numpy(),
            "s": ((ex["time_ns"] - OPEN_NS) // SECOND_NS).to_numpy(),
            "shares_out": cum.to_numpy(),
            "shares_in": shares_in,
            "parents_over": first_over.cumsum().to_numpy(),
        }
    )


def reconciliation_view(result: Result) -> ChartView:
    """Orders out against orders in, over the morning (log scale)."""
    data = reconciliation_data(result)
    if data.empty:
        return ChartView(alt.Chart(data).mark_line().properties(title="No Power Peg executions."))
    shares_in = int(data["shares_in"].iloc[0])
    over = data[data["shares_out"] > shares_in]
    first = int(over["time_ns"].iloc[0]) if len(over) else None
    first_parent = data[data["parents_over"] > 0]
    first_p = int(first_parent["time_ns"].iloc[0]) if len(first_parent) else None
    ratio = data["shares_out"].iloc[-1] / shares_in
    if first_p is None:
        takeaway = "No parent order got more shares than it asked for."
    else:
        takeaway = f"The first parent order was over-executed at {format_time(first_p, ms=True)}"
        if first is not None and first != first_p:
            takeaway += (
                f"; all of them together got more than they asked for at "
                f"{format_time(first, ms=True)}"
            )
        takeaway += f". By the end: {ratio:,.0f}x the shares asked for."
    # one point per second is plenty for the line
    thin = data.groupby("s", as_index=False).last()
    line = (
        alt.Chart(thin)
        .mark_line(color=C.OKABE_ITO["vermillion"])
        .encode(
            x=alt.X(
                "time:T",
                title="Time (ET, 1 Aug 2012)",
                axis=alt.Axis(format="%H:%M"),
                scale=C.day_domain("09:30", "10:16"),
            ),
            y=alt.Y(
                "shares_out:Q",
                scale=alt.Scale(type="log"),
                title="Shares (log scale)",
                axis=alt.Axis(format="~s"),
            ),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S"),
                alt.Tooltip("shares_out:Q", format=",", title="shares executed"),
            ],
        )
    )
    rule = (
        alt.Chart(
            pd.DataFrame({"shares_in": [shares_in], "what": ["shares the parents asked for"]})
        )
        .mark_rule(color=C.OKABE_ITO["blue"], strokeDash=[4, 3])
        .encode(y="shares_in:Q", tooltip=["what:N", alt.Tooltip("shares_in:Q", format=",")])
    )
    label = (
        alt.Chart(pd.DataFrame({"shares_in": [shares_in], "text": ["orders in: shares asked for"]}))
        .mark_text(align="right", baseline="top", dy=4, color=C.OKABE_ITO["blue"])
        .encode(y="shares_in:Q", x=alt.value(455), text="text:N")
    )
    out_label = (
        alt.Chart(thin.tail(1).assign(text="orders out: shares executed"))
        .mark_text(align="right", baseline="top", dy=6, color=C.OKABE_ITO["vermillion"])
        .encode(y="shares_out:Q", x=alt.value(455), text="text:N")
    )
    chart = alt.layer(
        rule,
        line,
        label,
        out_label,
        title=_title("Orders out against orders in (the parents Power Peg worked)", takeaway),
    ).properties(width=460, height=200)
    return ChartView(chart)


# ---------------------------------------------------------------- the exchange's view
class ExchangeKillSwitch:
    """The exchange's own kill switch for one member firm: a net-notional limit.

    A teaching contrast, not one of the four fixes. It follows Nasdaq's kill switch
    (industry-practice §4): a net (or gross) notional limit per member, warnings at
    50/75/85/90/95% of it, and once it is hit every new order from the member is
    refused at the exchange's door, whichever of the firm's servers sends it and
    whatever build it runs. Nothing in the firm's software can switch it off.

    It is installed as ``fleet.gate`` (wrapping any gate already there): in the kit
    the exchange's door and the firm's gate sit at the same point of the order path.

    Args:
        sim: The simulation.
        limit_usd: The notional limit.
        measure: ``"net"`` (buys minus sells, as Nasdaq's) or ``"gross"``.
    """

    WARN_AT = (50.0, 75.0, 85.0, 90.0, 95.0)
    ACTOR = "exchange kill switch"

    def __init__(self, sim: Simulation, limit_usd: float, measure: str = "net") -> None:
        if measure not in ("net", "gross"):
            raise ValueError(f"measure {measure!r}: use 'net' or 'gross'")
        if not limit_usd > 0:
            raise ValueError(f"limit {limit_usd!r} must be positive")
        self.sim = sim
        self.fleet = sim.fleet
        self.limit_usd = float(limit_usd)
        self.measure = measure
        self.inner = sim.fleet.gate
        self.net_usd = 0.0
        self.gross_usd = 0.0
        self.tripped_at: int | None = None
        self.refused = 0
        self._warned: set[float] = set()
        sim.fleet.gate = self

    def value(self) -> float:
        """The measured notional now, in dollars."""
        return abs(self.net_usd) if self.measure == "net" else self.gross_usd

    def allow(self, server: Any, parent: Any, price: int | None, qty: int, now: int) -> bool:
        """Refuse every order once the limit has been hit."""
        if self.inner is not None and not self.inner.allow(server, parent, price, qty, now):
            return False
        if self.tripped_at is not None:
            self.refused += 1
            return False
        return True

    def record(
        self, server: Any, parent: Any, qty: int, filled: int, notional: int, now: int
    ) -> None:
        """Count the executed notional; warn, then trip at the limit."""
        if self.inner is not None:
            self.inner.record(server, parent, qty, filled, notional, now)
        if not filled or self.tripped_at is not None:
            return
        usd = notional / 100
        self.net_usd += parent.side * usd
        self.gross_usd += usd
        value = self.value()
        for pct in self.WARN_AT:
            if pct not in self._warned and value >= self.limit_usd * pct / 100:
                self._warned.add(pct)
                self.fleet.pages.append(
                    (
                        now,
                        self.ACTOR,
                        f"warning: {self.measure} notional at {pct:g}% of {C.usd(self.limit_usd)}",
                    )
                )
        if value >= self.limit_usd:
            self.tripped_at = now
            for s in self.fleet.servers:
                self.fleet.exchange_rlp_cancel(s)  # resting orders cancelled at the exchange
            detail = (
                f"{self.measure} notional {C.usd(value)} hit the {C.usd(self.limit_usd)} limit: "
                "every new order from the firm refused, resting orders cancelled; "
                "re-enabling needs a call to the exchange"
            )
            self.fleet.note(now, self.ACTOR, "limit hit: firm blocked", 0, detail)
            self.fleet.pages.append((now, self.ACTOR, detail))


def press_in_binary_kill(sim: Simulation, at: str | int) -> None:
    """A kill command that only the builds containing its handler obey (a contrast).

    Suppose the kill switch were a feature of the 2012 release: a command each server's
    own code reads and obeys. At ``at`` every running server whose build is the release
    stops; a server running any other build (the one the technician missed, or any
    server after the rollback) has no handler and carries on.
    """
    when = parse_time(at)

    def press(now: int) -> None:
        release = sim.new_build.sha256
        obeyed = [s for s in sim.fleet.servers if s.running and s.build.sha256 == release]
        ignored = [s for s in sim.fleet.servers if s.running and s.build.sha256 != release]
        for s in obeyed:
            s.stop(now)
        builds = sorted({s.build.version for s in ignored})
        one = len(ignored) == 1
        detail = f"{_server_list([s.id for s in obeyed])} obeyed and stopped" + (
            f"; {_server_list([s.id for s in ignored])} {'runs' if one else 'run'} "
            f"{', '.join(builds)}, which has no kill handler: "
            f"{'it carries' if one else 'they carry'} on"
            if ignored
            else ""
        )
        sim.fleet.note(now, "in-binary kill", "kill command sent", 0, detail)

    sim.call_at(when, press)


_CONTRASTS: dict[tuple[Any, ...], Result] = {}


def contrast_replay(
    base: Scenario,
    kind: str,
    *,
    at: str | int = "09:40",
    limit_usd: float = 25e6,
    measure: str = "net",
) -> Result:
    """The day with one kind of kill switch: ``in-binary``, ``firm`` or ``exchange``.

    * ``in-binary``: :func:`press_in_binary_kill` at ``at``;
    * ``firm``: the fleet-wide kill switch of the ``kill-switch`` fix, pressed at ``at``
      (out of process: it does not depend on any server's build);
    * ``exchange``: :class:`ExchangeKillSwitch` with ``limit_usd`` (nobody presses it).
    """
    at_ns = parse_time(at)
    if kind == "exchange":
        key: tuple[Any, ...] = (repr(base), kind, limit_usd, measure)
    else:
        key = (repr(base), kind, at_ns)
    if key in _CONTRASTS:
        return _CONTRASTS[key]
    if kind == "firm":
        result = run(base.with_(kill_at=at_ns))
    elif kind in ("in-binary", "exchange"):
        sim = Simulation(base)
        if kind == "in-binary":
            press_in_binary_kill(sim, at_ns)
        else:
            ExchangeKillSwitch(sim, limit_usd, measure)
        result = sim.run()
    else:
        raise ValueError(f"kind {kind!r}: use 'in-binary', 'firm' or 'exchange'")
    _CONTRASTS[key] = result
    return result


class ExchangeView(Panel):
    """Three kill switches compared: inside the binary, the firm's out-of-process one, the
    exchange's. Choose when the firm presses its switch and the exchange's limit."""

    name = "exchange view"

    KINDS = (
        ("in-binary", "kill command inside the release"),
        ("firm", "firm's out-of-process kill switch"),
        ("exchange", "exchange's notional limit"),
    )

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.at = W.SelectionSlider(
            options=["09:35", "09:40", "09:50"],
            value="09:40",
            description="Pressed at:",
            continuous_update=False,
            layout=W.Layout(width="360px"),
        )
        self.limit = W.Dropdown(
            options=[
                ("net $25M", (25e6, "net")),
                ("net $100M", (100e6, "net")),
                ("gross $250M", (250e6, "gross")),
            ],
            value=(25e6, "net"),
            description="Exchange limit:",
            style={"description_width": "110px"},
            layout=W.Layout(width="280px"),
        )
        self.table = W.HTML()
        self.view = ChartView(alt.Chart(pd.DataFrame({"x": []})).mark_point())
        self.notes = W.HTML()
        self.at.observe(lambda _: self._refresh(), "value")
        self.limit.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox(
            [W.HBox([self.at, self.limit]), self.table, self.view.widget, self.notes]
        )
        # Every press time is replayed now, so moving the slider answers at once.
        for when in self.at.options:
            for kind in ("in-binary", "firm"):
                contrast_replay(self.base, kind, at=when)
        self._refresh()

    def results(self) -> dict[str, Result]:
        """One replay per kind of kill switch."""
        limit, measure = self.limit.value
        return {
            label: contrast_replay(
                self.base, kind, at=self.at.value, limit_usd=limit, measure=measure
            )
            for kind, label in self.KINDS
        }

    def rows(self) -> list[dict[str, object]]:
        """Loss, minutes to stop, and who kept sending, per kind."""
        rows = []
        for label, r in self.results().items():
            out = outcome(r)
            rows.append(
                {
                    "kill switch": label,
                    "loss": out["loss"],
                    "loss_usd_m": round(out["loss_usd"] / 1e6, 3),
                    "minutes_to_stop": out["minutes_to_stop"],
                    "Power Peg ran on": _server_list(_servers_sending(r)),
                    "what the timeline says": next(
                        (f"{_when(t)} {c}: {d}" for t, c, d in control_events(r)), "nothing"
                    ),
                }
            )
        return rows

    def _chart(self) -> alt.Chart:
        data = pd.DataFrame(self.rows())
        worst = data.loc[data["loss_usd_m"].idxmax()]
        best = data.loc[data["loss_usd_m"].idxmin()]
        takeaway = (
            f"{best['kill switch']}: {best['loss']}; {worst['kill switch']}: {worst['loss']}."
        )
        return (
            alt.Chart(data, title=_title("Loss under each kind of kill switch", takeaway))
            .mark_bar()
            .encode(
                y=alt.Y(
                    "kill switch:N",
                    sort=list(data["kill switch"]),
                    title=None,
                    axis=alt.Axis(labelLimit=260),
                ),
                x=alt.X(
                    "loss_usd_m:Q",
                    title="Loss ($M)",
                    axis=alt.Axis(labelExpr="'$' + format(datum.value, ',.0f') + 'M'"),
                ),
                color=alt.value(C.OKABE_ITO["blue"]),
                tooltip=["kill switch:N", "loss:N", "minutes_to_stop:Q"],
            )
            .properties(width=320, height=90)
        )

    def _refresh(self) -> None:
        rows = self.rows()
        self.table.value = html_table(
            rows, ["kill switch", "loss", "minutes_to_stop", "Power Peg ran on"]
        )
        self.view.update(self._chart())
        self.notes.value = "<br>".join(
            _esc(f"{r['kill switch']}: {r['what the timeline says']}"[:240]) for r in rows
        )

    def describe(self) -> str:
        return text_table(
            self.rows(), ["kill switch", "loss", "minutes_to_stop", "Power Peg ran on"]
        )


# --------------------------------------------------------------------------
# 10: what if, and the swiss cheese
# --------------------------------------------------------------------------
_WHAT_IF: dict[str, pd.DataFrame] = {}


def what_if_table(scenario: Scenario | None = None) -> pd.DataFrame:
    """All 16 combinations of the four fixes (:func:`smars_sim.analysis.whatif.what_if`), cached."""
    from ..analysis.whatif import what_if

    scenario = scenario or base_scenario()
    key = repr(scenario)
    if key not in _WHAT_IF:
        _WHAT_IF[key] = what_if(scenario)
    return _WHAT_IF[key].copy()


_LAYER_LABELS = {
    "dead-code": "code: dead code deleted",
    "flag-registry": "flags: single-use keys",
    "verified-deploy": "deploy: hash check and canary",
    "kill-switch": "risk: pre-trade gate and kill switch",
}


_SHORT_LAYER = {
    "dead-code": "code",
    "flag-registry": "flags",
    "verified-deploy": "deploy",
    "kill-switch": "risk",
}


def fix_heatmap(table: pd.DataFrame) -> alt.TopLevelMixin:
    """The 16 combinations as a 4x4 grid: code and flag fixes by deploy and risk fixes."""
    t = table.copy()

    def pair(row: pd.Series, a: str, b: str) -> str:
        on = [name for name in (a, b) if row[name]]
        return " + ".join(on) if on else "neither"

    t["code and flags"] = t.apply(lambda r: pair(r, "dead-code", "flag-registry"), axis=1)
    t["deploy and risk"] = t.apply(lambda r: pair(r, "verified-deploy", "kill-switch"), axis=1)
    t["loss"] = t["loss_usd"].map(C.usd)
    t["loss_plot"] = t["loss_usd"].clip(lower=1.0)
    rows = ["neither", "dead-code", "flag-registry", "dead-code + flag-registry"]
    cols = ["neither", "verified-deploy", "kill-switch", "verified-deploy + kill-switch"]
    none = t.loc[t["fixes"] == "none", "loss_usd"].iloc[0]
    worst_fixed = t.loc[t["fixes"] != "none", "loss_usd"].max()
    takeaway = f"No fix: {C.usd(none)}. Any fix, or any mix: at most {C.usd(worst_fixed)}."
    base = alt.Chart(t)
    rect = base.mark_rect(stroke="white").encode(
        x=alt.X(
            "deploy and risk:N",
            sort=cols,
            title="Deploy and risk fixes",
            axis=alt.Axis(labelAngle=-20, labelLimit=220),
        ),
        y=alt.Y(
            "code and flags:N",
            sort=rows,
            title="Code and flag fixes",
            axis=alt.Axis(labelLimit=220),
        ),
        color=alt.Color(
            "loss_plot:Q",
            scale=alt.Scale(type="log", scheme="orangered"),
            legend=alt.Legend(title="Loss", labelExpr=_usd_axis_expr(), format="~s"),
        ),
        tooltip=["fixes:N", "loss:N", "stopped_by:N", "first_action_at:N"],
    )
    text = base.mark_text(fontSize=12).encode(
        x=alt.X("deploy and risk:N", sort=cols),
        y=alt.Y("code and flags:N", sort=rows),
        text="loss:N",
        color=alt.condition(alt.datum.loss_plot > 1e8, alt.value("white"), alt.value("black")),
    )
    return alt.layer(
        rect, text, title=_title("Loss for every combination of the four fixes", takeaway)
    ).properties(width=440, height=200)


def _first_at(row: pd.Series) -> str:
    """When the first control acted ("before 1 Aug" for the deploy and the codebase)."""
    value = row["first_action_at"]
    if not isinstance(value, str) or not value:
        return ""
    return "before 1 Aug" if value == "00:00:00" else value


def what_if_rows(table: pd.DataFrame) -> list[dict[str, object]]:
    """The what-if table as readable rows: fixes, loss, share of unfixed, minutes, control."""
    return [
        {
            "fixes": row["fixes"],
            "loss": C.usd(row["loss_usd"]),
            "% of unfixed": f"{row['loss_pct_of_unfixed']:.3g}%",
            "executions": f"{row['executions']:,}",
            "minutes": row["power_peg_minutes"],
            "first control": row["stopped_by"],
            "at": _first_at(row),
        }
        for _, row in table.iterrows()
    ]


def single_layer_rows(table: pd.DataFrame) -> list[dict[str, object]]:
    """Which layer would have stopped it alone: the four one-fix rows, and none."""
    rows = []
    for fix in ("none", *AVAILABLE):
        row = table.loc[table["fixes"] == fix].iloc[0]
        rows.append(
            {
                "layer": _LAYER_LABELS.get(fix, "no fix (as it happened)"),
                "fix": fix,
                "loss": C.usd(row["loss_usd"]),
                "% of unfixed": f"{row['loss_pct_of_unfixed']:.3g}%",
                "minutes to stop": row["power_peg_minutes"],
                "stopped by": row["stopped_by"],
                "at": _first_at(row),
            }
        )
    return rows


class SwissCheese(Panel):
    """The swiss-cheese view: close a layer's hole and see where the incident stops.

    Each fix is a layer. In 2012 every layer had a hole, and the trajectory passed
    through all four. Toggle the layers in place: the chart shows the first closed
    layer stopping the trajectory, and the loss and first control come from the
    what-if table (16 full replays).
    """

    name = "swiss cheese"

    def __init__(self, table: pd.DataFrame | None = None) -> None:
        self.table_data = table if table is not None else what_if_table()
        self.toggles = {
            fix: W.ToggleButton(
                value=False, description=_LAYER_LABELS[fix], layout=W.Layout(width="auto")
            )
            for fix in AVAILABLE
        }
        self.text = W.HTML()
        self.view = ChartView(self._chart())
        for t in self.toggles.values():
            t.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox([W.HBox(list(self.toggles.values())), self.text, self.view.widget])
        self._refresh()

    def set(self, *fixes: str) -> None:
        """Put exactly these fixes in place."""
        for name, t in self.toggles.items():
            t.value = name in fixes

    @property
    def fixes(self) -> tuple[str, ...]:
        """The fixes in place, in installation order."""
        return tuple(f for f in AVAILABLE if self.toggles[f].value)

    def row(self) -> pd.Series:
        """The what-if row of the fixes in place."""
        name = " + ".join(self.fixes) or "none"
        return self.table_data.loc[self.table_data["fixes"] == name].iloc[0]

    def summary_text(self) -> str:
        """Where the trajectory stops, and what it cost."""
        r = self.row()
        if not self.fixes:
            return (
                f"Every layer has its hole: the incident passes through all four. Loss "
                f"{C.usd(r['loss_usd'])}; Power Peg ran {r['power_peg_minutes']:g} min."
            )
        return (
            f"Stopped at the first closed layer. Loss {C.usd(r['loss_usd'])} "
            f"({r['loss_pct_of_unfixed']:.3g}% of unfixed). First control: {r['stopped_by']}"
            + (
                f" ({_first_at(r)})."
                if _first_at(r) == "before 1 Aug"
                else (f" at {_first_at(r)}." if _first_at(r) else ".")
            )
        )

    def _chart(self) -> alt.TopLevelMixin:
        fixes = getattr(self, "toggles", None)
        closed = [f for f in AVAILABLE if fixes is not None and fixes[f].value]
        layers = pd.DataFrame(
            [
                {
                    "x": i + 1,
                    "layer": _LAYER_LABELS[f],
                    "state": "hole closed" if f in closed else "hole open",
                }
                for i, f in enumerate(AVAILABLE)
            ]
        )
        stop_x = next((i + 1 for i, f in enumerate(AVAILABLE) if f in closed), None)
        end = (stop_x - 0.15) if stop_x is not None else 5.2
        arrow = pd.DataFrame({"x": [0.0, end], "y": [0.5, 0.5]})
        slabs_top = (
            alt.Chart(layers)
            .mark_bar(width=16)
            .encode(
                x=alt.X(
                    "x:Q",
                    title=None,
                    scale=alt.Scale(domain=[0, 5.4]),
                    axis=alt.Axis(
                        values=[1, 2, 3, 4],
                        ticks=False,
                        grid=False,
                        labelExpr=f"{[''] + [_SHORT_LAYER[f] for f in AVAILABLE]}[datum.value]",
                        labelFontSize=12,
                    ),
                ),
                y=alt.Y("y0:Q", title=None, scale=alt.Scale(domain=[0, 1]), axis=None),
                y2="y1:Q",
                color=alt.Color(
                    "state:N",
                    scale=alt.Scale(
                        domain=["hole open", "hole closed"],
                        range=[C.OKABE_ITO["yellow"], C.OKABE_ITO["orange"]],
                    ),
                    legend=alt.Legend(title="Layer", orient="bottom"),
                ),
                tooltip=["layer:N", "state:N"],
            )
        )
        upper = slabs_top.transform_calculate(y0="0.62", y1="1")
        middle = slabs_top.transform_filter(alt.datum.state == "hole closed").transform_calculate(
            y0="0.38", y1="0.62"
        )
        lower = slabs_top.transform_calculate(y0="0", y1="0.38")
        path = (
            alt.Chart(arrow)
            .mark_line(color=C.OKABE_ITO["vermillion"], strokeWidth=4)
            .encode(x="x:Q", y="y:Q")
        )
        head = (
            alt.Chart(arrow.tail(1))
            .mark_point(
                shape="triangle-right", size=220, filled=True, color=C.OKABE_ITO["vermillion"]
            )
            .encode(x="x:Q", y="y:Q")
        )
        takeaway = self.summary_text() if fixes is not None else ""
        return alt.layer(
            lower,
            upper,
            middle,
            path,
            head,
            title=_title("The swiss-cheese view: four layers, one trajectory", takeaway),
        ).properties(width=520, height=150)

    def _refresh(self) -> None:
        self.text.value = f"<p>{_esc(self.summary_text())}</p>"
        self.view.update(self._chart())

    def describe(self) -> str:
        layers = ", ".join(self.fixes) or "none"
        return f"layers closed: {layers}\n{self.summary_text()}"
