"""The course's teaching contrasts: mechanisms the four fixes do not model, and a bad release.

* :class:`ExchangeKillSwitch`: an exchange's own net-notional kill switch for one
  member firm (modelled on Nasdaq's), out of the firm's reach;
* :func:`press_in_binary_kill`: a kill command obeyed only by the builds that contain
  its handler (the kill switch as a feature of the 2012 release);
* :func:`contrast_replay`: the day with one kind of kill switch, cached;
* :func:`bad_release` and :data:`RELEASES`: a made-up release whose own code is wrong;
* :func:`check_deploy`: the automated deploy of :mod:`.verified_deploy` alone, on a
  fresh fleet, with what each server reported (:class:`DeployCheck`).

Like the fixes, these are real mechanisms installed through the simulation's hooks,
and every control records what it did as :class:`~.kill_switch.ControlEvent` records
(``events``) as well as a timeline entry. Standard library, core and fixes only: the
CLI, ``whatif`` and the browser edition can use them without pandas or widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.builds import FLAG, Build, rlp_build
from ..core.clock import parse_time
from ..core.fmt import usd
from ..core.result import Result
from ..core.router import power_peg, route_pre_rlp, standard
from ..core.scenario import Scenario
from . import Simulation, replay
from . import verified_deploy as deploy
from .kill_switch import ControlEvent

__all__ = [
    "IN_BINARY_ACTOR",
    "KILL_KINDS",
    "RELEASES",
    "DeployCheck",
    "ExchangeKillSwitch",
    "InBinaryKill",
    "bad_release",
    "check_deploy",
    "contrast_replay",
    "press_in_binary_kill",
    "servers_named",
]

#: The timeline actor of the in-binary kill command.
IN_BINARY_ACTOR = "in-binary kill"


def servers_named(servers: Sequence[int]) -> str:
    """Servers as the course's panels name them: ``no server``, ``server 8``, ``servers 1, 2``.

    Every server is listed (no ranges, no "and"), as the course's saved outputs show.
    """
    servers = sorted(servers)
    if not servers:
        return "no server"
    if len(servers) == 1:
        return f"server {servers[0]}"
    return "servers " + ", ".join(map(str, servers))


# --------------------------------------------------------------------------
# Kill switches the fixes do not model
# --------------------------------------------------------------------------
class ExchangeKillSwitch:
    """The exchange's own kill switch for one member firm: a net-notional limit.

    A teaching contrast, not one of the four fixes. It follows Nasdaq's kill switch
    (the kit's reading of its description): a net (or gross) notional limit per member, warnings at
    50/75/85/90/95% of it, and once it is hit every new order from the member is
    refused at the exchange's door, whichever of the firm's servers sends it and
    whatever build it runs. Nothing in the firm's software can switch it off.

    It is installed as ``fleet.gate`` (wrapping any gate already there): in the kit
    the exchange's door and the firm's gate sit at the same point of the order path.

    Args:
        sim: The simulation.
        limit_usd: The notional limit.
        measure: ``"net"`` (buys minus sells, as Nasdaq's) or ``"gross"``.

    Attributes:
        tripped_at: When the limit was hit (``None``: not yet).
        refused: Orders refused at the door since.
        events: The warnings and the trip, as control events.
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
        self.events: list[ControlEvent] = []
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
        dollars = notional / 100
        self.net_usd += parent.side * dollars
        self.gross_usd += dollars
        value = self.value()
        for pct in self.WARN_AT:
            if pct not in self._warned and value >= self.limit_usd * pct / 100:
                self._warned.add(pct)
                detail = f"warning: {self.measure} notional at {pct:g}% of {usd(self.limit_usd)}"
                self.events.append(ControlEvent(now, self.ACTOR, "warn", 0, detail))
                self.fleet.pages.append((now, self.ACTOR, detail))
        if value >= self.limit_usd:
            self.tripped_at = now
            for s in self.fleet.servers:
                self.fleet.exchange_rlp_cancel(s)  # resting orders cancelled at the exchange
            detail = (
                f"{self.measure} notional {usd(value)} hit the {usd(self.limit_usd)} limit: "
                "every new order from the firm refused, resting orders cancelled; "
                "re-enabling needs a call to the exchange"
            )
            self.events.append(ControlEvent(now, self.ACTOR, "kill", 0, detail))
            self.fleet.note(
                now, self.ACTOR, "limit hit: firm blocked", 0, detail, control=self.ACTOR
            )
            self.fleet.pages.append((now, self.ACTOR, detail))


@dataclass(slots=True)
class InBinaryKill:
    """A kill command scheduled by :func:`press_in_binary_kill`, and what it did.

    Attributes:
        at: When it is sent, ns since midnight.
        obeyed: Servers that stopped (their build has the handler).
        ignored: Servers that carried on (their build has none).
        events: The command, as a control event (once sent).
    """

    at: int
    obeyed: list[int] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)
    events: list[ControlEvent] = field(default_factory=list)


def press_in_binary_kill(sim: Simulation, at: str | int) -> InBinaryKill:
    """A kill command that only the builds containing its handler obey (a contrast).

    Suppose the kill switch were a feature of the 2012 release: a command each server's
    own code reads and obeys. At ``at`` every running server whose build is the release
    stops; a server running any other build (the one the technician missed, or any
    server after the rollback) has no handler and carries on.

    Returns:
        The scheduled command; its fields fill in when the replay reaches ``at``.
    """
    kill = InBinaryKill(parse_time(at))

    def press(now: int) -> None:
        release = sim.new_build.sha256
        obeyed = [s for s in sim.fleet.servers if s.running and s.build.sha256 == release]
        ignored = [s for s in sim.fleet.servers if s.running and s.build.sha256 != release]
        for s in obeyed:
            s.stop(now)
        builds = sorted({s.build.version for s in ignored})
        one = len(ignored) == 1
        detail = f"{servers_named([s.id for s in obeyed])} obeyed and stopped" + (
            f"; {servers_named([s.id for s in ignored])} {'runs' if one else 'run'} "
            f"{', '.join(builds)}, which has no kill handler: "
            f"{'it carries' if one else 'they carry'} on"
            if ignored
            else ""
        )
        kill.obeyed = [s.id for s in obeyed]
        kill.ignored = [s.id for s in ignored]
        kill.events.append(ControlEvent(now, IN_BINARY_ACTOR, "kill", 0, detail))
        sim.fleet.note(
            now, IN_BINARY_ACTOR, "kill command sent", 0, detail, control=IN_BINARY_ACTOR
        )

    sim.call_at(kill.at, press)
    return kill


_CONTRASTS: dict[tuple[Any, ...], Result] = {}
#: The kinds of kill switch :func:`contrast_replay` compares.
KILL_KINDS = ("in-binary", "firm", "exchange")


def contrast_replay(
    base: Scenario,
    kind: str,
    *,
    at: str | int = "09:40",
    limit_usd: float = 25e6,
    measure: str = "net",
) -> Result:
    """The day with one kind of kill switch: ``in-binary``, ``firm`` or ``exchange`` (cached).

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
        result = replay(base.with_(kill_at=at_ns))
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


# --------------------------------------------------------------------------
# A bad release, and the automated deploy checked on its own
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


#: The releases the deploy lab can ship, by the name its dropdown shows.
RELEASES: dict[str, Callable[[], Build]] = {
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
            if e.actor == deploy.ACTOR
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
    """Run the automated deploy of :mod:`smars_sim.fixes.verified_deploy` on a fresh fleet.

    The copy fails silently on ``missed`` servers (as the hand copy did), and
    ``unreachable`` servers send no hash report. Nothing is replayed after the deploy:
    this is the check alone, cached per arguments.

    Args:
        scenario: The day (its fixes and missed servers are ignored).
        missed: Servers on which the copy fails.
        unreachable: Servers that send no hash report.
        release: A name of :data:`RELEASES`.
        canary: The canary server.
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
