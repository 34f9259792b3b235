"""The game day's state, score and debrief, without widgets.

:class:`GameDayModel` extends the incident console's
:class:`~smars_sim.ui.console_model.ConsoleModel` with the responder's action log,
the score and a blameless debrief; :class:`smars_sim.ui.gameday.GameDay` draws it.
It imports no ipywidgets, altair or pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.classboard import record_game
from ..analysis.runs import NOTEBOOK_SCALE
from ..core.clock import OPEN_NS, SECOND_NS, format_time
from ..core.fmt import usd
from ..core.pnl import minutes_to_stop
from ..core.record import figure
from ..core.result import Result
from ..core.scenario import Scenario
from .console_model import DEFAULT_SPEED, ConsoleModel, default_scenario

__all__ = [
    "START_AT",
    "STEP_S",
    "Action",
    "GameDayModel",
    "Score",
    "game_scenario",
    "record_line",
]

#: Where the game starts: half a minute before the open, as the console does.
START_AT = "09:29:30"
#: Simulated seconds between two points of the loss chart when advancing in steps.
STEP_S = 15


@dataclass(frozen=True, slots=True)
class Action:
    """One thing the responder did, and what the dashboards showed at that moment.

    Attributes:
        time: When it was done (ns since midnight).
        what: ``"stop server"``, ``"kill switch"`` or ``"rollback"``.
        server: The server concerned (0: the fleet).
        effective: When it took effect (a person needs time to stop a server).
        loss_usd: The loss locked in at that moment (the P&L if Knight stopped then).
        sending: ``(server, child orders per second)`` of the servers sending then.
        emails: Automated e-mails received so far.
    """

    time: int
    what: str
    server: int
    effective: int
    loss_usd: float
    sending: tuple[tuple[int, float], ...]
    emails: int

    def line(self) -> str:
        """The action as one line of the log."""
        target = f" {self.server}" if self.server else ""
        delay = self.effective - self.time
        done = f" (done {format_time(self.effective)})" if delay > 0 else ""
        return f"{format_time(self.time)} {self.what}{target}{done}"


@dataclass(frozen=True, slots=True)
class Score:
    """How the game day went.

    Attributes:
        loss_usd: The day's loss at the evening basket price.
        minutes_to_stop: Minutes from the open to the last Power Peg child order.
        stopped_at: The last Power Peg child order (``HH:MM:SS.mmm``), if any.
        executions: Executions at this scale.
        actions: How many actions the responder took.
        first_action_min: Minutes from the open to the first action (``None``: none).
    """

    loss_usd: float
    minutes_to_stop: float
    stopped_at: str | None
    executions: int
    actions: int
    first_action_min: float | None

    def text(self) -> str:
        """The score in two lines."""
        first = (
            f"first action {self.first_action_min:.1f} min after the open"
            if self.first_action_min is not None
            else "no action taken"
        )
        return (
            f"SCORE: loss {usd(self.loss_usd)} (evening basket price); the last bad order "
            f"went out {self.minutes_to_stop:.1f} min after the open.\n"
            f"{self.actions} action(s), {first}; {self.executions:,} executions at this scale."
        )


def game_scenario(scale: float = NOTEBOOK_SCALE) -> Scenario:
    """1 August 2012 with the operators' actions left to the responder."""
    return default_scenario(scale=scale)


