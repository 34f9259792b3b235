"""The incident console's state and actions, without widgets: one live replay of 1 August.

:class:`ConsoleModel` is what :class:`smars_sim.ui.console.IncidentConsole` draws and
what the game day (:class:`smars_sim.ui.gameday_model.GameDayModel`) extends. It
imports the core only (and the kill-switch fix, when present, lazily), so it runs
without ipywidgets, altair or pandas, and is unit-tested alone
(``tests/test_console_model.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.fmt import rate
from ..core.pnl import closeout_cents, marked_cents
from ..core.rates import FULL_SIZE, child_orders_by_server, full_size_rate, window_seconds
from ..core.scenario import Scenario
from ..fixes import Simulation

__all__ = [
    "DEFAULT_SPEED",
    "KILL_BLOCKED",
    "KILL_HALTED",
    "RATE_WINDOW_S",
    "SPEEDS",
    "TICK_MS",
    "Alert",
    "ConsoleModel",
    "FleetRow",
    "default_scenario",
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
    #: Child orders per second over the last ``RATE_WINDOW_S`` seconds, at full size
    #: (``smars_sim.core.rates.full_size_rate``): a 1% replay's 2.6 reads as 260.
    orders_per_s: float
    #: The server does not run the build the release put on the others.
    odd_build: bool

    @property
    def state(self) -> str:
        """``"running"`` or ``"stopped"``."""
        return "running" if self.running else "stopped"

    def fields(self) -> list[tuple[str, str]]:
        """The row's fields as ``(name, text)``: server, build, hash, state, rate, mark."""
        fields = [
            ("server", f"server {self.server}"),
            ("build", self.version),
            ("hash", self.short_hash),
            ("state", self.state),
            ("rate", f"{rate(self.orders_per_s)} ({FULL_SIZE})"),
        ]
        if self.odd_build:
            fields.append(("odd", "≠ release"))
        return fields

    def text(self) -> str:
        """The row as plain text (what a test reads)."""
        return "  ".join(text for _, text in self.fields()).replace("  ≠", " ≠")


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
        counts = child_orders_by_server(
            sim.fleet.children, sim.fleet.parents, sim.now - RATE_WINDOW_S * SECOND_NS, sim.now
        )
        span = window_seconds(sim.now, OPEN_NS, RATE_WINDOW_S)
        scale = sim.scenario.scale
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
                    orders_per_s=full_size_rate(n, span, scale) if server.running else 0.0,
                    odd_build=server.build.sha256 != sim.new_build.sha256,
                )
            )
        return rows

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
        return marked_cents(ledger.cash, ledger.position, self._last_prices()) / 100

    def closeout_pnl_usd(self) -> float:
        """Knight's P&L :data:`~smars_sim.core.pnl.IF_STOPPED_NOW`, in dollars.

        Each position is sold in the basket at the makers' fair value once Knight's
        flow so far has faded, the same valuation as the replay's samples
        (``smars_sim.core.pnl.closeout_cents``). Marking at the last trade looks far
        rosier, since Knight's own buying lifted those prices.
        """
        sim = self.sim
        ledger = sim.fleet.ledger
        fair = sim.makers.fair_all(sim.now, transient=False)
        return (
            closeout_cents(ledger.cash, ledger.position, fair, sim.scenario.basket_discount_bps)
            / 100
        )

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


#: What the audience reads when the kill switch ran: the fleet-wide switch of
#: ``smars_sim.fixes.kill_switch`` (``RiskGate.kill``), or every server halted.
KILL_BLOCKED = "new orders blocked on every server, working orders cancelled"
KILL_HALTED = "every server stopped"


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
        return KILL_BLOCKED
    sim.halt_all(actor="kill switch")
    return KILL_HALTED