class GameDayModel(ConsoleModel):
    """The game's state and actions over one live :class:`~smars_sim.core.engine.Simulation`.

    Args:
        scenario: What to replay (default: :func:`game_scenario`).
        speed: Playback speed (simulated seconds per real second).
    """

    def __init__(self, scenario: Scenario | None = None, *, speed: int = DEFAULT_SPEED) -> None:
        super().__init__(scenario or game_scenario(), start_at=START_AT, speed=speed)
        self.step_s = self.scenario.operator_step_s
        self.log: list[Action] = []
        self.rolled_back = False
        self.stopping: set[int] = set()
        self.final: Result | None = None
        #: Why the class board did not record the finished game (``None``: recorded or off).
        self.board_note: str | None = None

    # ------------------------------------------------------------ status
    def sending(self) -> tuple[tuple[int, float], ...]:
        """``(server, child orders per second)`` of the servers sending now (full-size rate)."""
        return tuple(
            (row.server, round(row.orders_per_s, 1))
            for row in self.fleet_rows()
            if row.orders_per_s > 0
        )

    @property
    def over(self) -> bool:
        """Whether the game is over: the replay has ended (see :meth:`finish`)."""
        return self.final is not None

    # ----------------------------------------------------------- actions
    def _record(self, what: str, server: int, effective: int) -> None:
        self.log.append(
            Action(
                self.sim.now,
                what,
                server,
                effective,
                -self.closeout_pnl_usd(),
                self.sending(),
                self.email_count(),
            )
        )

    def advance(self, minutes: float) -> None:
        """Let the market run for some minutes (what the Play timer does in steps)."""
        if self.over:
            return
        target = min(self.sim.end, self.sim.now + int(minutes * 60 * SECOND_NS))
        step = int(STEP_S * SECOND_NS)
        while self.sim.now < target:  # the same points the live ticks would draw
            self.sim.advance_to(min(target, self.sim.now + step))
            self._history.append((self.sim.now, self.closeout_pnl_usd()))

    def tick(self, real_seconds: float) -> int:
        """One playback tick; nothing once the game is over."""
        return 0 if self.over else super().tick(real_seconds)

    def stop_server(self, server_id: int) -> None:
        """Stop one server: a person needs ``operator_step_s`` to do it."""
        server = self.sim.fleet.server(server_id)
        if self.over or not server.running or server_id in self.stopping:
            return
        done = min(self.sim.end, self.sim.now + int(self.step_s * SECOND_NS))
        self.stopping.add(server_id)
        self._record("stop server", server_id, done)
        self.sim.stop_server(server_id, at=done, actor="responder")

    def kill_switch(self) -> str:
        """Press the fleet-wide kill switch (it acts at once)."""
        if self.over or (self.gate is not None and self.gate.killed_at is not None):
            return ""
        self._record("kill switch", 0, self.sim.now)
        return super().kill_switch()

    def rollback(self) -> None:
        """Re-install the old build on the servers that were updated, one by one."""
        if self.over or self.rolled_back:
            return
        self.rolled_back = True
        n = len([s for s in self.sim.fleet.servers if s.build is self.sim.new_build])
        self._record("rollback", 0, self.sim.now + int(max(0, n - 1) * self.step_s * SECOND_NS))
        self.sim.rollback(actor="responder")

    def finish(self) -> Result:
        """End the game: run the replay to its end with no further action, and keep it."""
        if self.final is None:
            self.final = self.sim.run()
            self._history.append((self.sim.now, self.closeout_pnl_usd()))
            # The class board (off unless the class set SMARS_CLASS_DB or SMARS_CLASS_URL):
            # the score, the loss and the time to stop, never the actions' details. It
            # never raises and waits 3 s at most; a failure leaves one quiet line here.
            self.board_note = record_game(self.score())
        return self.final

    # ------------------------------------------------------------- score
    def score(self) -> Score:
        """The score (the game is finished first if it is not over)."""
        r = self.finish()
        s = r.summary
        stop = s.stop
        ran = minutes_to_stop(r)  # the one definition (smars_sim.core.pnl)
        minutes = 0.0 if ran is None else ran  # never ran: nothing to stop, plotted at 0
        first = (
            round(max(0, self.log[0].time - OPEN_NS) / (60 * SECOND_NS), 2) if self.log else None
        )
        return Score(s.loss_usd, minutes, stop, s.executions, len(self.log), first)

    # ----------------------------------------------------------- debrief
    def debrief(self) -> str:
        """A blameless debrief, written from the action log and the replay.

        It states what the system showed and did, when; what each action changed; what
        helped and what made the response harder; and follow-ups framed as changes to
        the system, not to people.
        """
        score = self.score()
        r = self.finish()
        lines = ["BLAMELESS DEBRIEF: game day, 1 August 2012 (the kit's replay)", ""]
        lines.append("What happened")
        emails = [e for e in r.emails if e[0] < OPEN_NS]
        if emails:
            servers = sorted({e[1] for e in emails})
            lines.append(
                f"- {format_time(emails[0][0])}: the first automated 'BNET reject' e-mail; "
                f"{len(emails)} arrived before the open, all from "
                f"{'server' if len(servers) == 1 else 'servers'} "
                f"{', '.join(map(str, servers))}. They went to a mailbox, not to a pager."
            )
        peg = [p for p in r.parents if p.ran_power_peg]
        first_servers = sorted({p.server for p in peg if p.first_child == OPEN_NS}) or sorted(
            {p.server for p in peg}
        )
        if peg:
            lines.append(
                f"- 09:30:00: the open. Power Peg began sending child orders on "
                f"{'server' if len(first_servers) == 1 else 'servers'} "
                f"{', '.join(map(str, first_servers))}."
            )
        for group in _grouped(self.log):
            action = group[0]
            seen = (
                ", ".join(f"server {k} at {rate:,.0f}/s" for k, rate in action.sending)
                or "no server sending"
            )
            what = action.line()
            if len(group) > 1:
                which = ", ".join(str(a.server) for a in group)
                done = format_time(max(a.effective for a in group))
                what = f"{format_time(action.time)} {action.what}s {which} (done {done})"
            lines.append(
                f"- {what}. At that moment the dashboards showed a loss of "
                f"{usd(action.loss_usd)} locked in, {action.emails} e-mails, and {seen}."
            )
        if score.stopped_at:
            lines.append(
                f"- {score.stopped_at[:8]}: the last bad order, {score.minutes_to_stop:.1f} min "
                f"after the open. The day's loss: {usd(score.loss_usd)}."
            )
        else:
            lines.append(f"- Power Peg never ran. The day's loss: {usd(score.loss_usd)}.")
        lines += ["", "What helped"]
        helped = []
        kills = [a for a in self.log if a.what == "kill switch"]
        if kills:
            helped.append(
                f"- A kill switch existed in this exercise and was pressed at "
                f"{format_time(kills[0].time)}: one action stopped every server at once. "
                "Knight had no procedure to halt SMARS (SEC order ¶21)."
            )
        stops = [a for a in self.log if a.what == "stop server"]
        if stops:
            helped.append(
                f"- {len(stops)} server stop(s) asked for; each takes a person "
                f"{self.step_s:.0f} s in the kit, while the market moves on."
            )
        helped.append(
            "- The fleet panel showed each server's build and hash, and its order rate: the "
            "one server on a different build stood out from the open."
        )
        lines += helped
        lines += ["", "What made it harder"]
        lines.append(
            "- The only signal before the open was e-mail, designed as a notice and not as an "
            "alert (SEC order ¶19)."
        )
        lines.append(
            "- Nothing compared the orders leaving SMARS with those entering it, and no limit "
            "blocked orders automatically (SEC order ¶21-¶25): people had to notice."
        )
        rollbacks = [a for a in self.log if a.what == "rollback"]
        if rollbacks:
            before = sum(rate for _, rate in rollbacks[0].sending)
            after_servers = sorted(
                {p.server for p in peg if (p.first_child or 0) >= rollbacks[0].time}
            )
            lines.append(
                f"- The rollback at {format_time(rollbacks[0].time)} put the old build back on "
                "the servers that had the release; on it the flag means Power Peg, so "
                + (
                    f"{'server' if len(after_servers) == 1 else 'servers'} "
                    f"{', '.join(map(str, after_servers))} started running it too "
                    if after_servers
                    else "more servers could run it "
                )
                + f"(about {before:,.0f} orders/s before). The same happened on the day "
                "(SEC order ¶27)."
            )
        if not self.log:
            lines.append("- No action was taken: the morning ran until the window closed.")
        lines += ["", "Follow-ups (changes to the system, each with an owner)"]
        lines += [
            "- Delete retired code paths, with a coverage and vulture gate in CI (notebook 06).",
            "- Make flag keys single-use: a registry with tombstones (notebook 07).",
            "- Deploy by automation with a fleet hash check and a canary (notebook 08).",
            "- Put a pre-trade gate and a tested kill switch outside the trading code "
            "(notebook 09).",
            "- Route automated rejects to a pager with a runbook, not to e-mail.",
        ]
        lines += ["", "Questions for the team"]
        lines += [
            "- What did we know at each action, and what would have told us sooner?",
            "- Which of our actions could have made things worse, and how would we have known?",
            "- Who may press the kill switch, and have we practised it?",
        ]
        lines += ["", score.text()]
        return "\n".join(lines)


def _grouped(log: list[Action]) -> list[list[Action]]:
    """Consecutive actions of the same kind at the same moment, grouped (several stops)."""
    groups: list[list[Action]] = []
    for action in log:
        last = groups[-1][-1] if groups else None
        if last is not None and (last.time, last.what) == (action.time, action.what):
            groups[-1].append(action)
        else:
            groups.append([action])
    return groups


def record_line() -> str:
    """The record's figures the score is compared with, with their sources."""
    return (
        f"On the day: the run lasted {figure('duration_minutes').cite()} and Knight lost "
        f"{figure('loss_usd_min').cite()}."
    )
